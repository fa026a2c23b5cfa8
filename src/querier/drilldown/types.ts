/**
 * What the Grafana Explore / Logs Drilldown endpoints need from the querier: a whole-range
 * scan, label names and values, and a limited log query. The Querier implements it.
 */
import type { BlockVisit } from '../../logql/engine/source.js';
import type { LogSelectorExpr } from '../../logql/syntax/index.js';
import type { LogQueryRequest, LogQueryResult } from '../querier.js';

export interface DrilldownSource {
  /**
   * Every entry of the selector's streams with `fromNs <= ts <= throughNs`, each once. `signal`
   * (here and below): the request's; the scan stops when its client goes away.
   */
  scanSelector(tenant: string, selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void, signal?: AbortSignal): Promise<unknown>;
  labelNames(tenant: string, startNs: bigint, endNs: bigint, query?: string, signal?: AbortSignal): Promise<readonly string[]>;
  labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, query?: string, signal?: AbortSignal): Promise<readonly string[]>;
  logQuery(req: LogQueryRequest): Promise<LogQueryResult>;
}

/** `q` with every call cancelled by `signal` (a request's; undefined: `q` itself). */
export function withSignal(q: DrilldownSource, signal: AbortSignal | undefined): DrilldownSource {
  if (signal === undefined) return q;
  return {
    scanSelector: (tenant, selector, fromNs, throughNs, visit) => q.scanSelector(tenant, selector, fromNs, throughNs, visit, signal),
    labelNames: (tenant, startNs, endNs, query) => q.labelNames(tenant, startNs, endNs, query, signal),
    labelValues: (tenant, name, startNs, endNs, query) => q.labelValues(tenant, name, startNs, endNs, query, signal),
    logQuery: (req) => q.logQuery({ ...req, signal: req.signal ?? signal }),
  };
}

/** Labels Loki keeps out of volume answers unless a matcher asks for them. */
export const HIDDEN_LABELS: readonly string[] = ['__aggregated_metric__', '__pattern__'];
