/**
 * Concurrent loads of one key share a single fetch, and the fetch has its own lifetime: it is
 * aborted only when every caller waiting for it has given up (their signals aborted). So one
 * query's deadline never fails another query waiting on the same object, and a read nobody
 * waits for any more does not keep its connection.
 */
import { abortReason } from './object-client.js';

interface Entry<V> {
  promise: Promise<V>;
  controller: AbortController;
  /** Callers still waiting. */
  waiters: number;
}

/** In-flight loads by key. */
export class SharedLoads<K, V> {
  readonly #inflight = new Map<K, Entry<V>>();

  /** Loads in flight now (for tests). */
  get size(): number {
    return this.#inflight.size;
  }

  /**
   * The value of `key`: joins the load in flight, or starts `fetch` with a signal of the
   * load's own. Rejects with `signal`'s reason as soon as `signal` aborts; the shared fetch is
   * aborted when its last waiter leaves this way.
   */
  load(key: K, fetch: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    let e = this.#inflight.get(key);
    if (e === undefined) {
      const controller = new AbortController();
      const entry: Entry<V> = { promise: Promise.resolve().then(() => fetch(controller.signal)), controller, waiters: 0 };
      const forget = (): void => {
        if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
      };
      entry.promise.then(forget, forget);
      this.#inflight.set(key, entry);
      e = entry;
    }
    const entry = e;
    entry.waiters++;
    if (signal === undefined) return entry.promise;
    return new Promise<V>((resolve, reject) => {
      const onAbort = (): void => {
        entry.waiters--;
        if (entry.waiters === 0) {
          // Nobody waits: a new caller starts a fresh load rather than join an aborted one.
          if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
          entry.controller.abort(signal.reason);
        }
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      entry.promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }
}
