import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChunkCorruptError } from '../errors.js';
import { ByteWriter } from '../util/bytes.js';
import { decodeBlock, encodeBlock } from './block.js';
import { tokenHash } from './bloom.js';
import { CODECS, type Codec } from './codec.js';
import { cutBlocksView, encodeCutBlocks } from './cut-view.js';
import { decodeChunk, MemChunk } from './mem-chunk.js';
import type { BlockSealer, SealJob, SealedBlock } from './sealer.js';
import { sealBlockSync } from './sealer.js';
import { blockEntries, chunkEntries, Rng, tokenProbe } from './testing.js';
import type { ReadableChunk } from './types.js';

/** Beyond 2^53: every ts must survive as an exact bigint. */
const T0 = 1_700_000_000_123_456_789n;

function readHex(name: string): Buffer {
  return Buffer.from(readFileSync(new URL(`../../test/golden/chunk/${name}`, import.meta.url), 'utf8').replace(/\s+/g, ''), 'hex');
}

/** The chunk of golden.test.ts (two blocks, one entry out of order, metadata), blocks cut. */
function goldenChunk(codec: Codec): MemChunk {
  const c = new MemChunk({ codec, blockSizeBytes: 96, targetSizeBytes: 1 << 20 });
  c.append(T0, Buffer.from('level=info msg="started"'), [{ name: 'trace_id', value: 'abc123' }]);
  c.append(T0 + 1_000_000n, Buffer.from('level=info msg="listening" port=3100'), []);
  c.append(T0 - 5n, Buffer.from('level=debug msg="early"'), [{ name: 'trace_id', value: 'abc123' }, { name: 'user', value: 'ü' }]);
  c.append(T0 + 2_000_000n, Buffer.from('level=warn msg="slow request" took=1.5s'), [{ name: 'user', value: 'bob' }]);
  c.append(T0 + 2_000_000n, Buffer.from(''), []);
  c.cutBlock();
  return c;
}

/** A chunk of several cut blocks and a non-empty head, entries partly out of order, some with metadata. */
function filledChunk(codec: Codec, seed: number, sealer?: BlockSealer): MemChunk {
  const rng = new Rng(seed);
  const c = new MemChunk({ codec, blockSizeBytes: 2048, targetSizeBytes: 1 << 22, ...(sealer ? { sealer } : {}) });
  for (let i = 0; i < 400; i++) {
    const ts = T0 + BigInt(i) * 1_000_003n - BigInt(rng.int(3)) * 2_000_000n;
    const md = i % 3 === 0 ? [{ name: 'trace_id', value: `t${rng.int(50)}` }] : [];
    c.append(ts, Buffer.from(`ts=${i} level=${['info', 'warn', 'error'][i % 3]} token${rng.int(1000)} ${rng.bytes(8).toString('hex')}`), md);
  }
  return c;
}

/** One hash set per token, for blockMayContainAll. */
function bloomTokenHashes(tokens: string[]): Uint32Array[] {
  return tokens.map((t) => Uint32Array.of(tokenHash(Buffer.from(t), 0, t.length)));
}

/** A ReadableChunk that is neither a MemChunk, a view nor a stored chunk: forces the re-encoding path. */
function opaque(c: ReadableChunk): ReadableChunk {
  return {
    codec: c.codec,
    minTsNs: () => c.minTsNs(),
    maxTsNs: () => c.maxTsNs(),
    entries: () => c.entries(),
    uncompressedBytes: () => c.uncompressedBytes(),
    blockMetas: () => c.blockMetas(),
    readBlock: (i) => c.readBlock(i),
    blockCrc: (i) => c.blockCrc(i),
    blockMayContainAll: (i, h) => c.blockMayContainAll(i, h),
  };
}

/** A sealer that holds every job until released, then seals it as the inline sealer does. */
class HeldSealer implements BlockSealer {
  readonly held: { job: SealJob; resolve: (s: SealedBlock) => void }[] = [];
  seal(job: SealJob): Promise<SealedBlock> {
    const own = Buffer.from(job.payload);
    return new Promise((resolve) => this.held.push({ job: { ...job, payload: own }, resolve }));
  }
  release(): void {
    for (const h of this.held.splice(0)) h.resolve(sealBlockSync(h.job));
  }
}

describe('encodeCutBlocks', () => {
  for (const codec of ['none', 'snappy'] as const) {
    it(`of a chunk with an empty head equals encode() and the ${codec} golden file`, () => {
      const c = goldenChunk(codec);
      const bytes = encodeCutBlocks(c);
      expect(bytes.equals(readHex(`v2-${codec}.hex`))).toBe(true);
      expect(bytes.equals(c.encode())).toBe(true);
    });
  }

  for (const codec of CODECS) {
    it(`sends the cut blocks of a ${codec} chunk, never the head, and copies them byte for byte`, () => {
      const c = filledChunk(codec, 7);
      const metas = [...c.blockMetas()];
      expect(metas.length).toBeGreaterThan(3);
      expect(c.headBlock()).not.toBeNull();
      const d = decodeChunk(encodeCutBlocks(c));
      expect(d.codec).toBe(codec);
      expect(d.blockMetas()).toEqual(metas);
      expect(chunkEntries(d)).toEqual(chunkEntries(c));
      expect(d.entries()).toBe(c.entries() - c.headBlock()!.n);
      // The compressed bytes are the chunk's own: the same ones encode() writes.
      const full = c.encode();
      const m = metas[metas.length - 1]!;
      expect(encodeCutBlocks(cutBlocksView(c, metas.length)).subarray(0, m.offset + m.compressedBytes + 4).equals(full.subarray(0, m.offset + m.compressedBytes + 4))).toBe(true);
      // Token filters travel too.
      const hashes = bloomTokenHashes(['token17', 'token999', 'nosuchtoken']);
      for (let i = 0; i < metas.length; i++) {
        for (const h of hashes) expect(d.blockMayContainAll(i, tokenProbe(h))).toBe(c.blockMayContainAll(i, tokenProbe(h)));
      }
    });
  }

  it('encodes a view as it was taken, whatever the chunk took since', () => {
    const c = filledChunk('snappy', 11);
    const k = c.blockMetas().length - 1;
    const view = cutBlocksView(c, k);
    const before = encodeCutBlocks(view);
    const entries = chunkEntries(c).slice(0, k);
    for (let i = 0; i < 200; i++) c.append(T0 + 10_000_000_000n + BigInt(i), Buffer.from(`later ${i} ${'x'.repeat(40)}`), [{ name: 'late', value: String(i) }]);
    c.cutBlock();
    const after = encodeCutBlocks(view);
    expect(chunkEntries(decodeChunk(before))).toEqual(entries);
    expect(chunkEntries(decodeChunk(after))).toEqual(entries);
    expect(decodeChunk(after).blockMetas()).toEqual(c.blockMetas().slice(0, k));
    expect(encodeCutBlocks(cutBlocksView(view, 1)).length).toBeLessThan(after.length);
    expect(chunkEntries(decodeChunk(encodeCutBlocks(cutBlocksView(view, 1))))).toEqual(entries.slice(0, 1));
  });

  it('seals blocks still waiting for the sealer on the side, leaving the chunk as it was', async () => {
    const sealer = new HeldSealer();
    const c = filledChunk('snappy', 3, sealer);
    const k = c.blockMetas().length;
    expect(k).toBeGreaterThan(1);
    expect(c.blockMetas()[k - 1]!.offset).toBe(-1); // the newest block is not sealed yet
    const early = encodeCutBlocks(c);
    expect(c.blockMetas()[k - 1]!.offset).toBe(-1);
    sealer.release();
    await c.whenSealed();
    const late = encodeCutBlocks(c);
    expect(early.equals(late)).toBe(true);
    expect(chunkEntries(decodeChunk(early))).toEqual(chunkEntries(c));
  });

  it('returns a decoded chunk its own bytes, and re-encodes any other ReadableChunk', () => {
    const c = filledChunk('lz4', 5);
    const bytes = encodeCutBlocks(c);
    const stored = decodeChunk(bytes);
    expect(encodeCutBlocks(stored)).toBe(bytes);
    const again = decodeChunk(encodeCutBlocks(opaque(stored)));
    expect(chunkEntries(again)).toEqual(chunkEntries(c));
    expect(again.blockMetas().map((m) => [m.entries, m.minTsNs, m.maxTsNs, m.uncompressedBytes])).toEqual(c.blockMetas().map((m) => [m.entries, m.minTsNs, m.maxTsNs, m.uncompressedBytes]));
    const part = decodeChunk(encodeCutBlocks(cutBlocksView(opaque(stored), 2)));
    expect(chunkEntries(part)).toEqual(chunkEntries(c).slice(0, 2));
    expect(decodeChunk(encodeCutBlocks(cutBlocksView(stored, 2))).blockMetas()).toEqual(c.blockMetas().slice(0, 2));
  });

  it('refuses a block count outside the chunk', () => {
    const c = filledChunk('none', 1);
    expect(() => c.encodeCutBlocks(c.blockMetas().length + 1)).toThrow(RangeError);
    expect(() => c.encodeCutBlocks(-1)).toThrow(RangeError);
    expect(decodeChunk(c.encodeCutBlocks(0)).blockMetas()).toEqual([]);
  });
});

describe('encodeBlock / decodeBlock', () => {
  it('round-trips head blocks, in order and not, with and without metadata', () => {
    for (const seed of [1, 2, 3, 4]) {
      const rng = new Rng(seed);
      const c = new MemChunk({ codec: 'none', blockSizeBytes: 1 << 20, targetSizeBytes: 1 << 22 });
      const ordered = seed % 2 === 0;
      for (let i = 0; i < 300; i++) {
        const ts = ordered ? T0 + BigInt(i) : T0 + BigInt(rng.int(1_000_000)) * 1000n;
        const md = seed > 2 && i % 4 === 0 ? [{ name: 'k', value: `v${rng.int(9)}` }, { name: 'ü', value: '' }] : [];
        c.append(ts, rng.bytes(rng.int(60)), md);
      }
      const head = c.headBlock()!;
      const e = encodeBlock(head, new ByteWriter(16));
      expect(e.entries).toBe(head.n);
      expect(e.baseNs).toBe(head.baseNs);
      const back = decodeBlock(e);
      expect(blockEntries(back)).toEqual(blockEntries(head));
      if (seed <= 2) expect(e.symbols).toEqual([]);
    }
  });

  it('rejects payloads that do not match their description with ChunkCorruptError', () => {
    const c = new MemChunk({ codec: 'none', blockSizeBytes: 1 << 20, targetSizeBytes: 1 << 22 });
    c.append(T0, Buffer.from('a'), [{ name: 'n', value: 'v' }]);
    c.append(T0 + 5n, Buffer.from('bb'), []);
    const e = encodeBlock(c.headBlock()!, new ByteWriter());
    const bad = [
      { ...e, entries: 3 },
      { ...e, spanNs: 4 },
      { ...e, spanNs: -1 },
      { ...e, symbols: ['n'] },
      { ...e, payload: e.payload.subarray(0, e.payload.length - 1) },
      { ...e, payload: Buffer.concat([e.payload, Buffer.from([0])]) },
      { ...e, baseNs: 2n ** 63n - 2n },
    ];
    for (const b of bad) expect(() => decodeBlock(b)).toThrow(ChunkCorruptError);
    expect(blockEntries(decodeBlock(e)).map((x) => x.line.toString())).toEqual(['a', 'bb']);
  });
});
