/**
 * Retention periods per stream, with Loki's precedence (pkg/compactor/retention/expiration.go):
 * among the `retention_stream` rules whose selector matches the stream, the highest priority
 * wins; on equal priority the shortest period wins; with no match, `retention_period` applies.
 * A period of 0 keeps data forever.
 */
import type { LimitsConfig } from '../config/config.js';
import { selectorMatchers } from '../logql/log/index.js';
import { parseSelector } from '../logql/syntax/index.js';
import type { Labels, Matcher } from '../model/index.js';

interface CompiledRule {
  matchers: readonly Matcher[];
  priority: number;
  periodMs: number;
}

/** One tenant's retention rules, compiled once per compaction run. */
export class TenantRetention {
  readonly globalMs: number;
  readonly #rules: CompiledRule[];

  constructor(limits: Pick<LimitsConfig, 'retention_period' | 'retention_stream'>) {
    this.globalMs = limits.retention_period;
    this.#rules = limits.retention_stream.map((r) => ({ matchers: selectorMatchers(parseSelector(r.selector, false)), priority: r.priority, periodMs: r.period }));
  }

  /** Retention of a stream in ms; 0 disables it. */
  periodFor(labels: Labels): number {
    let best: CompiledRule | null = null;
    outer: for (const r of this.#rules) {
      for (const m of r.matchers) {
        let v = '';
        for (const l of labels) if (l.name === m.name) v = l.value;
        if (!m.matches(v)) continue outer;
      }
      if (best !== null) {
        if (best.priority > r.priority) continue;
        if (best.priority === r.priority && best.periodMs <= r.periodMs) continue;
      }
      best = r;
    }
    return best !== null ? best.periodMs : this.globalMs;
  }

  /** True when no stream of the tenant can expire (nothing to check). */
  get disabled(): boolean {
    return this.globalMs <= 0 && this.#rules.every((r) => r.periodMs <= 0);
  }
}

/** Loki's Expired: the chunk's newest entry is older than the period (strictly). */
export function chunkExpired(throughNs: bigint, periodMs: number, nowMs: number): boolean {
  if (periodMs <= 0) return false;
  return BigInt(nowMs) * 1_000_000n - throughNs > BigInt(periodMs) * 1_000_000n;
}
