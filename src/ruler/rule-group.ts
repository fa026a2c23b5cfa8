/**
 * Prometheus rule groups (rulefmt) as Loki's ruler reads them: decoding from YAML values,
 * Loki's validation (pkg/ruler/compat.go ValidateGroups, with LogQL expressions) and the
 * canonical YAML shape written back by the API.
 */
import { InvalidError, RuleValidationError } from '../errors.js';
import { isValidLabelName } from '../model/index.js';
import { formatDuration, parseExpr, type SampleExpr } from '../logql/syntax/index.js';
import { parsePromDuration } from '../util/go/duration.js';
import type { CompiledTemplate } from '../logql/template/index.js';
import { compileAlertTemplate } from './template.js';

/** One rule as written in YAML; durations keep their Prometheus text form. */
export interface RuleSpec {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One rule group as written in YAML. */
export interface RuleGroupSpec {
  name: string;
  interval?: string;
  limit?: number;
  rules: RuleSpec[];
}

/** A validated rule, ready to evaluate. */
export interface CompiledRule {
  readonly type: 'alerting' | 'recording';
  /** Alert name or recorded metric name. */
  readonly name: string;
  readonly exprText: string;
  readonly expr: SampleExpr;
  /** `for` in ms (0 for recording rules). */
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Compiled templates of labels and annotations (alerting rules only). */
  readonly labelTemplates: ReadonlyMap<string, CompiledTemplate>;
  readonly annotationTemplates: ReadonlyMap<string, CompiledTemplate>;
}

/** Loki's answer when a rule group body cannot be decoded. */
export const ERR_BAD_RULE_GROUP = 'unable to decoded rule group';

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeError(detail: string): InvalidError {
  return new InvalidError(`${ERR_BAD_RULE_GROUP}: ${detail}`);
}

function str(v: unknown, where: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw decodeError(`${where}: expected a string`);
}

function duration(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const text = str(v, where);
  const d = parsePromDuration(text);
  if (!d.ok) throw decodeError(`${where}: ${d.error}`);
  return formatDuration(d.ns);
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw decodeError(`${where}: expected a mapping of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = str(x, `${where}.${k}`);
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Decodes one group from a parsed YAML value. Shape errors throw InvalidError starting with
 * Loki's "unable to decoded rule group"; semantic checks are `validateGroups`' job.
 */
export function decodeRuleGroup(v: unknown): RuleGroupSpec {
  if (!isObject(v)) throw decodeError('a rule group must be a mapping');
  const name = str(v['name'], 'name');
  const where = `group ${JSON.stringify(name)}`;
  const g: RuleGroupSpec = { name, rules: [] };
  const interval = duration(v['interval'], `${where}: interval`);
  if (interval !== undefined) g.interval = interval;
  if (v['limit'] !== undefined && v['limit'] !== null) {
    const limit = v['limit'];
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw decodeError(`${where}: limit must be a non-negative integer`);
    if (limit > 0) g.limit = limit;
  }
  const rules = v['rules'] ?? [];
  if (!Array.isArray(rules)) throw decodeError(`${where}: rules must be a list`);
  rules.forEach((r: unknown, i) => {
    const rw = `${where}, rule ${i + 1}`;
    if (!isObject(r)) throw decodeError(`${rw}: a rule must be a mapping`);
    const rule: RuleSpec = { expr: str(r['expr'], `${rw}: expr`) };
    const record = str(r['record'], `${rw}: record`);
    const alert = str(r['alert'], `${rw}: alert`);
    if (record !== '') rule.record = record;
    if (alert !== '') rule.alert = alert;
    const forD = duration(r['for'], `${rw}: for`);
    if (forD !== undefined && forD !== '0s') rule.for = forD;
    const kff = duration(r['keep_firing_for'], `${rw}: keep_firing_for`);
    if (kff !== undefined && kff !== '0s') rule.keep_firing_for = kff;
    const labels = stringMap(r['labels'], `${rw}: labels`);
    if (labels) rule.labels = labels;
    const annotations = stringMap(r['annotations'], `${rw}: annotations`);
    if (annotations) rule.annotations = annotations;
    g.rules.push(rule);
  });
  return g;
}

/** Decodes a `groups:` file (Loki's local rule files). */
export function decodeRuleFile(v: unknown): RuleGroupSpec[] {
  if (v === null || v === undefined) return [];
  if (!isObject(v)) throw decodeError('a rule file must be a mapping with a groups list');
  const groups = v['groups'] ?? [];
  if (!Array.isArray(groups)) throw decodeError('groups must be a list');
  return groups.map((g: unknown) => decodeRuleGroup(g));
}

function durMs(text: string | undefined): number {
  if (text === undefined) return 0;
  const d = parsePromDuration(text);
  return d.ok ? Number(d.ns / 1_000_000n) : 0;
}

/** Interval of a group in ms: its own, or the ruler's evaluation_interval. */
export function groupIntervalMs(g: RuleGroupSpec, defaultMs: number): number {
  const ms = durMs(g.interval);
  return ms > 0 ? ms : defaultMs;
}

/**
 * Validates and compiles one rule (Loki's validateRule plus template parsing). Throws
 * RuleValidationError naming the group and the rule; LogQL errors keep Loki's text and their
 * line/col.
 */
export function compileRule(r: RuleSpec, group: string, index: number): CompiledRule {
  const ruleName = r.alert ?? r.record ?? '';
  const fail = (msg: string): never => {
    throw new RuleValidationError(group, index, ruleName, msg);
  };
  const prefixed = (msg: string): never => fail(`group ${JSON.stringify(group)}, rule ${index + 1}${ruleName ? `, ${JSON.stringify(ruleName)}` : ''}: ${msg}`);
  if (r.record !== undefined && r.alert !== undefined) prefixed("only one of 'record' and 'alert' must be set");
  if (r.record === undefined && r.alert === undefined) prefixed("one of 'record' or 'alert' must be set");
  if (r.expr === '') prefixed("field 'expr' must be set in rule");
  const kind = r.record !== undefined ? 'record' : 'alert';
  let expr: SampleExpr | null = null;
  try {
    const e = parseExpr(r.expr);
    if (e.kind === 'logSelector') prefixed(`${kind} expression must be a metric query, got the log query ${JSON.stringify(r.expr)}`);
    else expr = e;
  } catch (e) {
    if (e instanceof RuleValidationError) throw e;
    fail(`could not parse expression for ${kind} '${ruleName}' in group '${group}': ${(e as Error).message}`);
  }
  if (r.record !== undefined) {
    if (r.annotations && Object.keys(r.annotations).length > 0) prefixed("invalid field 'annotations' in recording rule");
    if (r.for !== undefined) prefixed("invalid field 'for' in recording rule");
    if (r.keep_firing_for !== undefined) prefixed("invalid field 'keep_firing_for' in recording rule");
    if (!METRIC_NAME_RE.test(r.record)) prefixed(`invalid recording rule name: ${r.record}`);
  }
  for (const k of Object.keys(r.labels ?? {})) if (!isValidLabelName(k) || k === '__name__') prefixed(`invalid label name: ${k}`);
  for (const k of Object.keys(r.annotations ?? {})) if (!isValidLabelName(k)) prefixed(`invalid annotation name: ${k}`);
  const labelTemplates = new Map<string, CompiledTemplate>();
  const annotationTemplates = new Map<string, CompiledTemplate>();
  if (r.alert !== undefined) {
    for (const [k, v] of Object.entries(r.labels ?? {})) {
      try {
        labelTemplates.set(k, compileAlertTemplate(v, r.alert));
      } catch (e) {
        prefixed(`label ${JSON.stringify(k)}: ${(e as Error).message}`);
      }
    }
    for (const [k, v] of Object.entries(r.annotations ?? {})) {
      try {
        annotationTemplates.set(k, compileAlertTemplate(v, r.alert));
      } catch (e) {
        prefixed(`annotation ${JSON.stringify(k)}: ${(e as Error).message}`);
      }
    }
  }
  return {
    type: r.alert !== undefined ? 'alerting' : 'recording',
    name: ruleName,
    exprText: r.expr,
    expr: expr!,
    forMs: durMs(r.for),
    keepFiringForMs: durMs(r.keep_firing_for),
    labels: r.labels ?? {},
    annotations: r.annotations ?? {},
    labelTemplates,
    annotationTemplates,
  };
}

/**
 * Validates groups as Loki does: names present and unique, every rule valid. Returns the
 * compiled rules per group; throws RuleValidationError (or InvalidError for group-level
 * problems) on the first failure.
 */
export function validateGroups(groups: readonly RuleGroupSpec[]): CompiledRule[][] {
  const seen = new Set<string>();
  return groups.map((g, i) => {
    if (g.name === '') throw new InvalidError(`group ${i}: Groupname must not be empty`);
    if (seen.has(g.name)) throw new InvalidError(`groupname: "${g.name}" is repeated in the same file`);
    seen.add(g.name);
    return g.rules.map((r, j) => compileRule(r, g.name, j));
  });
}

/** The group in rulefmt's YAML field order, optional fields left out (for the API and files). */
export function groupToYamlValue(g: RuleGroupSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { name: g.name };
  if (g.interval !== undefined) out['interval'] = g.interval;
  if (g.limit !== undefined) out['limit'] = g.limit;
  out['rules'] = g.rules.map((r) => {
    const o: Record<string, unknown> = {};
    if (r.record !== undefined) o['record'] = r.record;
    if (r.alert !== undefined) o['alert'] = r.alert;
    o['expr'] = r.expr;
    if (r.for !== undefined) o['for'] = r.for;
    if (r.keep_firing_for !== undefined) o['keep_firing_for'] = r.keep_firing_for;
    if (r.labels !== undefined) o['labels'] = r.labels;
    if (r.annotations !== undefined) o['annotations'] = r.annotations;
    return o;
  });
  return out;
}
