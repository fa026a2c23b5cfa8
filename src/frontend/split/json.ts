/**
 * Reading queriers' JSON answers (Loki's shapes) and writing the merged ones. Values are
 * Go-formatted floats, which round-trip exactly; timestamps are unix seconds with up to 3 decimals.
 */
import { SiltError } from '../../errors.js';
import { labelsToString, sortLabels, type Labels } from '../../model/index.js';
import type { PieceResult } from '../plan.js';
import type { PieceSeries } from './shard-map.js';

/** The fields of a querier's JSON answer the planners read (Loki's shapes). */
export interface AnswerBody {
  status?: string;
  /** Query answers: an object; label and series answers: an array. */
  data?: AnswerData;
  /** `/index/stats` answers are not wrapped in `data`. */
  bytes?: number;
}

export interface AnswerData {
  resultType?: string;
  result?: unknown;
  stats?: Stats;
  encodingFlags?: unknown;
}

/** Loki's stats object: nested objects of numbers (and a few booleans). */
export interface Stats {
  [k: string]: unknown;
  summary?: Record<string, number>;
}

/** A JSON answer body. */
export function parseBody(r: PieceResult): AnswerBody {
  try {
    return JSON.parse(r.body.toString('utf8')) as AnswerBody;
  } catch (e) {
    throw new SiltError('internal', `querier answered a piece with invalid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** Go's strconv.FormatFloat output back to a number (`+Inf`, `-Inf`, `NaN` included). */
export function parseGoFloat(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return Number(s);
}

/** Unix seconds (JSON number) to the engine's integer milliseconds. */
export function secondsToMs(ts: number): number {
  return Math.round(ts * 1000);
}

export function labelsOf(metric: Record<string, string>): Labels {
  return sortLabels(Object.entries(metric).map(([name, value]) => ({ name, value })));
}

/** The series of a matrix or vector `data` object. */
export function metricSeries(data: AnswerData | undefined): PieceSeries[] {
  const out: PieceSeries[] = [];
  if (data?.resultType === 'matrix') {
    for (const s of data.result as { metric: Record<string, string>; values: [number, string][] }[]) {
      out.push({ labels: labelsOf(s.metric), points: s.values.map(([t, v]) => ({ tsMs: secondsToMs(t), value: parseGoFloat(v) })) });
    }
  } else if (data?.resultType === 'vector') {
    for (const s of data.result as { metric: Record<string, string>; value: [number, string] }[]) {
      out.push({ labels: labelsOf(s.metric), points: [{ tsMs: secondsToMs(s.value[0]), value: parseGoFloat(s.value[1]) }] });
    }
  } else {
    throw new SiltError('internal', `unexpected piece result type ${String(data?.resultType)}`);
  }
  return out;
}

/**
 * Loki's stats objects of several answers as one: every number summed, field by field
 * (queue time, bytes and lines processed, chunk counts…); `summary` rates recomputed by the caller.
 */
export function sumStats(all: readonly unknown[]): Stats {
  const add = (a: unknown, b: unknown): unknown => {
    if (typeof b === 'number') return (typeof a === 'number' ? a : 0) + b;
    if (typeof b === 'boolean') return a === true || b;
    if (b !== null && typeof b === 'object' && !Array.isArray(b)) {
      const o = (a !== null && typeof a === 'object' ? a : {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(b)) o[k] = add(o[k], v);
      return o;
    }
    return a ?? b;
  };
  let acc: unknown = {};
  for (const s of all) acc = add(acc, s);
  return acc as Stats;
}

/** Sets the frontend's own figures in a summed stats object. */
export function finishStats(stats: Stats, f: { splits: number; shards: number; subqueries: number; execSeconds: number; queueSeconds: number }): Stats {
  const sum = (stats.summary ??= {});
  sum.splits = f.splits;
  sum.shards = f.shards;
  sum.subqueries = f.subqueries;
  sum.execTime = f.execSeconds;
  sum.queueTime = f.queueSeconds;
  sum.bytesProcessedPerSecond = f.execSeconds > 0 ? Math.round((sum.totalBytesProcessed ?? 0) / f.execSeconds) : 0;
  sum.linesProcessedPerSecond = f.execSeconds > 0 ? Math.round((sum.totalLinesProcessed ?? 0) / f.execSeconds) : 0;
  return stats;
}

/** Sort key of a label set as the querier orders series and streams. */
export function labelSortKey(l: Labels): string {
  return labelsToString(l);
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
