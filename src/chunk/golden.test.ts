import { describe, expect, it } from 'vitest';
import type { Codec } from './codec.js';
import { decodeChunk, MemChunk } from './mem-chunk.js';
import { chunkEntries } from './testing.js';

/** A small fixed chunk: two blocks, one entry out of order, metadata on some entries. */
function golden(codec: Codec): Buffer {
  const c = new MemChunk({ codec, blockSizeBytes: 96, targetSizeBytes: 1 << 20 });
  const t = 1_700_000_000_123_456_789n;
  c.append(t, Buffer.from('level=info msg="started"'), [{ name: 'trace_id', value: 'abc123' }]);
  c.append(t + 1_000_000n, Buffer.from('level=info msg="listening" port=3100'), []);
  c.append(t - 5n, Buffer.from('level=debug msg="early"'), [{ name: 'trace_id', value: 'abc123' }, { name: 'user', value: 'ü' }]);
  c.append(t + 2_000_000n, Buffer.from('level=warn msg="slow request" took=1.5s'), [{ name: 'user', value: 'bob' }]);
  c.append(t + 2_000_000n, Buffer.from(''), []);
  return c.encode();
}

/** Hex dump, 32 bytes per line. */
function hexDump(b: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 32) lines.push(b.subarray(i, i + 32).toString('hex'));
  return lines.join('\n') + '\n';
}

describe('golden chunk bytes', () => {
  for (const codec of ['none', 'snappy'] as const) {
    it(`${codec} encoding is stable`, async () => {
      const bytes = golden(codec);
      const d = decodeChunk(bytes);
      expect(d.blockMetas().length).toBe(2);
      expect(chunkEntries(d).flat().map((x) => x.line.toString())).toEqual([
        'level=debug msg="early"',
        'level=info msg="started"',
        'level=info msg="listening" port=3100',
        'level=warn msg="slow request" took=1.5s',
        '',
      ]);
      await expect(hexDump(bytes)).toMatchFileSnapshot(`../../test/golden/chunk/v1-${codec}.hex`);
    });
  }
});
