import type { DecodedBlock, ReadableChunk } from '../chunk/index.js';
import type { Labels, Matcher, PushEntry, ValidStream } from '../model/index.js';

/** A consistent view of one in-memory chunk, taken synchronously at query start. */
export interface ChunkView {
  readonly fromNs: bigint;
  readonly throughNs: bigint;
  /** Cut blocks `0 .. blockCount-1` of `chunk` are immutable and safe to read later. */
  readonly chunk: ReadableChunk;
  readonly blockCount: number;
  /** Sorted copy of the head block at snapshot time, or null. */
  readonly head: DecodedBlock | null;
  /**
   * Object key of the chunk's stored copy once it is uploaded, else null. Live: it reads the
   * chunk's key at the moment it is read, so a caller reading memory and store together reads
   * it after reading the index, and skips that stored chunk (it holds the entries of this view,
   * plus at most entries appended after the view was taken).
   */
  readonly storedKey: string | null;
}

/** A stream held in ingester memory, as seen by queriers. */
export interface MemStreamView {
  readonly labels: Labels;
  readonly fingerprint: string;
  readonly chunks: readonly ChunkView[];
}

/** What the distributor calls on an ingester. */
export interface IngesterPusher {
  push(tenant: string, streams: ValidStream[]): Promise<void>;
}

/** What queriers call on an ingester. All answers are snapshots of memory. */
export interface IngesterQuerier {
  /**
   * Streams matching every matcher with data overlapping [fromNs, throughNs]. Chunks already
   * uploaded but still in memory (`chunk_retain_period`) carry their `storedKey`.
   */
  selectStreams(tenant: string, matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint): MemStreamView[];
  /** Label names and values of in-memory streams overlapping the range. */
  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): string[];
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): string[];
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Labels[];
}

/** A live subscriber of appended entries (see `IngesterTail`). */
export interface IngesterTailer {
  /**
   * Called synchronously inside a push with the entries just appended to one matching stream,
   * in push order. Lines are views into the push body: copy what you keep.
   */
  onEntries(labels: Labels, entries: readonly PushEntry[]): void;
}

/** Live tailing of what an ingester appends (Loki's ingester Tail and TailersCount). */
export interface IngesterTail {
  /** Subscribes to streams of `tenant` matching every matcher; returns the unsubscribe function. */
  tail(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): () => void;
  /** Active subscriptions of `tenant`. */
  tailersCount(tenant: string): number;
}
