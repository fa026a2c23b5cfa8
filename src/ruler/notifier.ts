/**
 * Alert notifications: Alertmanager's v2 API (`POST <url>/api/v2/alerts`, a JSON array of
 * alerts) and a plain JSON webhook. Like Prometheus' notifier, each sender has a bounded queue
 * (the oldest alerts are dropped when it is full), sends batches to every URL, and does not
 * retry: firing alerts are sent again every resend_delay and resolved ones until retention ends.
 * A failing URL is logged once with the cause (e.g. `connect ECONNREFUSED 127.0.0.1:9093`) and
 * once when it takes alerts again (DeliveryLog); the error counter counts every failed alert.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DeliveryLog } from '../util/delivery-log.js';
import { MAX_ALERTS_PER_BATCH } from './consts.js';

/** An alert as Alertmanager's v2 API takes it (postableAlert). */
export interface NotifierAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC3339. */
  startsAt: string;
  /** RFC3339; in the past for a resolved alert. */
  endsAt: string;
  generatorURL: string;
}

/** Where alerts go; `send` never blocks. */
export interface AlertSink {
  send(tenant: string, alerts: readonly NotifierAlert[]): void;
}

/** Counters shared by every sender, labelled by sender kind. */
export class NotifierMetrics {
  readonly sent: Counter<'sender'>;
  readonly errors: Counter<'sender'>;
  readonly dropped: Counter<'sender'>;
  readonly queueLength: Gauge<'sender'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sent = new Counter({ name: 'silt_ruler_notifications_sent_total', help: 'Alerts sent, per sender.', labelNames: ['sender'], registers });
    this.errors = new Counter({ name: 'silt_ruler_notifications_errors_total', help: 'Alerts whose request failed, per sender.', labelNames: ['sender'], registers });
    this.dropped = new Counter({ name: 'silt_ruler_notifications_dropped_total', help: 'Alerts dropped because the queue was full, per sender.', labelNames: ['sender'], registers });
    this.queueLength = new Gauge({ name: 'silt_ruler_notifications_queue_length', help: 'Alerts waiting to be sent, per sender.', labelNames: ['sender'], registers });
  }
}

export interface SenderOptions {
  kind: 'alertmanager' | 'webhook';
  /** Alertmanager base URLs (`/api/v2/alerts` is appended) or webhook URLs (used as is). */
  urls: readonly string[];
  capacity: number;
  timeoutMs: number;
  logger: Logger;
  metrics: NotifierMetrics;
}

interface Queued {
  tenant: string;
  alert: NotifierAlert;
}

/** Alertmanager's alerts endpoint under a base URL (keeps a path prefix). */
export function alertmanagerAlertsUrl(base: string): string {
  const u = new URL(base);
  u.pathname = u.pathname.replace(/\/+$/, '') + '/api/v2/alerts';
  return u.toString();
}

/** A queue of alerts drained to HTTP endpoints, one batch per tenant at a time. */
export class AlertSender implements AlertSink {
  readonly #opts: SenderOptions;
  readonly #queue: Queued[] = [];
  /** Failure state per URL, for the logs. */
  readonly #delivery = new Map<string, DeliveryLog>();
  #draining: Promise<void> | null = null;
  #stopped = false;

  constructor(opts: SenderOptions) {
    this.#opts = opts;
  }

  send(tenant: string, alerts: readonly NotifierAlert[]): void {
    if (this.#stopped || alerts.length === 0) return;
    for (const alert of alerts) this.#queue.push({ tenant, alert });
    const over = this.#queue.length - this.#opts.capacity;
    if (over > 0) {
      this.#queue.splice(0, over);
      this.#opts.metrics.dropped.inc({ sender: this.#opts.kind }, over);
    }
    this.#opts.metrics.queueLength.set({ sender: this.#opts.kind }, this.#queue.length);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const tenant = this.#queue[0]!.tenant;
      const batch: NotifierAlert[] = [];
      for (let i = 0; i < this.#queue.length && batch.length < MAX_ALERTS_PER_BATCH; ) {
        if (this.#queue[i]!.tenant === tenant) batch.push(this.#queue.splice(i, 1)[0]!.alert);
        else i++;
      }
      this.#opts.metrics.queueLength.set({ sender: this.#opts.kind }, this.#queue.length);
      await Promise.all(this.#opts.urls.map((u) => this.#post(u, tenant, batch)));
    }
  }

  async #post(url: string, tenant: string, batch: NotifierAlert[]): Promise<void> {
    const kind = this.#opts.kind;
    const target = kind === 'alertmanager' ? alertmanagerAlertsUrl(url) : url;
    const body = kind === 'alertmanager' ? JSON.stringify(batch) : JSON.stringify(webhookBody(tenant, batch));
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'silt-ruler', 'X-Scope-OrgID': tenant },
        body,
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
      const text = await res.text();
      if (res.status < 200 || res.status >= 300) throw new Error(`bad response status ${res.status}: ${text.slice(0, 256).trim()}`);
      this.#opts.metrics.sent.inc({ sender: kind }, batch.length);
      this.#deliveryLog(target).succeeded();
    } catch (e) {
      this.#opts.metrics.errors.inc({ sender: kind }, batch.length);
      this.#deliveryLog(target).failed(e);
    }
  }

  #deliveryLog(target: string): DeliveryLog {
    let d = this.#delivery.get(target);
    if (d === undefined) {
      const what = this.#opts.kind === 'alertmanager' ? 'Alertmanager' : 'webhook';
      d = new DeliveryLog({ logger: this.#opts.logger, action: 'sending alerts', target: `${what} ${target}`, meanwhile: 'firing alerts are sent again every ruler.resend_delay' });
      this.#delivery.set(target, d);
    }
    return d;
  }

  /** Waits for the queue to drain (bounded), then drops whatever is left. */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.#draining) await Promise.race([this.#draining, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.#stopped = true;
    this.#queue.length = 0;
  }
}

/** The webhook body: the tenant and each alert with its status. */
export function webhookBody(tenant: string, alerts: readonly NotifierAlert[], nowMs = Date.now()): unknown {
  return {
    version: '1',
    tenant,
    alerts: alerts.map((a) => ({ status: Date.parse(a.endsAt) <= nowMs ? 'resolved' : 'firing', ...a })),
  };
}

/** Sends to several sinks. */
export class FanoutSink implements AlertSink {
  constructor(private readonly sinks: readonly AlertSink[]) {}
  send(tenant: string, alerts: readonly NotifierAlert[]): void {
    for (const s of this.sinks) s.send(tenant, alerts);
  }
}
