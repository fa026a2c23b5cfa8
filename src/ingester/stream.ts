import { MemChunk, type ChunkOptions } from '../chunk/index.js';
import type { Labels, PushEntry } from '../model/index.js';
import type { TokenBucket } from '../util/rate-limiter.js';
import { newStreamRef, type WalStreamRef } from './wal/index.js';

/** `AppendResult.rejected` of the usual append, which rejects nothing (frozen: shared by every result). */
const NO_REJECTIONS = Object.freeze([]) as unknown as { entry: PushEntry; oldestNs: bigint }[];

/** Rejected entries listed one by one in an error message; the rest are only counted. */
export const MAX_REPORTED_REJECTIONS = 10;

/** One chunk of a stream and its flush state. */
export class ChunkDesc {
  /** The chunk; takes appends until `closed`. */
  readonly chunk: MemChunk;
  /** Smallest and largest entry timestamp appended (ns). */
  fromNs = 0n;
  throughNs = 0n;
  /** fromNs + max_chunk_age: a later entry starts a new chunk. */
  maxAllowedNs = 0n;
  /** Entries appended. */
  entries = 0;
  /** No more appends: full, too old, or picked for flushing. */
  closed = false;
  /** Uploaded and indexed; kept only for chunk_retain_period. */
  flushed = false;
  /** Object key of the stored copy once uploaded (queriers skip that copy while this one is in memory). */
  storedKey: string | null = null;
  /** A flush is in flight. */
  flushing = false;
  /** Wall clock of creation, last append and successful flush (ms). */
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

/** Result of appending a batch to one stream. */
export interface AppendResult {
  /** Entries actually stored (duplicates and rejected ones excluded), in input order; the input array itself when all were. */
  appended: readonly PushEntry[];
  /** Entries rejected as too far behind. */
  tooFarBehind: number;
  /** The first few rejections (at most MAX_REPORTED_REJECTIONS), for the error message. */
  rejected: { entry: PushEntry; oldestNs: bigint }[];
  /** Exact duplicates dropped. */
  duplicates: number;
}

/**
 * An in-memory stream: its labels and its chunks, oldest first. Only the last chunk can
 * be open. Entries may arrive out of order within `oooWindowNs` of the newest entry.
 */
export class Stream {
  readonly labels: Labels;
  readonly labelsString: string;
  readonly fingerprint: string;
  /** Oldest first; only the last may be open. */
  chunks: ChunkDesc[] = [];
  /** Newest entry timestamp seen (ns), -1n before the first entry. */
  maxTsNs = -1n;
  lastAppendMs = 0;
  /** Per-stream rate limit bucket, created on the first push. */
  limiter: TokenBucket | null = null;
  /** The stream's id in the current WAL segment's dictionary (the WAL reads and sets it). */
  readonly walRef: WalStreamRef = newStreamRef();

  constructor(labels: Labels, labelsString: string, fingerprint: string) {
    this.labels = labels;
    this.labelsString = labelsString;
    this.fingerprint = fingerprint;
  }

  /**
   * Appends entries. `maxChunkAgeNs` bounds a chunk's time span; `oooWindowNs` is how
   * far behind the newest entry an entry may be. `check` false skips the out-of-order
   * rejection (WAL replay re-applies what was already accepted).
   */
  append(entries: readonly PushEntry[], nowMs: number, opts: ChunkOptions, maxChunkAgeNs: bigint, oooWindowNs: bigint, check: boolean): AppendResult {
    const res: AppendResult = { appended: entries, tooFarBehind: 0, rejected: NO_REJECTIONS, duplicates: 0 };
    // Copied only once an entry is left out: usually every entry is stored.
    let kept: PushEntry[] | null = null;
    let head = this.chunks[this.chunks.length - 1];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const ts = e.tsNs;
      // Cheap comparison first: in-order entries never pay for the bigint subtraction.
      if (check && ts < this.maxTsNs && this.maxTsNs >= 0n && ts < this.maxTsNs - oooWindowNs) {
        res.tooFarBehind++;
        if (res.rejected === NO_REJECTIONS) res.rejected = [];
        if (res.rejected.length < MAX_REPORTED_REJECTIONS) res.rejected.push({ entry: e, oldestNs: this.maxTsNs - oooWindowNs });
        kept ??= entries.slice(0, i);
        continue;
      }
      if (head !== undefined && !head.closed && head.entries > 0) {
        if (head.chunk.isFull()) this.close(head, 'full');
        else if (ts > head.maxAllowedNs || (ts < head.throughNs && head.throughNs - ts > maxChunkAgeNs)) this.close(head, 'max_age');
      }
      if (head === undefined || head.closed) {
        head = new ChunkDesc(opts, nowMs);
        this.chunks.push(head);
      }
      if (!head.chunk.append(ts, e.line, e.metadata)) {
        res.duplicates++;
        kept ??= entries.slice(0, i);
        continue;
      }
      if (head.entries === 0) {
        head.fromNs = ts;
        head.throughNs = ts;
        head.maxAllowedNs = ts + maxChunkAgeNs;
      } else if (ts < head.fromNs) {
        head.fromNs = ts;
        head.maxAllowedNs = ts + maxChunkAgeNs;
      }
      else if (ts > head.throughNs) head.throughNs = ts;
      head.entries++;
      head.lastAppendMs = nowMs;
      if (ts > this.maxTsNs) this.maxTsNs = ts;
      if (kept !== null) kept.push(e);
    }
    if (kept !== null) res.appended = kept;
    if (res.appended.length > 0) this.lastAppendMs = nowMs;
    return res;
  }

  close(desc: ChunkDesc, reason: string): void {
    if (desc.closed) return;
    desc.closed = true;
    desc.closeReason = reason;
    desc.chunk.cutBlock();
  }

  /** True when nothing is left in memory. */
  isEmpty(): boolean {
    return this.chunks.length === 0;
  }
}
