import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidError } from '../errors.js';
import { CODECS, codecFromId, codecId, compress, decompress, decompressAsync, loadWasmZstd, nodeZstd, parseCodec, zstd } from './codec.js';

describe('parseCodec', () => {
  it('accepts every codec name, any case, and Loki lz4 variants', () => {
    for (const c of CODECS) expect(parseCodec(c)).toBe(c);
    expect(parseCodec(' Snappy ')).toBe('snappy');
    expect(parseCodec('ZSTD')).toBe('zstd');
    expect(parseCodec('lz4-256k')).toBe('lz4');
    expect(parseCodec('lz4-4M')).toBe('lz4');
  });
  it('rejects unknown names with a clear message', () => {
    expect(() => parseCodec('brotli')).toThrow(InvalidError);
    expect(() => parseCodec('brotli')).toThrow(/unknown chunk codec "brotli": expected one of none, gzip, snappy, lz4, zstd/);
    expect(() => parseCodec('')).toThrow(InvalidError);
  });
});

describe('codec ids', () => {
  it('are stable and round-trip', () => {
    expect(CODECS.map(codecId)).toEqual([0, 1, 2, 3, 4]);
    for (const c of CODECS) expect(codecFromId(codecId(c))).toBe(c);
    expect(codecFromId(5)).toBeNull();
    expect(codecFromId(255)).toBeNull();
  });
});

describe('compress/decompress', () => {
  const inputs = [Buffer.alloc(0), Buffer.from('x'), Buffer.from('hello world '.repeat(500)), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff))];
  for (const codec of CODECS) {
    it(`${codec} round-trips`, () => {
      for (const src of inputs) {
        const c = compress(codec, src);
        expect(c).not.toBe(src);
        expect(decompress(codec, c, src.length).equals(src)).toBe(true);
      }
    });
    it(`${codec} rejects a wrong expected size`, () => {
      const src = inputs[2]!;
      const c = compress(codec, src);
      expect(() => decompress(codec, c, src.length - 1)).toThrow();
      expect(() => decompress(codec, c, src.length + 1)).toThrow();
    });
    it(`${codec} decompressAsync gives decompress's bytes, from a view into a larger buffer, and the same errors`, async () => {
      for (const src of inputs) {
        const c = compress(codec, src);
        const padded = Buffer.concat([Buffer.from('pre'), c, Buffer.from('post')]);
        const view = padded.subarray(3, 3 + c.length);
        expect((await decompressAsync(codec, view, src.length)).equals(src)).toBe(true);
        // The caller's bytes are untouched.
        expect(view.equals(c)).toBe(true);
      }
      const c = compress(codec, inputs[2]!);
      await expect(decompressAsync(codec, c, inputs[2]!.length + 1)).rejects.toThrow();
      await expect(decompressAsync(codec, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5, 6, 7]), 100)).rejects.toThrow();
    });
    it(`${codec} rejects garbage without crashing`, () => {
      const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5, 6, 7]);
      expect(() => decompress(codec, garbage, 100)).toThrow();
    });
  }
  it('snappy and lz4 check the declared size before decompressing', () => {
    // A stream claiming 4 GiB must fail on the header, not by allocating.
    expect(() => decompress('snappy', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0]), 10)).toThrow(/declares 4294967295 bytes/);
    expect(() => decompress('lz4', Buffer.from([0xff, 0xff, 0xff, 0xff, 0]), 10)).toThrow(/declares 4294967295 bytes/);
  });
  it('gzip stops at the expected size (no inflate bomb)', () => {
    const bomb = compress('gzip', Buffer.alloc(1 << 20));
    expect(() => decompress('gzip', bomb, 1000)).toThrow();
  });
  it('zstd refuses frames larger than the expected size', () => {
    const big = compress('zstd', Buffer.alloc(1 << 20));
    expect(() => decompress('zstd', big, 1000)).toThrow();
  });
});

/** The reference zstd CLI (Debian `zstd`, installed by test/ensure-services.mjs) on stdin → stdout. */
function zstdCli(args: string[], input: Buffer): Buffer {
  return execFileSync('zstd', [...args, '-q', '-c'], { input, maxBuffer: 64 << 20 });
}

describe('zstd frames interoperate with the reference zstd CLI', () => {
  // Log-like text in several zstd blocks (a zstd block holds at most 128 KiB).
  const levels = ['info', 'warn', 'error', 'debug'];
  const text = Buffer.from(
    Array.from({ length: 6000 }, (_, i) => `ts=2026-12-04T10:${String(i % 60).padStart(2, '0')}:00Z level=${levels[i % 4]} msg="req ${(i * 7919) % 1000}" took=${(i * 13) % 500}ms ü\n`).join(''),
  );
  const inputs = [Buffer.alloc(0), Buffer.from('x'), text, Buffer.concat([text, Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24))])];

  it('our frames decode with `zstd -d`', () => {
    for (const src of inputs) expect(zstdCli(['-d'], compress('zstd', src)).equals(src)).toBe(true);
  });
  it('frames from `zstd` (levels 1, 3, 19; with and without the content size) decode with ours', () => {
    for (const src of inputs) {
      for (const args of [['-1'], ['-3'], ['-19'], ['-3', '--no-content-size']]) {
        expect(decompress('zstd', zstdCli(args, src), src.length).equals(src)).toBe(true);
      }
    }
  });
  it('a frame without the content size still may not exceed the expected size', () => {
    const frame = zstdCli(['-3', '--no-content-size'], text);
    expect(() => decompress('zstd', frame, text.length - 1)).toThrow();
    expect(() => decompress('zstd', frame, text.length + 1)).toThrow();
  });
  it('writes the level asked for: each level as small as the CLI at that level, higher levels smaller', () => {
    const src = inputs[3]!;
    const sizes = [1, 3, 6, 9, 19].map((level) => {
      const c = compress('zstd', src, level);
      expect(zstdCli(['-d'], c).equals(src)).toBe(true);
      expect(c.length, `level ${level}`).toBeLessThanOrEqual(zstdCli([`-${level}`], src).length * 1.02);
      return c.length;
    });
    expect(sizes[4]!).toBeLessThan(sizes[1]!);
    expect(compress('zstd', src)).toEqual(compress('zstd', src, 3));
  });
  it('compresses log text about as well as zstd-napi did (level 3)', () => {
    // zstd-napi 0.0.13 wrote 2,230 bytes per 10,000 on generator text (bench/zstd.ts); this text is more regular.
    expect(compress('zstd', text).length / text.length).toBeLessThan(0.1);
    expect(compress('zstd', text).length).toBeLessThanOrEqual(zstdCli(['-3'], text).length * 1.02);
  });
});

describe('zstd implementation', () => {
  const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `level=info msg="req ${(i * 7919) % 1000}" took=${(i * 13) % 500}ms\n`).join(''));

  it("is node:zlib's where Node has it (22.15+), else the wasm build", () => {
    const builtin = typeof (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] === 'function';
    expect(zstd.name).toBe(builtin ? 'node:zlib' : 'wasm');
    expect(nodeZstd === null).toBe(!builtin);
  });
  it('writes the content size into the frame header', () => {
    // Frame_Header_Descriptor (byte 4): Frame_Content_Size_flag (bits 7–6) or Single_Segment_flag (bit 5).
    for (const src of [Buffer.from('x'), text]) expect(compress('zstd', src)[4]! & 0xe0).not.toBe(0);
  });
  it('returns a compressed block that owns no spare bytes', () => {
    const c = compress('zstd', text);
    expect(c.buffer.byteLength === c.length || c.length < 4096).toBe(true);
  });
  it('rejects bytes after the frame; reads concatenated frames as one stream, as libzstd does', () => {
    const c = compress('zstd', text);
    expect(() => decompress('zstd', Buffer.concat([c, Buffer.from([1, 2, 3])]), text.length)).toThrow();
    expect(() => decompress('zstd', Buffer.concat([c, c]), text.length)).toThrow();
    expect(() => decompress('zstd', Buffer.concat([c, c]), 2 * text.length + 1)).toThrow();
    expect(decompress('zstd', Buffer.concat([c, c]), 2 * text.length).equals(Buffer.concat([text, text]))).toBe(true);
  });
  it('rejects a truncated frame', () => {
    const c = compress('zstd', text);
    expect(() => decompress('zstd', c.subarray(0, c.length - 3), text.length)).toThrow();
    expect(() => decompress('zstd', c.subarray(0, c.length >> 1), text.length)).toThrow();
  });
  // Both run only on a Node with zstd in node:zlib (Node 20 has the wasm build alone).
  it.runIf(nodeZstd !== null)('node:zlib and the wasm build read each other’s frames', async () => {
    const wasm = await loadWasmZstd();
    const node = nodeZstd!;
    const inputs = [Buffer.alloc(0), Buffer.from('x'), text, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24))];
    for (const src of inputs) {
      expect(wasm.decompress(node.compress(src), src.length).equals(src)).toBe(true);
      expect(node.decompress(wasm.compress(src), src.length).equals(src)).toBe(true);
    }
  });
});
