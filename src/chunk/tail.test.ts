import { describe, expect, it } from 'vitest';
import { ChunkCorruptError } from '../errors.js';
import { tokenHash } from './bloom.js';
import { decodeChunk, decodeChunkTail, MemChunk, type ChunkIndex } from './index.js';
import { Rng, tokenProbe } from './testing.js';

function buildChunk(rng: Rng, lines: number): Buffer {
  const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 4096, targetSizeBytes: 1 << 20 });
  let ts = 1_700_000_000_000_000_000n;
  for (let i = 0; i < lines; i++) {
    ts += BigInt(1 + rng.int(1000));
    c.append(ts, Buffer.from(`line ${i} token${rng.int(50)} ${'x'.repeat(rng.int(200))}`), []);
  }
  return c.encode();
}

describe('decodeChunkTail', () => {
  it('agrees with decodeChunk for every tail size that holds the metas', () => {
    const rng = new Rng(42);
    for (let round = 0; round < 5; round++) {
      const bytes = buildChunk(rng, 50 + rng.int(400));
      const full = decodeChunk(bytes);
      const metasOffset = bytes.readUInt32BE(bytes.length - 28);
      for (const size of [28, 100, bytes.length - metasOffset - 1, bytes.length - metasOffset, bytes.length - metasOffset + 7, bytes.length]) {
        if (size < 28 || size > bytes.length) continue;
        const r = decodeChunkTail(bytes.subarray(bytes.length - size), bytes.length);
        if ('needFromOffset' in r) {
          expect(size).toBeLessThan(bytes.length - metasOffset);
          expect(r.needFromOffset).toBe(metasOffset);
          continue;
        }
        const idx: ChunkIndex = r;
        expect(idx.blockMetas()).toEqual(full.blockMetas());
        for (let b = 0; b < full.blockMetas().length; b++) {
          for (const tok of ['token3', 'token49', 'absent', 'line']) {
            const h = Uint32Array.of(tokenHash(Buffer.from(tok), 0, tok.length));
            expect(idx.blockMayContainAll(b, tokenProbe(h))).toBe(full.blockMayContainAll(b, tokenProbe(h)));
          }
        }
      }
    }
  });

  it('rejects a damaged tail with ChunkCorruptError', () => {
    const bytes = buildChunk(new Rng(7), 300);
    const tail = Buffer.from(bytes.subarray(bytes.length - 2000));
    tail[tail.length - 40]! ^= 0xff; // inside the metas: crc mismatch
    expect(() => decodeChunkTail(tail, bytes.length)).toThrow(ChunkCorruptError);
    expect(() => decodeChunkTail(Buffer.alloc(10), bytes.length)).toThrow(ChunkCorruptError);
  });
});
