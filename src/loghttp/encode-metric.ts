/**
 * Loki's `data` object of a metric query (minus `stats`), byte for byte as
 * pkg/util/marshal/query.go writes it: label objects in label order, timestamps as unix
 * seconds, values as Go-formatted strings.
 */
import { formatGoFloat, formatPromTimestamp, type MetricResult } from '../logql/engine/index.js';
import type { Labels } from '../model/index.js';

function metricJson(labels: Labels): string {
  let s = '{';
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (i > 0) s += ',';
    s += JSON.stringify(l.name) + ':' + JSON.stringify(l.value);
  }
  return s + '}';
}

function pointJson(tsMs: number, value: number): string {
  return '[' + formatPromTimestamp(tsMs) + ',"' + formatGoFloat(value) + '"]';
}

/** `{"resultType":"matrix"|"vector"|"scalar","result":...}`. Series keep the given order (the engine sorts). */
export function encodeMetricData(r: MetricResult): string {
  switch (r.type) {
    case 'scalar':
      return '{"resultType":"scalar","result":' + pointJson(r.tsMs, r.value) + '}';
    case 'vector': {
      const parts: string[] = [];
      for (const s of r.samples) parts.push('{"metric":' + metricJson(s.labels) + ',"value":' + pointJson(s.tsMs, s.value) + '}');
      return '{"resultType":"vector","result":[' + parts.join(',') + ']}';
    }
    case 'matrix': {
      const parts: string[] = [];
      for (const s of r.series) {
        const vals: string[] = [];
        for (const p of s.points) vals.push(pointJson(p.tsMs, p.value));
        parts.push('{"metric":' + metricJson(s.labels) + ',"values":[' + vals.join(',') + ']}');
      }
      return '{"resultType":"matrix","result":[' + parts.join(',') + ']}';
    }
  }
}
