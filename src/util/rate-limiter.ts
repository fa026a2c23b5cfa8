/**
 * Token buckets with the semantics of Go's golang.org/x/time/rate limiter, which Loki uses
 * for the tenant ingestion limit (distributor) and the per-stream limit (ingester): a bucket
 * starts full, refills continuously at `rate` tokens (bytes) per second up to `burst`, and a
 * request of `n` tokens is allowed only if `n` tokens are available now; a refused request
 * consumes nothing.
 */

/** One bucket. Time is passed in, never read, so tests and callers control the clock. */
export class TokenBucket {
  /** Tokens (bytes) added per second; Infinity allows everything. */
  rate: number;
  /** Bucket size in tokens; a single request larger than this never passes. */
  burst: number;
  /** Tokens available at `lastMs`. */
  tokens: number;
  /** Last time tokens were brought up to date. */
  lastMs: number;

  constructor(rate: number, burst: number, nowMs: number) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Tokens available at `nowMs` (never above burst). A clock going backwards adds nothing. */
  available(nowMs: number): number {
    const elapsedMs = nowMs - this.lastMs;
    if (elapsedMs <= 0) return this.tokens;
    return Math.min(this.burst, this.tokens + (elapsedMs * this.rate) / 1000);
  }

  /** Takes `n` tokens if available at `nowMs` and returns true; otherwise changes nothing. */
  allowN(nowMs: number, n: number): boolean {
    if (this.rate === Infinity) return true;
    const t = this.available(nowMs);
    if (nowMs > this.lastMs) {
      this.tokens = t;
      this.lastMs = nowMs;
    }
    if (n > t) return false;
    this.tokens = t - n;
    return true;
  }

  /** Changes rate and burst, keeping the tokens accrued so far (capped at the new burst). */
  setLimit(nowMs: number, rate: number, burst: number): void {
    if (rate === this.rate && burst === this.burst) return;
    const t = this.available(nowMs);
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(t, burst);
    if (nowMs > this.lastMs) this.lastMs = nowMs;
  }

  /** True when the bucket is full again at `nowMs`, i.e. indistinguishable from a new one. */
  isFull(nowMs: number): boolean {
    return this.available(nowMs) >= this.burst;
  }
}

/** Options of a `RateLimiters` map. */
export interface RateLimitersOptions {
  /** Sweep for idle buckets at most this often (ms). Default 60s. */
  sweepIntervalMs?: number;
  /** Clock for `get` (bucket creation and sweeps); Date.now by default. */
  nowMs?: () => number;
}

/**
 * Buckets keyed by string (tenant id, or tenant + stream fingerprint in the ingester),
 * created on first use. Buckets that have refilled completely carry no state a new
 * bucket would not have, so a periodic sweep (run from `get`/`allowN`, at most once per
 * `sweepIntervalMs`) drops them; memory follows the set of recently active keys.
 */
export class RateLimiters {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #sweepIntervalMs: number;
  readonly #clock: () => number;
  #nextSweepMs = -Infinity;

  constructor(opts: RateLimitersOptions = {}) {
    this.#sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
    this.#clock = opts.nowMs ?? Date.now;
  }

  /**
   * The bucket of `key`, created full with `rate`/`burst` or updated to them if the
   * limits changed. Call `allowN` on it. The bucket may be evicted once idle, so fetch it
   * per use rather than keeping it.
   */
  get(key: string, rate: number, burst: number): TokenBucket {
    return this.#bucket(key, this.#clock(), rate, burst);
  }

  /** `get(key, rate, burst).allowN(nowMs, n)` with an explicit time. */
  allowN(key: string, nowMs: number, n: number, rate: number, burst: number): boolean {
    return this.#bucket(key, nowMs, rate, burst).allowN(nowMs, n);
  }

  #bucket(key: string, nowMs: number, rate: number, burst: number): TokenBucket {
    if (nowMs >= this.#nextSweepMs) this.evictIdle(nowMs);
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = new TokenBucket(rate, burst, nowMs);
      this.#buckets.set(key, b);
    } else {
      b.setLimit(nowMs, rate, burst);
    }
    return b;
  }

  /** The live bucket of `key` without creating one (for inspection and tests). */
  peek(key: string): TokenBucket | undefined {
    return this.#buckets.get(key);
  }

  /** Number of live buckets. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Drops every bucket that has refilled; returns how many were dropped. */
  evictIdle(nowMs: number): number {
    this.#nextSweepMs = nowMs + this.#sweepIntervalMs;
    let n = 0;
    for (const [key, b] of this.#buckets) {
      if (b.isFull(nowMs)) {
        this.#buckets.delete(key);
        n++;
      }
    }
    return n;
  }
}
