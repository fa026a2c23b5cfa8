import { MemChunk, type ChunkOptions } from '../chunk/index.js';
import { MAX_LINE_SIZE_BYTES, MAX_METADATA_PAIRS_PER_ENTRY } from '../chunk/consts.js';
import { TooLargeError } from '../errors.js';
import type { Labels, PushEntry } from '../model/index.js';
import type { TokenBucket } from '../util/rate-limiter.js';
import type { CheckpointChunk, WalStreamRef } from './wal/index.js';

/** `AppendResult.rejected` of the usual append, which rejects nothing (frozen: shared by every result). */
const NO_REJECTIONS = Object.freeze([]) as unknown as { entry: PushEntry; oldestNs: bigint }[];

/** Rejected entries listed one by one in an error message; the rest are only counted. */
export const MAX_REPORTED_REJECTIONS = 10;

/** Next in-memory chunk number of this process (chunk ids are `<instance>/<n>`). */
let nextChunkNumber = 1;

/**
 * The timestamps a tenant's streams hold in memory, kept conservatively: every entry of every
 * in-memory chunk is within [minNs, maxNs] (appends widen it at once; the flush cycle narrows it
 * to the chunks left). A metadata query whose range lies outside it answers nothing without
 * visiting a stream: the 24h split of a "last 6 hours" query crossing midnight asks the ingester
 * about yesterday, where 100k streams failed one by one (bench/RESULTS.md, issue #20 goal 5).
 */
export class TimeBounds {
  minNs = 0n;
  maxNs = -1n;

  note(ts: bigint): void {
    if (this.maxNs < this.minNs) {
      this.minNs = ts;
      this.maxNs = ts;
    } else if (ts < this.minNs) this.minNs = ts;
    else if (ts > this.maxNs) this.maxNs = ts;
  }

  /** Holds no time: every `disjoint` answers true until the next `note` (the flush cycle then notes the chunks it keeps). */
  clear(): void {
    this.minNs = 0n;
    this.maxNs = -1n;
  }

  /** No entry in memory can be within [fromNs, throughNs]. */
  disjoint(fromNs: bigint, throughNs: bigint): boolean {
    return this.maxNs < this.minNs || this.maxNs < fromNs || this.minNs > throughNs;
  }
}

/** One chunk of a stream and its flush state. */
export class ChunkDesc {
  /** The chunk; takes appends until `closed`. */
  readonly chunk: MemChunk;
  /** Number of this chunk in this process's memory (its id for queriers, see client.ts `storedKeys`). */
  readonly number = nextChunkNumber++;
  /** Smallest and largest entry timestamp appended (ns). */
  fromNs = 0n;
  throughNs = 0n;
  /**
   * End (exclusive) of the max_chunk_age window of entry time this chunk belongs to: an entry
   * at or after it starts a new chunk (see `chunkWindowEndNs` and the cut rule in Stream.append).
   */
  windowEndNs = 0n;
  /** Entries appended. */
  entries = 0;
  /**
   * Sequence numbers of the first and last entry offered to this chunk (duplicates dropped by it
   * included), -1 before the first. A stream's entries reach its chunks in sequence order and only
   * the last chunk takes appends, so each chunk holds one unbroken run of the stream's numbers:
   * a flush mark naming [firstSeq, lastSeq] names exactly this chunk's entries.
   */
  firstSeq = -1;
  lastSeq = -1;
  /** The flush mark is durable in the WAL: replay will not bring these entries back. */
  marked = false;
  /** No more appends: full, too old, or picked for flushing. */
  closed = false;
  /** Uploaded and indexed; kept only for chunk_retain_period. */
  flushed = false;
  /** Object key of the stored copy once uploaded (queriers skip that copy while this one is in memory). */
  storedKey: string | null = null;
  /** A flush is in flight. */
  flushing = false;
  /** Wall clock of creation, last append and successful flush (ms); flush timing only, never where a chunk is cut. */
  readonly createdMs: number;
  lastAppendMs: number;
  flushedMs = 0;
  /** Earliest time of the next flush attempt after a failure (ms). */
  retryAtMs = 0;
  /** Consecutive failed flush attempts. */
  failures = 0;
  /** Why the chunk was closed, for the flush reason metric. */
  closeReason = '';

  constructor(opts: ChunkOptions, nowMs: number) {
    this.chunk = new MemChunk(opts);
    this.createdMs = nowMs;
    this.lastAppendMs = nowMs;
  }
}

/** Result of admitting a batch to one stream (the checks made before the WAL). */
export interface AdmitResult {
  /** Entries accepted, in input order; the input array itself when all were. */
  accepted: readonly PushEntry[];
  /** Entries rejected as too far behind. */
  tooFarBehind: number;
  /** The first few rejections (at most MAX_REPORTED_REJECTIONS), for the error message. */
  rejected: { entry: PushEntry; oldestNs: bigint }[];
}

/** Result of appending a batch to one stream's memory. */
export interface AppendResult {
  /** Entries actually stored (exact duplicates excluded), in input order; the input array itself when all were. */
  appended: readonly PushEntry[];
  /** Exact duplicates dropped. */
  duplicates: number;
}

/**
 * End (exclusive) of the window of entry time holding `tsNs`: windows are `maxChunkAgeNs` long
 * and aligned to the Unix epoch, so every replica draws the same boundaries.
 */
export function chunkWindowEndNs(tsNs: bigint, maxChunkAgeNs: bigint): bigint {
  const r = tsNs % maxChunkAgeNs;
  // bigint % truncates toward zero: a negative ts has a negative remainder.
  return tsNs - r + (r < 0n ? 0n : maxChunkAgeNs);
}

/** Throws TooLargeError for an entry no chunk can hold (checked before the WAL logs it). */
export function checkAppendable(e: PushEntry): void {
  if (e.line.length > MAX_LINE_SIZE_BYTES) throw new TooLargeError(`line of ${e.line.length} bytes exceeds ${MAX_LINE_SIZE_BYTES}`);
  if (e.metadata.length > MAX_METADATA_PAIRS_PER_ENTRY) throw new TooLargeError(`${e.metadata.length} structured metadata pairs exceed ${MAX_METADATA_PAIRS_PER_ENTRY}`);
}

/**
 * An in-memory stream: its labels and its chunks, oldest first. Only the last chunk can
 * be open. Entries may arrive out of order within `oooWindowNs` of the newest entry.
 */
export class Stream implements WalStreamRef {
  readonly labels: Labels;
  readonly labelsString: string;
  /** Place among the tenant's streams in label-string order, kept by its label index. */
  seriesRank = 0;
  /** `labelsJson(labels)`, made by the first `series` answer that holds the stream. */
  seriesJson: string | null = null;
  readonly fingerprint: string;
  /** Oldest first; only the last may be open. */
  chunks: ChunkDesc[] = [];
  /** Newest entry timestamp seen (ns), -1n before the first entry. */
  maxTsNs = -1n;
  /**
   * Newest entry timestamp appended to memory (ns), -1n before the first. Unlike `maxTsNs`,
   * which admit moves for pushes not applied yet, it depends only on the entries applied so
   * far, so chunk windows derived from it are the same on every replica.
   */
  appliedMaxTsNs = -1n;
  lastAppendMs = 0;
  /** Per-stream rate limit bucket, created on the first push. */
  limiter: TokenBucket | null = null;
  /** The stream's id in the current WAL segment's dictionary (the WAL reads and sets them: the stream is its own WalStreamRef). */
  walEpoch = 0;
  walId = 0;
  /** Highest sequence number appended to this stream's memory (0 before the first). */
  appliedSeq = 0;
  /** Pushes admitted and logged but not applied yet: the stream must stay in its tenant's map. */
  pending = 0;
  /** Its tenant's TimeBounds, widened by every append. */
  readonly bounds: TimeBounds;

  constructor(labels: Labels, labelsString: string, fingerprint: string, bounds: TimeBounds) {
    this.bounds = bounds;
    this.labels = labels;
    this.labelsString = labelsString;
    this.fingerprint = fingerprint;
  }

  /**
   * The checks of a push made before anything is logged: entries more than `oooWindowNs` behind
   * the newest accepted one are rejected (Loki's "entry too far behind"). Accepted entries move
   * the newest timestamp at once, so concurrent pushes are checked against each other.
   */
  admit(entries: readonly PushEntry[], oooWindowNs: bigint): AdmitResult {
    const res: AdmitResult = { accepted: entries, tooFarBehind: 0, rejected: NO_REJECTIONS };
    let kept: PushEntry[] | null = null;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const ts = e.tsNs;
      checkAppendable(e);
      // Cheap comparison first: in-order entries never pay for the bigint subtraction.
      if (ts < this.maxTsNs && this.maxTsNs >= 0n && ts < this.maxTsNs - oooWindowNs) {
        res.tooFarBehind++;
        if (res.rejected === NO_REJECTIONS) res.rejected = [];
        if (res.rejected.length < MAX_REPORTED_REJECTIONS) res.rejected.push({ entry: e, oldestNs: this.maxTsNs - oooWindowNs });
        kept ??= entries.slice(0, i);
        continue;
      }
      if (ts > this.maxTsNs) this.maxTsNs = ts;
      if (kept !== null) kept.push(e);
    }
    if (kept !== null) res.accepted = kept;
    return res;
  }

  /**
   * Appends entries whose WAL record is durable (or, on replay, was): `entries[i]` has sequence
   * number `seqs[i]`, or `firstSeq + i` without `seqs`. `maxChunkAgeNs` bounds a chunk's time span.
   *
   * The cut rule. Where a chunk ends is a function of the stream's entry sequence only, so
   * replicas that append the same entries in the same order cut identical chunks (same bytes,
   * same content-derived key: the store keeps one copy). Before each entry the open chunk is
   * closed when
   * - `full`: MemChunk.isFull(), a deterministic size estimate (exact compressed sizes of all
   *   cut blocks but the newest; never "whatever the sealer finished so far"); blocks are cut
   *   by the head's byte estimate and entry count, also deterministic;
   * - `max_age`: the entry's ts reaches the chunk's window end (epoch-aligned max_chunk_age
   *   windows of entry time, see `chunkWindowEndNs`), or it is more than max_chunk_age older
   *   than the chunk's newest entry.
   * Wall clock only decides when a chunk is flushed (idle, forced), never where it is cut, except
   * that an idle or forced flush closes the chunk: a replica that lagged or restarted may then
   * hold a different chunk, and it falls back in step at the next window boundary.
   */
  append(entries: readonly PushEntry[], nowMs: number, opts: ChunkOptions, maxChunkAgeNs: bigint, firstSeq: number, seqs: readonly number[] | null): AppendResult {
    const res: AppendResult = { appended: entries, duplicates: 0 };
    // Copied only once an entry is left out: usually every entry is stored.
    let kept: PushEntry[] | null = null;
    let head = this.chunks[this.chunks.length - 1];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const ts = e.tsNs;
      const q = seqs === null ? firstSeq + i : seqs[i]!;
      if (head !== undefined && !head.closed && head.entries > 0) {
        if (head.chunk.isFull()) this.close(head, 'full');
        else if (ts >= head.windowEndNs || (ts < head.throughNs && head.throughNs - ts > maxChunkAgeNs)) this.close(head, 'max_age');
      }
      if (head === undefined || head.closed) {
        head = new ChunkDesc(opts, nowMs);
        // A stream's first chunk in an array of its own size (push would reserve 16 slots).
        if (this.chunks.length === 0) this.chunks = [head];
        else this.chunks.push(head);
      }
      if (head.firstSeq < 0) head.firstSeq = q;
      head.lastSeq = q;
      if (q > this.appliedSeq) this.appliedSeq = q;
      if (!this.#appendTo(head, e, nowMs, maxChunkAgeNs)) {
        res.duplicates++;
        kept ??= entries.slice(0, i);
        continue;
      }
      if (kept !== null) kept.push(e);
    }
    if (kept !== null) res.appended = kept;
    if (res.appended.length > 0) this.lastAppendMs = nowMs;
    return res;
  }

  /**
   * Replay of a checkpoint piece: the chunk is rebuilt as it was (one chunk, never cut in the
   * middle, its sequence range restored), so a flush mark written for it later still names it.
   */
  appendChunk(c: CheckpointChunk & { entries: readonly PushEntry[] }, nowMs: number, opts: ChunkOptions, maxChunkAgeNs: bigint): void {
    let head = this.chunks[this.chunks.length - 1];
    if (!c.continues || head === undefined) {
      if (head !== undefined && !head.closed) this.close(head, 'replay');
      head = new ChunkDesc(opts, nowMs);
      this.chunks.push(head);
      head.firstSeq = c.firstSeq;
    }
    if (c.lastSeq > head.lastSeq) head.lastSeq = c.lastSeq;
    if (c.lastSeq > this.appliedSeq) this.appliedSeq = c.lastSeq;
    for (const e of c.entries) this.#appendTo(head, e, nowMs, maxChunkAgeNs);
    if (c.entries.length > 0) this.lastAppendMs = nowMs;
    if (c.closed) this.close(head, 'replay');
  }

  /** One entry into `head`'s chunk; false for an exact duplicate. */
  #appendTo(head: ChunkDesc, e: PushEntry, nowMs: number, maxChunkAgeNs: bigint): boolean {
    const ts = e.tsNs;
    if (!head.chunk.append(ts, e.line, e.metadata)) return false;
    if (head.entries === 0) {
      head.fromNs = ts;
      head.throughNs = ts;
      // The window of the stream's newest entry, not of this one: a late entry opening a chunk
      // must not end it at the next in-order entry.
      head.windowEndNs = chunkWindowEndNs(ts > this.appliedMaxTsNs ? ts : this.appliedMaxTsNs, maxChunkAgeNs);
    } else if (ts < head.fromNs) head.fromNs = ts;
    else if (ts > head.throughNs) {
      head.throughNs = ts;
      // Only a checkpoint restore (appendChunk, never cut) gets here past the window.
      if (ts >= head.windowEndNs) head.windowEndNs = chunkWindowEndNs(ts, maxChunkAgeNs);
    }
    head.entries++;
    head.lastAppendMs = nowMs;
    this.bounds.note(ts);
    if (ts > this.maxTsNs) this.maxTsNs = ts;
    if (ts > this.appliedMaxTsNs) this.appliedMaxTsNs = ts;
    return true;
  }

  close(desc: ChunkDesc, reason: string): void {
    if (desc.closed) return;
    desc.closed = true;
    desc.closeReason = reason;
    // A closed chunk takes no more appends: free its head's columns (ADR 0024).
    desc.chunk.cutAndRelease();
  }

  /** True when nothing is left in memory. */
  isEmpty(): boolean {
    return this.chunks.length === 0 && this.pending === 0;
  }
}
