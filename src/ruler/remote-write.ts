/**
 * Prometheus remote write 1.0: a WriteRequest encoder on the shared ProtoWriter (only the
 * fields remote write 1.0 needs), snappy block compression, and a client with a bounded
 * queue (the oldest samples are dropped when it is full), batching and retries with backoff.
 *
 * ```
 * message WriteRequest { repeated TimeSeries timeseries = 1; }
 * message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 * message Label        { string name = 1; string value = 2; }
 * message Sample       { double value = 1; int64 timestamp = 2; }  // timestamp in ms
 * ```
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import snappy from 'snappy';
import { labelsToString, type Labels } from '../model/index.js';
import { DeliveryLog } from '../util/delivery-log.js';
import { ProtoWriter } from '../util/protobuf.js';
import type { OutputSample } from './alerting.js';
import { REMOTE_WRITE_VERSION } from './consts.js';

/** One series of a WriteRequest: sorted labels and samples in time order. */
export interface WriteSeries {
  labels: Labels;
  samples: { tsMs: number; value: number }[];
}

/** Encodes a WriteRequest (uncompressed protobuf). */
export function encodeWriteRequest(series: readonly WriteSeries[]): Buffer {
  const w = new ProtoWriter();
  for (const s of series) {
    // Size hints: a sample is about 17 bytes (value, millisecond timestamp, tags and length).
    let labelBytes = 0;
    for (const l of s.labels) labelBytes += l.name.length + l.value.length + 6;
    w.begin(1, labelBytes + s.samples.length * 19); // TimeSeries
    for (const l of s.labels) {
      w.begin(1, l.name.length + l.value.length + 4); // Label
      w.stringField(1, l.name);
      w.stringField(2, l.value);
      w.end();
    }
    for (const p of s.samples) {
      w.begin(2, 17); // Sample
      w.doubleField(1, p.value);
      w.int64Field(2, BigInt(Math.trunc(p.tsMs)));
      w.end();
    }
    w.end();
  }
  return w.finish();
}

/** Groups samples by series, keeping their order. */
export function toSeries(samples: readonly OutputSample[]): WriteSeries[] {
  const by = new Map<string, WriteSeries>();
  for (const s of samples) {
    const k = labelsToString(s.labels);
    let ws = by.get(k);
    if (!ws) {
      ws = { labels: s.labels, samples: [] };
      by.set(k, ws);
    }
    ws.samples.push({ tsMs: s.tsMs, value: s.value });
  }
  return [...by.values()];
}

export interface RemoteWriteOptions {
  url: string;
  /** Sent as X-Scope-OrgID when non-empty. */
  tenant: string;
  timeoutMs: number;
  capacity: number;
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  logger: Logger;
  metrics: RemoteWriteMetrics;
}

/** Counters shared by every tenant's client. */
export class RemoteWriteMetrics {
  readonly sent: Counter<'tenant'>;
  readonly dropped: Counter<'tenant'>;
  readonly failed: Counter<'tenant'>;
  readonly retries: Counter<'tenant'>;
  readonly pending: Gauge<'tenant'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sent = new Counter({ name: 'silt_ruler_remote_write_samples_sent_total', help: 'Samples accepted by the remote-write endpoint.', labelNames: ['tenant'], registers });
    this.dropped = new Counter({ name: 'silt_ruler_remote_write_samples_dropped_total', help: 'Samples dropped because the remote-write queue was full (oldest first).', labelNames: ['tenant'], registers });
    this.failed = new Counter({ name: 'silt_ruler_remote_write_samples_failed_total', help: 'Samples rejected by the endpoint with a non-retryable status.', labelNames: ['tenant'], registers });
    this.retries = new Counter({ name: 'silt_ruler_remote_write_retries_total', help: 'Remote-write requests retried after a recoverable failure.', labelNames: ['tenant'], registers });
    this.pending = new Gauge({ name: 'silt_ruler_remote_write_samples_pending', help: 'Samples queued for remote write.', labelNames: ['tenant'], registers });
  }
}

/** A non-retryable answer (4xx other than 429). */
class PermanentError extends Error {}

/**
 * Sends samples to one remote-write endpoint. `append` never blocks: when the queue is full
 * the oldest samples are dropped and counted. One request is in flight at a time, so samples
 * of a series arrive in order.
 */
export class RemoteWriteClient {
  readonly #opts: RemoteWriteOptions;
  /** Ring of queued samples: `#head` is the oldest. */
  #queue: (OutputSample | undefined)[];
  #head = 0;
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  #sending: Promise<void> | null = null;
  #stopped = false;
  #abort = new AbortController();
  /** Logs the endpoint failing once, with the cause, and once when it takes samples again. */
  readonly #delivery: DeliveryLog;

  constructor(opts: RemoteWriteOptions) {
    this.#opts = opts;
    this.#queue = new Array<OutputSample | undefined>(opts.capacity);
    this.#delivery = new DeliveryLog({
      logger: opts.logger,
      action: 'remote-writing samples',
      target: `${opts.url}${opts.tenant !== '' ? ` (tenant ${opts.tenant})` : ''}`,
      meanwhile: `retried with backoff up to ${opts.maxBackoffMs} ms; up to ${opts.capacity} samples wait, then the oldest are dropped`,
      ...(opts.tenant !== '' ? { fields: { tenant: opts.tenant } } : {}),
    });
  }

  /** Samples waiting (not counting the batch in flight). */
  get pending(): number {
    return this.#size;
  }

  append(samples: readonly OutputSample[]): void {
    if (this.#stopped) return;
    const cap = this.#queue.length;
    let dropped = 0;
    for (const s of samples) {
      if (this.#size === cap) {
        this.#queue[this.#head] = undefined;
        this.#head = (this.#head + 1) % cap;
        this.#size--;
        dropped++;
      }
      this.#queue[(this.#head + this.#size) % cap] = s;
      this.#size++;
    }
    if (dropped > 0) this.#opts.metrics.dropped.inc({ tenant: this.#opts.tenant }, dropped);
    this.#opts.metrics.pending.set({ tenant: this.#opts.tenant }, this.#size);
    this.#kick();
  }

  #take(n: number): OutputSample[] {
    const out: OutputSample[] = [];
    const cap = this.#queue.length;
    while (out.length < n && this.#size > 0) {
      out.push(this.#queue[this.#head]!);
      this.#queue[this.#head] = undefined;
      this.#head = (this.#head + 1) % cap;
      this.#size--;
    }
    return out;
  }

  #kick(): void {
    if (this.#sending || this.#size === 0 || this.#stopped) return;
    if (this.#size >= this.#opts.maxSamplesPerSend) {
      this.#startSend();
      return;
    }
    if (!this.#timer) {
      // Rule results come in bursts once per evaluation: a short wait lets one burst share a request.
      const wait = Math.min(this.#opts.batchSendDeadlineMs, 50);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#startSend();
      }, wait);
      this.#timer.unref();
    }
  }

  #startSend(): void {
    if (this.#sending || this.#size === 0 || this.#stopped) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch = this.#take(this.#opts.maxSamplesPerSend);
    this.#opts.metrics.pending.set({ tenant: this.#opts.tenant }, this.#size);
    this.#sending = this.#sendWithRetry(batch).finally(() => {
      this.#sending = null;
      this.#kick();
    });
  }

  async #sendWithRetry(batch: OutputSample[]): Promise<void> {
    const body = await snappy.compress(encodeWriteRequest(toSeries(batch)));
    let backoff = this.#opts.minBackoffMs;
    const tenant = this.#opts.tenant;
    for (;;) {
      if (this.#stopped) return;
      try {
        await this.#post(body);
        this.#opts.metrics.sent.inc({ tenant }, batch.length);
        this.#delivery.succeeded();
        return;
      } catch (e) {
        if (this.#stopped) return; // aborted by stop(): not the endpoint's failure
        if (e instanceof PermanentError) {
          // A 4xx: these samples are dropped, not retried (Prometheus' remote write does the same).
          this.#opts.metrics.failed.inc({ tenant }, batch.length);
          this.#delivery.failed(e, 'rejected samples are dropped, not retried');
          this.#opts.logger.debug({ err: e.message, samples: batch.length }, 'remote write rejected samples');
          return;
        }
        this.#opts.metrics.retries.inc({ tenant });
        this.#delivery.failed(e);
        this.#opts.logger.debug({ err: (e as Error).message, backoffMs: backoff }, 'remote write failed, retrying');
        await new Promise<void>((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, this.#opts.maxBackoffMs);
      }
    }
  }

  async #post(body: Buffer): Promise<void> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': REMOTE_WRITE_VERSION,
      'User-Agent': 'silt-ruler',
    };
    if (this.#opts.tenant !== '') headers['X-Scope-OrgID'] = this.#opts.tenant;
    const signal = AbortSignal.any([AbortSignal.timeout(this.#opts.timeoutMs), this.#abort.signal]);
    const res = await fetch(this.#opts.url, { method: 'POST', headers, body, signal });
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) return;
    const msg = `server returned HTTP status ${res.status}: ${text.slice(0, 256).trim()}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentError(msg);
    throw new Error(msg);
  }

  /** Sends what is queued (bounded by `timeoutMs`), then stops. */
  async stop(timeoutMs = 2000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.#size > 0 || this.#sending) && Date.now() < until) {
      this.#startSend();
      await Promise.race([this.#sending ?? Promise.resolve(), new Promise((r) => setTimeout(r, 50))]);
    }
    this.#stopped = true;
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
  }
}
