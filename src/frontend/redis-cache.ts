/**
 * The results cache in Redis (Loki's `query_range.results_cache.cache.redis`: endpoint, db,
 * password, timeout, expiration), for query-frontends that share one cache or keep it across
 * restarts. Client: ioredis (ADR 0027, chosen by measurement over node-redis).
 *
 * A cache never fails a query: a Redis that is down, slow (past `timeout`) or answering errors
 * is a miss on get and a dropped write on set. Keys are `silt:rc:<tenant>:<sha256 of the key>`
 * (the planner's keys hold whole queries). The per-tenant byte bound of the embedded cache does
 * not apply here: Redis's own `maxmemory` policy bounds it, and `expiration` ages entries out.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { lazyModule } from '../util/lazy-module.js';
import type { ResultsStore } from './split/options.js';

/** ioredis, loaded when the first Redis cache is built (util/lazy-module.ts). */
const ioredis = lazyModule<typeof import('ioredis')>('ioredis');

export interface RedisCacheConfig {
  /** `host:port` (Loki allows a comma-separated list of nodes; the first is used). */
  endpoint: string;
  db: number;
  /** Empty: no AUTH. */
  password: string;
  /** Command timeout, ms. */
  timeout: number;
  /** Entry lifetime, ms; 0: none. */
  expiration: number;
}

const KEY_PREFIX = 'silt:rc:';

export class RedisResultsStore implements ResultsStore {
  /** Counters for metrics and tests. */
  hits = 0;
  misses = 0;
  errors = 0;
  readonly #client: Redis;
  readonly #expiration: number;

  constructor(cfg: RedisCacheConfig) {
    const first = cfg.endpoint.split(',')[0]!.trim();
    const at = first.lastIndexOf(':');
    const host = at > 0 ? first.slice(0, at) : first;
    const port = at > 0 ? Number(first.slice(at + 1)) : 6379;
    this.#expiration = cfg.expiration;
    this.#client = new (ioredis().Redis)({
      host,
      port,
      db: cfg.db,
      ...(cfg.password !== '' ? { password: cfg.password } : {}),
      commandTimeout: cfg.timeout > 0 ? cfg.timeout : undefined,
      connectTimeout: Math.max(cfg.timeout, 1000),
      // Fail at once while disconnected (a miss), never queue or retry a command.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Reconnect in the background, at most every 2 s.
      retryStrategy: (n) => Math.min(100 * n, 2000),
    });
    // Connection errors surface through failed commands; without a listener ioredis logs them.
    this.#client.on('error', () => {
      this.errors++;
    });
  }

  static key(tenant: string, key: string): string {
    return KEY_PREFIX + tenant + ':' + createHash('sha256').update(key).digest('base64url');
  }

  async get(tenant: string, key: string): Promise<Buffer | null> {
    try {
      const v = await this.#client.getBuffer(RedisResultsStore.key(tenant, key));
      if (v === null) this.misses++;
      else this.hits++;
      return v;
    } catch {
      this.errors++;
      this.misses++;
      return null;
    }
  }

  async set(tenant: string, key: string, value: Buffer): Promise<void> {
    try {
      const k = RedisResultsStore.key(tenant, key);
      if (this.#expiration > 0) await this.#client.set(k, value, 'PX', Math.ceil(this.#expiration));
      else await this.#client.set(k, value);
    } catch {
      this.errors++;
    }
  }

  /** Closes the connection (QUIT, or a hard disconnect when Redis does not answer). */
  async close(): Promise<void> {
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }
}
