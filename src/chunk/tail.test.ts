import { describe, expect, it } from 'vitest';
import { ChunkCorruptError } from '../errors.js';
import { tokenHash } from './bloom.js';
import { CODECS, type Codec } from './codec.js';
import { PIECE_GAP_BYTES } from './layout.js';
import { chunkPieceRanges, decodeChunk, decodeChunkPieces, decodeChunkTail, MemChunk, type ChunkIndex, type ChunkPiece } from './index.js';
import { blockEntries, Rng, tokenProbe } from './testing.js';
import type { DecodedBlock } from './types.js';

function buildChunk(rng: Rng, lines: number, codec: Codec = 'snappy', metadata = false, blockSizeBytes = 4096): Buffer {
  const c = new MemChunk({ codec, blockSizeBytes, targetSizeBytes: 1 << 24 });
  let ts = 1_700_000_000_000_000_000n;
  for (let i = 0; i < lines; i++) {
    ts += BigInt(1 + rng.int(1000));
    c.append(ts, Buffer.from(`line ${i} token${rng.int(50)} ${'x'.repeat(rng.int(200))}`), metadata && i % 3 === 0 ? [{ name: 'trace', value: `t${rng.int(9)}` }] : []);
  }
  return c.encode();
}

/** The pieces `chunkPieceRanges` asks for, cut from the whole chunk (copies: nothing views `bytes`). */
function piecesOf(bytes: Buffer, index: ChunkIndex, blocks: number[]): ChunkPiece[] {
  return chunkPieceRanges(index, blocks)!.map(({ at, length }) => ({ at, bytes: Buffer.from(bytes.subarray(at, at + length)) }));
}

/** The tail a store keeps: the chunk's bytes from its metas on, copied. */
function storedTail(bytes: Buffer): ChunkIndex {
  const metasOffset = bytes.readUInt32BE(bytes.length - 28);
  const r = decodeChunkTail(Buffer.from(bytes.subarray(metasOffset)), bytes.length);
  if ('needFromOffset' in r) throw new Error('tail too short');
  return r;
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

/** A block's entries as one string (one deep comparison per block is slow in vitest). */
function entriesText(b: DecodedBlock): string {
  return blockEntries(b)
    .map((e) => `${e.tsNs} ${e.line.toString('hex')} ${e.metadata.map((m) => `${m.name}=${m.value}`).join(',')}`)
    .join('\n');
}

/**
 * What a read of blocks `want` should take, worked out apart from chunkPieceRanges: the header
 * and each block with its crc, then neighbours less than PIECE_GAP_BYTES apart joined.
 */
function expectedRanges(full: ReturnType<typeof decodeChunk>, want: number[]): { at: number; length: number }[] {
  const spans = [[0, 6], ...want.map((b) => [full.blockMetas()[b]!.offset, full.blockMetas()[b]!.offset + full.blockMetas()[b]!.compressedBytes + 4])] as [number, number][];
  const out: [number, number][] = [];
  for (const [a, z] of spans) {
    const last = out.at(-1);
    if (last !== undefined && a - last[1] < PIECE_GAP_BYTES) last[1] = z;
    else out.push([a, z]);
  }
  return out.map(([a, z]) => ({ at: a, length: z - a }));
}

describe('decodeChunkPieces', () => {
  it('reads the blocks asked for as the whole chunk does, and no block it did not read', () => {
    const rng = new Rng(11);
    for (const codec of CODECS) {
      for (let round = 0; round < 3; round++) {
        // Small blocks (every read joins its neighbours) and blocks above PIECE_GAP_BYTES.
        const bytes = round < 2 ? buildChunk(rng, 150 + rng.int(150), codec, round === 1) : buildChunk(rng, 1500, codec, false, 48 * 1024);
        const full = decodeChunk(bytes);
        const n = full.blockMetas().length;
        expect(n).toBeGreaterThan(3);
        const index = storedTail(bytes);
        // Every block alone, runs, every other block, all of them.
        const subsets = [...Array.from({ length: n }, (_, b) => [b]), [0, 1, 2], [1, 2, n - 1], Array.from({ length: n }, (_, b) => b).filter((b) => b % 2 === 0), Array.from({ length: n }, (_, b) => b)];
        for (const want of subsets) {
          const ranges = chunkPieceRanges(index, want)!;
          expect(ranges).toEqual(expectedRanges(full, want));
          const some = decodeChunkPieces(index, piecesOf(bytes, index, want));
          expect(some.blockMetas()).toEqual(full.blockMetas());
          expect(some.entries()).toBe(full.entries());
          for (let b = 0; b < n; b++) {
            const m = full.blockMetas()[b]!;
            const read = ranges.some((r) => r.at <= m.offset && m.offset + m.compressedBytes + 4 <= r.at + r.length);
            if (want.includes(b)) expect(read).toBe(true);
            if (read) {
              expect(entriesText(some.readBlock(b))).toBe(entriesText(full.readBlock(b)));
              expect(some.blockCrc(b)).toBe(full.blockCrc(b));
            } else expect(() => some.readBlock(b)).toThrow(RangeError);
          }
        }
      }
    }
  });

  it('rejects damaged pieces with ChunkCorruptError, and an index not read from a tail', () => {
    const bytes = buildChunk(new Rng(5), 400);
    const index = storedTail(bytes);
    const block = decodeChunk(bytes).blockMetas()[2]!;
    /** Flips a bit of chunk byte `at` in the piece holding it. */
    const flip = (pieces: ChunkPiece[], at: number, bit: number): ChunkPiece[] => {
      const p = pieces.find((x) => x.at <= at && at < x.at + x.bytes.length)!;
      p.bytes[at - p.at]! ^= bit;
      return pieces;
    };
    expect(() => decodeChunkPieces(index, flip(piecesOf(bytes, index, [2]), block.offset + 5, 0x40)).readBlock(2)).toThrow(ChunkCorruptError);
    expect(() => decodeChunkPieces(index, flip(piecesOf(bytes, index, [2]), block.offset + block.compressedBytes, 1)).readBlock(2)).toThrow(ChunkCorruptError);
    const header = piecesOf(bytes, index, [2]);
    header[0]!.bytes[0]! ^= 1;
    expect(() => decodeChunkPieces(index, header)).toThrow(ChunkCorruptError);
    // A chunk decoded whole is no tail: its blocks are read from it.
    expect(chunkPieceRanges(decodeChunk(bytes), [0])).toBeNull();
    expect(() => chunkPieceRanges(index, [3, 1])).toThrow(RangeError);
  });
});
