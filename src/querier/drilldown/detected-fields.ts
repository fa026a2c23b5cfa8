/**
 * `/detected_fields` and `/detected_field/{name}/values` (Loki's NewDetectedFieldsHandler):
 * the newest `lineLimit` lines of a log query are parsed with the json parser, or logfmt
 * when that fails; structured metadata and labels the query's own parsers produced count too.
 * Each field gets a type (from its values), its parsers, its JSON path and a cardinality
 * (exact here; Loki estimates it with HyperLogLog).
 */
import { InvalidError } from '../../errors.js';
import { compilePipeline, type Pipeline } from '../../logql/log/index.js';
import { DUPLICATE_SUFFIX, ERROR_DETAILS_LABEL, ERROR_LABEL, PRESERVE_ERROR_LABEL, sanitizeLabelKey } from '../../logql/log/sanitize.js';
import { parseExpr, type LogSelectorExpr } from '../../logql/syntax/index.js';
import type { Labels } from '../../model/index.js';
import { determineType, type DetectedFieldType } from './field-type.js';
import type { DrilldownSource } from './types.js';

export interface DetectedFieldsRequest {
  tenant: string;
  query: string;
  startNs: bigint;
  endNs: bigint;
  /** Lines to read (newest first); Loki's `line_limit`, default 100. */
  lineLimit: number;
  /** Most fields (or values) to return; Loki's `limit` / `field_limit`, default 1000. */
  limit: number;
}

export interface DetectedField {
  label: string;
  type: DetectedFieldType;
  cardinality: number;
  /** null for structured metadata (Loki writes `"parsers": null`). */
  parsers: string[] | null;
  jsonPath?: string[];
}

const SKIP = new Set([ERROR_LABEL, ERROR_DETAILS_LABEL, PRESERVE_ERROR_LABEL]);

/** Parser pipelines over a placeholder selector: only their stages run. */
let parsers: { json: Pipeline; logfmt: Pipeline } | null = null;
function lineParsers(): { json: Pipeline; logfmt: Pipeline } {
  if (!parsers) {
    const sel = (q: string): LogSelectorExpr => parseExpr(q) as LogSelectorExpr;
    parsers = { json: compilePipeline(sel('{__detected__="x"} | json')), logfmt: compilePipeline(sel('{__detected__="x"} | logfmt')) };
  }
  return parsers;
}

/** Sanitised JSON key path → its original components, for every scalar leaf of `line`. */
function jsonPaths(line: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return out;
  }
  const walk = (o: unknown, path: string[]): void => {
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      for (const [k, c] of Object.entries(o)) walk(c, [...path, k]);
    } else if (path.length > 0 && !Array.isArray(o)) {
      out.set(sanitizeLabelKey(path.join('_')), path);
    }
  };
  walk(v, []);
  return out;
}

/** Parsed fields of one line: json first, logfmt when json fails; null when neither parses. */
function parseLine(labels: Labels, tsNs: bigint, line: Buffer): { fields: Labels; parser: 'json' | 'logfmt'; paths: Map<string, string[]> | null } | null {
  const p = lineParsers();
  const j = p.json.forStream(labels).process(tsNs, line, []);
  if (j && j.labels.error() === '') return { fields: j.labels.categorized().parsed, parser: 'json', paths: jsonPaths(line.toString('utf8')) };
  const l = p.logfmt.forStream(labels).process(tsNs, line, []);
  if (l && l.labels.error() === '') return { fields: l.labels.categorized().parsed, parser: 'logfmt', paths: null };
  return null;
}

interface Acc {
  type: DetectedFieldType;
  values: Set<string>;
  parsers: string[] | null;
  jsonPath: string[] | undefined;
}

async function readLines(src: DrilldownSource, req: DetectedFieldsRequest): Promise<Awaited<ReturnType<DrilldownSource['logQuery']>>> {
  const expr = parseExpr(req.query);
  if (expr.kind !== 'logSelector') throw new InvalidError('only log queries (a stream selector and a pipeline) are supported');
  return src.logQuery({ tenant: req.tenant, query: req.query, startNs: req.startNs, endNs: req.endNs, limit: req.lineLimit, direction: 'backward' });
}

/** Lines of a log query answer, in result order (a querier's, or a query-frontend's merge of its pieces). */
export interface DetectedFieldLines {
  streams: readonly { labels: Labels; metadata: Labels; parsed: Labels; entries: readonly { tsNs: bigint; line: Buffer }[] }[];
}

/** Every detected field of the newest `lineLimit` lines, sorted by name. */
export async function detectedFields(src: DrilldownSource, req: DetectedFieldsRequest): Promise<DetectedField[]> {
  return fieldsOfLines(await readLines(src, req), req.limit);
}

/** Every detected field of these lines (at most `limit`), sorted by name. */
export function fieldsOfLines(res: DetectedFieldLines, limit: number): DetectedField[] {
  const fields = new Map<string, Acc>();
  const add = (name: string, value: string, parser: string | null, path: string[] | undefined): void => {
    if (SKIP.has(name)) return;
    let f = fields.get(name);
    if (!f) {
      if (fields.size >= limit) return;
      fields.set(name, (f = { type: 'string', values: new Set(), parsers: parser === null ? null : [], jsonPath: undefined }));
    }
    if (parser !== null) {
      f.parsers ??= [];
      if (!f.parsers.includes(parser)) f.parsers.push(parser);
    }
    if (path) f.jsonPath = path;
    // As Loki: the type follows the value seen last.
    f.type = determineType(value);
    f.values.add(value);
  };
  for (const s of res.streams) {
    for (const e of s.entries) {
      for (const m of s.metadata) add(m.name, m.value, null, undefined);
      const parsed = parseLine(s.labels, e.tsNs, e.line);
      for (const l of s.parsed) add(l.name, l.value, parsed?.parser ?? null, undefined);
      if (!parsed) continue;
      for (const l of parsed.fields) {
        const path = parsed.paths?.get(l.name) ?? parsed.paths?.get(l.name.endsWith(DUPLICATE_SUFFIX) ? l.name.slice(0, -DUPLICATE_SUFFIX.length) : '');
        add(l.name, l.value, parsed.parser, path);
      }
    }
  }
  const out: DetectedField[] = [];
  for (const [label, f] of fields) {
    const d: DetectedField = { label, type: f.type, cardinality: f.values.size, parsers: f.parsers };
    if (f.jsonPath) d.jsonPath = f.jsonPath;
    out.push(d);
  }
  return out.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Distinct values of one detected field (structured metadata or parsed), sorted, at most `limit`. */
export async function detectedFieldValues(src: DrilldownSource, req: DetectedFieldsRequest, name: string): Promise<string[]> {
  return fieldValuesOfLines(await readLines(src, req), req.limit, name);
}

/** Distinct values of one detected field in these lines, sorted, at most `limit`. */
export function fieldValuesOfLines(res: DetectedFieldLines, limit: number, name: string): string[] {
  const values = new Set<string>();
  outer: for (const s of res.streams) {
    for (const e of s.entries) {
      if (values.size >= limit) break outer;
      for (const m of s.metadata) if (m.name === name) values.add(m.value);
      for (const l of s.parsed) if (l.name === name) values.add(l.value);
      const parsed = parseLine(s.labels, e.tsNs, e.line);
      if (parsed) for (const l of parsed.fields) if (l.name === name) values.add(l.value);
    }
  }
  return [...values].sort();
}
