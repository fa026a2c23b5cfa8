/**
 * Replicas cut identical chunks (issue #19 §4): ingesters that receive the same pushes in the
 * same order upload byte-identical chunks under the same keys, whatever their clocks, flush
 * moments and block sealers, and after a restart from the WAL; so a shared store holds one copy
 * and the index counts it once. Real Ingester instances over one in-memory object store.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/config/config.js';
import { Ingester, type IngesterConfig } from '../src/ingester/ingester.js';
import { chunkWindowEndNs } from '../src/ingester/stream.js';
import type { Wal } from '../src/ingester/wal/index.js';
import { fingerprint, labelsFromObject, labelsToString, type PushEntry, type ValidStream } from '../src/model/index.js';
import { ChunkStore, IndexReader, IndexWriter, MemoryObjectClient, chunkKey, type ChunkRef } from '../src/storage/index.js';
import { testMatcher } from '../src/storage/testing.js';
import { genEntries } from './support/genlogs.js';
import { tempDir } from './support/silt.js';

const TENANT = 'fake';
const MIN_NS = 60_000_000_000n;
/** Chunk windows of 10 minutes; the data spans about 50, so several window boundaries. */
const MAX_CHUNK_AGE_MS = 10 * 60_000;
const START_MS = Date.UTC(2024, 0, 1, 0, 3); // 3 minutes into a window

/** Shared by every replica (level metadata on some entries, interned per chunk). */
const LEVELS = ['info', 'warn', 'error'].map((v) => Object.freeze([{ name: 'detected_level', value: v }]));

/**
 * Push batches as a distributor would send them: consecutive entries grouped by stream, with a
 * few entries swapped within their stream (out of order, well inside the window).
 */
function makeBatches(lines: number, perBatch: number): ValidStream[][] {
  const entries = genEntries({ lines, streams: 12, startMs: START_MS, rate: 10 });
  const batches: ValidStream[][] = [];
  for (let i = 0; i < entries.length; i += perBatch) {
    const byKey = new Map<string, ValidStream>();
    for (const e of entries.slice(i, i + perBatch)) {
      const labels = labelsFromObject(e.labels);
      const fp = fingerprint(labels);
      let s = byKey.get(fp);
      if (!s) byKey.set(fp, (s = { labels, labelsString: labelsToString(labels), fingerprint: fp, entries: [] }));
      const n = s.entries.length + i;
      const entry: PushEntry = { tsNs: e.tsNs, line: Buffer.from(e.line), metadata: n % 4 === 0 ? LEVELS[n % 3]! : [] };
      s.entries.push(entry);
    }
    for (const s of byKey.values()) {
      const es = s.entries;
      for (let k = 1; k < es.length; k += 17) [es[k - 1], es[k]] = [es[k]!, es[k - 1]!];
    }
    batches.push([...byKey.values()]);
  }
  return batches;
}

/** Every chunk a replica uploaded, by key, with its bytes (also written to the shared store). */
type Uploads = Map<string, { ref: ChunkRef; bytes: Buffer }>;

interface Replica {
  ing: Ingester;
  uploads: Uploads;
  clock: { nowMs: number };
  walDir: string;
  name: string;
}

interface ReplicaOptions {
  sealer: 'worker' | 'inline';
  /** Wall clock of this replica at its start (ms); independent of entry time. */
  clockMs: number;
  /** WAL directory (a fresh one when absent). */
  walDir?: string;
  uploads?: Uploads;
}

const store = new MemoryObjectClient();

async function startReplica(name: string, o: ReplicaOptions, objects = store): Promise<Replica> {
  const base = defaultConfig();
  const cfg: IngesterConfig = {
    ...base.ingester,
    chunk_encoding: 'snappy',
    chunk_block_size: 8 * 1024,
    chunk_target_size: 24 * 1024,
    block_sealer: o.sealer,
    max_chunk_age: MAX_CHUNK_AGE_MS,
    chunk_idle_period: 30 * 60_000,
    // Flushes only when a test asks (flushNow), at moments it picks per replica.
    flush_check_period: 3600_000,
    wal: { ...base.ingester.wal, enabled: true, dir: o.walDir ?? tempDir(`silt-replica-${name}-`), fsync: 'never', checkpoint_duration: 3600_000 },
  };
  const limits = { ...base.limits_config, per_stream_rate_limit: 0, max_streams_per_user: 0, max_global_streams_per_user: 0 };
  const chunks = new ChunkStore(objects);
  const index = new IndexWriter(objects, name);
  const uploads: Uploads = o.uploads ?? new Map();
  const clock = { nowMs: o.clockMs };
  const ing = new Ingester({
    cfg,
    limits: () => limits,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    nowMs: () => clock.nowMs,
    sink: {
      async putChunk(ref, bytes) {
        await chunks.put(ref, bytes);
        uploads.set(chunkKey(ref), { ref, bytes: Buffer.from(bytes) });
      },
      writeIndex: (tenant, series, refs) => index.writeSegments(tenant, series, refs),
    },
  });
  await ing.start();
  return { ing, uploads, clock, walDir: cfg.wal.dir, name };
}

/** Stops a replica as a crash would: no flush, no checkpoint; memory is lost, the WAL stays. */
async function crash(r: Replica): Promise<void> {
  await (r.ing as unknown as { wal: Wal }).wal.close();
}

/** Gives the event loop (and the seal worker's replies) a few turns. */
const turns = (n: number): Promise<void> => new Promise((r) => setTimeout(r, n));

/** Chunk keys with their bytes' crc, sorted: two replicas agree when these are equal. */
function keysOf(u: Uploads, pred: (ref: ChunkRef) => boolean = () => true): string[] {
  return [...u.values()].filter((x) => pred(x.ref)).map((x) => chunkKey(x.ref)).sort();
}

function expectSameChunks(a: Uploads, b: Uploads, pred?: (ref: ChunkRef) => boolean): void {
  const ka = keysOf(a, pred);
  expect(ka.length).toBeGreaterThan(0);
  expect(keysOf(b, pred)).toEqual(ka);
  for (const k of ka) expect(b.get(k)!.bytes.equals(a.get(k)!.bytes), k).toBe(true);
}

async function storedChunkBytes(objects: MemoryObjectClient): Promise<{ chunks: number; bytes: number }> {
  const { objects: list } = await objects.list(`${TENANT}/chunks/`);
  return { chunks: list.length, bytes: list.reduce((a, o) => a + o.sizeBytes, 0) };
}

let batches: ValidStream[][];
let totalEntries = 0;
beforeAll(() => {
  batches = makeBatches(30_000, 250);
  totalEntries = batches.reduce((a, b) => a + b.reduce((x, s) => x + s.entries.length, 0), 0);
});

afterAll(async () => {
  const { sharedBlockSealer } = await import('../src/chunk/index.js');
  await sharedBlockSealer().close();
});

describe('replicas cut identical chunks', () => {
  it('three replicas with different clocks, flush moments and sealers store one copy, indexed once', async () => {
    const reps = [
      await startReplica('a', { sealer: 'worker', clockMs: Date.UTC(2030, 0, 1) }),
      await startReplica('b', { sealer: 'inline', clockMs: Date.UTC(2030, 0, 1, 1, 7) }),
      await startReplica('c', { sealer: 'worker', clockMs: Date.UTC(2029, 11, 31, 20) }),
    ];
    // Each replica's clock runs at its own pace (b's passes max_chunk_age several times over
    // the run) and each flushes at its own moments.
    const stepMs = [700, 30_000, 90];
    const flushEvery = [1, 7, 0];
    for (let i = 0; i < batches.length; i++) {
      // One replica after another, yielding to the seal worker only now and then: seals land
      // after different appends on each worker-sealed replica.
      await reps[0]!.ing.push(TENANT, batches[i]!);
      await reps[2]!.ing.push(TENANT, batches[i]!);
      if (i % 3 === 0) await turns(1);
      await reps[1]!.ing.push(TENANT, batches[i]!);
      for (let k = 0; k < reps.length; k++) {
        reps[k]!.clock.nowMs += stepMs[k]!;
        if (flushEvery[k]! > 0 && i % flushEvery[k]! === 0) await reps[k]!.ing.flushNow(false);
      }
    }
    // The streams go quiet: each replica's idle flush comes at its own time.
    for (const r of reps) {
      r.clock.nowMs += 31 * 60_000;
      expect(await r.ing.flushNow(false)).toBe(0);
      await turns(5);
    }
    const [a, b, c] = reps as [Replica, Replica, Replica];
    expect(a.uploads.size).toBeGreaterThan(20);
    expectSameChunks(a.uploads, b.uploads);
    expectSameChunks(a.uploads, c.uploads);
    // Cut by entry time: no chunk spans more than a window (plus the few swapped entries).
    for (const u of a.uploads.values()) expect(u.ref.throughNs - u.ref.fromNs).toBeLessThan(BigInt(MAX_CHUNK_AGE_MS) * 1_000_000n + MIN_NS);

    // One copy in the store: exactly the bytes one replica uploaded.
    const stored = await storedChunkBytes(store);
    expect(stored.chunks).toBe(a.uploads.size);
    expect(stored.bytes).toBe([...a.uploads.values()].reduce((x, u) => x + u.bytes.length, 0));

    // Three writers indexed the same refs: counted once.
    const reader = new IndexReader(store);
    const any = [testMatcher('cluster', '=~', '.+')];
    const stats = await reader.stats(TENANT, 0n, 2n ** 62n, any);
    expect(stats.chunks).toBe(a.uploads.size);
    expect(stats.entries).toBe(totalEntries);
    const { refs } = await reader.chunkRefs(TENANT, 0n, 2n ** 62n, any);
    expect(refs.map(chunkKey).sort()).toEqual(keysOf(a.uploads));
    for (const r of reps) await r.ing.stop(5_000);
  });

  it('a replica restarted from its WAL (segments, and checkpoint plus segments) rebuilds the same chunks', async () => {
    const objects = new MemoryObjectClient();
    const ref = await startReplica('ref', { sealer: 'worker', clockMs: 1e12 }, objects);
    for (const b of batches) await ref.ing.push(TENANT, b);
    ref.clock.nowMs += 31 * 60_000;
    expect(await ref.ing.flushNow(false)).toBe(0);

    for (const withCheckpoint of [false, true]) {
      const name = withCheckpoint ? 'ckpt' : 'segs';
      let r = await startReplica(name, { sealer: withCheckpoint ? 'inline' : 'worker', clockMs: 2e12 }, objects);
      const uploads = r.uploads;
      const half = Math.floor(batches.length / 2);
      for (let i = 0; i < batches.length; i++) {
        if (i === half) {
          // Crash mid-window, with closed chunks flushed and marked and others in memory.
          await r.ing.flushNow(false);
          if (withCheckpoint) {
            await r.ing.checkpoint();
            // Pushes after the checkpoint replay from the segments on top of it.
            for (let k = 0; k < 3; k++) await r.ing.push(TENANT, batches[i + k]!);
            i += 3;
          }
          await crash(r);
          r = await startReplica(name, { sealer: 'worker', clockMs: r.clock.nowMs + 5_000, walDir: r.walDir, uploads }, objects);
        }
        await r.ing.push(TENANT, batches[i]!);
        r.clock.nowMs += 1000;
        if (i % 5 === 0) await r.ing.flushNow(false);
      }
      r.clock.nowMs += 31 * 60_000;
      expect(await r.ing.flushNow(false)).toBe(0);
      expectSameChunks(ref.uploads, uploads);
      await r.ing.stop(5_000);
    }
    await ref.ing.stop(5_000);
  });

  it('a replica that lost its memory, or missed a push, differs until the next window boundary, then cuts the same chunks', async () => {
    const objects = new MemoryObjectClient();
    const ref = await startReplica('ref', { sealer: 'inline', clockMs: 1e12 }, objects);
    for (const b of batches) await ref.ing.push(TENANT, b);
    ref.clock.nowMs += 31 * 60_000;
    expect(await ref.ing.flushNow(false)).toBe(0);
    const ageNs = BigInt(MAX_CHUNK_AGE_MS) * 1_000_000n;
    /** The first window boundary after every entry of batch `i`. */
    const boundaryAfter = (i: number): bigint => {
      let max = 0n;
      for (const s of batches[i]!) for (const e of s.entries) if (e.tsNs > max) max = e.tsNs;
      return chunkWindowEndNs(max, ageNs);
    };
    const at = Math.floor(batches.length / 3);

    // 1. Graceful restart without a WAL to replay: the shutdown flushes a partial chunk per stream.
    let r = await startReplica('lost', { sealer: 'worker', clockMs: 3e12 }, objects);
    const lost = r.uploads;
    for (let i = 0; i < batches.length; i++) {
      if (i === at) {
        await r.ing.stop(5_000);
        r = await startReplica('lost2', { sealer: 'worker', clockMs: r.clock.nowMs, uploads: lost }, objects);
      }
      await r.ing.push(TENANT, batches[i]!);
    }
    r.clock.nowMs += 31 * 60_000;
    expect(await r.ing.flushNow(false)).toBe(0);
    await r.ing.stop(5_000);
    const after = boundaryAfter(at);
    // Chunks opened at or after the first boundary past the restart are the reference's.
    const settled = (x: ChunkRef): boolean => x.fromNs >= after;
    expectSameChunks(ref.uploads, lost, settled);
    expect(keysOf(lost, (x) => x.fromNs < after)).not.toEqual(keysOf(ref.uploads, (x) => x.fromNs < after));

    // 2. One push missed: that chunk differs, nothing breaks, and the window after is identical.
    const missed = await startReplica('missed', { sealer: 'worker', clockMs: 4e12 }, objects);
    for (let i = 0; i < batches.length; i++) if (i !== at) await missed.ing.push(TENANT, batches[i]!);
    missed.clock.nowMs += 31 * 60_000;
    expect(await missed.ing.flushNow(false)).toBe(0);
    await missed.ing.stop(5_000);
    expectSameChunks(ref.uploads, missed.uploads, settled);
    const differing = keysOf(missed.uploads).filter((k) => !ref.uploads.has(k));
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.length).toBeLessThan(missed.uploads.size / 2);
    // Every entry is indexed; the differing chunks are counted on their own (querier dedup drops repeats).
    const stats = await new IndexReader(objects).stats(TENANT, 0n, 2n ** 62n, [testMatcher('cluster', '=~', '.+')]);
    expect(stats.chunks).toBe(new Set([...keysOf(ref.uploads), ...keysOf(lost), ...keysOf(missed.uploads)]).size);
    await ref.ing.stop(5_000);
  });
});
