/**
 * Alerting and recording rule evaluation on one query result, with Prometheus' semantics
 * (rules/alerting.go, rules/recording.go): per label set inactive → pending → firing (after
 * `for`) → inactive (resolved, kept 15 minutes for resolved notifications), `keep_firing_for`,
 * `limit`, templated labels and annotations, and the ALERTS / ALERTS_FOR_STATE series.
 */
import { labelsToString, sortLabels, type Label, type Labels } from '../model/index.js';
import { RESOLVED_RETENTION_MS } from './consts.js';
import type { CompiledRule } from './rule-group.js';
import { expandAlertTemplate } from './template.js';

/** One sample of a rule's instant query (a scalar result is one sample with no labels). */
export interface RuleSample {
  labels: Labels;
  value: number;
}

/** One sample produced by a rule, for remote write. */
export interface OutputSample {
  /** Sorted, including `__name__`. */
  labels: Labels;
  tsMs: number;
  value: number;
}

export type AlertState = 'inactive' | 'pending' | 'firing';

/** One alert instance of an alerting rule, identified by its label set. */
export interface ActiveAlert {
  /** Sorted, including alertname and the rule's (expanded) labels. */
  labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  /** When the alert became pending (ms). */
  activeAtMs: number;
  /** When it became firing (ms), 0 if never. */
  firedAtMs: number;
  /** When it became inactive (ms), 0 if not resolved. */
  resolvedAtMs: number;
  /** Last notification time (ms), 0 if never sent. */
  lastSentAtMs: number;
  /** endsAt sent while firing (ms). */
  validUntilMs: number;
  /** Since when it has been kept firing without a matching sample (ms), 0 if not. */
  keepFiringSinceMs: number;
}

/** Thrown for result shape problems; the rule's health becomes "err" with this text. */
export class RuleEvalError extends Error {}

function withoutName(labels: Labels): Label[] {
  return labels.filter((l) => l.name !== '__name__');
}

/** Sets (or, for an empty value, deletes) labels, keeping the set sorted. */
function setLabels(base: readonly Label[], add: Record<string, string>): Label[] {
  const m = new Map<string, string>();
  for (const l of base) m.set(l.name, l.value);
  for (const [k, v] of Object.entries(add)) {
    if (v === '') m.delete(k);
    else m.set(k, v);
  }
  return sortLabels([...m].map(([name, value]) => ({ name, value })));
}

/** Adds external labels that the set does not have yet (Prometheus' external_labels rule). */
export function withExternalLabels(labels: Labels, external: Readonly<Record<string, string>>): Labels {
  const names = Object.keys(external);
  if (names.length === 0) return labels;
  const out: Label[] = [...labels];
  for (const n of names) if (!labels.some((l) => l.name === n) && external[n] !== '') out.push({ name: n, value: external[n]! });
  return out.length === labels.length ? labels : sortLabels(out);
}

/** Evaluates a recording rule's result into the series to write. */
export function recordSamples(rule: CompiledRule, samples: readonly RuleSample[], tsMs: number, limit: number): OutputSample[] {
  const out: OutputSample[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    const labels = setLabels(s.labels, { ...rule.labels, __name__: rule.name });
    const key = labelsToString(labels);
    if (seen.has(key)) throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
    seen.add(key);
    out.push({ labels, tsMs, value: s.value });
  }
  if (limit > 0 && out.length > limit) throw new RuleEvalError(`exceeded limit of ${limit} with ${out.length} series`);
  return out;
}

/** Per-rule alert state across evaluations. */
export class AlertingRuleState {
  readonly rule: CompiledRule;
  /** Alerts by their label string. */
  readonly active = new Map<string, ActiveAlert>();

  constructor(rule: CompiledRule) {
    this.rule = rule;
  }

  /** The rule's state: the highest state of its alerts. */
  state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }

  /** Alerts that are pending or firing. */
  activeAlerts(): ActiveAlert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive');
  }

  /**
   * Applies one evaluation at `tsMs`. Returns the ALERTS and ALERTS_FOR_STATE samples. A
   * RuleEvalError leaves no alert behind when the limit is exceeded, as Prometheus does.
   */
  eval(samples: readonly RuleSample[], tsMs: number, limit: number, externalLabels: Readonly<Record<string, string>>, externalUrl: string): OutputSample[] {
    const rule = this.rule;
    const seen = new Map<string, { labels: Labels; annotations: Record<string, string>; value: number }>();
    for (const s of samples) {
      const { labels, annotations } = this.#alertLabels(s, externalLabels, externalUrl);
      const key = labelsToString(labels);
      if (seen.has(key)) throw new RuleEvalError('vector contains metrics with the same labelset after applying alert labels');
      seen.set(key, { labels, annotations, value: s.value });
    }
    for (const [key, r] of seen) {
      const a = this.active.get(key);
      if (a && a.state !== 'inactive') {
        a.value = r.value;
        a.annotations = r.annotations;
        continue;
      }
      this.active.set(key, {
        labels: r.labels,
        annotations: r.annotations,
        state: 'pending',
        value: r.value,
        activeAtMs: tsMs,
        firedAtMs: 0,
        resolvedAtMs: 0,
        lastSentAtMs: 0,
        validUntilMs: 0,
        keepFiringSinceMs: 0,
      });
    }
    const out: OutputSample[] = [];
    let numActive = 0;
    for (const [key, a] of this.active) {
      if (!seen.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && rule.keepFiringForMs > 0) {
          if (a.keepFiringSinceMs === 0) a.keepFiringSinceMs = tsMs;
          if (tsMs - a.keepFiringSinceMs < rule.keepFiringForMs) keepFiring = true;
        }
        // A resolved alert stays a while so Alertmanager hears about the resolution.
        if (a.state === 'pending' || (a.resolvedAtMs !== 0 && tsMs - a.resolvedAtMs > RESOLVED_RETENTION_MS)) this.active.delete(key);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAtMs = tsMs;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSinceMs = 0;
      }
      numActive++;
      if (a.state === 'pending' && tsMs - a.activeAtMs >= rule.forMs) {
        a.state = 'firing';
        a.firedAtMs = tsMs;
      }
      out.push({ labels: setLabels(a.labels, { __name__: 'ALERTS', alertstate: a.state }), tsMs, value: 1 });
      // Unix seconds, as Prometheus' float64(ActiveAt.Unix()).
      out.push({ labels: setLabels(a.labels, { __name__: 'ALERTS_FOR_STATE' }), tsMs, value: Math.floor(a.activeAtMs / 1000) });
    }
    if (limit > 0 && numActive > limit) {
      this.active.clear();
      throw new RuleEvalError(`exceeded limit of ${limit} with ${numActive} alerts`);
    }
    return out;
  }

  /**
   * Alerts due for a notification at `tsMs` (firing and not sent within `resendDelayMs`, or
   * resolved since the last send); marks them sent. `intervalMs` is the group's interval.
   */
  alertsToSend(tsMs: number, resendDelayMs: number, intervalMs: number): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    const delta = Math.max(resendDelayMs, intervalMs);
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue;
      const due = a.resolvedAtMs > a.lastSentAtMs || a.lastSentAtMs === 0 || a.lastSentAtMs + resendDelayMs < tsMs;
      if (!due) continue;
      a.lastSentAtMs = tsMs;
      // Valid for four intervals: two missed evaluations or sends do not resolve it.
      a.validUntilMs = tsMs + 4 * delta;
      out.push({ ...a });
    }
    return out;
  }

  /**
   * Restores the `for` state after a restart, as Loki's ruler does (its memstore answers
   * Prometheus' RestoreForState by evaluating the expression `for` ago): pending alerts whose
   * label set was also produced at `tsMs - for` count as active since then, so they fire at
   * the next evaluation instead of waiting `for` again. `earlier` is that result.
   */
  restoreFor(earlier: readonly RuleSample[], tsMs: number, externalLabels: Readonly<Record<string, string>>, externalUrl: string): number {
    const checkMs = tsMs - this.rule.forMs;
    let restored = 0;
    const keys = new Set(earlier.map((s) => labelsToString(this.#alertLabels(s, externalLabels, externalUrl).labels)));
    for (const [key, a] of this.active) {
      if (a.state !== 'pending' || !keys.has(key)) continue;
      a.activeAtMs = checkMs;
      restored++;
    }
    return restored;
  }

  /** An alert's label set and annotations for one sample (templates expanded). */
  #alertLabels(s: RuleSample, externalLabels: Readonly<Record<string, string>>, externalUrl: string): { labels: Labels; annotations: Record<string, string> } {
    const rule = this.rule;
    const data = { labels: Object.fromEntries(withoutName(s.labels).map((l) => [l.name, l.value])), externalLabels: { ...externalLabels }, externalUrl, value: s.value };
    const expandedLabels: Record<string, string> = {};
    for (const [k, raw] of Object.entries(rule.labels)) expandedLabels[k] = expandAlertTemplate(rule.labelTemplates.get(k)!, raw, data);
    const annotations: Record<string, string> = {};
    for (const [k, raw] of Object.entries(rule.annotations)) annotations[k] = expandAlertTemplate(rule.annotationTemplates.get(k)!, raw, data);
    return { labels: setLabels(withoutName(s.labels), { ...expandedLabels, alertname: rule.name }), annotations };
  }

  /** Takes over alerts of the previous version of this rule (Prometheus' copyState). */
  copyFrom(prev: AlertingRuleState): void {
    for (const [k, a] of prev.active) this.active.set(k, a);
  }
}
