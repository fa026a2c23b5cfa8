/**
 * Queries across tenants (Loki's MultiTenantQuerier, pkg/querier/multi_tenant_querier.go),
 * used when `querier.multi_tenant_queries_enabled` is on. A request whose tenant names one
 * tenant is answered by the plain Querier unchanged. With `a|b`:
 *
 * - each tenant is queried on its own, with its own limits, and the answers are merged;
 * - every stream and series gains `__tenant_id__="<tenant>"` (a stream's own `__tenant_id__`
 *   is kept as `original___tenant_id__`);
 * - matchers on `__tenant_id__` in a selector choose which tenants are queried and are
 *   removed before the tenants' data is matched; `original___tenant_id__` matchers are
 *   renamed back to `__tenant_id__`;
 * - metric queries aggregate over the merged samples, so `sum by (__tenant_id__)` works;
 * - label values of `__tenant_id__` are the request's tenants, and label names include it.
 *
 * One deliberate difference: Loki applies the `__tenant_id__` narrowing only to log and
 * metric queries; Silt also applies it to the selectors of labels, series and index stats,
 * where Loki's answer would be empty.
 */
import { LEAF_SERIES_FACTOR } from './shard.js';
import { InvalidError } from '../errors.js';
import type { BlockVisit, EntrySource } from '../logql/engine/index.js';
import { compileMatcher } from '../logql/log/index.js';
import { parseSelector, printExpr, type LabelMatcher, type LogSelectorExpr } from '../logql/syntax/index.js';
import { ERR_NEED_MATCHER, matchesEmpty } from '../logql/syntax/validate.js';
import { labelsToString, ORIGINAL_TENANT_LABEL, sortLabels, splitTenantIds, TENANT_LABEL, type Label, type Labels } from '../model/index.js';
import { Querier, type LogQueryRequest, type LogQueryResult, type MetricQueryRequest, type MetricQueryResult, type ResultStream } from './querier.js';
import type { QuerierEntrySource } from './entry-source.js';
import { ScanStats } from './scan.js';

/** Which of `tenants` a selector's `__tenant_id__` matchers keep, and the selector without them. */
export function narrowTenants(tenants: readonly string[], matchers: readonly LabelMatcher[]): { tenants: string[]; matchers: LabelMatcher[] } {
  let kept = [...tenants];
  const rest: LabelMatcher[] = [];
  for (const m of matchers) {
    if (m.name === TENANT_LABEL) {
      const cm = compileMatcher(m.name, m.type, m.value);
      kept = kept.filter((t) => cm.matches(t));
    } else if (m.name === ORIGINAL_TENANT_LABEL) rest.push({ ...m, name: TENANT_LABEL });
    else rest.push(m);
  }
  return { tenants: kept, matchers: rest };
}

/** Loki's relabel: adds the tenant label, moving a stream's own one aside. */
export function withTenantLabel(labels: Labels, tenant: string): Labels {
  const out: Label[] = [];
  for (const l of labels) {
    if (l.name === TENANT_LABEL) out.push({ name: ORIGINAL_TENANT_LABEL, value: l.value });
    else if (l.name !== ORIGINAL_TENANT_LABEL) out.push(l);
  }
  out.push({ name: TENANT_LABEL, value: tenant });
  return sortLabels(out);
}

/** The selector left after removing tenant matchers must still select something. */
function requireMatcher(matchers: readonly LabelMatcher[]): void {
  if (!matchers.some((m) => !matchesEmpty(m))) throw new InvalidError(`log selector is invalid after matcher update: ${ERR_NEED_MATCHER}`);
}

/** Adds every counter of `from` to `into`. */
export function addStats(into: ScanStats, from: ScanStats): ScanStats {
  const a = into as unknown as Record<string, number>;
  const b = from as unknown as Record<string, number>;
  for (const k of Object.keys(b)) a[k] = (a[k] ?? 0) + b[k]!;
  return into;
}

/** Several tenants' entry sources as one, each stream labelled with its tenant. */
class MultiTenantEntrySource implements EntrySource {
  constructor(private readonly sources: ReadonlyMap<string, EntrySource>) {}

  async scan(selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void): Promise<void> {
    const n = narrowTenants([...this.sources.keys()], selector.matchers);
    requireMatcher(n.matchers);
    const stripped: LogSelectorExpr = { ...selector, matchers: n.matchers };
    for (const tenant of n.tenants) {
      const relabelled = new Map<string, Labels>();
      await this.sources.get(tenant)!.scan(stripped, fromNs, throughNs, (v) => {
        let labels = relabelled.get(v.fingerprint);
        if (!labels) relabelled.set(v.fingerprint, (labels = withTenantLabel(v.labels, tenant)));
        // Fingerprints are per tenant: the same label set in two tenants is two series.
        visit({ labels, fingerprint: `${tenant}|${v.fingerprint}`, block: v.block, lo: v.lo, hi: v.hi, sel: v.sel });
      });
    }
  }
}

export class MultiTenantQuerier extends Querier {
  override async logQuery(req: LogQueryRequest): Promise<LogQueryResult> {
    const ids = splitTenantIds(req.tenant);
    if (ids.length === 1) return super.logQuery(req);
    const t0 = performance.now();
    const expr = this.parse(req.query);
    if (expr.kind !== 'logSelector') return super.logQuery(req);
    const n = narrowTenants(ids, expr.matchers);
    requireMatcher(n.matchers);
    const query = printExpr({ ...expr, matchers: n.matchers });
    const stats = new ScanStats();
    const parts: ResultStream[] = [];
    for (const tenant of n.tenants) {
      const r = await super.logQuery({ ...req, tenant, query });
      addStats(stats, r.stats);
      for (const s of r.streams) parts.push({ ...s, labels: withTenantLabel(s.labels, tenant) });
    }
    return { streams: mergeStreams(parts, req.limit, req.direction), stats, execMs: performance.now() - t0 };
  }

  override async metricQuery(req: MetricQueryRequest): Promise<MetricQueryResult> {
    const ids = splitTenantIds(req.tenant);
    if (ids.length === 1) return super.metricQuery(req);
    const t0 = performance.now();
    const sources = new Map<string, QuerierEntrySource>();
    // The smallest positive limit of the tenants applies to the merged answer.
    let maxSeries = 0;
    return this.withDeadline(async (d) => {
      for (const tenant of ids) {
        this.checkRange(tenant, req.startNs, req.endNs);
        const m = this.deps.limits(tenant).max_query_series;
        if (m > 0 && (maxSeries === 0 || m < maxSeries)) maxSeries = m;
        sources.set(tenant, await this.entrySource(tenant, req.endNs, d, req.shard ?? null));
      }
      const data = await this.evaluate(req, new MultiTenantEntrySource(sources), req.shard ? maxSeries * LEAF_SERIES_FACTOR : maxSeries);
      const stats = new ScanStats();
      for (const s of sources.values()) addStats(stats, s.stats);
      return { data, stats, execMs: performance.now() - t0 };
    }, req.signal);
  }

  /** The tenants a label/series selector keeps, and the selector to send them (undefined: none). */
  #narrowQuery(ids: readonly string[], query: string | undefined): { tenants: string[]; query: string | undefined } {
    if (query === undefined || query === '') return { tenants: [...ids], query };
    const sel = parseSelector(query);
    const n = narrowTenants(ids, sel.matchers);
    return { tenants: n.tenants, query: n.matchers.length === 0 ? undefined : printExpr({ ...sel, matchers: n.matchers }) };
  }

  override async labelNames(tenant: string, startNs: bigint, endNs: bigint, query?: string, signal?: AbortSignal): Promise<readonly string[]> {
    const ids = splitTenantIds(tenant);
    if (ids.length === 1) return super.labelNames(tenant, startNs, endNs, query, signal);
    const n = this.#narrowQuery(ids, query);
    const names = new Set<string>([TENANT_LABEL]);
    for (const t of n.tenants) for (const name of await super.labelNames(t, startNs, endNs, n.query, signal)) names.add(name);
    return [...names].sort();
  }

  override async labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, query?: string, signal?: AbortSignal): Promise<readonly string[]> {
    const ids = splitTenantIds(tenant);
    // As Loki: the request's tenants, whatever the time range (also for a single tenant).
    if (name === TENANT_LABEL) return this.#narrowQuery(ids, query).tenants;
    if (ids.length === 1) return super.labelValues(tenant, name, startNs, endNs, query, signal);
    const n = this.#narrowQuery(ids, query);
    const values = new Set<string>();
    for (const t of n.tenants) for (const v of await super.labelValues(t, name, startNs, endNs, n.query, signal)) values.add(v);
    return [...values].sort();
  }

  override async series(tenant: string, selectors: readonly string[], startNs: bigint, endNs: bigint, signal?: AbortSignal): Promise<readonly Labels[]> {
    const ids = splitTenantIds(tenant);
    if (ids.length === 1) return super.series(tenant, selectors, startNs, endNs, signal);
    const out = new Map<string, Labels>();
    const sets = selectors.length > 0 ? selectors : [undefined];
    for (const sel of sets) {
      const n = this.#narrowQuery(ids, sel);
      for (const t of n.tenants) {
        for (const l of await super.series(t, n.query === undefined ? [] : [n.query], startNs, endNs, signal)) {
          const labels = l.some((x) => x.name === TENANT_LABEL) ? l : sortLabels([...l, { name: TENANT_LABEL, value: t }]);
          out.set(labelsToString(labels), labels);
        }
      }
    }
    return [...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
  }

  override async indexStats(tenant: string, query: string, startNs: bigint, endNs: bigint, signal?: AbortSignal): Promise<{ streams: number; chunks: number; bytes: number; entries: number }> {
    const ids = splitTenantIds(tenant);
    if (ids.length === 1) return super.indexStats(tenant, query, startNs, endNs, signal);
    const n = this.#narrowQuery(ids, query);
    const sum = { streams: 0, chunks: 0, bytes: 0, entries: 0 };
    for (const t of n.tenants) {
      const s = await super.indexStats(t, n.query ?? '', startNs, endNs, signal);
      sum.streams += s.streams;
      sum.chunks += s.chunks;
      sum.bytes += s.bytes;
      sum.entries += s.entries;
    }
    return sum;
  }
}

/**
 * Keeps the `limit` entries that come first in `direction` across every tenant's streams
 * (each already in result order), as Loki's sort iterator over the tenants does.
 */
function mergeStreams(parts: readonly ResultStream[], limit: number, direction: 'forward' | 'backward'): ResultStream[] {
  const keys = parts.map((p) => labelsToString(p.labels));
  const all: { p: number; i: number; ts: bigint }[] = [];
  parts.forEach((p, pi) => p.entries.forEach((e, i) => all.push({ p: pi, i, ts: e.tsNs })));
  const fwd = direction === 'forward';
  all.sort((a, b) => (a.ts === b.ts ? (keys[a.p]! < keys[b.p]! ? -1 : keys[a.p]! > keys[b.p]! ? 1 : a.i - b.i) : (a.ts < b.ts) === fwd ? -1 : 1));
  const kept = new Map<number, ResultStream>();
  for (const x of all.slice(0, limit)) {
    let s = kept.get(x.p);
    if (!s) kept.set(x.p, (s = { ...parts[x.p]!, entries: [] }));
    s.entries.push(parts[x.p]!.entries[x.i]!);
  }
  return [...kept.entries()].sort((a, b) => (keys[a[0]]! < keys[b[0]]! ? -1 : keys[a[0]]! > keys[b[0]]! ? 1 : 0)).map((e) => e[1]);
}
