/**
 * `/detected_labels`: the indexed labels worth offering as facets, with their cardinality
 * (Loki's SingleTenantQuerier.DetectedLabels). Labels whose every value looks like an id
 * (a number or a UUID) are left out, except the static ones Loki always keeps.
 */
import type { DrilldownSource } from './types.js';

/** Labels kept whatever their values (Loki's staticLabels). */
const STATIC_LABELS = new Set(['cluster', 'namespace', 'instance', 'pod']);

const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:inf|infinity|nan)$/i;
const HEX = '[0-9a-fA-F]';
const UUID = new RegExp(`^(?:urn:uuid:)?\\{?${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}\\}?$|^${HEX}{32}$`);

/** True when every value parses as a float or a UUID (Go uuid.Parse forms). */
function allIds(values: readonly string[]): boolean {
  return values.every((v) => FLOAT.test(v) || UUID.test(v));
}

/** Loki's shouldRejectLabel: no values, or only ids (0/1 pairs count as booleans, not ids). */
export function shouldRejectLabel(values: readonly string[]): boolean {
  if (values.length === 0) return true;
  if (values.length > 2) return allIds(values);
  if (values.every((v) => v === '0' || v === '1')) return false;
  return allIds(values);
}

export interface DetectedLabel {
  label: string;
  cardinality: number;
}

/** Detected labels sorted by name; cardinality is exact (Loki estimates with HyperLogLog). */
export async function detectedLabels(src: DrilldownSource, tenant: string, query: string, startNs: bigint, endNs: bigint): Promise<DetectedLabel[]> {
  const q = query.trim() === '' ? undefined : query;
  const names = (await src.labelNames(tenant, startNs, endNs, q)).filter((n) => !n.startsWith('__'));
  const out: DetectedLabel[] = [];
  for (const name of names) {
    const values = await src.labelValues(tenant, name, startNs, endNs, q);
    if ((STATIC_LABELS.has(name) && values.length > 0) || !shouldRejectLabel(values)) out.push({ label: name, cardinality: new Set(values).size });
  }
  return out.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}
