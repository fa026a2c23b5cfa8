import { describe, expect, it } from 'vitest';
import { decodeChunk, WorkerBlockSealer, type BlockSealer } from '../chunk/index.js';
import { sealBlockSync } from '../chunk/sealer.js';
import { seededRandom } from '../util/random.js';
import { DeleteRule, StreamDeleter } from './delete-filter.js';
import { rewriteChunks } from './rewrite.js';
import { makeChunk, testLabels, TEST_CHUNK_OPTIONS, type TEntry } from './testing.js';

const LABELS = testLabels(1, { app: 'api' });
const T0 = 1_700_000_000_000_000_000n;

function rows(bufs: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const b of bufs) {
    const c = decodeChunk(b);
    for (let k = 0; k < c.blockMetas().length; k++) {
      const blk = c.readBlock(k);
      for (let i = 0; i < blk.n; i++) out.push(`${blk.baseNs + BigInt(blk.tsRel[i]!)}|${blk.lines.toString('utf8', blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!)}`);
    }
  }
  return out;
}

/** The brute-force reference: all entries, stably sorted by ts, exact duplicates once, deleted ones gone. */
function reference(chunks: readonly TEntry[][], deleted: (e: TEntry) => boolean): string[] {
  const all = chunks.flatMap((c) => [...c].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0))).filter((e) => !deleted(e));
  all.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of all) {
    const k = `${e.tsNs}|${e.line}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(k);
  }
  return out;
}

function randomChunks(seed: number, nChunks: number): TEntry[][] {
  const rnd = seededRandom(seed);
  const chunks: TEntry[][] = [];
  let t = T0;
  for (let c = 0; c < nChunks; c++) {
    const entries: TEntry[] = [];
    const n = 1 + Math.floor(rnd() * 60);
    for (let i = 0; i < n; i++) {
      // Overlapping chunks, equal timestamps, and some lines repeated exactly.
      t += BigInt(Math.floor(rnd() * 3) * 1000);
      const ts = rnd() < 0.2 ? t - BigInt(Math.floor(rnd() * 50_000)) : t;
      const line = rnd() < 0.3 ? `dup line ${Math.floor(rnd() * 4)}` : `level=${rnd() < 0.5 ? 'info' : 'error'} msg="m${Math.floor(rnd() * 1e6)}" ${'x'.repeat(Math.floor(rnd() * 200))}`;
      entries.push({ tsNs: ts, line });
    }
    chunks.push(entries);
  }
  return chunks;
}

describe('rewriteChunks', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`merges chunks into target-size chunks with the reference's entries (seed ${seed})`, async () => {
      const chunks = randomChunks(seed, 12);
      const inputs = chunks.map((c) => makeChunk('t', LABELS, c).bytes);
      const out = await rewriteChunks('t', '0123456789abcdef', inputs, null, TEST_CHUNK_OPTIONS);
      const want = reference(chunks, () => false);
      expect(rows(out.chunks.map((c) => c.bytes))).toEqual(want);
      expect(out.kept).toBe(want.length);
      for (const c of out.chunks.slice(0, -1)) expect(c.bytes.length).toBeGreaterThan(TEST_CHUNK_OPTIONS.targetSizeBytes / 2);
      for (const c of out.chunks) {
        expect(c.ref.entries).toBe(decodeChunk(c.bytes).entries());
        expect(c.ref.sizeBytes).toBe(c.bytes.length);
      }
      // Deterministic: a re-run writes byte-identical chunks (same content keys).
      const again = await rewriteChunks('t', '0123456789abcdef', inputs, null, TEST_CHUNK_OPTIONS);
      expect(again.chunks.map((c) => c.ref.checksum)).toEqual(out.chunks.map((c) => c.ref.checksum));
    });
  }

  it('drops exactly the entries a delete rule selects, by time range, line filter and parser stage', async () => {
    const chunks = randomChunks(9, 6);
    const inputs = chunks.map((c) => makeChunk('t', LABELS, c).bytes);
    const all = chunks.flat();
    const sorted = all.map((e) => e.tsNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const start = sorted[Math.floor(sorted.length / 4)]!;
    const end = sorted[Math.floor((sorted.length * 3) / 4)]!;
    for (const [query, pred] of [
      ['{app="api"}', () => true],
      ['{app="api"} |= "dup line"', (l: string) => l.includes('dup line')],
      ['{app="api"} | logfmt | level="error"', (l: string) => /^level=error /.test(l)],
      ['{app="api"} != "info"', (l: string) => !l.includes('info')],
    ] as const) {
      const rule = new DeleteRule({ query, startNs: start, endNs: end });
      const out = await rewriteChunks('t', '0123456789abcdef', inputs, new StreamDeleter([rule], LABELS), TEST_CHUNK_OPTIONS);
      const want = reference(chunks, (e) => e.tsNs >= start && e.tsNs <= end && pred(e.line));
      expect(rows(out.chunks.map((c) => c.bytes)), query).toEqual(want);
    }
  });

  it('seals every block on the sealer given (a worker thread too), with the bytes an inline rewrite makes', async () => {
    const rnd = seededRandom(7);
    const inputs: Buffer[] = [];
    let t = T0;
    for (let c = 0; c < 4; c++) {
      const entries: TEntry[] = [];
      for (let i = 0; i < 400; i++) entries.push({ tsNs: (t += BigInt(1 + Math.floor(rnd() * 1e6))), line: `c=${c} i=${i} level=info took=${Math.floor(rnd() * 900)}ms id=${Math.floor(rnd() * 1e9).toString(16)}` });
      inputs.push(makeChunk('t', LABELS, entries).bytes);
    }
    const opts = { ...TEST_CHUNK_OPTIONS, codec: 'zstd' as const, zstdLevel: 9 };
    const inline = await rewriteChunks('t', '0123456789abcdef', inputs, null, opts);
    let seals = 0;
    const counting: BlockSealer = { seal: async (job) => (seals++, sealBlockSync(job)) };
    const viaSealer = await rewriteChunks('t', '0123456789abcdef', inputs, null, { ...opts, sealer: counting });
    const worker = new WorkerBlockSealer();
    try {
      const viaWorker = await rewriteChunks('t', '0123456789abcdef', inputs, null, { ...opts, sealer: worker });
      expect(viaWorker.chunks.map((c) => c.bytes)).toEqual(inline.chunks.map((c) => c.bytes));
    } finally {
      await worker.close();
    }
    expect(viaSealer.chunks.map((c) => c.bytes)).toEqual(inline.chunks.map((c) => c.bytes));
    expect(inline.chunks.length).toBeGreaterThan(1);
    expect(seals).toBe(inline.chunks.reduce((n, c) => n + decodeChunk(c.bytes).blockMetas().length, 0));
  });

  it('returns no chunk when every entry is deleted', async () => {
    const chunks = randomChunks(11, 2);
    const rule = new DeleteRule({ query: '{app="api"}', startNs: 0n, endNs: 2n ** 62n });
    const out = await rewriteChunks('t', '0123456789abcdef', chunks.map((c) => makeChunk('t', LABELS, c).bytes), new StreamDeleter([rule], LABELS), TEST_CHUNK_OPTIONS);
    expect(out.chunks).toEqual([]);
    expect(out.kept).toBe(0);
  });
});
