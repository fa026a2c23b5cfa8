import { crc32 } from '../util/crc32.js';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ColumnPool, cutBlocksView, sharedBlockSealer, type ChunkOptions, type Codec } from '../chunk/index.js';
import type { LimitsConfig, SiltConfig } from '../config/config.js';
import { RateLimitError, type SiltError, UnavailableError, ValidationError } from '../errors.js';
import { inShard, labelsJson, labelValue, markInKeyOrder, metadataKey, seriesJsonOf, seriesKey, withSeriesJson, type Labels, type Matcher, type PushEntry, type Shard, type ValidStream } from '../model/index.js';
import { chunkKey, type ChunkRef, type SeriesEntry } from '../storage/index.js';
import { formatHumanIBytes } from '../util/go/bytes.js';
import { KeptAnswers } from '../util/kept-answers.js';
import { TokenBucket } from '../util/rate-limiter.js';
import { ascending, insertAscending, insertAt, NO_STRINGS, recordInsertions } from '../util/sorted.js';
import type { IngesterTailer, MemChunkData, MemStream } from './client.js';
import { Tailers } from './tailers.js';
import { byLabelsString, IndexedStreamMap, matchesAll } from './label-index.js';
import { ChunkDesc, Stream, TimeBounds } from './stream.js';
import { newStreamRef, Wal, type CheckpointStream, type FlushMark, type ReplayStream, type WalSnapshotTenant, type WalStats, type WalStream, type WalStreamRef } from './wal/index.js';

const NO_ENTRIES: readonly PushEntry[] = Object.freeze([]);
/** Placeholder ref of a pooled WalStream between pushes. */
const NO_REF = newStreamRef();

/** Shared settled promise for pushes with nothing to log. */
const RESOLVED: Promise<void> = Promise.resolve();

export type IngesterConfig = SiltConfig['ingester'];

/** Where flushed chunks go: the consumer-defined slice of the storage layer. */
export interface ChunkSink {
  putChunk(ref: ChunkRef, bytes: Buffer): Promise<void>;
  writeIndex(tenant: string, series: SeriesEntry[], refs: ChunkRef[]): Promise<void>;
  /**
   * Of stored chunks whose index write replay cannot confirm, the keys that must not be indexed
   * again: already indexed, or removed from the index since (merged by the compactor). Without
   * it every such chunk is indexed again.
   */
  notToReindex?(refs: readonly ChunkRef[]): Promise<Set<string>>;
}

export interface IngesterDeps {
  cfg: IngesterConfig;
  limits: (tenant: string) => LimitsConfig;
  sink: ChunkSink;
  logger: Logger;
  registry: Registry;
  nowMs?: () => number;
  /**
   * Told the bytes quiet heads gave up in one flush cycle: their old columns are garbage until
   * the JS heap is collected, which an idle process may not do by itself (the App asks its idle
   * memory release for a collection, ADR 0036).
   */
  onHeadsShrunk?: (bytes: number) => void;
}

const NS_PER_MS = 1_000_000n;

/** Go's time.Time.String() for a UTC instant: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
function goTimeString(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const d = new Date(Number(sec) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return `${d}${frac ? '.' + frac : ''} +0000 UTC`;
}

/** Go's time.RFC3339 for a UTC instant (no fraction). */
function rfc3339(ns: bigint): string {
  return new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function humanRate(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toFixed(1))} ${units[i]}`;
}

/** Entries of one stream admitted by a push, applied to memory once their WAL record is durable. */
interface PendingApply {
  stream: Stream;
  entries: readonly PushEntry[];
  firstSeq: number;
}

/** A stored chunk whose index entry is not confirmed yet (its flush mark is durable). */
interface PendingIndex {
  mark: FlushMark;
  ref: ChunkRef;
  series: SeriesEntry;
  /** The chunk in memory, when this process flushed it (null after replay). */
  desc: ChunkDesc | null;
  /** After replay: not yet checked against the index (see ChunkSink.notToReindex). */
  unverified: boolean;
}

/** The chunk ref a flush mark describes (the mark is a ref plus its stream and range). */
function refOfMark(m: FlushMark): ChunkRef {
  const { labels: _labels, firstSeq: _first, lastSeq: _last, ...ref } = m;
  return ref;
}

/** What one pass over an ingester's streams counts (#countMemory). */
interface MemoryFigures {
  /** Accounted bytes, as ingester.memory_limit counts them. */
  bytes: number;
  chunks: number;
  /** Closed chunks not yet stored (loki_ingester_flush_queue_length). */
  waiting: number;
}

/** All streams of one tenant. */
class TenantInstance {
  /** Streams by fingerprint; creating or removing one here also (un)indexes its labels. */
  readonly streams = new IndexedStreamMap<string, Stream>();
  /** Where the tenant's in-memory entries are in time (stream.ts). */
  readonly bounds = new TimeBounds();
  /**
   * Streams that may hold no entry: those created since the last flush cycle (pending until
   * their WAL write lands) and those the last cycle left without one. Every other stream has an
   * entry, since a chunk's entries only grow and chunks leave only in a flush cycle. So "does
   * every stream have an entry" (the label browser's question) is a look at these few instead
   * of a pass over 100k streams.
   */
  maybeEmpty: Stream[] = [];
  /**
   * Recent metadata answers over ranges holding every entry, by what was asked, each good while
   * the label index's version is the one it was made at (`Ingester.#answer`).
   */
  readonly answers = new KeptAnswers(KEPT_ANSWERS);
  constructor(readonly tenant: string) {}

  /** Adds a new stream (indexing its labels). */
  addStream(s: Stream): void {
    this.streams.set(s.fingerprint, s);
    this.maybeEmpty.push(s);
  }

  /** Whether every stream has an entry; forgets the streams found to have one. */
  everyStreamHasEntries(): boolean {
    const m = this.maybeEmpty;
    let n = 0;
    for (let i = 0; i < m.length; i++) if (!hasEntries(m[i]!)) m[n++] = m[i]!;
    m.length = n;
    return n === 0;
  }
}

const NO_SERIES: readonly Labels[] = Object.freeze(markInKeyOrder([]));

/**
 * Metadata answers a tenant keeps (`TenantInstance.answers`), at most; their lists hold at most
 * twice the tenant's streams (plus its label names) in all.
 */
const KEPT_ANSWERS = 16;

/**
 * A kept label list (`old`, ascending) with the strings `add` gives for the new streams matching
 * `matchers` put in by binary search, recorded so its answer is the old answer with them
 * spliced in (`labelListBody`); `old` itself when they are all in it.
 */
function withAdded(old: readonly string[], added: readonly Stream[], matchers: readonly Matcher[], add: (s: Stream, out: Set<string>) => void): readonly string[] {
  const more = new Set<string>();
  for (const s of added) if (matchesAll(s.labels, matchers)) add(s, more);
  const r = insertAscending(old, [...more].sort());
  if (r === null) return old;
  recordInsertions(r.out, old, r.at);
  return ascending(r.out);
}

/** A kept answer is updated when at most this many streams came since; else made anew. */
const FEW_ADDED_STREAMS = 256;

/**
 * A chunk still open after this many max_chunk_age of wall time is flushed although its entries'
 * timestamps have not left its window (see shouldFlush).
 */
const WALL_CLOCK_AGE_FACTOR = 2;
/**
 * Quiet heads laid out together per turn of the event loop, in one shared buffer (~3 µs each:
 * a copy of a few KB). A shared buffer lives until its last head moves on (its stream pushes
 * again, or its chunk is flushed), so it is kept small: a straggler holds ~1 MB at most.
 */
const SHRINK_SLICE = 256;

/**
 * Memory accounting (ADR 0024). Bytes one in-memory stream and one chunk cost beyond the chunk's
 * buffers (JS objects, labels, WAL and index state), from heap snapshots (bench/RESULTS.md, issue
 * #20 goal 4), and per admitted entry beyond its line until the next measurement.
 */
const STREAM_OVERHEAD_BYTES = 3072;
const CHUNK_OVERHEAD_BYTES = 1024;
const ENTRY_OVERHEAD_BYTES = 32;
/** How often memory is measured (and early flushes started) while ingester.memory_limit is set. */
const MEMORY_CHECK_MS = 1000;
/** Early flushes aim this fraction of the soft mark, so they do not restart on every check. */
const SOFT_TARGET_RATIO = 0.9;
/**
 * Most bytes of head columns kept for reuse (ColumnPool, ADR 0040), without ingester.memory_limit
 * (with it, none: the pool trades memory for collector time). At 10,000 streams 16 MiB carried
 * the buffers heads grew out of to the next heads growing into them; 4 MiB did not.
 */
const COLUMN_POOL_BYTES = 16 * 1024 * 1024;
/** Reason of pushes refused at the hard mark, in loki_discarded_samples_total (Loki has no such limit). */
export const MEMORY_LIMIT_REASON = 'ingester_memory_limit';

/** How long an ingester remembers the key of an uploaded chunk after dropping it from memory. */
const STORED_KEY_MEMORY_MS = 10 * 60_000;

/**
 * The ingester role: keeps recent entries per stream in memory chunks, logs them to the
 * WAL before acknowledging, and flushes full, old or idle chunks to object storage.
 *
 * Replicas cut identical chunks. With replication, each stream's pushes reach several
 * ingesters; every decision about where a chunk or block ends depends on the stream's entry
 * sequence alone (blocks by the head's byte estimate and entry count, `full` by a size estimate
 * that never waits on the sealer's timing, `max_age` by epoch-aligned max_chunk_age windows of
 * entry time: the rule is spelled out at Stream.append). Replicas that received the same
 * entries in the same order therefore upload byte-identical chunks under one content-derived
 * key, and the store holds one copy. The wall clock only says when to flush: idle chunks (by
 * then every replica holds the same entries), forced flushes, and a backstop for streams whose
 * timestamps stand still. WAL replay re-appends entries in sequence order and so rebuilds the
 * same chunks; a replica whose chunk differs (missed a push, flushed early) falls back in step at
 * the next window boundary.
 */
export class Ingester {
  private readonly cfg: IngesterConfig;
  private readonly deps: IngesterDeps;
  private readonly now: () => number;
  private readonly tenants = new Map<string, TenantInstance>();
  private readonly chunkOpts: ChunkOptions;
  /** Column buffers heads grew out of, for the next heads that grow (in every chunk's options); none with a memory limit. */
  readonly #columnPool: ColumnPool | null;
  private readonly maxChunkAgeNs: bigint;
  private readonly oooWindowNs: bigint;
  private wal: Wal | null = null;
  private ready = false;
  private stopping = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** WalStream objects reused by every push (see #append). */
  private readonly walStreamPool: { labels: string; fingerprint: string; entries: readonly PushEntry[]; ref: WalStreamRef; firstSeq: number }[] = [];
  private flushRunning: Promise<void> | null = null;
  /**
   * Next entry sequence number. Every entry a push logs gets one; they grow in WAL order, so
   * a stream's chunks hold unbroken runs of them (see ChunkDesc.firstSeq and the WAL README).
   */
  private nextSeq = 1;
  /** Stored chunks whose flush mark is durable but whose index write is not confirmed, by object key. */
  private readonly pendingIndex = new Map<string, PendingIndex>();
  private lastFlushError: string | null = null;
  private readonly m;
  /** Live tail subscribers, fed from push. */
  private readonly tailers = new Tailers();
  /** Object keys of uploaded chunks by chunk number, kept a while after the chunk leaves memory (see `storedKeys`). */
  private readonly storedKeyByNumber = new Map<number, { key: string; droppedMs: number }>();
  /**
   * Accounted bytes of in-memory data: measured by #measureMemory (chunk buffers plus per-stream
   * and per-chunk overheads), raised by every admitted push until the next measurement.
   */
  private memBytes = 0;
  /** ingester.memory_limit and its soft mark (0: no limit). */
  private readonly memLimitBytes: number;
  private readonly memSoftBytes: number;
  private memoryTimer: NodeJS.Timeout | null = null;
  /** The figures of the scrape under way (`#scrapeFigures`). */
  #scraped: MemoryFigures | null = null;

  constructor(deps: IngesterDeps) {
    this.deps = deps;
    this.cfg = deps.cfg;
    this.now = deps.nowMs ?? Date.now;
    this.memLimitBytes = this.cfg.memory_limit ?? 0;
    this.#columnPool = this.memLimitBytes > 0 ? null : new ColumnPool(COLUMN_POOL_BYTES);
    this.chunkOpts = {
      codec: this.cfg.chunk_encoding as Codec,
      blockSizeBytes: this.cfg.chunk_block_size,
      targetSizeBytes: this.cfg.chunk_target_size,
      ...(this.cfg.block_sealer === 'worker' ? { sealer: sharedBlockSealer() } : {}),
      ...(this.#columnPool !== null ? { columnPool: this.#columnPool } : {}),
    };
    this.maxChunkAgeNs = BigInt(this.cfg.max_chunk_age) * NS_PER_MS;
    this.oooWindowNs = this.maxChunkAgeNs / 2n;
    this.memSoftBytes = Math.floor(this.memLimitBytes * Math.min(1, this.cfg.memory_soft_limit_ratio ?? 0.8));
    const r = deps.registry;
    // Without a limit nothing measures between scrapes: measure at scrape time.
    const memBytes = (): number => (this.memLimitBytes > 0 ? this.memBytes : this.#scrapeFigures().bytes);
    const scrape = (): MemoryFigures => this.#scrapeFigures();
    this.m = {
      streams: new Gauge({ name: 'loki_ingester_memory_streams', help: 'The total number of streams in memory per tenant.', labelNames: ['tenant'], registers: [r] }),
      chunks: new Gauge({
        name: 'loki_ingester_memory_chunks',
        help: 'The total number of chunks in memory.',
        registers: [r],
        collect() {
          this.set(scrape().chunks);
        },
      }),
      streamsCreated: new Counter({ name: 'loki_ingester_streams_created_total', help: 'The total number of streams created per tenant.', labelNames: ['tenant'], registers: [r] }),
      flushed: new Counter({ name: 'loki_ingester_chunks_flushed_total', help: 'Total flushed chunks per reason.', labelNames: ['reason'], registers: [r] }),
      flushFailures: new Counter({ name: 'loki_ingester_chunks_flush_failures_total', help: 'Total number of flush failures (failed chunk upload or index write attempts).', registers: [r] }),
      chunkEntries: new Histogram({ name: 'loki_ingester_chunk_entries', help: 'Distribution of stored lines per chunk (when stored).', buckets: [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200], registers: [r] }),
      duplicates: new Counter({ name: 'silt_ingester_duplicate_entries_total', help: 'Exact duplicate entries dropped.', registers: [r] }),
      walReplayed: new Counter({ name: 'loki_ingester_wal_recovered_entries_total', help: 'Total number of entries recovered from the WAL.', registers: [r] }),
      memUsed: new Gauge({
        name: 'silt_ingester_memory_used_bytes',
        help: 'Bytes of in-memory data as ingester.memory_limit counts them: chunk buffers plus per-stream and per-chunk overheads (ADR 0024).',
        registers: [r],
        collect() {
          this.set(memBytes());
        },
      }),
      earlyFlushes: new Counter({ name: 'silt_ingester_memory_early_flushes_total', help: 'Chunks flushed early because memory passed the soft mark of ingester.memory_limit.', registers: [r] }),
      memRefused: new Counter({ name: 'silt_ingester_memory_refused_pushes_total', help: 'Pushes refused with 429 because memory reached ingester.memory_limit.', registers: [r] }),
      discardedSamples: discardCounter(r, 'loki_discarded_samples_total', 'The total number of samples that were discarded.'),
      discardedBytes: discardCounter(r, 'loki_discarded_bytes_total', 'The total number of bytes that were discarded (line + structured metadata).'),
      notFlushed: new Gauge({
        name: 'loki_ingester_flush_queue_length',
        help: 'Closed chunks waiting to be flushed (Loki counts series pending in its flush queue; a growing value means object storage is failing).',
        registers: [r],
        collect() {
          this.set(scrape().waiting);
        },
      }),
    };
    this.#registerWalMetrics(r);
    const limit = new Gauge({ name: 'silt_ingester_memory_limit_bytes', help: 'ingester.memory_limit (mark="hard") and its soft mark (mark="soft"); 0 when unset.', labelNames: ['mark'], registers: [r] });
    limit.set({ mark: 'hard' }, this.memLimitBytes);
    limit.set({ mark: 'soft' }, this.memSoftBytes);
  }

  /** WAL counters, read from Wal.stats() at scrape time. */
  #registerWalMetrics(r: Registry): void {
    const counter = (name: string, help: string, pick: (s: WalStats) => number): void => {
      let last = 0;
      const wal = (): Wal | null => this.wal;
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          const w = wal();
          if (w === null) return;
          const v = pick(w.stats());
          if (v > last) this.inc(v - last);
          last = v;
        },
      });
    };
    counter('loki_ingester_wal_records_logged_total', 'Total number of WAL records logged (one per push).', (s) => s.records);
    counter('loki_ingester_wal_logged_bytes_total', 'Total number of bytes written to disk for WAL records.', (s) => s.bytesWritten);
    counter('silt_ingester_wal_fsyncs_total', 'Syncs of WAL segments: fdatasync calls, and under fsync policy always each durable (O_DSYNC) write.', (s) => s.fsyncs);
    counter('silt_ingester_wal_write_seconds_total', 'Time the WAL writer spent writing segments (it writes one batch at a time).', (s) => s.writeMs / 1000);
    counter('silt_ingester_wal_fsync_seconds_total', 'Time the WAL writer spent in fdatasync of segments (under fsync policy always the sync is inside the write time).', (s) => s.fsyncMs / 1000);
    counter('silt_ingester_wal_write_failures_total', 'Failed WAL segment writes or fsyncs.', (s) => s.writeErrors);
    const wal = (): Wal | null => this.wal;
    new Gauge({
      name: 'silt_ingester_wal_disk_bytes',
      help: 'Bytes of WAL segments and checkpoints on disk.',
      registers: [r],
      collect() {
        this.set(wal()?.stats().diskBytes ?? 0);
      },
    });
  }

  /** Opens and replays the WAL, then starts the flush and checkpoint loops. */
  async start(): Promise<void> {
    const w = this.cfg.wal;
    this.wal = await Wal.open({ enabled: w.enabled, dir: w.dir, fsync: w.fsync, fsyncIntervalMs: w.fsync_interval, segmentSizeBytes: w.segment_size });
    const t0 = Date.now();
    const res = await this.wal.replay((tenant, streams) => this.applyReplay(tenant, streams));
    this.nextSeq = res.nextSeq;
    this.m.walReplayed.inc(res.entries - res.skippedEntries);
    const { marks, ...summary } = res;
    this.deps.logger.info({ ...summary, flushMarks: marks.length, ms: Date.now() - t0 }, 'WAL replay finished');
    // Chunks whose flush mark is durable may have missed their index write: write it again
    // (idempotent, refs are content keys). On failure the flush loop retries.
    for (const m of marks) {
      const ref = refOfMark(m);
      this.pendingIndex.set(chunkKey(ref), { mark: m, ref, series: { fingerprint: m.fingerprint, labels: parseCanonicalLabels(m.labels) }, desc: null, unverified: true });
    }
    if (this.pendingIndex.size > 0) {
      const failed = await this.#writePendingIndex();
      if (failed > 0) this.deps.logger.warn({ chunks: failed, err: this.lastFlushError }, 'could not index chunks flushed before the restart; will retry');
    }
    this.flushTimer = setInterval(() => void this.flushCycle(false), this.cfg.flush_check_period);
    this.flushTimer.unref();
    this.checkpointTimer = setInterval(() => void this.checkpoint(), w.checkpoint_duration);
    this.checkpointTimer.unref();
    this.#measureMemory();
    if (this.memLimitBytes > 0) {
      this.memoryTimer = setInterval(() => this.#checkMemory(), MEMORY_CHECK_MS);
      this.memoryTimer.unref();
    }
    this.ready = true;
  }

  /** Ready once the WAL is replayed. `reason` explains a not-ready answer. */
  readiness(): { ready: boolean; reason: string } {
    if (!this.ready) return { ready: false, reason: 'Ingester not ready: replaying WAL' };
    if (this.stopping) return { ready: false, reason: 'Ingester is shutting down' };
    return { ready: true, reason: '' };
  }

  /** The last flush failure, for /ready details and logs. */
  flushError(): string | null {
    return this.lastFlushError;
  }

  private instance(tenant: string): TenantInstance {
    let inst = this.tenants.get(tenant);
    if (!inst) {
      inst = new TenantInstance(tenant);
      this.tenants.set(tenant, inst);
    }
    return inst;
  }

  private applyReplay(tenant: string, streams: ReplayStream[]): void {
    const inst = this.instance(tenant);
    const now = this.now();
    for (const ws of streams) {
      let s = inst.streams.get(ws.fingerprint);
      if (!s) {
        s = new Stream(parseCanonicalLabels(ws.labels), ws.labels, ws.fingerprint, inst.bounds);
        inst.addStream(s);
      }
      const entries: PushEntry[] = ws.entries.map((e) => ({ tsNs: e.tsNs, line: Buffer.from(e.line), metadata: e.metadata }));
      if (ws.chunk !== null) s.appendChunk({ ...ws.chunk, entries }, now, this.chunkOpts, this.maxChunkAgeNs);
      else s.append(entries, now, this.chunkOpts, this.maxChunkAgeNs, 0, ws.seqs);
    }
  }

  /**
   * Checks the entries, logs the accepted ones in the WAL, and applies them to memory once the
   * WAL holds them; only then does the push count as acknowledged. A push whose WAL write fails
   * leaves nothing in memory, so a retry never duplicates. Rejections follow Loki: out-of-order
   * beyond the window (400), per-stream rate and stream-count limits (429); accepted entries of
   * such a push are still stored.
   */
  push(tenant: string, streams: ValidStream[]): Promise<void> {
    let r: { durable: Promise<void>; apply: PendingApply[]; error: SiltError | null };
    try {
      r = this.#admit(tenant, streams);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const { apply, error } = r;
    if (apply.length === 0) return error === null ? RESOLVED : Promise.reject(error);
    return r.durable.then(
      () => {
        this.#apply(tenant, apply);
        if (error !== null) throw error;
      },
      (e: unknown) => {
        for (const a of apply) a.stream.pending--;
        throw e;
      },
    );
  }

  /** The synchronous part of push: limits, out-of-order checks, sequence numbers and the WAL append. */
  #admit(tenant: string, streams: ValidStream[]): { durable: Promise<void>; apply: PendingApply[]; error: SiltError | null } {
    if (!this.ready || this.stopping) throw new UnavailableError('Ingester is not ready to accept writes');
    // Before anything is created or logged: a refused push leaves no trace.
    if (this.memLimitBytes > 0) this.#admitMemory(tenant, streams);
    const inst = this.instance(tenant);
    const limits = this.deps.limits(tenant);
    const now = this.now();
    const walStreams: WalStream[] = [];
    // WalStream objects are reused: the WAL encodes them before append returns.
    const pool = this.walStreamPool;
    const badRequest: string[] = [];
    const limited: string[] = [];
    const apply: PendingApply[] = [];
    for (const vs of streams) {
      let s = inst.streams.get(vs.fingerprint);
      if (!s) {
        const max = limits.max_global_streams_per_user || limits.max_streams_per_user;
        if (max > 0 && inst.streams.size >= max) {
          limited.push(
            `Maximum active stream limit exceeded when trying to create stream ${vs.labelsString}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '${tenant}'`,
          );
          continue;
        }
        s = new Stream(vs.labels, vs.labelsString, vs.fingerprint, inst.bounds);
        inst.addStream(s);
        this.memBytes += STREAM_OVERHEAD_BYTES;
        this.m.streamsCreated.inc({ tenant });
        this.m.streams.inc({ tenant });
      }
      if (limits.per_stream_rate_limit > 0) {
        let bytes = 0;
        for (const e of vs.entries) bytes += e.line.length;
        // The bucket lives on the stream: no map lookup per push.
        let limiter = s.limiter;
        if (limiter === null || limiter.rate !== limits.per_stream_rate_limit || limiter.burst !== limits.per_stream_rate_limit_burst) {
          limiter = s.limiter = new TokenBucket(limits.per_stream_rate_limit, limits.per_stream_rate_limit_burst, now);
        }
        if (!limiter.allowN(now, bytes)) {
          limited.push(
            `Per stream rate limit exceeded (limit: ${humanRate(limits.per_stream_rate_limit)}/sec) while attempting to ingest for stream '${vs.labelsString}' totaling ${humanRate(bytes)}, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased`,
          );
          continue;
        }
      }
      const res = s.admit(vs.entries, this.oooWindowNs);
      if (res.tooFarBehind > 0) {
        // Loki's text: one line per rejected entry, then a per-stream total.
        let msg = '';
        for (const r of res.rejected) {
          msg += `entry with timestamp ${goTimeString(r.entry.tsNs)} ignored, reason: 'entry too far behind, entry timestamp is: ${rfc3339(r.entry.tsNs)}, oldest acceptable timestamp is: ${rfc3339(r.oldestNs)}',\n`;
        }
        badRequest.push(msg + `user '${tenant}', total ignored: ${res.tooFarBehind} out of ${vs.entries.length} for stream: ${vs.labelsString}`);
      }
      const accepted = res.accepted;
      if (accepted.length === 0) continue;
      const firstSeq = this.nextSeq;
      this.nextSeq += accepted.length;
      s.pending++;
      apply.push({ stream: s, entries: accepted, firstSeq });
      let ws = pool[walStreams.length];
      if (ws === undefined) pool.push((ws = { labels: '', fingerprint: '', entries: NO_ENTRIES, ref: NO_REF, firstSeq: 0 }));
      ws.labels = vs.labelsString;
      ws.fingerprint = vs.fingerprint;
      ws.entries = accepted;
      ws.ref = s;
      ws.firstSeq = firstSeq;
      walStreams.push(ws);
    }
    let durable = RESOLVED;
    if (walStreams.length > 0 && this.wal) {
      try {
        durable = this.wal.append(tenant, walStreams);
      } finally {
        // Keep the objects for the next push, but not the entries they point at.
        for (const ws of walStreams) {
          ws.entries = NO_ENTRIES;
          ws.ref = NO_REF;
        }
      }
    }
    let error: SiltError | null = null;
    if (limited.length > 0) error = new RateLimitError(limited[0]!.startsWith('Per stream') ? 'per_stream_rate_limit' : 'stream_limit', limited.join('\n'));
    else if (badRequest.length > 0) error = new ValidationError('too_far_behind', badRequest.join('\n'));
    return { durable, apply, error };
  }

  /**
   * The hard mark of ingester.memory_limit: throws RateLimitError (429) when the push would take
   * memory past it, before anything of the push is created, logged or applied. Accepted pushes
   * raise the accounted bytes at once, so concurrent pushes are checked against each other.
   */
  #admitMemory(tenant: string, streams: ValidStream[]): void {
    let bytes = 0;
    let entries = 0;
    for (const vs of streams) {
      const es = vs.entries;
      entries += es.length;
      for (let i = 0; i < es.length; i++) bytes += es[i]!.line.length;
    }
    const need = bytes + entries * ENTRY_OVERHEAD_BYTES;
    if (this.memBytes + need <= this.memLimitBytes) {
      this.memBytes += need;
      if (this.memBytes > this.memSoftBytes && this.flushRunning === null) void this.flushCycle(false);
      return;
    }
    this.m.memRefused.inc();
    this.m.discardedSamples.inc({ reason: MEMORY_LIMIT_REASON, tenant }, entries);
    this.m.discardedBytes.inc({ reason: MEMORY_LIMIT_REASON, tenant }, bytes);
    if (this.flushRunning === null) void this.flushCycle(false);
    throw new RateLimitError(
      MEMORY_LIMIT_REASON,
      `ingester memory limit reached: ${formatHumanIBytes(this.memBytes)} of ${formatHumanIBytes(this.memLimitBytes)} (ingester.memory_limit) held by data not yet flushed to storage; ` +
        `push of ${entries} entries (${formatHumanIBytes(bytes)}) for user '${tenant}' refused and not stored, retry with backoff while chunks are flushed, or raise the limit`,
    );
  }

  /**
   * Whether the accounted bytes are above the soft mark of ingester.memory_limit (early flushes
   * are running or due): the process should hand memory back while busy, not only when quiet.
   */
  get underMemoryPressure(): boolean {
    return this.memLimitBytes > 0 && this.memBytes > this.memSoftBytes;
  }

  /**
   * Recomputes the accounted bytes from what memory holds: every chunk's buffers (head columns at
   * their capacity, cut blocks, filters) plus STREAM_OVERHEAD_BYTES per stream and
   * CHUNK_OVERHEAD_BYTES per chunk, and the column buffers kept for reuse.
   */
  #measureMemory(): number {
    return (this.memBytes = this.#countMemory().bytes);
  }

  /** One pass over every stream: the accounted bytes (see #measureMemory, and the column pool's), the chunks, and the closed chunks not yet stored. */
  #countMemory(): MemoryFigures {
    let bytes = this.#columnPool?.bytes ?? 0;
    let chunks = 0;
    let waiting = 0;
    for (const t of this.tenants.values())
      for (const s of t.streams.values()) {
        bytes += STREAM_OVERHEAD_BYTES;
        for (const c of s.chunks) {
          bytes += CHUNK_OVERHEAD_BYTES + c.chunk.memoryBytes();
          chunks++;
          if (c.closed && !c.flushed) waiting++;
        }
      }
    return { bytes, chunks, waiting };
  }

  /**
   * `#countMemory` for the gauges of one /metrics scrape: its collects run in one synchronous
   * pass, so they share one count, dropped at the next macrotask (three passes took ~40 ms of
   * event loop per scrape at 100k streams).
   */
  #scrapeFigures(): MemoryFigures {
    let f = this.#scraped;
    if (f === null) {
      f = this.#scraped = this.#countMemory();
      setImmediate(() => {
        this.#scraped = null;
      });
    }
    return f;
  }

  /** The memory timer: measures, and starts a flush cycle above the soft mark (it flushes early, see doFlush). */
  #checkMemory(): void {
    if (this.#measureMemory() > this.memSoftBytes && this.flushRunning === null) void this.flushCycle(false);
  }

  /** Applies a push's admitted entries to memory (their WAL record is durable) and feeds live tails. */
  #apply(tenant: string, apply: PendingApply[]): void {
    const now = this.now();
    const tailing = this.tailers.has(tenant);
    for (const a of apply) {
      const s = a.stream;
      s.pending--;
      const res = s.append(a.entries, now, this.chunkOpts, this.maxChunkAgeNs, a.firstSeq, null);
      if (res.duplicates > 0) this.m.duplicates.inc(res.duplicates);
      if (res.appended.length > 0 && tailing) this.tailers.publish(tenant, s.labels, res.appended);
    }
  }

  tail(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): () => void {
    return this.tailers.add(tenant, matchers, tailer);
  }

  tailersCount(tenant: string): number {
    return this.tailers.count(tenant);
  }

  /**
   * Streams of `tenant` matching all matchers, as values: the cut blocks of each chunk (immutable
   * once cut) behind a view that shows only them, and a sorted view of its head block (a copy
   * when its entries arrived out of order; see HeadBlock.snapshot). Chunk ids are
   * `<idPrefix><number>` (see `storedKeys`). With `shard`, only that shard's streams.
   */
  selectStreams(tenant: string, matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint, idPrefix: string, shard: Shard | null = null): MemStream[] {
    const inst = this.tenants.get(tenant);
    if (!inst) return [];
    const out: MemStream[] = [];
    inst.streams.index.select(matchers, (s) => {
      if (shard !== null && !inShard(s.fingerprint, shard)) return;
      const chunks: MemChunkData[] = [];
      for (const c of s.chunks) {
        if (c.entries === 0 || c.throughNs < fromNs || c.fromNs > throughNs) continue;
        const blockCount = c.chunk.blockMetas().length;
        chunks.push({ id: idPrefix + c.number, fromNs: c.fromNs, throughNs: c.throughNs, cut: blockCount === 0 ? null : cutBlocksView(c.chunk, blockCount), head: c.chunk.headBlock() });
      }
      if (chunks.length > 0) out.push({ labels: s.labels, fingerprint: s.fingerprint, chunks });
    });
    return out;
  }

  /**
   * Object keys of the stored copies of chunks by number: chunks whose upload finished, still in
   * memory or dropped from it less than STORED_KEY_MEMORY_MS ago.
   */
  storedKeys(numbers: readonly number[]): Map<number, string> {
    const out = new Map<number, string>();
    for (const n of numbers) {
      const k = this.storedKeyByNumber.get(n);
      if (k !== undefined) out.set(n, k.key);
    }
    return out;
  }

  /**
   * Streams of the tenant matching all matchers with entries in the range, through its postings
   * (label-index.ts); `keep` from #keepWithEntries (null: every stream has one).
   */
  #eachStream(inst: TenantInstance, keep: ((s: Stream) => boolean) | null, matchers: readonly Matcher[], fn: (s: Stream) => void): void {
    inst.streams.index.select(
      matchers,
      keep === null
        ? fn
        : (s) => {
            if (keep(s)) fn(s);
          },
    );
  }

  /**
   * `make()`, or the answer kept for `key` (`metadataKey`: what was asked) while the range holds
   * all of the tenant's in-memory entries (`keep` null): the answer then depends only on what was asked and on which streams are
   * indexed, and is handed out again, frozen, until a stream comes or goes. Grafana asks the same
   * selector's series and labels again and again; the answer's bytes are kept with the list.
   * When streams only came since (at most FEW_ADDED_STREAMS), `update` (if given) makes the new
   * answer from the kept one and the new streams.
   */
  #answer<T>(
    inst: TenantInstance,
    keep: ((s: Stream) => boolean) | null,
    key: string,
    make: () => readonly T[],
    update?: (old: readonly T[], added: readonly Stream[]) => readonly T[],
  ): readonly T[] {
    if (keep !== null) return make();
    const index = inst.streams.index;
    const kept = inst.answers.get<T>(key, index.version);
    if (kept !== undefined) return kept;
    // Streams only came since the kept answer (a pod started): `update` puts their part in.
    const stale = update === undefined ? undefined : inst.answers.peek<T>(key);
    const added = stale === undefined ? null : index.addedSince(stale.version);
    const list = added !== null && added.length <= FEW_ADDED_STREAMS ? update!(stale!.list, added) : make();
    return inst.answers.keep(key, index.version, list, 2 * index.size + index.names().length);
  }

  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): readonly string[] {
    const inst = this.tenants.get(tenant);
    if (!inst || inst.bounds.disjoint(fromNs, throughNs)) return NO_STRINGS;
    const index = inst.streams.index;
    const keep = this.#keepWithEntries(inst, fromNs, throughNs);
    if (matchers.length === 0) return ascending(index.namesWhere(keep));
    return this.#answer(
      inst,
      keep,
      metadataKey('names', matchers),
      () => {
        const names = new Set<string>();
        const all = index.names().length;
        this.#eachStream(inst, keep, matchers, (s) => {
          if (names.size < all) for (const l of s.labels) names.add(l.name);
        });
        return ascending([...names].sort());
      },
      (old, added) => withAdded(old, added, matchers, (s, out) => s.labels.forEach((l) => out.add(l.name))),
    );
  }

  /** Sorted values; without matchers often the label index's own list (shared: do not modify). */
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): readonly string[] {
    const inst = this.tenants.get(tenant);
    if (!inst || inst.bounds.disjoint(fromNs, throughNs)) return NO_STRINGS;
    const keep = this.#keepWithEntries(inst, fromNs, throughNs);
    if (matchers.length === 0) {
      // Sorted and marked already. '' is never a stored label value (the distributor drops empty
      // labels); were it there, it would sort first: no pass over 100k values to look for it.
      const values = inst.streams.index.valuesWhere(name, keep);
      return values[0] === '' ? ascending(values.slice(1)) : values;
    }
    const valueOf = (s: Stream, out: Set<string>): void => {
      const v = labelValue(s.labels, name);
      if (v !== '') out.add(v);
    };
    return this.#answer(
      inst,
      keep,
      metadataKey('values', matchers, name),
      () => {
        const values = new Set<string>();
        this.#eachStream(inst, keep, matchers, (s) => valueOf(s, values));
        return ascending([...values].sort());
      },
      (old, added) => withAdded(old, added, matchers, valueOf),
    );
  }

  /**
   * Which streams have entries in [fromNs, throughNs], for the label index; null for all of them.
   * A range holding all of the tenant's entries in memory (the usual label browser's) needs no
   * time comparison per stream, and usually no look at each stream either (maybeEmpty).
   */
  #keepWithEntries(inst: TenantInstance, fromNs: bigint, throughNs: bigint): ((s: Stream) => boolean) | null {
    if (!(fromNs <= inst.bounds.minNs && inst.bounds.maxNs <= throughNs)) return (s) => hasEntriesIn(s, fromNs, throughNs);
    return inst.everyStreamHasEntries() ? null : hasEntries;
  }

  /**
   * Label sets of the selected streams in the order of their label strings (marked `inKeyOrder`),
   * each with its JSON text (`withSeriesJson`); kept while unchanged (#answer).
   */
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): readonly Labels[] {
    const inst = this.tenants.get(tenant);
    if (!inst || inst.bounds.disjoint(fromNs, throughNs)) return NO_SERIES;
    const keep = this.#keepWithEntries(inst, fromNs, throughNs);
    return this.#answer(
      inst,
      keep,
      metadataKey('series', matchers),
      () => {
        const picked: Stream[] = [];
        this.#eachStream(inst, keep, matchers, (s) => picked.push(s));
        if (picked.length === 0) return NO_SERIES;
        const ordered = inst.streams.index.inKeyOrder(picked);
        const out = new Array<Labels>(ordered.length);
        const json = new Array<string>(ordered.length);
        for (let i = 0; i < ordered.length; i++) {
          const s = ordered[i]!;
          out[i] = s.labels;
          json[i] = s.seriesJson ??= labelsJson(s.labels);
        }
        return withSeriesJson(markInKeyOrder(out), json);
      },
      (old, added) => {
        // Each new stream matching goes in where a binary search puts it: one copy of the list
        // (and its texts), recorded so the answer's bytes are the last answer's with theirs put in.
        const matched = added.filter((s) => matchesAll(s.labels, matchers)).sort(byLabelsString);
        const r = insertAscending(old, matched.map((s) => s.labels), seriesKey);
        if (r === null) return old;
        const json = insertAt(seriesJsonOf(old) ?? old.map((l) => labelsJson(l)), r.at, (k) => labelsJson(r.out[r.at[k]!]!));
        recordInsertions(r.out, old, r.at);
        return withSeriesJson(markInKeyOrder(r.out), json);
      },
    );
  }

  /** Counts for metrics and benchmarks. */
  /**
   * Drops the head columns kept for reuse (ColumnPool): called when the process goes quiet
   * (IdleMemoryRelease's `beforeCollect`), so the collection takes them. The next growing heads
   * allocate again.
   */
  forgetScratch(): void {
    this.#columnPool?.drain();
  }

  memoryStats(): { streams: number; chunks: number; entries: number } {
    let streams = 0;
    let chunks = 0;
    let entries = 0;
    for (const t of this.tenants.values())
      for (const s of t.streams.values()) {
        streams++;
        for (const c of s.chunks) {
          chunks++;
          entries += c.entries;
        }
      }
    return { streams, chunks, entries };
  }

  /**
   * Runs one flush cycle now (tests, shutdown, `POST /flush`). With `force`, every unflushed chunk
   * is flushed. Resolves with the number of chunks that are still not stored and indexed.
   */
  async flushNow(force = true): Promise<number> {
    await this.flushCycle(force);
    return this.unflushedChunks();
  }

  /** Chunks not yet stored and indexed (in memory and not flushed, or stored but not indexed). */
  unflushedChunks(): number {
    let n = 0;
    for (const t of this.tenants.values()) for (const s of t.streams.values()) for (const c of s.chunks) if (!c.flushed && c.entries > 0 && !c.marked) n++;
    return n + this.pendingIndex.size;
  }

  private flushCycle(force: boolean): Promise<void> {
    if (this.flushRunning) return force ? this.flushRunning.then(() => this.flushCycle(true)) : this.flushRunning;
    this.flushRunning = this.doFlush(force).finally(() => {
      this.flushRunning = null;
    });
    return this.flushRunning;
  }

  private shouldFlush(c: ChunkDesc, now: number, force: boolean): string | null {
    // A marked chunk is stored; only its index write is left, retried from pendingIndex.
    if (c.flushed || c.flushing || c.marked || c.entries === 0) return null;
    if (c.retryAtMs > now && !force) return null;
    if (c.closed) return c.closeReason || 'closed';
    if (force) return 'forced';
    if (now - c.lastAppendMs >= this.cfg.chunk_idle_period) return 'idle';
    // Chunks are cut by entry time (Stream.append); this wall-clock bound only catches streams
    // whose timestamps stand still, since a stream stamped near now closes each chunk within
    // max_chunk_age + chunk_idle_period of opening it.
    if (now - c.createdMs >= WALL_CLOCK_AGE_FACTOR * this.cfg.max_chunk_age) return 'max_age';
    return null;
  }

  /**
   * One flush cycle. Per chunk: upload, then log a flush mark in the WAL (durably), then index.
   * A crash before the mark replays the entries (the upload is an unindexed orphan, overwritten
   * by the retry when the chunk encodes the same); after it, replay leaves them out and indexes
   * the chunk again. So a flushed entry is counted once whatever the crash point.
   */
  private async doFlush(force: boolean): Promise<void> {
    const now = this.now();
    for (const [n, k] of this.storedKeyByNumber) if (k.droppedMs > 0 && now - k.droppedMs > STORED_KEY_MEMORY_MS) this.storedKeyByNumber.delete(n);
    type Job = { tenant: string; stream: Stream; desc: ChunkDesc; reason: string };
    const jobs: Job[] = [];
    // Open chunks whose stream took no entry for a whole check period: their heads give their
    // growth slack back below (not on the way to a forced flush, which empties them anyway).
    const quiet: ChunkDesc[] = [];
    const quietMs = this.cfg.flush_check_period;
    // Above the soft mark of ingester.memory_limit: flushed chunks leave memory without waiting
    // for chunk_retain_period, and the biggest chunks are flushed early.
    const pressure = this.memLimitBytes > 0 && this.#measureMemory() > this.memSoftBytes;
    // Head columns are kept for reuse only while heads grow.
    this.#columnPool?.drainIfUnused();
    const early = pressure ? this.#pickEarlyFlushes(now) : null;
    const retainMs = this.cfg.chunk_retain_period;
    const leaves = (c: ChunkDesc): boolean => c.flushed && (pressure || now - c.flushedMs >= retainMs);
    // One synchronous pass per tenant, without allocating per stream: at 100k streams this pass
    // is the event loop's for its whole length, every flush_check_period (it took ~100 ms with a
    // new array and closure per stream and a second pass for the bounds).
    for (const inst of this.tenants.values()) {
      const maybeEmpty: Stream[] = [];
      // Narrowed to the chunks left; nothing appends while this runs.
      const bounds = inst.bounds;
      bounds.clear();
      for (const s of inst.streams.values()) {
        // Drop chunks flushed long enough ago; drop streams left empty. A new array only when a
        // chunk goes (readers may hold the old one).
        if (s.chunks.some(leaves)) {
          s.chunks = s.chunks.filter((c) => {
            if (!leaves(c)) return true;
            const k = this.storedKeyByNumber.get(c.number);
            if (k) k.droppedMs = now;
            return false;
          });
        }
        if (s.isEmpty()) {
          inst.streams.delete(s.fingerprint);
          this.m.streams.dec({ tenant: inst.tenant });
          continue;
        }
        // A full rate-limit bucket is the state a new one starts in: forget it (72 B per quiet
        // stream); the stream's next push makes a new one and gets the same answer.
        const lim = s.limiter;
        if (lim !== null && lim.available(now) >= lim.burst) s.limiter = null;
        let entries = false;
        for (const c of s.chunks) {
          if (c.entries > 0) {
            entries = true;
            bounds.note(c.fromNs);
            bounds.note(c.throughNs);
          }
          let reason = this.shouldFlush(c, now, force);
          if (reason === null && early !== null && early.has(c)) {
            reason = 'memory';
            this.m.earlyFlushes.inc();
          }
          if (reason === null) {
            if (!force && !c.closed && !c.flushing && !c.flushed && now - c.lastAppendMs >= quietMs) quiet.push(c);
            continue;
          }
          s.close(c, c.closeReason || reason);
          c.flushing = true;
          jobs.push({ tenant: inst.tenant, stream: s, desc: c, reason: c.closeReason });
        }
        if (!entries) maybeEmpty.push(s);
      }
      inst.maybeEmpty = maybeEmpty;
    }
    // Upload chunks and log their marks with bounded concurrency, then index per tenant.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        try {
          // Blocks cut just before (by close) may still be sealing on the worker thread.
          await job.desc.chunk.whenSealed();
          const bytes = job.desc.chunk.encode();
          const ref: ChunkRef = {
            tenant: job.tenant,
            fingerprint: job.stream.fingerprint,
            fromNs: job.desc.fromNs,
            throughNs: job.desc.throughNs,
            checksum: crc32(bytes),
            sizeBytes: bytes.length,
            entries: job.desc.entries,
            uncompressedBytes: job.desc.chunk.uncompressedBytes(),
          };
          await this.deps.sink.putChunk(ref, bytes);
          // Known before the index names it, so a query never reads this chunk from memory and
          // from the store both (a closed chunk encodes to the same bytes, hence key, on a retry).
          const key = chunkKey(ref);
          job.desc.storedKey = key;
          this.storedKeyByNumber.set(job.desc.number, { key, droppedMs: 0 });
          const mark: FlushMark = { ...ref, labels: job.stream.labelsString, firstSeq: job.desc.firstSeq, lastSeq: job.desc.lastSeq };
          await this.wal?.appendFlushed(mark);
          job.desc.marked = true;
          this.pendingIndex.set(key, { mark, ref, series: { fingerprint: job.stream.fingerprint, labels: job.stream.labels }, desc: job.desc, unverified: false });
          this.m.chunkEntries.observe(job.desc.entries);
          this.m.flushed.inc({ reason: job.reason });
        } catch (e) {
          this.failed(job.desc, e);
        }
      }
    };
    if (jobs.length > 0) await Promise.all(Array.from({ length: Math.min(this.cfg.concurrent_flushes, jobs.length) }, worker));
    if (this.pendingIndex.size > 0) await this.#writePendingIndex();
    if (quiet.length > 0) await this.#shrinkQuiet(quiet, quietMs);
    if (this.memLimitBytes > 0) this.#measureMemory();
  }

  /**
   * Lays the heads of quiet chunks out again at their size (MemChunk.fitHeadInto), a slice at a
   * time so that requests interleave, each slice's heads side by side in one buffer (so the
   * columns they leave are whole free pages malloc can hand back, ADR 0036), and puts them to
   * sleep (MemChunk.sleepHead: no column views until used). At 50k quiet streams the columns'
   * growth slack is ~45 MB and their views ~14 MB (bench/RESULTS.md, issue #20 goal 4). Skips a
   * chunk that took an entry or closed meanwhile.
   */
  async #shrinkQuiet(chunks: readonly ChunkDesc[], quietMs: number): Promise<void> {
    let bytes = 0;
    let shrunk = 0;
    let slept = 0;
    const fits: number[] = [];
    for (let i = 0; i < chunks.length; i += SHRINK_SLICE) {
      if (i > 0) await new Promise<void>((r) => setImmediate(r));
      if (this.stopping) return;
      const now = this.now();
      const end = Math.min(i + SHRINK_SLICE, chunks.length);
      // Per chunk: -1 when it is no longer quiet, else the bytes of its fitted head (0: stays).
      let total = 0;
      for (let j = i; j < end; j++) {
        const c = chunks[j]!;
        const fit = c.closed || c.flushing || c.flushed || now - c.lastAppendMs < quietMs ? -1 : c.chunk.fittedHeadBytes();
        fits[j - i] = fit;
        if (fit > 0) total += fit;
      }
      const into = total === 0 ? null : Buffer.allocUnsafeSlow(total).buffer;
      let at = 0;
      for (let j = i; j < end; j++) {
        const fit = fits[j - i]!;
        if (fit < 0) continue;
        const c = chunks[j]!;
        if (fit > 0) {
          bytes += c.chunk.fitHeadInto(into!, at);
          at += fit;
          shrunk++;
        }
        // Its column views go too until the stream pushes or a query reads the head.
        if (c.chunk.sleepHead()) slept++;
      }
    }
    if (shrunk === 0 && slept === 0) return;
    this.deps.logger.debug({ heads: shrunk, bytes, slept }, 'quiet heads laid out at their size');
    if (shrunk > 0) this.deps.onHeadsShrunk?.(bytes);
  }

  /**
   * Chunks to flush early because memory is above the soft mark: the biggest first (the oldest
   * among equals), until what they hold brings memory to SOFT_TARGET_RATIO of the soft mark.
   * Chunks due anyway (shouldFlush) and chunks already on their way are left out.
   */
  #pickEarlyFlushes(now: number): Set<ChunkDesc> {
    const want = this.memBytes - this.memSoftBytes * SOFT_TARGET_RATIO;
    const candidates: { c: ChunkDesc; bytes: number }[] = [];
    for (const t of this.tenants.values())
      for (const s of t.streams.values())
        for (const c of s.chunks) {
          if (c.flushed || c.flushing || c.marked || c.entries === 0 || c.retryAtMs > now) continue;
          if (this.shouldFlush(c, now, false) !== null) continue;
          candidates.push({ c, bytes: c.chunk.memoryBytes() });
        }
    candidates.sort((a, b) => b.bytes - a.bytes || a.c.createdMs - b.c.createdMs);
    const out = new Set<ChunkDesc>();
    let freed = 0;
    for (const { c, bytes } of candidates) {
      if (freed >= want) break;
      out.add(c);
      freed += bytes + CHUNK_OVERHEAD_BYTES;
    }
    return out;
  }

  /**
   * Indexes every stored chunk whose index write is not confirmed, one segment per tenant.
   * Returns how many are still not indexed (their retry comes with the next cycle).
   */
  async #writePendingIndex(): Promise<number> {
    const unverified = [...this.pendingIndex.values()].filter((p) => p.unverified);
    const check = this.deps.sink.notToReindex;
    if (unverified.length > 0 && check) {
      try {
        const skip = await check.call(this.deps.sink, unverified.map((p) => p.ref));
        for (const p of unverified) {
          const key = chunkKey(p.ref);
          if (skip.has(key)) this.pendingIndex.delete(key);
          else p.unverified = false;
        }
      } catch (e) {
        this.lastFlushError = (e as Error).message;
        this.m.flushFailures.inc();
        return this.pendingIndex.size;
      }
    }
    const byTenant = new Map<string, PendingIndex[]>();
    for (const p of this.pendingIndex.values()) {
      let l = byTenant.get(p.ref.tenant);
      if (!l) byTenant.set(p.ref.tenant, (l = []));
      l.push(p);
    }
    let failed = 0;
    for (const [tenant, list] of byTenant) {
      const series = new Map<string, SeriesEntry>();
      for (const p of list) series.set(p.series.fingerprint, p.series);
      try {
        await this.deps.sink.writeIndex(tenant, [...series.values()], list.map((p) => p.ref));
        const t = this.now();
        for (const p of list) {
          this.pendingIndex.delete(chunkKey(p.ref));
          const d = p.desc;
          if (d === null) continue;
          d.flushed = true;
          d.flushing = false;
          d.flushedMs = t;
        }
        this.lastFlushError = null;
      } catch (e) {
        failed += list.length;
        for (const p of list) if (p.desc !== null) this.failed(p.desc, e);
        if (list.every((p) => p.desc === null)) {
          this.lastFlushError = (e as Error).message;
          this.m.flushFailures.inc();
        }
      }
    }
    return failed;
  }

  private failed(desc: ChunkDesc, e: unknown): void {
    desc.flushing = false;
    desc.failures++;
    const backoff = Math.min(this.cfg.flush_op_backoff_max, 1000 * 2 ** Math.min(desc.failures - 1, 16));
    desc.retryAtMs = this.now() + backoff;
    this.lastFlushError = (e as Error).message;
    this.m.flushFailures.inc();
    // The sink logs the store's failures once per state change; each attempt only at debug.
    this.deps.logger.debug({ err: (e as Error).message, retryInMs: backoff }, 'chunk flush failed; will retry (data stays in memory and WAL)');
  }

  /** Writes a WAL checkpoint of every unflushed entry. */
  async checkpoint(): Promise<void> {
    if (!this.wal) return;
    try {
      await this.wal.checkpoint(() => this.snapshot());
    } catch (e) {
      this.deps.logger.error({ err: e }, 'WAL checkpoint failed');
    }
  }

  /**
   * The checkpoint's view of memory: per tenant, its streams read one at a time as the file is
   * written (`checkpointStreams`: each stream's chunks not yet marked as stored, with their
   * sequence ranges, and its highest applied number); and, taken at once, the marks whose index
   * write is not confirmed (their entries are no longer needed, the chunk is stored).
   */
  private snapshot(): WalSnapshotTenant[] {
    const marksByTenant = new Map<string, FlushMark[]>();
    for (const p of this.pendingIndex.values()) {
      let l = marksByTenant.get(p.mark.tenant);
      if (!l) marksByTenant.set(p.mark.tenant, (l = []));
      l.push(p.mark);
    }
    const out: WalSnapshotTenant[] = [];
    for (const inst of this.tenants.values()) {
      out.push({ tenant: inst.tenant, streams: checkpointStreams(inst), marks: marksByTenant.get(inst.tenant) ?? [] });
      marksByTenant.delete(inst.tenant);
    }
    for (const [tenant, marks] of marksByTenant) out.push({ tenant, streams: [], marks });
    return out;
  }

  /**
   * Graceful stop: refuse new pushes, flush everything (retrying until `deadlineMs`),
   * then checkpoint so the WAL holds only what could not be flushed.
   */
  async stop(deadlineMs = 30_000): Promise<void> {
    this.stopping = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.memoryTimer) clearInterval(this.memoryTimer);
    const until = Date.now() + deadlineMs;
    for (;;) {
      await this.flushCycle(true);
      const left = this.unflushedChunks();
      if (left === 0 || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await this.checkpoint();
    await this.wal?.close();
  }

}

/**
 * A tenant's streams as the checkpoint reads them, one at a time: each stream's unflushed entries
 * and `appliedSeq` are captured when its turn comes (in the same synchronous step, so they agree),
 * in arrays of its own. Streams that come or go meanwhile are visited or not as a Map iteration
 * does; either way their entries are in the segments above the checkpoint's boundary or stored.
 */
function* checkpointStreams(inst: TenantInstance): Generator<CheckpointStream> {
  for (const s of inst.streams.values()) {
    const cs: CheckpointStream = { labels: s.labelsString, fingerprint: s.fingerprint, appliedSeq: s.appliedSeq, chunks: [] };
    for (const c of s.chunks) {
      if (c.flushed || c.marked || c.entries === 0) continue;
      const entries: PushEntry[] = [];
      const n = c.chunk.blockMetas().length;
      for (let b = 0; b <= n; b++) {
        const blk = b < n ? c.chunk.readBlock(b) : c.chunk.headBlock();
        if (!blk) continue;
        for (let i = 0; i < blk.n; i++) {
          entries.push({ tsNs: blk.baseNs + BigInt(blk.tsRel[i]!), line: blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!), metadata: blk.metadata(i) });
        }
      }
      cs.chunks.push({ firstSeq: c.firstSeq, lastSeq: c.lastSeq, closed: c.closed, continues: false, entries });
    }
    if (cs.chunks.length > 0) yield cs;
  }
}

/** Whether any chunk of `s` holds entries (any time). */
function hasEntries(s: Stream): boolean {
  for (const c of s.chunks) if (c.entries > 0) return true;
  return false;
}

/** Whether any chunk of `s` holds entries in [fromNs, throughNs]. */
function hasEntriesIn(s: Stream, fromNs: bigint, throughNs: bigint): boolean {
  for (const c of s.chunks) if (c.entries > 0 && c.throughNs >= fromNs && c.fromNs <= throughNs) return true;
  return false;
}

/** A discard counter shared with the distributor (both register it in one process). */
function discardCounter(r: Registry, name: string, help: string): Counter<string> {
  const existing = r.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<string>;
  return new Counter({ name, help, labelNames: ['reason', 'tenant'], registers: [r] });
}

/** Parses our own canonical label string (`{a="1", b="2"}`) written by labelsToString. */
export function parseCanonicalLabels(s: string): Labels {
  const out: { name: string; value: string }[] = [];
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) out.push({ name: m[1]!, value: JSON.parse(`"${m[2]!.replace(/\\x([0-9a-f]{2})/g, '\\u00$1')}"`) as string });
  return out;
}
