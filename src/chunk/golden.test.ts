import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Codec } from './codec.js';
import { decodeChunk, MemChunk } from './mem-chunk.js';
import { BlockProbe, needleGramHashes } from './needle.js';
import { chunkEntries } from './testing.js';

const T0 = 1_700_000_000_123_456_789n;

/** A small fixed chunk: two blocks, one entry out of order, metadata on some entries. */
function golden(codec: Codec): Buffer {
  const c = new MemChunk({ codec, blockSizeBytes: 96, targetSizeBytes: 1 << 20 });
  c.append(T0, Buffer.from('level=info msg="started"'), [{ name: 'trace_id', value: 'abc123' }]);
  c.append(T0 + 1_000_000n, Buffer.from('level=info msg="listening" port=3100'), []);
  c.append(T0 - 5n, Buffer.from('level=debug msg="early"'), [{ name: 'trace_id', value: 'abc123' }, { name: 'user', value: 'ü' }]);
  c.append(T0 + 2_000_000n, Buffer.from('level=warn msg="slow request" took=1.5s'), [{ name: 'user', value: 'bob' }]);
  c.append(T0 + 2_000_000n, Buffer.from(''), []);
  return c.encode();
}
const GOLDEN_LINES = ['level=debug msg="early"', 'level=info msg="started"', 'level=info msg="listening" port=3100', 'level=warn msg="slow request" took=1.5s', ''];

/** Lines of the larger golden chunk: compressible, 2,000 entries, several 16 KiB blocks. */
function largeLines(): string[] {
  const levels = ['info', 'debug', 'warn', 'error'];
  return Array.from({ length: 2000 }, (_, i) => `ts=${i} level=${levels[i % 4]} msg="request ${(i * 7919) % 1000}" path=/api/v1/items/${(i * 31) % 97} took=${(i * 13) % 500}ms`);
}
function largeGolden(codec: Codec): Buffer {
  const c = new MemChunk({ codec, blockSizeBytes: 16 * 1024, targetSizeBytes: 1 << 20 });
  const lines = largeLines();
  for (let i = 0; i < lines.length; i++) c.append(T0 + BigInt(i) * 1_000_000n, Buffer.from(lines[i]!), i % 10 === 0 ? [{ name: 'n', value: String(i) }] : []);
  return c.encode();
}

/** Hex dump, 32 bytes per line. */
function hexDump(b: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 32) lines.push(b.subarray(i, i + 32).toString('hex'));
  return lines.join('\n') + '\n';
}
function readHex(name: string): Buffer {
  return Buffer.from(readFileSync(new URL(`../../test/golden/chunk/${name}`, import.meta.url), 'utf8').replace(/\s+/g, ''), 'hex');
}

describe('golden chunk bytes', () => {
  for (const codec of ['none', 'snappy'] as const) {
    it(`${codec} encoding is stable`, async () => {
      const bytes = golden(codec);
      const d = decodeChunk(bytes);
      expect(d.blockMetas().length).toBe(2);
      expect(chunkEntries(d).flat().map((x) => x.line.toString())).toEqual(GOLDEN_LINES);
      await expect(hexDump(bytes)).toMatchFileSnapshot(`../../test/golden/chunk/v2-${codec}.hex`);
    });
  }
});

// Chunks stored before format version 2 (no needle filters) must keep decoding, and their
// token filters keep working; a needle probe never rules their blocks out.
describe('format version 1 chunks decode', () => {
  for (const codec of ['none', 'snappy'] as const) {
    it(`v1-${codec}.hex`, () => {
      const bytes = readHex(`v1-${codec}.hex`);
      expect(bytes[4]).toBe(1);
      const d = decodeChunk(bytes);
      expect(d.blockMetas().length).toBe(2);
      expect(d.blockMetas().every((m) => m.gramBytes === 0)).toBe(true);
      expect(chunkEntries(d).flat().map((x) => x.line.toString())).toEqual(GOLDEN_LINES);
      const absent = new BlockProbe(new Uint32Array(0), needleGramHashes(Buffer.from('no such needle')));
      expect(d.blockMayContainAll(0, absent)).toBe(true);
      const v2 = decodeChunk(golden(codec));
      expect([0, 1].some((b) => v2.blockMayContainAll(b, absent))).toBe(false);
    });
  }
});

// zstd output bytes depend on the library's version and settings, so zstd goldens are fixed
// files written once (by zstd-napi 0.0.13, the codec before ADR 0018) that must keep decoding.
describe('zstd chunks written by zstd-napi decode with the current codec', () => {
  it('small chunk (v1-zstd.hex)', () => {
    const d = decodeChunk(readHex('v1-zstd.hex'));
    expect(d.blockMetas().length).toBe(2);
    const entries = chunkEntries(d).flat();
    expect(entries.map((x) => x.line.toString())).toEqual(GOLDEN_LINES);
    expect(entries[0]!.tsNs).toBe(T0 - 5n);
    expect(entries[0]!.metadata).toEqual([{ name: 'trace_id', value: 'abc123' }, { name: 'user', value: 'ü' }]);
  });
  it('multi-block chunk (v1-zstd-large.hex)', () => {
    const d = decodeChunk(readHex('v1-zstd-large.hex'));
    expect(d.blockMetas().length).toBe(10);
    const entries = chunkEntries(d).flat();
    expect(entries.map((x) => x.line.toString())).toEqual(largeLines());
    expect(entries[1990]!.metadata).toEqual([{ name: 'n', value: '1990' }]);
    expect(entries[1999]!.tsNs).toBe(T0 + 1999n * 1_000_000n);
  });
  it('the current codec writes chunks with the same entries', () => {
    expect(chunkEntries(decodeChunk(golden('zstd'))).flat().map((x) => x.line.toString())).toEqual(GOLDEN_LINES);
    expect(chunkEntries(decodeChunk(largeGolden('zstd'))).flat().map((x) => x.line.toString())).toEqual(largeLines());
  });
});
