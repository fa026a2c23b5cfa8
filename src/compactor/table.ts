/**
 * Compaction of one index table (tenant, day): many ingester segments become one, with
 * retention, processed delete requests and small-chunk merging applied on the way.
 *
 * Steps, each safe to crash after (see docs/adr/0007-compactor.md):
 *   1. load   list and decode the table's segments; drop those a listed segment supersedes
 *   2. plan   expire chunks, rewrite chunks with deleted lines, merge small chunks (in memory),
 *              and in a day old enough, recompress every chunk not yet recompressed (ADR 0038;
 *              those are put as they are made: nothing rewrites them again in the run)
 *   3. chunks put the new chunk objects (content-addressed; nothing references them yet)
 *   4. marker write a marker naming every chunk removed from the index
 *   5. segment put one segment holding the result that names every loaded segment as
 *              superseded: readers switch from the old view to the new one in this one put
 *   6. cleanup delete the superseded segments (readers already ignore them)
 * Re-running after a crash at any step reaches the same end state.
 */
import type { ChunkOptions } from '../chunk/index.js';
import { ZSTD_LEVEL } from '../chunk/codec.js';
import type { Labels } from '../model/index.js';
import { dayOf, encodeSegment, refIdentity, segmentKey, type ChunkRef, type ObjectClient, type Segment, type SegmentSeriesInput } from '../storage/index.js';
import type { TenantDeleter } from './delete-filter.js';
import { loadTable, writeMarkers } from './markers.js';
import { chunkExpired, type TenantRetention } from './retention.js';
import { rewriteChunks, type RewriteResult } from './rewrite.js';
import { SMALL_CHUNK_FRACTION } from './consts.js';
import { chunkKey } from '../storage/index.js';

/** Named points between steps, for crash-injection tests and logs. */
export type CompactionStep = 'loaded' | 'chunks-written' | 'marker-written' | 'segment-written' | 'cleaned';

/** Everything one table compaction needs. */
export interface TableJob {
  client: ObjectClient;
  tenant: string;
  day: number;
  /** Writer id of compacted segments (`compactor-<rand>`). */
  writerId: string;
  /** Strictly increasing sequence numbers for segment keys. */
  nextSeq: () => number;
  nowMs: number;
  /** Options of rewritten chunks; `targetSizeBytes` is the merge target. */
  chunkOptions: ChunkOptions;
  /** Merge small chunks. */
  merge: boolean;
  /**
   * Chunks first indexed by an ingester less than this long ago are kept as they are (not merged
   * or rewritten for overlaps): the ingester may still serve them from memory for
   * chunk_retain_period, and queries skip only the stored copy under the chunk's own key. 0: none.
   */
  minChunkAgeMs?: number;
  /** Retention rules, or null when retention is off. */
  retention: TenantRetention | null;
  /** Delete requests due for physical deletion, or null. */
  deletes: TenantDeleter | null;
  /**
   * Recompression of an old day (ADR 0038): every chunk lying wholly in the day is rewritten
   * with `options` unless a live segment says it already was (its `recompressed` equals `tag`);
   * every other rewrite of the table uses `options` too. Null or absent: none.
   */
  recompress?: Recompression | null;
  /** Called after each step; a throwing hook stops the compaction there (tests). */
  onStep?: (step: CompactionStep) => void | Promise<void>;
  /** Shared by the tables of one tenant in one run (see CrossDayChunks); none: a fresh one. */
  crossDay?: CrossDayChunks;
}

/**
 * A chunk crossing midnight is referenced by two tables. Each table expires or rewrites it in
 * its own index, but within one run the rewrite is done once (both tables then reference the
 * same new chunk: rewriting is deterministic and chunks are content-addressed) and the chunk
 * is counted once in the run's totals.
 */
export class CrossDayChunks {
  readonly #rewrites = new Map<string, RewriteResult>();
  readonly #expired = new Set<string>();

  /** The rewrite of chunk `key`, made by `make` the first time; `first` tells whether this call made it. */
  async rewrite(key: string, make: () => Promise<RewriteResult>): Promise<{ out: RewriteResult; first: boolean }> {
    const had = this.#rewrites.get(key);
    if (had !== undefined) return { out: had, first: false };
    const out = await make();
    this.#rewrites.set(key, out);
    return { out, first: true };
  }

  /** True the first time chunk `key` is reported expired. */
  expire(key: string): boolean {
    if (this.#expired.has(key)) return false;
    this.#expired.add(key);
    return true;
  }
}

/** Chunk settings an old day is rewritten with, and their tag in the segment (chunkSettingsTag). */
export interface Recompression {
  options: ChunkOptions;
  tag: string;
}

/**
 * The tag a version 3 segment carries for chunks written with `o`: codec (and zstd level),
 * block size and target size. Equal settings give equal tags, so a change of any of them
 * recompresses the old days again.
 */
export function chunkSettingsTag(o: ChunkOptions): string {
  const codec = o.codec === 'zstd' ? `zstd-${o.zstdLevel ?? ZSTD_LEVEL}` : o.codec;
  return `${codec}/${o.blockSizeBytes}/${o.targetSizeBytes}`;
}

/** Uncompressed bytes of input chunks rewritten together by the recompression: bounds the entries one rewrite holds. */
const RECOMPRESS_GROUP_BYTES = 64 * 1024 * 1024;

/** What one table compaction did. */
export interface TableResult {
  segmentsIn: number;
  /** Key of the segment written, or null when the table needed nothing. */
  segmentOut: string | null;
  refsIn: number;
  refsOut: number;
  expired: number;
  /** Chunks rewritten because delete requests matched some of their lines. */
  rewritten: number;
  entriesDeleted: number;
  /** Input chunks merged, and chunks they became. */
  merged: number;
  mergedInto: number;
  duplicatesDropped: number;
  /** Chunks rewritten because their time ranges overlapped others of the same stream. */
  overlapsRewritten: number;
  /** Chunk refs handed to the sweeper. */
  marked: number;
  /** Chunks recompressed (ADR 0038), the chunks they became, and their compressed bytes before and after. */
  recompressed: number;
  recompressedInto: number;
  recompressedBytesIn: number;
  recompressedBytesOut: number;
}

interface SeriesState {
  labels: Labels;
  refs: ChunkRef[];
}

function compareRefs(a: ChunkRef, b: ChunkRef): number {
  if (a.fromNs !== b.fromNs) return a.fromNs < b.fromNs ? -1 : 1;
  if (a.throughNs !== b.throughNs) return a.throughNs < b.throughNs ? -1 : 1;
  return a.checksum - b.checksum;
}

/** Union of the live segments: fingerprint → labels and distinct refs. */
function unionOf(tenant: string, live: readonly Segment[]): Map<string, SeriesState> {
  const out = new Map<string, SeriesState>();
  const seen = new Set<string>();
  for (const seg of live) {
    for (let i = 0; i < seg.seriesCount; i++) {
      const fp = seg.fingerprints[i]!;
      let s = out.get(fp);
      if (s === undefined) out.set(fp, (s = { labels: seg.labels[i]!, refs: [] }));
      for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) {
        const ref = { ...seg.refAt(i, j), tenant };
        const id = refIdentity(ref);
        if (seen.has(id)) continue;
        seen.add(id);
        s.refs.push(ref);
      }
    }
  }
  for (const s of out.values()) s.refs.sort(compareRefs);
  return out;
}

/**
 * Walks `refs` in order: consecutive ones `eligible` takes are gathered into runs of at most
 * `limit` by `size` (a bigger single ref is a run alone), each handed to `flush`, which pushes
 * what stands for it onto `next`; the others go to `next` as they are. Answers `next`, sorted.
 */
async function inRuns(
  refs: readonly ChunkRef[],
  eligible: (r: ChunkRef) => boolean,
  size: (r: ChunkRef) => number,
  limit: number,
  flush: (run: ChunkRef[], next: ChunkRef[]) => Promise<void>,
): Promise<ChunkRef[]> {
  const next: ChunkRef[] = [];
  let run: ChunkRef[] = [];
  let runSize = 0;
  const end = async (): Promise<void> => {
    if (run.length > 0) await flush(run, next);
    run = [];
    runSize = 0;
  };
  for (const r of refs) {
    if (!eligible(r)) {
      await end();
      next.push(r);
      continue;
    }
    if (run.length > 0 && runSize + size(r) > limit) await end();
    run.push(r);
    runSize += size(r);
  }
  await end();
  return next.sort(compareRefs);
}

/** A TableResult with every count 0 and no segment written. */
export function emptyTableResult(): TableResult {
  return {
    segmentsIn: 0,
    segmentOut: null,
    refsIn: 0,
    refsOut: 0,
    expired: 0,
    rewritten: 0,
    entriesDeleted: 0,
    merged: 0,
    mergedInto: 0,
    duplicatesDropped: 0,
    overlapsRewritten: 0,
    marked: 0,
    recompressed: 0,
    recompressedInto: 0,
    recompressedBytesIn: 0,
    recompressedBytesOut: 0,
  };
}

/** Compacts one table; see the file comment for the steps. */
export async function compactTable(job: TableJob): Promise<TableResult> {
  const { client, tenant, day } = job;
  const step = async (s: CompactionStep): Promise<void> => {
    if (job.onStep) await job.onStep(s);
  };
  const res: TableResult = emptyTableResult();

  const { all, live, modifiedMs } = await loadTable(client, tenant, day);
  res.segmentsIn = all.length;
  await step('loaded');
  if (all.length === 0) return res;

  const series = unionOf(tenant, live);
  // Refs of segments an ingester wrote (compacted segments name what they replace) recently.
  const young = new Set<string>();
  const minAge = job.minChunkAgeMs ?? 0;
  if (minAge > 0) {
    for (const seg of live) {
      if (seg.replaces.length > 0 || (modifiedMs.get(seg.key) ?? 0) <= job.nowMs - minAge) continue;
      for (let i = 0; i < seg.seriesCount; i++) for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) young.add(refIdentity({ ...seg.refAt(i, j), tenant }));
    }
  }
  const isYoung = (r: ChunkRef): boolean => young.size > 0 && young.has(refIdentity(r));
  const recompress = job.recompress ?? null;
  /** Every rewrite of a table being recompressed writes the recompressed settings. */
  const rewriteOptions = recompress?.options ?? job.chunkOptions;
  /** Keys of chunks already written with the recompression's settings: listed by a segment tagged so, or made by this run. */
  const recompressedKeys = new Set<string>();
  if (recompress !== null) {
    for (const seg of live) {
      if (seg.recompressed !== recompress.tag) continue;
      for (let i = 0; i < seg.seriesCount; i++) for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) recompressedKeys.add(chunkKey(seg.refAt(i, j)));
    }
  }
  for (const s of series.values()) res.refsIn += s.refs.length;
  const liesInDay = (r: ChunkRef): boolean => dayOf(r.fromNs) === day && dayOf(r.throughNs) === day;
  /**
   * A day being recompressed that holds a young chunk (late entries an ingester may still
   * serve) waits for a run where it holds none: its segment can carry the tag only once every
   * chunk of the day was recompressed, and an untagged one would have the next run rewrite the
   * whole day again.
   */
  const recompressWaits = recompress !== null && young.size > 0 && [...series.values()].some((s) => s.refs.some((r) => liesInDay(r) && isYoung(r)));
  /** Keys of the chunks the table lists: what is in the store before this run writes anything. */
  const storedKeys = new Set<string>();
  for (const s of series.values()) for (const r of s.refs) storedKeys.add(chunkKey(r));
  const removed: ChunkRef[] = [];
  const newChunks = new Map<string, Buffer>();
  /** Keys of the recompression's chunks, put as they were made. */
  const putEarly = new Set<string>();
  const fetch = async (ref: ChunkRef): Promise<Buffer> => newChunks.get(chunkKey(ref)) ?? client.get(chunkKey(ref));
  const crossDay = job.crossDay ?? new CrossDayChunks();
  const crossesMidnight = (r: ChunkRef): boolean => dayOf(r.fromNs) !== dayOf(r.throughNs);

  for (const [fp, s] of series) {
    // Retention: drop expired chunks from the index.
    if (job.retention !== null) {
      const period = job.retention.periodFor(s.labels);
      if (period > 0) {
        const keep: ChunkRef[] = [];
        for (const r of s.refs) {
          if (chunkExpired(r.throughNs, period, job.nowMs)) {
            removed.push(r);
            if (!crossesMidnight(r) || crossDay.expire(chunkKey(r))) res.expired++;
          } else keep.push(r);
        }
        s.refs = keep;
      }
    }
    // Deletes: rewrite chunks holding deleted lines.
    const deleter = job.deletes?.forStream(s.labels) ?? null;
    if (deleter !== null) {
      const next: ChunkRef[] = [];
      for (const r of s.refs) {
        if (!deleter.overlaps(r.fromNs, r.throughNs)) {
          next.push(r);
          continue;
        }
        const rewrite = async (): Promise<RewriteResult> => await rewriteChunks(tenant, fp, [await fetch(r)], deleter, { ...rewriteOptions, targetSizeBytes: Number.MAX_SAFE_INTEGER });
        const { out, first } = crossesMidnight(r) ? await crossDay.rewrite(chunkKey(r), rewrite) : { out: await rewrite(), first: true };
        if (out.deleted === 0 && out.duplicates === 0) {
          next.push(r);
          continue;
        }
        if (first) {
          res.rewritten++;
          res.entriesDeleted += out.deleted;
          res.duplicatesDropped += out.duplicates;
        }
        removed.push(r);
        for (const c of out.chunks) {
          newChunks.set(chunkKey(c.ref), c.bytes);
          if (recompress !== null) recompressedKeys.add(chunkKey(c.ref));
          next.push(c.ref);
        }
      }
      s.refs = next.sort(compareRefs);
    }
    /**
     * Rewrites `refs` together (dropping exact duplicates): they leave the index, the new chunks
     * go to `next`, kept for step 3 or, with `putNow`, put at once. Answers the rewrite and the
     * inputs' bytes.
     */
    const rewriteInto = async (refs: readonly ChunkRef[], next: ChunkRef[], putNow = false): Promise<{ out: RewriteResult; bytesIn: number }> => {
      const inputs: Buffer[] = [];
      let bytesIn = 0;
      for (const r of refs) {
        const b = await fetch(r);
        inputs.push(b);
        bytesIn += b.length;
      }
      const out = await rewriteChunks(tenant, fp, inputs, null, rewriteOptions);
      res.duplicatesDropped += out.duplicates;
      for (const r of refs) removed.push(r);
      for (const c of out.chunks) {
        const k = chunkKey(c.ref);
        if (putNow) {
          await client.put(k, c.bytes);
          putEarly.add(k);
        } else newChunks.set(k, c.bytes);
        if (recompress !== null) recompressedKeys.add(k);
        next.push(c.ref);
      }
      return { out, bytesIn };
    };
    // Overlaps: chunks of one stream whose time ranges overlap may hold the same entries twice
    // (stored again after a crash by versions before WAL flush marks, or one stream flushed by
    // several replicas). Each overlapping group lying wholly in this day is rewritten into
    // sorted, non-overlapping chunks; rewriteChunks drops the exact duplicates.
    {
      const inDay = (r: ChunkRef): boolean => dayOf(r.fromNs) === day && dayOf(r.throughNs) === day && !isYoung(r);
      const next: ChunkRef[] = [];
      let group: ChunkRef[] = [];
      let groupThrough = -1n;
      const flushGroup = async (): Promise<void> => {
        if (group.length < 2) {
          next.push(...group);
        } else {
          await rewriteInto(group, next);
          res.overlapsRewritten += group.length;
        }
        group = [];
        groupThrough = -1n;
      };
      // Refs are sorted by start: a ref overlaps the group when it starts before the group ends.
      for (const r of s.refs) {
        if (!inDay(r)) {
          await flushGroup();
          next.push(r);
          continue;
        }
        if (group.length > 0 && r.fromNs >= groupThrough) await flushGroup();
        group.push(r);
        if (r.throughNs > groupThrough) groupThrough = r.throughNs;
      }
      await flushGroup();
      s.refs = next.sort(compareRefs);
    }
    // Merging: runs of consecutive small chunks lying wholly in this day. A day being
    // recompressed is merged by the recompression below, which rewrites its chunks in runs.
    if (job.merge && recompress === null) {
      const target = job.chunkOptions.targetSizeBytes;
      const small = (r: ChunkRef): boolean => r.sizeBytes < target * SMALL_CHUNK_FRACTION && liesInDay(r) && !isYoung(r);
      s.refs = await inRuns(s.refs, small, (r) => r.sizeBytes, target, async (run, next) => {
        if (run.length < 2) {
          next.push(...run);
          return;
        }
        const { out } = await rewriteInto(run, next);
        res.merged += run.length;
        res.mergedInto += out.chunks.length;
      });
    }
    // Recompression: runs of consecutive chunks lying wholly in this day not yet written with
    // the recompression's settings are rewritten with them. The new chunks are put at once (no
    // later step rewrites them), so a whole day is never held in memory.
    if (recompress !== null && !recompressWaits) {
      const pending = (r: ChunkRef): boolean => liesInDay(r) && !isYoung(r) && !recompressedKeys.has(chunkKey(r));
      s.refs = await inRuns(s.refs, pending, (r) => r.uncompressedBytes, RECOMPRESS_GROUP_BYTES, async (run, next) => {
        const { out, bytesIn } = await rewriteInto(run, next, true);
        res.recompressed += run.length;
        res.recompressedInto += out.chunks.length;
        res.recompressedBytesIn += bytesIn;
        for (const c of out.chunks) res.recompressedBytesOut += c.bytes.length;
      });
    }
  }
  for (const s of series.values()) res.refsOut += s.refs.length;

  // Nothing to change: one live segment, no superseded leftovers, same refs.
  const changed = removed.length > 0 || newChunks.size > 0 || putEarly.size > 0;
  // A waiting recompression keeps the segments as they are (folding them into one untagged
  // segment would drop the tag of the recompressed ones).
  if (!changed && recompressWaits) return res;
  if (!changed && all.length === 1) {
    const only = all[0]!;
    // A compacted table emptied by retention or deletes: its empty segment can go.
    if (only.seriesCount === 0 && only.replaces.length > 0) {
      await client.delete(only.key);
      await step('cleaned');
    }
    return res;
  }
  if (!changed && live.length === 1 && live[0]!.replaces.length > 0) {
    // Only leftovers of an earlier run that crashed before its cleanup.
    for (const seg of all) if (seg !== live[0]) await client.delete(seg.key);
    await step('cleaned');
    return res;
  }

  // 3. New chunks: invisible until a segment references them. Only those the new index keeps:
  // a chunk one step wrote and a later step rewrote again (an overlap rewrite, then merged
  // with its neighbours) never reaches the store.
  const finalKeys = new Set<string>();
  for (const s of series.values()) for (const r of s.refs) finalKeys.add(chunkKey(r));
  for (const [key, bytes] of newChunks) if (finalKeys.has(key)) await client.put(key, bytes);
  await step('chunks-written');
  // 4. Marker before the switch; the sweeper re-checks references before deleting. Marked:
  // each stored chunk (one the table listed) that the new index no longer references.
  const markedKeys = new Set<string>();
  const gone = removed.filter((r) => {
    const k = chunkKey(r);
    if (!storedKeys.has(k) || finalKeys.has(k) || markedKeys.has(k)) return false;
    markedKeys.add(k);
    return true;
  });
  if (gone.length > 0) await writeMarkers(client, gone, job.nowMs);
  res.marked = gone.length;
  await step('marker-written');
  // 5. The switch.
  const input: SegmentSeriesInput[] = [];
  for (const [fingerprint, s] of series) if (s.refs.length > 0) input.push({ fingerprint, labels: s.labels, refs: s.refs });
  const key = segmentKey(tenant, day, job.writerId, job.nextSeq());
  const replaces = all.map((seg) => seg.key.slice(seg.key.lastIndexOf('/') + 1));
  // Tagged only when no chunk lying wholly in the day was left as it was (a young one).
  let complete = recompress !== null;
  if (complete) {
    for (const s of input) for (const r of s.refs) if (liesInDay(r) && !recompressedKeys.has(chunkKey(r))) complete = false;
  }
  await client.put(key, encodeSegment({ tenant, day, series: input, replaces, ...(complete ? { recompressed: recompress!.tag } : {}) }));
  res.segmentOut = key;
  await step('segment-written');
  // 6. Cleanup.
  for (const seg of all) await client.delete(seg.key);
  await step('cleaned');
  return res;
}
