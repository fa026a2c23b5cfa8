/**
 * Whether the object store takes writes, for `/ready`. A healthy idle store makes no writes,
 * so health is judged by the writes that happen (chunk flushes, index segments, delete
 * requests, rules: every put): the store is failing while the last put failed, or a put has
 * been waiting past the request timeout with no answer (a frozen store never answers, and the
 * S3 client's retries can keep one put pending for minutes). The failure is dated from the
 * first failed or stuck put since the last successful one, and a successful put clears it.
 * `/ready` answers 503 once it is older than `storage_config.write_failure_unready_period`.
 */
import { Gauge, type Registry } from 'prom-client';
import { InvalidError } from '../errors.js';
import type { ListResult, ObjectClient, ReadOptions } from './object-client.js';
import { formatSeconds } from '../util/delivery-log.js';

/** Options of WriteHealth. */
export interface WriteHealthOptions {
  /** How long writes must have been failing before `readiness` reports it, ms; 0 never does. */
  unreadyAfterMs: number;
  /** A put pending this long counts as failed (the S3 request timeout), ms. */
  stuckAfterMs: number;
  /** Clock, ms. */
  nowMs?: () => number;
}

/** The first line of an error's message. */
function messageOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n', 1)[0]!;
}

/** Tracks put outcomes and says whether writes are failing. */
export class WriteHealth {
  readonly #unreadyAfterMs: number;
  readonly #stuckAfterMs: number;
  readonly #now: () => number;
  /** Pending puts by token: start time and key, in start order. */
  readonly #pending = new Map<number, { startMs: number; key: string }>();
  #nextToken = 0;
  #lastSuccessMs = -Infinity;
  /** When the failing began (first failed put since the last success); null: not failing. */
  #firstFailureMs: number | null = null;
  #lastError = '';

  constructor(opts: WriteHealthOptions) {
    this.#unreadyAfterMs = opts.unreadyAfterMs;
    this.#stuckAfterMs = opts.stuckAfterMs;
    this.#now = opts.nowMs ?? Date.now;
  }

  /** A put of `key` starts; pass the token to `succeeded` or `failed`. */
  begin(key: string): number {
    const token = this.#nextToken++;
    this.#pending.set(token, { startMs: this.#now(), key });
    return token;
  }

  /** The put went through: writes work. */
  succeeded(token: number): void {
    this.#pending.delete(token);
    this.#lastSuccessMs = this.#now();
    this.#firstFailureMs = null;
    this.#lastError = '';
  }

  /** The put ended in a way that says nothing about the store (bad input). */
  forget(token: number): void {
    this.#pending.delete(token);
  }

  /** The put failed with `err`. */
  failed(token: number, err: unknown): void {
    const p = this.#pending.get(token);
    this.#pending.delete(token);
    const now = this.#now();
    // A put that hung before failing was failing from the moment it counted as stuck, but
    // never before the last success.
    const at = Math.max(this.#lastSuccessMs, Math.min(now, p !== undefined ? p.startMs + this.#stuckAfterMs : now));
    if (this.#firstFailureMs === null || at < this.#firstFailureMs) this.#firstFailureMs = at;
    this.#lastError = messageOf(err);
  }

  /** The oldest put started since the last success and pending past stuckAfterMs, if any. */
  #stuck(now: number): { sinceMs: number; key: string; startMs: number } | null {
    for (const p of this.#pending.values()) {
      // Puts started before the last success are judged when they end.
      if (p.startMs < this.#lastSuccessMs) continue;
      const since = p.startMs + this.#stuckAfterMs;
      return since <= now ? { sinceMs: since, key: p.key, startMs: p.startMs } : null;
    }
    return null;
  }

  /** Since when writes have been failing (ms on the clock), or null when they are not. */
  failingSinceMs(): number | null {
    const stuck = this.#stuck(this.#now());
    if (stuck === null) return this.#firstFailureMs;
    return this.#firstFailureMs === null ? stuck.sinceMs : Math.min(this.#firstFailureMs, stuck.sinceMs);
  }

  /** Not ready once writes have been failing for `unreadyAfterMs`, with the reason. */
  readiness(): { ready: boolean; reason: string } {
    if (this.#unreadyAfterMs <= 0) return { ready: true, reason: '' };
    const now = this.#now();
    const since = this.failingSinceMs();
    if (since === null || now - since < this.#unreadyAfterMs) return { ready: true, reason: '' };
    return { ready: false, reason: `object store writes failing for ${formatSeconds(now - since)}: ${this.#cause(now)}` };
  }

  #cause(now: number): string {
    if (this.#lastError !== '') return this.#lastError;
    const stuck = this.#stuck(now);
    return stuck === null ? 'unknown error' : `put "${stuck.key}" has had no answer for ${formatSeconds(now - stuck.startMs)}`;
  }
}

/**
 * An ObjectClient that reports every put's outcome to a WriteHealth. Puts rejected for bad
 * input (InvalidError) say nothing about the store and are not counted.
 */
export class WriteTrackingObjectClient implements ObjectClient {
  constructor(
    /** The client written through. */
    readonly inner: ObjectClient,
    readonly health: WriteHealth,
  ) {}

  async put(key: string, body: Buffer): Promise<void> {
    const token = this.health.begin(key);
    try {
      await this.inner.put(key, body);
    } catch (e) {
      if (e instanceof InvalidError) this.health.forget(token);
      else this.health.failed(token, e);
      throw e;
    }
    this.health.succeeded(token);
  }

  get(key: string, opts?: ReadOptions): Promise<Buffer> {
    return this.inner.get(key, opts);
  }
  getRange(key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    return this.inner.getRange(key, offset, length, opts);
  }
  list(prefix: string, delimiter?: string, opts?: ReadOptions): Promise<ListResult> {
    return this.inner.list(prefix, delimiter, opts);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** silt_object_store_write_failing: 1 while writes are failing (before /ready turns 503 too). */
export function registerWriteHealthMetrics(registry: Registry, health: WriteHealth): void {
  new Gauge({
    name: 'silt_object_store_write_failing',
    help: '1 while object-store writes are failing: the last put failed, or one has had no answer past the request timeout. /ready turns 503 once this lasts storage_config.write_failure_unready_period.',
    registers: [registry],
    collect() {
      this.set(health.failingSinceMs() === null ? 0 : 1);
    },
  });
}
