/**
 * A query's time budget (`querier.query_timeout`) and its cancellation. The querier checks it
 * between chunks and races every wait on the store against it, so a slow or hung object store
 * cannot hold a query past its budget. Its `signal` goes with every storage read made for the
 * query: when the budget runs out, the request is cancelled (its HTTP client went away, or the
 * query-frontend cancelled the piece) or the query ends, the reads are aborted, so their S3
 * requests and connections are freed rather than left to run on unobserved.
 */
import { setMaxListeners } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CanceledError, QueryTimeoutError, SiltError } from '../errors.js';
import { raceAbort } from '../util/abort.js';

/**
 * Longest a query keeps the event loop between two `breathe` calls that let it run, ms. A scan
 * over cached or local chunks never waits on I/O: without a turn of the event loop a cancel
 * (the client gone, the frontend's Cancel) would only be read once the query is over.
 */
export const BREATHE_EVERY_MS = 20;

/** The error a cancelled query fails with: the signal's reason when it is a SiltError, else 499 `context canceled`. */
export function cancelReason(signal: AbortSignal): SiltError {
  const r: unknown = signal.reason;
  return r instanceof SiltError ? r : new CanceledError(undefined, { cause: r });
}

/** Why a wait stops: the budget or the cancel (a SiltError); null for the query's own end. */
function budgetReason(signal: AbortSignal): SiltError | null {
  return signal.reason instanceof SiltError ? signal.reason : null;
}

export class Deadline {
  readonly #atMs: number;
  readonly #now: () => number;
  readonly #cancel: AbortSignal | null;
  #timer: NodeJS.Timeout | null = null;
  #controller: AbortController | null = null;
  #onCancel: (() => void) | null = null;
  /** When the query last let the event loop run (performance.now(), ms). */
  #lastTurnMs = performance.now();

  /**
   * `timeoutMs` ≤ 0: no deadline. `now` is the clock the budget is measured on (ms). `cancel`:
   * the request's signal (HttpServer's `Req.signal`); once aborted, the query fails with
   * `cancelReason(cancel)` at its next check or wait.
   */
  constructor(timeoutMs: number, now: () => number, cancel?: AbortSignal) {
    this.#now = now;
    this.#atMs = timeoutMs > 0 ? now() + timeoutMs : Infinity;
    this.#cancel = cancel ?? null;
  }

  /** Neither a budget nor a cancel signal: nothing to watch. */
  get #unbounded(): boolean {
    return this.#atMs === Infinity && this.#cancel === null;
  }

  /** Throws QueryTimeoutError once the budget is spent, or the cancel reason once cancelled. */
  check(): void {
    if (this.#cancel?.aborted) throw cancelReason(this.#cancel);
    if (this.#now() > this.#atMs) throw new QueryTimeoutError();
  }

  /**
   * Aborts with a QueryTimeoutError when the budget runs out, with the cancel reason when the
   * request is cancelled, and (with another reason) when the query ends; pass it to every
   * storage read of the query. Undefined with neither a budget nor a cancel signal.
   */
  get signal(): AbortSignal | undefined {
    if (this.#unbounded) return undefined;
    this.#arm();
    return this.#controller!.signal;
  }

  /** `{ signal }` for a storage read. */
  get read(): { signal: AbortSignal | undefined } {
    return { signal: this.signal };
  }

  /** Starts the budget's timer and listens for the cancel signal (once). */
  #arm(): void {
    if (this.#controller !== null) return;
    const controller = (this.#controller = new AbortController());
    // Every wait and storage read of the query listens here and stops listening when it is done.
    setMaxListeners(0, controller.signal);
    const fail = (err: SiltError): void => {
      if (!controller.signal.aborted) controller.abort(err);
    };
    if (this.#atMs !== Infinity) {
      const ms = Math.max(0, this.#atMs - this.#now());
      this.#timer = setTimeout(() => fail(new QueryTimeoutError()), ms);
      this.#timer.unref();
    }
    const cancel = this.#cancel;
    if (cancel !== null) {
      if (cancel.aborted) fail(cancelReason(cancel));
      else {
        this.#onCancel = () => fail(cancelReason(cancel));
        cancel.addEventListener('abort', this.#onCancel, { once: true });
      }
    }
  }

  /**
   * `p`, or QueryTimeoutError if the budget runs out first (the cancel reason if cancelled first).
   * Through `raceAbort`, not a `Promise.race` against one promise of the whole query, which kept
   * every chunk a scan had fetched until the query ended (1.3 GB while counting over 1 GB of
   * text; bench/RESULTS.md, issue #20 goal 4). Waits still pending when the query ends (dispose)
   * stay pending: nobody is waiting for them any more.
   */
  wait<T>(p: Promise<T>): Promise<T> {
    if (this.#unbounded) return p;
    this.check();
    this.#arm();
    return raceAbort(p, this.#controller!.signal, budgetReason);
  }

  /**
   * Between chunks of a scan: once the query has held the event loop for BREATHE_EVERY_MS, lets
   * it run (other requests, pings, a cancel arriving), then checks the budget and the cancel.
   * Nothing to do (no budget, no cancel signal): resolves at once.
   */
  async breathe(): Promise<void> {
    if (this.#unbounded) return;
    if (performance.now() - this.#lastTurnMs >= BREATHE_EVERY_MS) {
      await nextTurn();
      this.#lastTurnMs = performance.now();
    }
    this.check();
  }

  /** Runs `fn` within a budget of `timeoutMs` (cancelled by `cancel`), then stops the budget's timer. */
  static async run<T>(timeoutMs: number, now: () => number, fn: (d: Deadline) => Promise<T>, cancel?: AbortSignal): Promise<T> {
    const d = new Deadline(timeoutMs, now, cancel);
    try {
      d.check();
      return await fn(d);
    } finally {
      d.dispose();
    }
  }

  /** Stops the timer (the query is over) and aborts the reads still in flight for it. */
  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#onCancel !== null) this.#cancel?.removeEventListener('abort', this.#onCancel);
    this.#onCancel = null;
    if (this.#controller !== null && !this.#controller.signal.aborted) {
      const ended = new Error('query ended');
      ended.name = 'AbortError';
      this.#controller.abort(ended);
    }
  }
}

/** No budget: `wait` returns its promise as is, `check` never throws, `signal` is undefined. */
export const NO_DEADLINE = new Deadline(0, () => 0);
