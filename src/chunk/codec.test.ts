import { describe, expect, it } from 'vitest';
import { InvalidError } from '../errors.js';
import { CODECS, codecFromId, codecId, compress, decompress, parseCodec } from './codec.js';

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
