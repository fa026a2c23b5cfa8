/** Limits and fixed names of the ring, each with the reason for its value. */

/** Most tokens one member may hold: Loki rings use 128–512; more only slows every lookup. */
export const MAX_TOKENS_PER_INSTANCE = 8192;

/** Largest instance value accepted from etcd: 8192 tokens as JSON stay under 100 KB. */
export const MAX_INSTANCE_VALUE_BYTES = 256 * 1024;

/** Version of the JSON stored per instance, so a later layout can be told apart. */
export const INSTANCE_CODEC_VERSION = 1;

/**
 * Suffix of the key (`<prefix><ringName><suffix>`) whose modification revision orders token
 * claims: every claim rewrites it in the same transaction, and a claim only commits if nobody
 * else claimed since it read the ring. Outside `<ringName>/`, so ring watchers never see it.
 */
export const TOKEN_CLAIMS_KEY_SUFFIX = '.token-claims';

/**
 * Token-claim attempts before one registration gives up (and `start` retries a heartbeat
 * period later). Every round commits one claim, so N members starting at the same instant
 * need up to N rounds: this covers a few hundred.
 */
export const MAX_CLAIM_ATTEMPTS = 500;

/** Backoff after a lost claim: uniform in [0, min(attempt × step, max)] ms, so losers spread out. */
export const CLAIM_BACKOFF_STEP_MS = 5;
export const CLAIM_BACKOFF_MAX_MS = 200;

/** etcd's lease TTL unit is the second and its minimum is 1. */
export const MIN_LEASE_TTL_SEC = 1;

/** Default stale bound of `Ring.status()`: Loki-style rings tolerate a minute of KV outage. */
export const DEFAULT_MAX_UNREACHABLE_MS = 60_000;
