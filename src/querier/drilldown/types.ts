/**
 * What the Grafana Explore / Logs Drilldown endpoints need from the querier: a whole-range
 * scan, label names and values, and a limited log query. The Querier implements it.
 */
import type { BlockVisit } from '../../logql/engine/source.js';
import type { LogSelectorExpr } from '../../logql/syntax/index.js';
import type { LogQueryRequest, LogQueryResult } from '../querier.js';

export interface DrilldownSource {
  /** Every entry of the selector's streams with `fromNs <= ts <= throughNs`, each once. */
  scanSelector(tenant: string, selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void): Promise<unknown>;
  labelNames(tenant: string, startNs: bigint, endNs: bigint, query?: string): Promise<string[]>;
  labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, query?: string): Promise<string[]>;
  logQuery(req: LogQueryRequest): Promise<LogQueryResult>;
}

/** Labels Loki keeps out of volume answers unless a matcher asks for them. */
export const HIDDEN_LABELS: readonly string[] = ['__aggregated_metric__', '__pattern__'];
