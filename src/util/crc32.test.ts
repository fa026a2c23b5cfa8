import { randomFillSync } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

// zlib's crc32 is the reference: every checksum already stored (chunks, WAL frames, index
// segments) was written with it, so the two must agree on every input.
describe('crc32', () => {
  it('agrees with zlib.crc32 on every length, offset and seed', () => {
    const buf = randomFillSync(Buffer.alloc(70_000));
    for (const len of [0, 1, 7, 8, 15, 16, 63, 64, 65, 255, 4096, 16_383, 65_537]) {
      for (const off of [0, 1, 3]) {
        const view = buf.subarray(off, off + len);
        expect(crc32(view)).toBe(zlib.crc32(view));
        for (const seed of [1, 0x7fffffff, 0xdeadbeef, 0xffffffff]) expect(crc32(view, seed)).toBe(zlib.crc32(view, seed));
      }
    }
  });

  it('continues a sum across pieces as zlib does', () => {
    const buf = randomFillSync(Buffer.alloc(10_000));
    expect(crc32(buf.subarray(4000), crc32(buf.subarray(0, 4000)))).toBe(zlib.crc32(buf));
  });

  it('reads views of shared memory and plain Uint8Arrays', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(5000));
    randomFillSync(shared);
    const view = shared.subarray(17, 4017);
    expect(crc32(view)).toBe(zlib.crc32(Buffer.from(view)));
    const plain = new Uint8Array(view);
    expect(crc32(plain)).toBe(zlib.crc32(plain));
    // Known answer (the IEEE check value).
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});
