/**
 * `p`, or `reasonOf(signal)` as soon as `signal` aborts (`p` is then left to settle unobserved);
 * a null reason keeps waiting for `p`. The abort listener goes away when `p` settles, so a signal
 * that lives long (a whole query's) keeps nothing of what was waited for: unlike a
 * `Promise.race` against one long-lived promise, whose reactions hold every raced value.
 */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, reasonOf: (s: AbortSignal) => Error | null): Promise<T> {
  if (signal.aborted) {
    const r = reasonOf(signal);
    if (r !== null) return Promise.reject(r);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const r = reasonOf(signal);
      if (r !== null) reject(r);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
