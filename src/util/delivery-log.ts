/**
 * Logs of a delivery target (an Alertmanager, a remote-write endpoint, the object store chunk
 * flushes go to): one line when deliveries start failing, with the cause, nothing while they
 * keep failing, and one line when they work again, with how many attempts failed in between.
 * A target that is down for an hour logs two lines, not one per attempt; the counters say how
 * often it was tried.
 */
import { formatDuration } from './go/duration.js';

/** The slice of a pino logger used here (warn for the failure, info for the recovery). */
export interface DeliveryLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Longest cause chain followed; causes nest a few levels at most in practice. */
const MAX_CAUSE_DEPTH = 8;

/** Messages that only say "something failed below": dropped when a cause follows. */
const GENERIC_MESSAGES = new Set(['fetch failed', 'other side closed', 'terminated']);

/** The message of one error, without its causes; AggregateError (several addresses tried) lists its errors. */
function ownMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) {
    const inner = [...new Set(e.errors.map((x) => describeError(x)))].join('; ');
    return e.message !== '' ? `${e.message}: ${inner}` : inner;
  }
  if (e instanceof Error) return e.message !== '' ? e.message : e.name;
  return String(e);
}

/**
 * What went wrong, cause chain included: undici's `fetch failed` says nothing, its `cause`
 * (`connect ECONNREFUSED 127.0.0.1:9093`) does. Messages already contained in an earlier one
 * are left out; the first line of each message is kept.
 */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < MAX_CAUSE_DEPTH; depth++) {
    const msg = ownMessage(cur).split('\n', 1)[0]!.trim();
    if (msg !== '' && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  while (parts.length > 1 && GENERIC_MESSAGES.has(parts[0]!)) parts.shift();
  return parts.length === 0 ? 'unknown error' : parts.join(': ');
}

/** `45s`, `1m30s`, `2h0m5s` (whole seconds, Go's style; under a second: `0s`). */
export function formatSeconds(ms: number): string {
  const s = Math.floor(ms / 1000);
  return formatDuration(BigInt(Number.isFinite(s) && s > 0 ? s : 0) * 1_000_000_000n);
}

/** Options of a DeliveryLog. */
export interface DeliveryLogOptions {
  logger: DeliveryLogger;
  /** What is delivered, as a gerund phrase: `sending alerts`, `flushing chunks`. */
  action: string;
  /** Where to, as a noun phrase: `Alertmanager http://am:9093/api/v2/alerts`. */
  target: string;
  /** What happens meanwhile, appended to the failure line: `retried with backoff`. */
  meanwhile?: string;
  /** Fields added to both lines (e.g. `{ tenant }`). */
  fields?: Record<string, string>;
  /** Clock, ms. */
  nowMs?: () => number;
}

/**
 * The failure state of one delivery target. Call `failed(err)` after every failed attempt and
 * `succeeded()` after every successful one; lines are logged only when the state changes.
 */
export class DeliveryLog {
  readonly #opts: DeliveryLogOptions;
  readonly #now: () => number;
  /** Failed attempts since the last success; 0 while deliveries work. */
  #failures = 0;
  #failingSinceMs = 0;

  constructor(opts: DeliveryLogOptions) {
    this.#opts = opts;
    this.#now = opts.nowMs ?? Date.now;
  }

  /** Failed attempts since the last success (0: not failing). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * An attempt failed with `err`: logged (warn) only if the previous attempt succeeded.
   * `meanwhile` replaces the option's text for this failure (e.g. a rejection is not retried).
   */
  failed(err: unknown, meanwhile?: string): void {
    this.#failures++;
    if (this.#failures > 1) return;
    this.#failingSinceMs = this.#now();
    const o = this.#opts;
    const cause = describeError(err);
    const then = meanwhile ?? o.meanwhile ?? '';
    const suffix = then !== '' ? `; ${then}` : '';
    o.logger.warn({ ...o.fields, target: o.target, err: cause }, `${o.action} to ${o.target} failed: ${cause}${suffix} (logged once until it works again)`);
  }

  /** An attempt succeeded: logged (info) only if attempts were failing. */
  succeeded(): void {
    if (this.#failures === 0) return;
    const n = this.#failures;
    const forMs = this.#now() - this.#failingSinceMs;
    this.#failures = 0;
    const o = this.#opts;
    o.logger.info(
      { ...o.fields, target: o.target, failures: n, failingForMs: forMs },
      `${o.action}: delivering to ${o.target} again after ${n} failure${n === 1 ? '' : 's'} (failing for ${formatSeconds(forMs)})`,
    );
  }
}
