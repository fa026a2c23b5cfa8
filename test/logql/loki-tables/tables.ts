/**
 * Loki's own unit-test tables as data (the JSON files beside this one, written out from
 * grafana/loki's `*_test.go` tables; see README.md) and the checks that run them against Silt's
 * parser and pipeline. test/logql-conformance.test.ts runs every case.
 */
import { readFileSync } from 'node:fs';
import { InvalidError, ParseError } from '../../../src/errors.js';
import { compilePipeline } from '../../../src/logql/log/index.js';
import { logfmtExpressionKey, parseJsonExpression } from '../../../src/logql/log/extraction-path.js';
import type { LogSelectorExpr } from '../../../src/logql/syntax/ast.js';
import { parseExpr, printExpr } from '../../../src/logql/syntax/index.js';
import { compileTemplate } from '../../../src/logql/template/index.js';
import type { Label } from '../../../src/model/index.js';

type Obj = Record<string, string>;

/** A case every file has: where it comes from, or why Silt does not run it. */
interface BaseCase {
  source: string;
  /** Set when the case cannot apply to Silt; the reason. */
  notApplicable?: string;
}

export interface ParseCase extends BaseCase {
  query: string;
  error?: { message: string; line: number; col: number };
}

export interface StringCase extends BaseCase {
  query: string;
  string: string;
}

export interface ExpressionCase extends BaseCase {
  parser: 'json' | 'logfmt';
  expression: string;
  path?: Array<string | number>;
  error?: string;
  fails?: boolean;
}

export interface StageCase extends BaseCase {
  stages: string;
  line: string;
  tsNs?: string;
  labels: Obj;
  metadata?: Obj;
  want: Obj;
  wantLine?: string;
}

export interface LabelFilterCase extends StageCase {
  /** Whether the entry passes the filter. */
  keep: boolean;
}

export interface LineFilterCase extends BaseCase {
  stages: string;
  lines: Array<{ lineBase64: string; keep: boolean }>;
}

export interface Table<C> {
  source: string;
  format: string;
  cases: C[];
}

export function loadTable<C>(name: string): Table<C> {
  return JSON.parse(readFileSync(new URL(`./${name}.json`, import.meta.url), 'utf8')) as Table<C>;
}

function lbls(o: Obj | undefined): Label[] {
  if (o === undefined) return [];
  return Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name]! }));
}

function treeText(e: unknown): string {
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** ParseTestCases: the query parses (and prints to text that parses to the same tree), or fails with Loki's error. */
export function checkParse(c: ParseCase): void {
  let expr;
  try {
    expr = parseExpr(c.query);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    if (c.error === undefined) throw new Error(`Loki parses ${JSON.stringify(c.query)}; Silt: ${e.message}`);
    if (e.detail !== c.error.message) throw new Error(`message: want ${JSON.stringify(c.error.message)}, got ${JSON.stringify(e.detail)}`);
    // Loki's (0, 0) means "no position"; Silt adds one there. Loki gives duration errors line 0
    // and the right column; Silt says line 1. Any other position Loki gives must match.
    if (c.error.col !== 0) {
      const line = c.error.line === 0 ? 1 : c.error.line;
      if (e.line !== line || e.col !== c.error.col) throw new Error(`position: want ${line}:${c.error.col}, got ${e.line}:${e.col}`);
    }
    return;
  }
  if (c.error !== undefined) throw new Error(`Loki rejects ${JSON.stringify(c.query)} with ${JSON.stringify(c.error.message)}; Silt parses it`);
  const printed = printExpr(expr);
  const again = parseExpr(printed);
  if (treeText(again) !== treeText(expr)) throw new Error(`printed form ${printed} parses to another tree`);
}

/** Builds the stages' pipeline for one stream and runs one entry through it. */
function runStages(stages: string, streamLabels: Obj, line: Buffer, tsNs: bigint, metadata: Obj | undefined): { line: Buffer; labels: Obj } | null {
  const expr = parseExpr(`{__conformance__="1"} ${stages}`) as LogSelectorExpr;
  const p = compilePipeline(expr, { template: compileTemplate });
  const r = p.forStream(lbls(streamLabels)).process(tsNs, line, lbls(metadata));
  if (r === null) return null;
  const labels: Obj = {};
  for (const l of r.labels.labels()) labels[l.name] = l.value;
  return { line: Buffer.from(r.line), labels };
}

/** Sorted `name=value` lines of a label set, for readable diffs. */
export function labelLines(o: Obj): string[] {
  return Object.keys(o)
    .sort()
    .map((k) => `${k}=${JSON.stringify(o[k])}`);
}

/** Parser and formatter tables: the labels (and line) after the stages. */
export function runStageCase(c: StageCase): { labels: string[]; line: string | null } {
  const r = runStages(c.stages, c.labels, Buffer.from(c.line, 'utf8'), BigInt(c.tsNs ?? '0'), c.metadata);
  if (r === null) throw new Error('the entry was filtered out');
  return { labels: labelLines(r.labels), line: c.wantLine === undefined ? null : r.line.toString('utf8') };
}

/** Label filter tables: dropped, or kept with these labels. */
export function runLabelFilterCase(c: LabelFilterCase): string[] | 'dropped' {
  const r = runStages(c.stages, c.labels, Buffer.from(c.line, 'utf8'), 0n, c.metadata);
  return r === null ? 'dropped' : labelLines(r.labels);
}

/** Line filter tables: which lines the filter keeps. */
export function runLineFilterCase(c: LineFilterCase): boolean[] {
  return c.lines.map((l) => runStages(c.stages, {}, Buffer.from(l.lineBase64, 'base64'), 0n, undefined) !== null);
}

/** jsonexpr / logfmt expression tables: the path, or the error text. */
export function runExpressionCase(c: ExpressionCase): { path?: Array<string | number>; error?: string } {
  try {
    if (c.parser === 'json') return { path: parseJsonExpression(c.expression) };
    return { path: [logfmtExpressionKey(c.expression)] };
  } catch (e) {
    if (e instanceof InvalidError) return { error: e.message };
    throw e;
  }
}

/** Every string literal of a query's line filters, in order. */
function filterLiterals(e: LogSelectorExpr): string[] {
  const out: string[] = [];
  for (const st of e.stages) if (st.kind === 'lineFilter') for (const a of st.args) if (!a.ip) out.push(a.value);
  return out;
}

/** What a log query's pipeline does to each line: kept (with the resulting line and labels) or dropped. */
function outcomes(e: LogSelectorExpr, lines: readonly string[]): string[] {
  let p;
  try {
    p = compilePipeline(e, { template: compileTemplate }).forStream([]);
  } catch (err) {
    // Both forms must then fail alike (`!~ ip(...)` is rejected when the pipeline is built).
    if (err instanceof InvalidError) return lines.map(() => `error: ${err.message}`);
    throw err;
  }
  return lines.map((l) => {
    const r = p.process(0n, Buffer.from(l, 'utf8'), []);
    return r === null ? 'dropped' : `${Buffer.from(r.line).toString('utf8')} ${JSON.stringify(r.labels.labels())}`;
  });
}

/**
 * ast_test.go String tables: Loki prints `query` as `string`. Silt prints its own canonical form
 * (printer.ts), so the check is that both texts mean the same to Silt: the same tree, or for log
 * queries the same outcome on probe lines made of the filters' literals (Loki prints
 * `!= "a" or "b"` as `!= "a" != "b"`).
 */
export function checkString(c: StringCase): void {
  const a = parseExpr(c.query);
  const b = parseExpr(c.string);
  if (treeText(a) === treeText(b)) return;
  if (a.kind !== 'logSelector' || b.kind !== 'logSelector') throw new Error(`${c.query} and ${c.string} parse to different trees`);
  const lits = [...new Set([...filterLiterals(a), ...filterLiterals(b)])];
  const lines = ['', ...lits, lits.join(' ')];
  for (let i = 0; i < lits.length; i++) for (let j = i + 1; j < lits.length; j++) lines.push(`${lits[i]} ${lits[j]}`);
  const got = outcomes(a, lines);
  const want = outcomes(b, lines);
  for (let i = 0; i < lines.length; i++) {
    if (got[i] !== want[i]) throw new Error(`line ${JSON.stringify(lines[i])}: ${c.query} gives ${got[i]}, ${c.string} gives ${want[i]}`);
  }
}
