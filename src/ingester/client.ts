/**
 * What other roles call on an ingester. Every method is asynchronous and every answer is a
 * value (immutable data, never a live chunk or stream object), so a network can sit behind the
 * interface: `local-client.ts` answers in-process (`-target=all`), `grpc/client.ts` over gRPC,
 * and `ring-client.ts` fans a call out to the ingesters of the ring and merges the answers.
 * One contract test suite (`client.contract.ts`) runs against each implementation.
 */
import type { DecodedBlock, ReadableChunk } from '../chunk/index.js';
import type { Labels, Matcher, PushEntry, Shard, ValidStream } from '../model/index.js';

/** Per-call options: the caller's deadline/cancellation. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Options of `selectStreams`. */
export interface SelectOptions extends CallOptions {
  /** Only the streams of this shard (a sharded query piece); absent or null: all. */
  readonly shard?: Shard | null | undefined;
}

/** One in-memory chunk as a value: its cut (immutable) blocks and a copy of its head block. */
export interface MemChunkData {
  /**
   * The chunk's identity at the ingester that answered, unique across ingesters
   * (`<instance>/<n>`). `storedKeys` takes it to say whether (and where) the chunk was uploaded.
   */
  readonly id: string;
  readonly fromNs: bigint;
  readonly throughNs: bigint;
  /** The cut blocks at snapshot time (compressed, with their metas and token filters), or null when none. */
  readonly cut: ReadableChunk | null;
  /** Sorted copy of the head block at snapshot time, or null. */
  readonly head: DecodedBlock | null;
}

/** A stream held in ingester memory: its labels and the chunks overlapping the asked range. */
export interface MemStream {
  readonly labels: Labels;
  readonly fingerprint: string;
  readonly chunks: readonly MemChunkData[];
}

/** What the distributor calls on an ingester. */
export interface IngesterPusher {
  /** Resolves once the streams are durable in the ingester's WAL; rejects with a SiltError otherwise. */
  push(tenant: string, streams: ValidStream[], opts?: CallOptions): Promise<void>;
}

/** What queriers call on an ingester. All answers are snapshots of memory. */
export interface IngesterQuerier {
  /** Streams matching every matcher with data overlapping [fromNs, throughNs] (inclusive). */
  selectStreams(tenant: string, matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint, opts?: SelectOptions): Promise<MemStream[]>;
  /**
   * Object keys of the stored copies of the chunks `ids` (from `selectStreams`) as of now: only
   * chunks whose upload has finished are in the map. The querier asks after reading the index,
   * so every stored copy the index listed is known by its key (see querier/sources.ts).
   * An ingester remembers the keys of chunks it dropped from memory for a while after.
   */
  storedKeys(tenant: string, ids: readonly string[], opts?: CallOptions): Promise<Map<string, string>>;
  /** Label names of in-memory streams overlapping the range, sorted. */
  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly string[]>;
  /** Values of label `name` of in-memory streams overlapping the range, sorted. */
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly string[]>;
  /** Label sets of in-memory streams overlapping the range. */
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly Labels[]>;
}

/** A live subscriber of appended entries (see `IngesterTail`). */
export interface IngesterTailer {
  /**
   * Called with the entries just appended to one matching stream, in push order. Lines may be
   * views into a push body: copy what you keep.
   */
  onEntries(labels: Labels, entries: readonly PushEntry[]): void;
  /** The subscription ended on the ingester's side (it stopped, or the connection broke). Optional. */
  onClose?(err: Error | null): void;
}

/** Live tailing of what an ingester appends (Loki's ingester Tail and TailersCount). */
export interface IngesterTail {
  /** Subscribes to streams of `tenant` matching every matcher; resolves with the unsubscribe function once subscribed. */
  tail(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): Promise<() => void>;
  /** Active subscriptions of `tenant`. */
  tailersCount(tenant: string, opts?: CallOptions): Promise<number>;
}

/** Operations on an ingester (`POST /flush`, readiness). */
export interface IngesterAdmin {
  /** Flushes every in-memory chunk; resolves with the number still not stored and indexed. */
  flush(opts?: CallOptions): Promise<number>;
}

/** Everything a querier-side process may call on the ingesters. */
export interface IngesterClient extends IngesterPusher, IngesterQuerier, IngesterTail, IngesterAdmin {}
