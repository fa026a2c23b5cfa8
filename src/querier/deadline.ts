/**
 * A query's time budget (`querier.query_timeout`). The querier checks it between chunks and
 * races every wait on the store against it, so a slow or hung object store cannot hold a
 * query past its budget; the abandoned fetch finishes (or fails) unobserved.
 */
import { QueryTimeoutError } from '../errors.js';

export class Deadline {
  readonly #atMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #expired: Promise<never> | null = null;

  /** `timeoutMs` ≤ 0: no deadline. `now` is the clock the budget is measured on (ms). */
  constructor(timeoutMs: number, now: () => number) {
    this.#now = now;
    this.#atMs = timeoutMs > 0 ? now() + timeoutMs : Infinity;
  }

  /** Throws QueryTimeoutError once the budget is spent. */
  check(): void {
    if (this.#now() > this.#atMs) throw new QueryTimeoutError();
  }

  /** `p`, or QueryTimeoutError if the budget runs out first. */
  wait<T>(p: Promise<T>): Promise<T> {
    if (this.#atMs === Infinity) return p;
    this.check();
    if (this.#expired === null) {
      const ms = Math.max(0, this.#atMs - this.#now());
      this.#expired = new Promise<never>((_, reject) => {
        this.#timer = setTimeout(() => reject(new QueryTimeoutError()), ms);
        this.#timer.unref();
      });
      // Raced below; never an unhandled rejection once the query is over.
      this.#expired.catch(() => undefined);
    }
    return Promise.race([p, this.#expired]);
  }

  /** Runs `fn` within a budget of `timeoutMs`, then stops the budget's timer. */
  static async run<T>(timeoutMs: number, now: () => number, fn: (d: Deadline) => Promise<T>): Promise<T> {
    const d = new Deadline(timeoutMs, now);
    try {
      return await fn(d);
    } finally {
      d.dispose();
    }
  }

  /** Stops the timer (the query is over). */
  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** No budget: `wait` returns its promise as is, `check` never throws. */
export const NO_DEADLINE = new Deadline(0, () => 0);
