/** Ruler constants, each with the reason for its value. */

/** How long a resolved alert is kept and re-sent as resolved (Prometheus' resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** Alerts per Alertmanager request (Prometheus' notifier maxBatchSize). */
export const MAX_ALERTS_PER_BATCH = 64;

/** Object key prefix of rule files in the shared object store (Loki's rule store prefix). */
export const RULES_PREFIX = 'rules/';

/** Remote-write protocol version header value for remote-write 1.0. */
export const REMOTE_WRITE_VERSION = '0.1.0';
