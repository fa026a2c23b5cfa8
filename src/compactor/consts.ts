/** Object-key layout and limits of the compactor. */

/** Root of everything the compactor keeps in object storage (never under `index/`). */
export const COMPACTOR_PREFIX = 'compactor/';
/** Marker objects: chunk keys removed from the index, deleted after retention_delete_delay. */
export const MARKERS_PREFIX = `${COMPACTOR_PREFIX}markers/`;
/** Delete requests: `compactor/delete_requests/<tenant>/<request_id>.json`. */
export const DELETE_REQUESTS_PREFIX = `${COMPACTOR_PREFIX}delete_requests/`;
/** Writer id prefix of compacted segments (`index/<day>/<tenant>/compactor-<rand>-<seq>.idx`). */
export const COMPACTOR_WRITER_PREFIX = 'compactor';

/** A chunk below this fraction of the merge target is "small" and may be merged (Loki #5605). */
export const SMALL_CHUNK_FRACTION = 0.5;
/** Most chunk keys in one marker object, so a marker stays a few MB at most. */
export const MAX_KEYS_PER_MARKER = 50_000;
/** Delete requests per tenant; more are refused (each one costs work on every query). */
export const MAX_DELETE_REQUESTS_PER_TENANT = 10_000;
/** How long queriers reuse a tenant's delete-request list read from object storage, ms. */
export const DELETE_REQUESTS_CACHE_TTL_MS = 10_000;
/** Delete request and marker objects above this are refused unread (corrupt or hostile). */
export const MAX_JSON_OBJECT_BYTES = 64 * 1024 * 1024;
/** A UTC day (an index table's span) in ms. */
export const DAY_MS = 86_400_000;
