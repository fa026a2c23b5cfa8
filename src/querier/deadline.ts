/**
 * A query's time budget (`querier.query_timeout`). The querier checks it between chunks and
 * races every wait on the store against it, so a slow or hung object store cannot hold a
 * query past its budget. Its `signal` goes with every storage read made for the query: when
 * the budget runs out (or the query ends) the reads are aborted, so their S3 requests and
 * connections are freed rather than left to run on unobserved.
 */
import { QueryTimeoutError } from '../errors.js';

export class Deadline {
  readonly #atMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #expired: Promise<never> | null = null;
  #controller: AbortController | null = null;

  /** `timeoutMs` ≤ 0: no deadline. `now` is the clock the budget is measured on (ms). */
  constructor(timeoutMs: number, now: () => number) {
    this.#now = now;
    this.#atMs = timeoutMs > 0 ? now() + timeoutMs : Infinity;
  }

  /** Throws QueryTimeoutError once the budget is spent. */
  check(): void {
    if (this.#now() > this.#atMs) throw new QueryTimeoutError();
  }

  /**
   * Aborts with a QueryTimeoutError when the budget runs out, and (with another reason) when
   * the query ends; pass it to every storage read of the query. Undefined without a budget.
   */
  get signal(): AbortSignal | undefined {
    if (this.#atMs === Infinity) return undefined;
    this.#arm();
    return this.#controller!.signal;
  }

  /** `{ signal }` for a storage read. */
  get read(): { signal: AbortSignal | undefined } {
    return { signal: this.signal };
  }

  /** Starts the budget's timer (once). */
  #arm(): void {
    if (this.#expired !== null) return;
    const controller = (this.#controller = new AbortController());
    const ms = Math.max(0, this.#atMs - this.#now());
    this.#expired = new Promise<never>((_, reject) => {
      this.#timer = setTimeout(() => {
        const err = new QueryTimeoutError();
        reject(err);
        controller.abort(err);
      }, ms);
      this.#timer.unref();
    });
    // Raced below; never an unhandled rejection once the query is over.
    this.#expired.catch(() => undefined);
  }

  /** `p`, or QueryTimeoutError if the budget runs out first. */
  wait<T>(p: Promise<T>): Promise<T> {
    if (this.#atMs === Infinity) return p;
    this.check();
    this.#arm();
    return Promise.race([p, this.#expired!]);
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

  /** Stops the timer (the query is over) and aborts the reads still in flight for it. */
  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#controller !== null && !this.#controller.signal.aborted) {
      const ended = new Error('query ended');
      ended.name = 'AbortError';
      this.#controller.abort(ended);
    }
  }
}

/** No budget: `wait` returns its promise as is, `check` never throws, `signal` is undefined. */
export const NO_DEADLINE = new Deadline(0, () => 0);
