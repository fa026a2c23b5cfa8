/** Limits and defaults of the query-frontend and its wire protocol, each with its reason. */

/** Bytes of a path, parameter or header name: far above any query API path or parameter name. */
export const MAX_NAME_BYTES = 4096;

/** Bytes of a parameter or header value: LogQL queries are limited to a few KiB; `match[]` lists can be long. */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Parameters or headers of one Work message: query API requests carry a handful. */
export const MAX_PAIRS = 10_000;

/** Bytes of a querier id in Hello. */
export const MAX_QUERIER_ID_BYTES = 1024;

/** Bytes of a tenant id list (`a|b|…`): Loki's MaxTenantIDLength per tenant, times many tenants. */
export const MAX_TENANT_BYTES = 64 * 1024;

/**
 * Largest message either side accepts: one piece's answer (a query answer; 5000 lines of a few
 * KiB fit many times). A larger answer breaks its stream; the piece is retried, then the query
 * fails. The same bound as an ingester's gRPC server, which shares the process's server.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** First wait before a worker dials a frontend again after its stream broke, ms. */
export const WORKER_BACKOFF_MIN_MS = 100;

/** Longest wait between a worker's dial attempts, ms. */
export const WORKER_BACKOFF_MAX_MS = 5000;

/**
 * gRPC keepalive of Process streams, both ends: a querier frozen or cut off (no RST, e.g.
 * SIGSTOP or a dropped network) is noticed within ping interval + timeout, and its piece
 * retried. The timeout is generous: a querier whose event loop is busy for a few seconds
 * answers pings late, and cutting it off would waste the piece it is running.
 */
export const KEEPALIVE_TIME_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 20_000;

/** Loki's text when a tenant has too many requests queued (HTTP 429). */
export const MSG_TOO_MANY_OUTSTANDING = 'too many outstanding requests';

/**
 * Loki's text when no querier is connected to a frontend (its readiness check). A standalone
 * frontend answers tail requests with it too (503) when it has no querier to proxy them to.
 */
export const MSG_NO_QUERIERS = 'not ready: number of queriers connected to query-frontend is 0';
