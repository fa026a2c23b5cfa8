/** Limits and defaults of the ingester's gRPC services and client, each with its reason. */

/** Matchers per request: no selector has more, and each regex costs a compile on the server. */
export const MAX_MATCHERS = 1000;

/** Bytes of a matcher's or label request's name: Loki's default max_label_name_length. */
export const MAX_LABEL_NAME_BYTES = 1024;

/** Bytes of a matcher value: far above LogQL's 5 KiB query limit, bounds the RE2 compile. */
export const MAX_MATCHER_VALUE_BYTES = 64 * 1024;

/** Chunk ids per StoredKeys call: a querier asks for the chunks of one query's streams. */
export const MAX_STORED_KEY_IDS = 1_000_000;

/** Bytes of one chunk id (`<instance>/<n>`). */
export const MAX_CHUNK_ID_BYTES = 512;

/** Bytes of a tenant id: Loki's MaxTenantIDLength. */
export const MAX_TENANT_BYTES = 150;

/**
 * SelectStreams answers in messages of about this size: big enough that framing costs nothing,
 * small enough that the client decodes while the rest arrives and no message nears a limit.
 */
export const SELECT_BATCH_BYTES = 1024 * 1024;

/**
 * A Tail stream with more than this queued unsent is ended (RESOURCE_EXHAUSTED): a client that
 * cannot keep up must not grow the ingester's memory.
 */
export const MAX_TAIL_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Client deadline of a call without its own (Loki's ingester_client remote_timeout is 5 s; reads of big snapshots get more). */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** Client deadline of Flush: it uploads every chunk in memory. */
export const DEFAULT_FLUSH_TIMEOUT_MS = 5 * 60_000;

/**
 * Largest message the client accepts. A SelectStreams message holds at least one whole chunk
 * (1.5 MiB at the default target size) and the server sends at most 16 MiB.
 */
export const MAX_CLIENT_RECV_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Label strings whose parse the push service keeps: agents send the same few again and again. */
export const LABELS_CACHE_ENTRIES = 100_000;

/**
 * Metadata key carrying a push's place in its sender's order (`<sender>.<n>`): see push-order.ts.
 * Not a Loki header; Loki's own Pusher clients omit it and are served in arrival order.
 */
export const PUSH_SEQ_METADATA = 'silt-push-seq';

/**
 * Metadata key of the sender's oldest push still unanswered when it sent this one (push-order.ts):
 * the ingester does not wait for numbers below it.
 */
export const PUSH_LOW_METADATA = 'silt-push-low';

/**
 * How long the ingester holds a push whose predecessor, still unanswered at the sender, has not
 * arrived: HTTP/2 delivers a large message behind smaller ones sent after it, by milliseconds,
 * or by tens of them on a loaded connection. Only a predecessor lost on the way (its call failed
 * at the sender) costs its successors this, once.
 */
export const PUSH_GAP_WAIT_MS = 1000;
