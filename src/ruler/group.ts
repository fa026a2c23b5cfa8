/**
 * One rule group of one tenant: evaluated every `interval` at interval-aligned timestamps,
 * rules in order, each as an instant LogQL metric query at the evaluation time (Prometheus'
 * rules.Group). Alert notifications and recorded samples leave through the given outputs.
 */
import type { MetricResult } from '../logql/engine/index.js';
import type { SampleExpr } from '../logql/syntax/index.js';
import { AlertingRuleState, RuleEvalError, recordSamples, withExternalLabels, type ActiveAlert, type OutputSample, type RuleSample } from './alerting.js';
import type { NotifierAlert } from './notifier.js';
import type { CompiledRule, RuleGroupSpec } from './rule-group.js';
import { formatRfc3339Nano } from '../util/go/rfc3339.js';

/** The query side the ruler needs; the querier implements it (memory and stored chunks). */
export interface RuleQuerier {
  /** Instant LogQL metric query for `tenant` at `atNs`. */
  instantQuery(tenant: string, expr: SampleExpr, atNs: bigint): Promise<MetricResult>;
}

/** Where a group's results go. */
export interface GroupOutputs {
  querier: RuleQuerier;
  /** Alerts due for a notification (already carrying external labels). */
  notify(tenant: string, alerts: NotifierAlert[]): void;
  /** Recorded samples and ALERTS series. */
  write(tenant: string, samples: OutputSample[]): void;
  externalLabels: Readonly<Record<string, string>>;
  externalUrl: string;
  resendDelayMs: number;
  /** Alerts with a `for` at least this long get their `for` state restored at start. */
  forGracePeriodMs: number;
  /** generatorURL of an alert of `expr`. */
  generatorUrl(expr: string): string;
  /** Counts one rule evaluation and whether it failed. */
  observe(failed: boolean): void;
  /** Counts evaluation slots skipped because the previous cycle ran past them. */
  missed(slots: number): void;
  /** Reports a failure outside rule evaluation (never expected). */
  onError(err: unknown): void;
}

export type RuleHealth = 'unknown' | 'ok' | 'err';

/** A rule with its evaluation status. */
export interface RuleRuntime {
  readonly compiled: CompiledRule;
  /** Alert state; null for recording rules. */
  readonly alerting: AlertingRuleState | null;
  health: RuleHealth;
  lastError: string;
  /** Evaluation timestamp of the last evaluation (ms), 0 before the first. */
  lastEvalMs: number;
  evalDurationMs: number;
}

const NS_PER_MS = 1_000_000n;

function toSamples(r: MetricResult): RuleSample[] {
  if (r.type === 'vector') return r.samples.map((s) => ({ labels: s.labels, value: s.value }));
  if (r.type === 'scalar') return [{ labels: [], value: r.value }];
  throw new RuleEvalError('rule result is not a vector or scalar');
}

/** Go's time.Time in JSON (RFC3339Nano, UTC) of a ms timestamp. */
function rfc3339(ms: number): string {
  return formatRfc3339Nano(BigInt(Math.floor(ms)) * 1_000_000n);
}

/** An alert as Alertmanager receives it. */
export function toNotifierAlert(a: ActiveAlert, ext: Readonly<Record<string, string>>, generatorURL: string): NotifierAlert {
  const labels: Record<string, string> = {};
  for (const l of withExternalLabels(a.labels, ext)) labels[l.name] = l.value;
  return {
    labels,
    annotations: { ...a.annotations },
    startsAt: rfc3339(a.firedAtMs),
    endsAt: rfc3339(a.resolvedAtMs !== 0 ? a.resolvedAtMs : a.validUntilMs),
    generatorURL,
  };
}

/** A running group. */
export class RuleGroupRunner {
  readonly tenant: string;
  readonly namespace: string;
  readonly spec: RuleGroupSpec;
  readonly intervalMs: number;
  readonly rules: RuleRuntime[];
  /** JSON of the spec, to tell whether a reload changed the group. */
  readonly specKey: string;
  /** Evaluation timestamp of the last cycle (ms), 0 before the first. */
  lastEvalMs = 0;
  /** Wall time of the last cycle (ms). */
  evalDurationMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #lastSlotMs = 0;
  #running: Promise<void> | null = null;
  #stopped = false;
  /** True until the first cycle: restore `for` state then (groups loaded at process start). */
  #restore: boolean;

  constructor(tenant: string, namespace: string, spec: RuleGroupSpec, rules: readonly CompiledRule[], intervalMs: number, restoreForState = false) {
    this.#restore = restoreForState;
    this.tenant = tenant;
    this.namespace = namespace;
    this.spec = spec;
    this.intervalMs = intervalMs;
    this.specKey = JSON.stringify(spec);
    this.rules = rules.map((c) => ({ compiled: c, alerting: c.type === 'alerting' ? new AlertingRuleState(c) : null, health: 'unknown', lastError: '', lastEvalMs: 0, evalDurationMs: 0 }));
  }

  get limit(): number {
    return this.spec.limit ?? 0;
  }

  /** Takes over the alert state of a previous version of the group (rules matched by name). */
  copyStateFrom(prev: RuleGroupRunner): void {
    const byName = new Map<string, RuleRuntime[]>();
    for (const r of prev.rules) {
      const k = `${r.compiled.type}\0${r.compiled.name}`;
      byName.set(k, [...(byName.get(k) ?? []), r]);
    }
    for (const r of this.rules) {
      const old = byName.get(`${r.compiled.type}\0${r.compiled.name}`)?.shift();
      if (!old) continue;
      if (r.alerting && old.alerting) r.alerting.copyFrom(old.alerting);
      r.health = old.health;
      r.lastError = old.lastError;
      r.lastEvalMs = old.lastEvalMs;
      r.evalDurationMs = old.evalDurationMs;
    }
    this.lastEvalMs = prev.lastEvalMs;
    this.evalDurationMs = prev.evalDurationMs;
    this.#lastSlotMs = prev.#lastSlotMs;
  }

  /** Evaluates every rule at `tsMs` (one cycle). Never throws: failures go into rule health. */
  async evaluate(tsMs: number, out: GroupOutputs): Promise<void> {
    const t0 = performance.now();
    const written: OutputSample[] = [];
    const notifications: NotifierAlert[] = [];
    for (const r of this.rules) {
      const r0 = performance.now();
      try {
        const result = await out.querier.instantQuery(this.tenant, r.compiled.expr, BigInt(tsMs) * NS_PER_MS);
        const samples = toSamples(result);
        if (r.alerting) {
          written.push(...r.alerting.eval(samples, tsMs, this.limit, out.externalLabels, out.externalUrl));
          if (this.#restore && r.compiled.forMs > 0 && r.compiled.forMs >= out.forGracePeriodMs && r.alerting.activeAlerts().length > 0) {
            try {
              const earlier = await out.querier.instantQuery(this.tenant, r.compiled.expr, BigInt(tsMs - r.compiled.forMs) * NS_PER_MS);
              r.alerting.restoreFor(toSamples(earlier), tsMs, out.externalLabels, out.externalUrl);
            } catch (e) {
              // As in Prometheus, a failed restore only means the alert waits its full `for`.
              out.onError(e);
            }
          }
          const due = r.alerting.alertsToSend(tsMs, out.resendDelayMs, this.intervalMs);
          if (due.length > 0) {
            const url = out.generatorUrl(r.compiled.exprText);
            for (const a of due) notifications.push(toNotifierAlert(a, out.externalLabels, url));
          }
        } else {
          written.push(...recordSamples(r.compiled, samples, tsMs, this.limit));
        }
        r.health = 'ok';
        r.lastError = '';
        out.observe(false);
      } catch (e) {
        r.health = 'err';
        r.lastError = (e as Error).message;
        out.observe(true);
      }
      r.lastEvalMs = tsMs;
      r.evalDurationMs = performance.now() - r0;
    }
    this.#restore = false;
    this.lastEvalMs = tsMs;
    this.evalDurationMs = performance.now() - t0;
    if (notifications.length > 0) out.notify(this.tenant, notifications);
    if (written.length > 0) {
      out.write(
        this.tenant,
        written.map((s) => ({ ...s, labels: withExternalLabels(s.labels, out.externalLabels) })),
      );
    }
  }

  /** Starts the evaluation loop at the next interval-aligned time. */
  start(out: GroupOutputs, nowMs: () => number = Date.now): void {
    const schedule = (): void => {
      if (this.#stopped) return;
      const now = nowMs();
      let slot = (Math.floor(now / this.intervalMs) + 1) * this.intervalMs;
      if (slot <= this.#lastSlotMs) slot = this.#lastSlotMs + this.intervalMs;
      // Like Prometheus, a cycle that overran its interval skips the slots it ran past.
      if (this.#lastSlotMs > 0 && slot > this.#lastSlotMs + this.intervalMs) out.missed((slot - this.#lastSlotMs) / this.intervalMs - 1);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (this.#stopped) return;
        this.#lastSlotMs = slot;
        this.#running = this.evaluate(slot, out)
          .catch((e: unknown) => out.onError(e))
          .finally(() => {
            this.#running = null;
            schedule();
          });
      }, slot - now);
      this.#timer.unref();
    };
    schedule();
  }

  /** Stops the loop and waits for a cycle in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
