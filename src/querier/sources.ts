/**
 * The scan driver shared by log, metric, drilldown and stats queries: which chunks of a
 * selector to read, from ingester memory and from storage, each entry once; and the stored
 * chunks' prefetch with token-filter (bloom) skipping. The callers only differ in what they do
 * with a block (keep the newest lines, feed the metric engine).
 *
 * Selection, in this order. The order matters: a chunk the ingester has uploaded stays in its
 * memory for `chunk_retain_period`, and records its object key as soon as its upload succeeds,
 * before any index segment names it; so every chunk of the snapshot that the index read found
 * has a key by the time the keys are asked for, even when its flush finished while the query
 * was reading the index (asking at snapshot time missed exactly those: they were counted from
 * memory and from the store). A chunk that left memory was indexed before it left, and its
 * ingester remembers its key for a while.
 * 1. the ingesters' snapshots of memory (every replica's, when there are replicas);
 * 2. the index;
 * 3. the ingesters' stored keys of the snapshot's chunks: a listed chunk whose copy is in the
 *    snapshot is read from memory, and a stored key listed by several ingesters (replicas cut
 *    identical chunks) or several index segments is read once;
 * 4. with `dedup` (a ring with replicas): per stream, sources whose time ranges overlap (the
 *    replicas' heads, chunks one replica cut differently) are merged entry by entry and exact
 *    duplicates (timestamp, line, structured metadata) dropped, as Loki's iterators do;
 *    counted in `ScanStats.duplicates`. Sources that overlap nothing are read as they are.
 */
import { cutBlocksView, decodeChunk, decodeChunkOnce, readBlockAsync, type ChunkIndex, type DecodedBlock, type ReadableChunk } from '../chunk/index.js';
import type { IngesterQuerier, MemChunkData } from '../ingester/client.js';
import type { Labels, Matcher } from '../model/index.js';
import { NOTHING_TO_RELEASE, chunkKey, type ChunkRef } from '../storage/index.js';
import type { BlockCache } from './block-cache.js';
import type { Deadline } from './deadline.js';
import type { Store } from './querier.js';
import type { ScanStats } from './scan.js';
import { mergeDedup } from './merge.js';
import { inShard, type Shard } from './shard.js';

/** A chunk held in memory (or merged from overlapping copies): cut blocks and a head block. */
export interface MemPart {
  readonly fromNs: bigint;
  readonly throughNs: bigint;
  readonly cut: ReadableChunk | null;
  readonly head: DecodedBlock | null;
}

/** One stream's parts read from memory. */
export interface MemoryStream {
  readonly labels: Labels;
  readonly fingerprint: string;
  readonly parts: MemPart[];
}

/** What a query reads: memory parts per stream, and the stored chunks left to fetch. */
export interface ScanPlan {
  readonly memory: MemoryStream[];
  readonly stored: ChunkRef[];
  /** Labels of every stream that has stored chunks, by fingerprint. */
  readonly series: ReadonlyMap<string, Labels>;
}

export interface PlanRequest {
  tenant: string;
  matchers: readonly Matcher[];
  /** Inclusive range. */
  fromNs: bigint;
  throughNs: bigint;
  /** Null: the query is older than every ingester holds (query_ingesters_within). */
  ingester: IngesterQuerier | null;
  store: Store;
  deadline: Deadline;
  /** Merge overlapping sources of a stream entry by entry (replicas; see the file comment). */
  dedup: boolean;
  stats: ScanStats;
  blocks: BlockCache | null;
  /** Only the streams of this shard (the query-frontend's sharded pieces); absent: all. */
  shard?: Shard | null;
}

/** Chooses every chunk a query reads, each entry once (see the file comment). */
export async function planScan(r: PlanRequest): Promise<ScanPlan> {
  const { deadline, tenant } = r;
  const read = deadline.read;
  const shard = r.shard ?? null;
  // Ingesters snapshot only the shard's streams; the filter below also covers one that does not
  // know the shard field yet (a rolling upgrade).
  let snapshot = r.ingester ? await deadline.wait(r.ingester.selectStreams(tenant, r.matchers, r.fromNs, r.throughNs, { ...read, shard })) : [];
  let listed = await deadline.wait(r.store.chunkRefs(tenant, r.fromNs, r.throughNs, r.matchers, read));
  if (shard) {
    snapshot = snapshot.filter((s) => inShard(s.fingerprint, shard));
    listed = { series: listed.series, refs: listed.refs.filter((ref) => inShard(ref.fingerprint, shard)) };
  }
  const ids: string[] = [];
  for (const s of snapshot) for (const c of s.chunks) ids.push(c.id);
  const keys = ids.length > 0 && r.ingester ? await deadline.wait(r.ingester.storedKeys(tenant, ids, read)) : new Map<string, string>();
  // Memory, one entry per stream; a chunk whose stored key another replica's chunk has is the same chunk.
  const byFp = new Map<string, { labels: Labels; fingerprint: string; chunks: MemChunkData[] }>();
  const seenKeys = new Set<string>();
  for (const s of snapshot) {
    let m = byFp.get(s.fingerprint);
    if (!m) byFp.set(s.fingerprint, (m = { labels: s.labels, fingerprint: s.fingerprint, chunks: [] }));
    for (const c of s.chunks) {
      const k = keys.get(c.id);
      if (k !== undefined) {
        if (seenKeys.has(k)) continue;
        seenKeys.add(k);
      }
      m.chunks.push(c);
    }
  }
  // Stored chunks: without the copies read from memory, each key once.
  const stored: ChunkRef[] = [];
  const storedKeys = new Set<string>();
  for (const ref of listed.refs) {
    const k = chunkKey(ref);
    if (seenKeys.has(k) || storedKeys.has(k)) continue;
    storedKeys.add(k);
    stored.push(ref);
  }
  const memory: MemoryStream[] = [];
  if (!r.dedup) {
    for (const m of byFp.values()) memory.push({ labels: m.labels, fingerprint: m.fingerprint, parts: m.chunks.map(memPart) });
    return { memory, stored, series: listed.series };
  }
  // Dedup: per stream, overlapping sources are merged; the rest is read as usual.
  const storedByFp = new Map<string, ChunkRef[]>();
  for (const ref of stored) {
    let l = storedByFp.get(ref.fingerprint);
    if (!l) storedByFp.set(ref.fingerprint, (l = []));
    l.push(ref);
  }
  const keep: ChunkRef[] = [];
  const fps = new Set<string>([...byFp.keys(), ...storedByFp.keys()]);
  for (const fp of fps) {
    const mem = byFp.get(fp);
    const refs = storedByFp.get(fp) ?? [];
    const labels = mem?.labels ?? listed.series.get(fp);
    if (labels === undefined) continue;
    if (mem !== undefined && !refs.some((ref) => mem.chunks.some((c) => c.fromNs <= ref.throughNs && ref.fromNs <= c.throughNs))) {
      const parts = replicaParts(mem.chunks, r.stats);
      if (parts !== null) {
        memory.push({ labels, fingerprint: fp, parts });
        for (const ref of refs) keep.push(ref);
        continue;
      }
    }
    type Src = { fromNs: bigint; throughNs: bigint; mem: MemChunkData | null; ref: ChunkRef | null };
    const srcs: Src[] = [...(mem?.chunks ?? []).map((c) => ({ fromNs: c.fromNs, throughNs: c.throughNs, mem: c, ref: null })), ...refs.map((ref) => ({ fromNs: ref.fromNs, throughNs: ref.throughNs, mem: null, ref }))];
    srcs.sort((a, b) => (a.fromNs < b.fromNs ? -1 : a.fromNs > b.fromNs ? 1 : 0));
    const parts: MemPart[] = [];
    for (let i = 0; i < srcs.length; ) {
      // A cluster: sources whose ranges chain into each other.
      let j = i + 1;
      let end = srcs[i]!.throughNs;
      while (j < srcs.length && srcs[j]!.fromNs <= end) {
        if (srcs[j]!.throughNs > end) end = srcs[j]!.throughNs;
        j++;
      }
      const cluster = srcs.slice(i, j);
      i = j;
      if (cluster.length === 1) {
        const s = cluster[0]!;
        if (s.mem) parts.push(memPart(s.mem));
        else keep.push(s.ref!);
        continue;
      }
      const inputs: DecodedBlock[][] = [];
      for (const s of cluster) {
        if (s.mem) inputs.push(memBlocks(s.mem));
        else {
          const body = await deadline.wait(r.store.getChunk(s.ref!, read));
          r.stats.chunksFetched++;
          r.stats.compressedBytesFetched += body.length;
          const chunk = decodeChunkOnce(body);
          const key = chunkKey(s.ref!);
          const blocks: DecodedBlock[] = [];
          for (let b = 0; b < chunk.blockMetas().length; b++) {
            blocks.push(r.blocks ? await r.blocks.readAsync(chunk, key, b) : await readBlockAsync(chunk, b));
            r.stats.decompressedBytes += chunk.blockMetas()[b]!.uncompressedBytes;
          }
          inputs.push(blocks);
        }
      }
      const merged = mergeDedup(inputs);
      r.stats.duplicates += merged.duplicates;
      for (const b of merged.blocks) parts.push(blockPart(b));
    }
    if (parts.length > 0) memory.push({ labels, fingerprint: fp, parts });
  }
  return { memory, stored: keep, series: listed.series };
}

/** The ingester a chunk id names (`<instance>/<n>`). */
function instanceOf(id: string): string {
  return id.slice(0, id.lastIndexOf('/'));
}

/** Crcs of a memory chunk's cut blocks, up to the first one not known (0). */
function cutCrcs(c: MemChunkData): number[] {
  const out: number[] = [];
  if (c.cut) {
    for (let b = 0; b < c.cut.blockMetas().length; b++) {
      const crc = c.cut.blockCrc(b);
      if (crc === 0) break;
      out.push(crc);
    }
  }
  return out;
}

/** Whether two decoded blocks hold the same entries (timestamps, lines, structured metadata). */
function sameBlock(a: DecodedBlock, b: DecodedBlock): boolean {
  if (a.n !== b.n || a.baseNs !== b.baseNs || !a.lines.equals(b.lines)) return false;
  for (let i = 0; i < a.n; i++) if (a.tsRel[i] !== b.tsRel[i] || a.lineOffsets[i + 1] !== b.lineOffsets[i + 1]) return false;
  for (let i = 0; i < a.n; i++) {
    const x = a.metadata(i);
    const y = b.metadata(i);
    if (x.length !== y.length || x.some((l, k) => l.name !== y[k]!.name || l.value !== y[k]!.value)) return false;
  }
  return true;
}

/**
 * A stream's memory chunks from several replicas that cut it identically, read without
 * merging what they share; null when they did not (the caller merges entry by entry).
 *
 * Replicas that applied a stream's pushes in the same order cut the same chunks and blocks:
 * equal crcs. Chunks are grouped by the crc of their first cut block (head-only chunks form one
 * group); the replicas agree when every group holds exactly one chunk of every ingester that
 * answered for the stream (then the k-th chunks of all replicas start at the same entry, and
 * hold the same entries but for what a lagging replica has not received yet). Per group, the
 * cut blocks every member shares (the longest common prefix of crcs: same bytes, same symbols)
 * are read once from one member, with their token filters; what follows them (the members'
 * remaining blocks and heads) is merged entry by entry, or read once when it is identical.
 * Entries not read because another replica's copy was are counted as duplicates.
 */
function replicaParts(chunks: readonly MemChunkData[], stats: ScanStats): MemPart[] | null {
  const ingesters = new Set(chunks.map((c) => instanceOf(c.id)));
  if (ingesters.size === 1) return chunks.map(memPart);
  const groups = new Map<number, { chunk: MemChunkData; crcs: number[] }[]>();
  for (const c of chunks) {
    const crcs = cutCrcs(c);
    // A cut block whose crc is not known yet leaves nothing to match on.
    if (crcs.length === 0 && c.cut !== null && c.cut.blockMetas().length > 0) return null;
    const key = crcs.length === 0 ? 0 : crcs[0]!;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ chunk: c, crcs });
  }
  const parts: MemPart[] = [];
  for (const g of groups.values()) {
    if (g.length !== ingesters.size || new Set(g.map((m) => instanceOf(m.chunk.id))).size !== g.length) return null;
  }
  for (const g of groups.values()) {
    let shared = g[0]!.crcs.length;
    for (const m of g) {
      let p = 0;
      while (p < shared && p < m.crcs.length && m.crcs[p] === g[0]!.crcs[p]) p++;
      shared = p;
    }
    const first = g[0]!.chunk;
    if (shared > 0) {
      const cut = cutBlocksView(first.cut!, shared);
      parts.push({ fromNs: cut.minTsNs(), throughNs: cut.maxTsNs(), cut, head: null });
      stats.duplicates += cut.entries() * (g.length - 1);
    }
    // What follows the shared blocks in each member: its own cut blocks, then its head.
    const rests = g.map(({ chunk }) => memBlocks(chunk, shared));
    const one = rests[0]!;
    if (rests.every((x) => x.length === one.length && x.every((b, i) => b === one[i] || sameBlock(b, one[i]!)))) {
      for (const b of one) parts.push(blockPart(b));
      for (let k = 1; k < rests.length; k++) for (const b of rests[k]!) stats.duplicates += b.n;
      continue;
    }
    const merged = mergeDedup(rests);
    stats.duplicates += merged.duplicates;
    for (const b of merged.blocks) parts.push(blockPart(b));
  }
  return parts;
}

function blockPart(b: DecodedBlock): MemPart {
  return { fromNs: b.baseNs, throughNs: b.baseNs + BigInt(b.tsRel[b.n - 1]!), cut: null, head: b };
}

function memPart(c: MemChunkData): MemPart {
  return { fromNs: c.fromNs, throughNs: c.throughNs, cut: c.cut, head: c.head };
}

/** The blocks of a memory chunk from cut block `from` on, then its head. */
function memBlocks(c: MemChunkData, from = 0): DecodedBlock[] {
  const out: DecodedBlock[] = [];
  if (c.cut) for (let b = from; b < c.cut.blockMetas().length; b++) out.push(c.cut.readBlock(b));
  if (c.head) out.push(c.head);
  return out;
}

/** A stored chunk made ready ahead of the scan: skipped by its index, or fetched (blocks maybe decoded). */
export type Prepared =
  | { readonly skip: ChunkIndex }
  | {
      readonly chunk: ReadableChunk;
      readonly key: string;
      readonly bytes: number;
      readonly blocks: ReadonlyMap<number, DecodedBlock> | null;
      /** Gives lent chunk bytes back (PrefetchOptions.lend): call once done with `chunk`, then never use it again. */
      readonly release: () => void;
    }
  | Error;

export interface PrefetchOptions {
  store: Store;
  deadline: Deadline;
  /** Chunks fetched ahead of the one being scanned. */
  concurrency: number;
  /**
   * Whether block `b` may hold a match (time range and token filter). With `byIndex`, a chunk's
   * index (metas and token filters) is fetched first and its body only when some block may match.
   */
  candidate: (idx: ChunkIndex, b: number) => boolean;
  byIndex: boolean;
  /** Decompress the candidate blocks on the libuv threadpool while fetching ahead. */
  decodeAhead: boolean;
  blocks: BlockCache | null;
  /** Still wanted when its prefetch would start (the log query's limit may be reached); default yes. */
  wanted?: (ref: ChunkRef) => boolean;
  /**
   * Read chunks the cache will not keep into lent memory (Store.getChunkForScan), for a caller
   * that calls each chunk's `release` once done with it (and with its decoded-ahead blocks,
   * which are in memory of their own).
   */
  lend?: boolean;
}

/**
 * Reads `refs` in order, up to `concurrency` chunks ahead, so object-store latency and
 * decompression overlap with the scan. `get(i)` answers chunk i (null: not wanted, not fetched).
 */
export class StoredPrefetch {
  readonly #refs: readonly ChunkRef[];
  readonly #o: PrefetchOptions;
  readonly #inflight = new Map<number, Promise<Prepared>>();
  #next = 0;

  constructor(refs: readonly ChunkRef[], o: PrefetchOptions) {
    this.#refs = refs;
    this.#o = o;
  }

  /** Chunk `i`, fetching ahead of it; null when `wanted` says no. */
  async get(i: number): Promise<Prepared | null> {
    const ref = this.#refs[i]!;
    const wanted = this.#o.wanted;
    if (wanted && !wanted(ref)) {
      this.#inflight.delete(i);
      return null;
    }
    const conc = Math.max(1, this.#o.concurrency);
    for (; this.#next < this.#refs.length && this.#next <= i + conc; this.#next++) {
      const r = this.#refs[this.#next]!;
      if (!wanted || wanted(r)) this.#inflight.set(this.#next, this.#prepare(r));
    }
    const p = this.#inflight.get(i) ?? this.#prepare(ref);
    this.#inflight.delete(i);
    return this.#o.deadline.wait(p);
  }

  async #prepare(r: ChunkRef): Promise<Prepared> {
    const o = this.#o;
    const read = o.deadline.read;
    try {
      const key = chunkKey(r);
      let bytes = 0;
      let chunk: ReadableChunk | null = null;
      let release = NOTHING_TO_RELEASE;
      // The blocks that may match, decided once: the tail and the whole chunk hold the same filters.
      let want: number[] | null = null;
      if (o.byIndex) {
        const idx = await o.store.getChunkIndex(r, read);
        const metas = idx.blockMetas();
        want = [];
        let wantBytes = 0;
        let allBytes = 0;
        for (let b = 0; b < metas.length; b++) {
          allBytes += metas[b]!.compressedBytes;
          if (!o.candidate(idx, b)) continue;
          want.push(b);
          wantBytes += metas[b]!.compressedBytes;
        }
        if (want.length === 0) return { skip: idx };
        // A scan that needs at most half of a chunk's block bytes reads only those blocks when
        // the cache lacks the chunk (ADR 0043: whole reads of such chunks filled and churned
        // the chunk cache).
        if (o.lend === true && wantBytes * 2 <= allBytes) {
          const some = await o.store.getChunkBlocksForScan(r, idx, want, read);
          if (some !== null) {
            chunk = some.chunk;
            bytes = some.bytes;
          }
        }
      }
      // Unless read by range (memory of its own: nothing to give back), the whole chunk.
      if (chunk === null && o.lend === true) {
        const lease = await o.store.getChunkForScan(r, read);
        bytes = lease.bytes.length;
        release = lease.release;
        chunk = lease.lent ? decodeChunk(lease.bytes, { lent: true }) : decodeChunkOnce(lease.bytes);
      } else if (chunk === null) {
        const body = await o.store.getChunk(r, read);
        bytes = body.length;
        chunk = decodeChunkOnce(body);
      }
      const c = chunk;
      if (!o.decodeAhead) return { chunk: c, key, bytes, blocks: null, release };
      if (want === null) {
        want = [];
        for (let b = 0; b < c.blockMetas().length; b++) if (o.candidate(c, b)) want.push(b);
      }
      // Resolved only once every job is done with the bytes; on a failure the lease is dropped
      // unreleased (jobs may still run), so its memory is never reused.
      const decoded = await Promise.all(want.map((b) => (o.blocks ? o.blocks.readAsync(c, key, b) : readBlockAsync(c, b))));
      const blocks = new Map<number, DecodedBlock>();
      want.forEach((b, j) => blocks.set(b, decoded[j]!));
      return { chunk: c, key, bytes, blocks, release };
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }
}
