/**
 * The reference log pipeline: one entry at a time, one stage at a time, as plainly as possible.
 * Semantics follow Loki's pkg/logql/log (parser.go, label_filter.go, fmt.go, drop/keep,
 * logfmt/decode.go, pattern/pattern.go); every quirk kept on purpose is commented.
 */
import type {
  LabelExtraction,
  LabelFilterExpr,
  LabelMatcher,
  LineFilterStage,
  LogSelectorExpr,
  StageExpr,
} from '../../../src/logql/syntax/index.js';
import { goParseBytes, goParseDuration, goParseFloat, re2ToJs } from './convert.js';
import { parseTemplate, ReferenceUnsupported, renderTemplate } from './template.js';

export { ReferenceUnsupported };

/** One log entry as pushed. */
export interface RefEntry {
  labels: Record<string, string>;
  tsNs: bigint;
  line: string;
}

/** The result of running the pipeline on one entry. */
export interface Processed {
  /** Final labels, including `__error__` / `__error_details__` when set. */
  labels: Map<string, string>;
  line: string;
}

/** Placeholder for `__error_details__`: Go library error texts are not modelled (compare presence only). */
export const DETAILS = '<details>';

export const ERR_JSON = 'JSONParserErr';
export const ERR_LOGFMT = 'LogfmtParserErr';
export const ERR_LABEL_FILTER = 'LabelFilterErr';
export const ERR_SAMPLE = 'SampleExtractionErr';

/** Mutable per-entry state: Loki's LabelsBuilder reduced to a map plus the error fields. */
export interface State {
  readonly base: ReadonlyMap<string, string>;
  labels: Map<string, string>;
  err: string;
  details: string;
  line: string;
}

// ---------------------------------------------------------------------------------------------
// Matchers

export function matcherMatches(m: LabelMatcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return re2ToJs(m.value, true).test(value);
    case '!~':
      return !re2ToJs(m.value, true).test(value);
  }
}

/** The stream selector: every matcher against the stream labels (absent = ""). */
export function selectorMatches(sel: LogSelectorExpr, labels: Record<string, string>): boolean {
  return sel.matchers.every((m) => matcherMatches(m, labels[m.name] ?? ''));
}

// ---------------------------------------------------------------------------------------------
// Line filters

/** Loki's pattern expression: literals and `<name>` / `<_>` captures. */
type PatternPart = { lit: string } | { cap: string };

function parsePattern(p: string): PatternPart[] {
  const out: PatternPart[] = [];
  const re = /<([A-Za-z_][A-Za-z0-9_]*)>/g;
  let last = 0;
  for (let m = re.exec(p); m !== null; m = re.exec(p)) {
    if (m.index > last) out.push({ lit: p.slice(last, m.index) });
    out.push({ cap: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < p.length) out.push({ lit: p.slice(last) });
  return out;
}

/** pattern.Matcher.Test (the `|>` line filter), byte for byte the Loki algorithm. */
export function patternTest(p: string, line: string): boolean {
  const e = parsePattern(p);
  if (line === '' || e.length === 0) return line === '' && e.length === 0;
  let off = 0;
  for (let i = 0; i < e.length; i++) {
    const part = e[i]!;
    if (!('lit' in part)) continue;
    const j = line.slice(off).indexOf(part.lit);
    if (j === -1) return false;
    // A literal right after the previous one means an empty capture: no match.
    if (i !== 0 && j === 0) return false;
    off += j + part.lit.length;
  }
  const endsOnCapture = 'cap' in e[e.length - 1]!;
  return endsOnCapture === (off !== line.length);
}

/** pattern.Matcher.Matches (the `| pattern` parser): [name, value] of the named captures found. */
export function patternMatches(p: string, line: string): Array<[string, string]> {
  let e = parsePattern(p);
  const out: Array<[string, string]> = [];
  if (line === '' || e.length === 0) return out;
  let input = line;
  const first = e[0]!;
  if ('lit' in first) {
    if (input.indexOf(first.lit) !== 0) return out;
    input = input.slice(first.lit.length);
    e = e.slice(1);
  }
  while (e.length > 0) {
    const cap = e[0] as { cap: string };
    if (e.length === 1) {
      if (cap.cap !== '_') out.push([cap.cap, input]);
      return out;
    }
    const lit = (e[1] as { lit: string }).lit;
    e = e.slice(2);
    const i = input.indexOf(lit);
    if (i === -1) {
      // A missing literal: the capture takes the rest of the line.
      if (cap.cap !== '_') out.push([cap.cap, input]);
      return out;
    }
    if (cap.cap !== '_') out.push([cap.cap, input.slice(0, i)]);
    input = input.slice(i + lit.length);
  }
  return out;
}

function lineFilterPasses(f: LineFilterStage, line: string): boolean {
  const one = (v: string): boolean => {
    switch (f.op) {
      case '|=':
      case '!=':
        return line.includes(v);
      case '|~':
      case '!~':
        return re2ToJs(v, false).test(line);
      case '|>':
      case '!>':
        return patternTest(v, line);
    }
  };
  if (f.args.some((a) => a.ip)) throw new ReferenceUnsupported('ip() line filter');
  const any = f.args.some((a) => one(a.value));
  return f.op === '|=' || f.op === '|~' || f.op === '|>' ? any : !any;
}

// ---------------------------------------------------------------------------------------------
// Parsers

/** Loki's sanitizeLabelKey(key, true). */
export function sanitizeKey(key: string): string {
  let k = key.trim();
  if (k === '') return k;
  if (k[0]! >= '0' && k[0]! <= '9') k = '_' + k;
  return k.replace(/[^a-zA-Z0-9_]/g, '_');
}

function setParsed(s: State, name: string, value: string): void {
  s.labels.set(name, value);
}

function setError(s: State, err: string): void {
  s.err = err;
  s.details = DETAILS;
}

/** Sets `__error__` (with placeholder details), as unwrap does on a failed conversion. */
export const setSampleError = setError;

type JsonValue =
  | { t: 'string'; v: string }
  | { t: 'number'; raw: string }
  | { t: 'bool'; v: boolean }
  | { t: 'null' }
  | { t: 'array'; items: JsonValue[]; raw: string }
  | { t: 'object'; members: Array<[string, JsonValue]>; raw: string };

class JsonReader {
  pos = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.pos < this.s.length && ' \t\n\r'.includes(this.s[this.pos]!)) this.pos++;
  }
  fail(): never {
    throw new SyntaxError(`bad json at ${this.pos}`);
  }
  string(): string {
    if (this.s[this.pos] !== '"') this.fail();
    const start = this.pos;
    this.pos++;
    while (this.pos < this.s.length && this.s[this.pos] !== '"') {
      if (this.s[this.pos] === '\\') this.pos++;
      this.pos++;
    }
    if (this.pos >= this.s.length) this.fail();
    this.pos++;
    return JSON.parse(this.s.slice(start, this.pos)) as string;
  }
  /**
   * Parses one value. `onMember` (objects only, depth-first, in order) lets the caller see
   * leaves before a later syntax error, as jsonparser.ObjectEach does.
   */
  value(): JsonValue {
    this.ws();
    const start = this.pos;
    const c = this.s[this.pos];
    if (c === '"') return { t: 'string', v: this.string() };
    if (c === '{') {
      this.pos++;
      const members: Array<[string, JsonValue]> = [];
      this.ws();
      if (this.s[this.pos] === '}') {
        this.pos++;
        return { t: 'object', members, raw: this.s.slice(start, this.pos) };
      }
      for (;;) {
        this.ws();
        const k = this.string();
        this.ws();
        if (this.s[this.pos] !== ':') this.fail();
        this.pos++;
        members.push([k, this.value()]);
        this.ws();
        if (this.s[this.pos] === ',') {
          this.pos++;
          continue;
        }
        if (this.s[this.pos] === '}') {
          this.pos++;
          return { t: 'object', members, raw: this.s.slice(start, this.pos) };
        }
        this.fail();
      }
    }
    if (c === '[') {
      this.pos++;
      const items: JsonValue[] = [];
      this.ws();
      if (this.s[this.pos] === ']') {
        this.pos++;
        return { t: 'array', items, raw: this.s.slice(start, this.pos) };
      }
      for (;;) {
        items.push(this.value());
        this.ws();
        if (this.s[this.pos] === ',') {
          this.pos++;
          continue;
        }
        if (this.s[this.pos] === ']') {
          this.pos++;
          return { t: 'array', items, raw: this.s.slice(start, this.pos) };
        }
        this.fail();
      }
    }
    const lit = /^(true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.pos));
    if (!lit) this.fail();
    this.pos += lit[0].length;
    if (lit[0] === 'true' || lit[0] === 'false') return { t: 'bool', v: lit[0] === 'true' };
    if (lit[0] === 'null') return { t: 'null' };
    return { t: 'number', raw: lit[0] };
  }
}

/** Parses a whole line as one JSON object (leading/trailing whitespace allowed), or null. */
export function parseJsonObject(line: string): (JsonValue & { t: 'object' }) | null {
  try {
    const r = new JsonReader(line);
    const v = r.value();
    if (v.t !== 'object') return null;
    return v;
  } catch {
    return null;
  }
}

/** `| json` without parameters: flatten nested objects with `_`, skip arrays and nulls. */
function jsonParser(s: State): void {
  const obj = parseJsonObject(s.line);
  if (obj === null) {
    // The generator's lines are either valid JSON objects or not JSON at all, so the labels a
    // partial parse would leave behind are not modelled.
    setError(s, ERR_JSON);
    return;
  }
  const walk = (members: Array<[string, JsonValue]>, prefix: string): void => {
    for (const [k, v] of members) {
      const key = prefix === '' ? sanitizeKey(k) : `${prefix}_${sanitizeKey(k)}`;
      if (v.t === 'object') {
        walk(v.members, key);
        continue;
      }
      let value: string;
      if (v.t === 'string') value = v.v;
      else if (v.t === 'number') value = v.raw;
      else if (v.t === 'bool') value = v.v ? 'true' : 'false';
      else continue; // arrays and null are not extracted
      setParsed(s, s.base.has(key) ? key + '_extracted' : key, value);
    }
  };
  walk(obj.members, '');
}

/** A jsonexpr path: `a.b`, `a[0]`, `["a b"]`, `a.b[1].c`. */
function parseJsonPath(expr: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /\s*(?:\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\])/y;
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new ReferenceUnsupported(`json expression ${expr}`);
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(`"${m[3]!}"`) as string);
    pos = re.lastIndex;
  }
  return out;
}

/** `| json a="x.y", b`: each label gets the value at its path ("" when missing). */
function jsonExprParser(s: State, params: readonly LabelExtraction[]): void {
  if (s.line === '') return;
  const first = s.line[0]!;
  if (first !== '"' && first !== '{' && first !== '[') {
    s.err = ERR_JSON; // Loki sets no details here
    return;
  }
  const obj = parseJsonObject(s.line);
  if (obj === null) {
    setError(s, ERR_JSON);
    return;
  }
  for (const p of params) {
    let cur: JsonValue | undefined = obj;
    for (const step of parseJsonPath(p.expression)) {
      if (cur === undefined) break;
      if (typeof step === 'number') cur = cur.t === 'array' ? cur.items[step] : undefined;
      else cur = cur.t === 'object' ? cur.members.filter(([k]) => k === step).at(-1)?.[1] : undefined;
    }
    const key = s.base.has(p.name) ? p.name + '_extracted' : p.name;
    if (cur === undefined) {
      if (!s.labels.has(p.name)) setParsed(s, p.name, '');
      continue;
    }
    let value: string;
    switch (cur.t) {
      case 'string':
        value = cur.v;
        break;
      case 'number':
        value = cur.raw;
        break;
      case 'bool':
        value = cur.v ? 'true' : 'false';
        break;
      case 'null':
        value = '';
        break;
      default:
        value = cur.raw;
    }
    setParsed(s, key, value);
  }
}

/** One step of Loki's logfmt decoder (go-logfmt adapted), over UTF-8 bytes. */
export interface LogfmtPair {
  key: string;
  value: string;
}

/**
 * Decodes a logfmt line the way Loki's decoder + LogfmtParser loop do. Returns the pairs in
 * order and the last syntax error (null when none). With `strict`, decoding stops at the first
 * failed pair.
 */
export function decodeLogfmt(line: string, strict: boolean): { pairs: LogfmtPair[]; error: string | null } {
  const b = Buffer.from(line, 'utf8');
  const pairs: LogfmtPair[] = [];
  let pos = 0;
  let error: string | null = null;
  const str = (from: number, to: number): string => b.subarray(from, to).toString('utf8');
  const unexpected = (c: number, at: number): void => {
    error = `logfmt syntax error at pos ${at + 1} : unexpected '${String.fromCharCode(c)}'`;
  };
  // Returns [ok, key|null, value|null]
  const scan = (): [boolean, string | null, string | null] => {
    while (pos < b.length && b[pos]! <= 0x20) pos++;
    if (pos >= b.length) return [false, null, null];
    const skipValue = (): [boolean, null, null] => {
      while (pos < b.length && b[pos]! > 0x20) pos++;
      return [false, null, null];
    };
    const start = pos;
    let key: string | null = null;
    for (;;) {
      if (pos >= b.length) return [true, pos > start ? str(start, pos) : null, null];
      const c = b[pos]!;
      if (c === 0x3d /* = */) {
        if (pos > start) key = str(start, pos);
        if (key === null) {
          unexpected(c, pos);
          return skipValue();
        }
        break;
      }
      if (c === 0x22 /* " */) {
        unexpected(c, pos);
        return skipValue();
      }
      if (c <= 0x20) return [true, pos > start ? str(start, pos) : null, null];
      pos++;
    }
    // after '='
    pos++;
    if (pos >= b.length) return [true, key, null];
    const c0 = b[pos]!;
    if (c0 <= 0x20) return [true, key, null];
    if (c0 === 0x22) {
      const qstart = pos;
      let esc = false;
      let hasEsc = false;
      for (let p = pos + 1; p < b.length; p++) {
        const c = b[p]!;
        if (esc) esc = false;
        else if (c === 0x5c) {
          hasEsc = true;
          esc = true;
        } else if (c === 0x22) {
          pos = p + 1;
          if (hasEsc) {
            try {
              return [true, key, JSON.parse(str(qstart, pos)) as string];
            } catch {
              error = `logfmt syntax error at pos ${pos + 1} : invalid quoted value`;
              return [false, null, null];
            }
          }
          return [true, key, str(qstart + 1, pos - 1)];
        }
      }
      pos = b.length;
      error = `logfmt syntax error at pos ${pos + 1} : unterminated quoted value`;
      return [false, null, null];
    }
    const vstart = pos;
    for (; pos < b.length; pos++) {
      const c = b[pos]!;
      if (c === 0x3d || c === 0x22) {
        unexpected(c, pos);
        return skipValue();
      }
      if (c <= 0x20) break;
    }
    return [true, key, pos > vstart ? str(vstart, pos) : null];
  };
  while (pos < b.length) {
    const [ok, key, value] = scan();
    if (!ok) {
      if (strict) break;
      continue;
    }
    if (key === null) continue;
    pairs.push({ key, value: value ?? '' });
  }
  return { pairs, error };
}

function logfmtParser(s: State, strict: boolean, keepEmpty: boolean, params: readonly LabelExtraction[]): void {
  const { pairs, error } = decodeLogfmt(s.line, strict);
  if (params.length === 0) {
    for (const { key: k, value } of pairs) {
      let key = sanitizeKey(k);
      if (key === '') continue;
      if (s.base.has(key)) key += '_extracted';
      if (!keepEmpty && value === '') continue;
      setParsed(s, key, value);
    }
  } else {
    // LogfmtExpressionParser: each identifier starts as "" (unless a stream label), then takes
    // the value of the key its expression names.
    for (const p of params) if (!s.base.has(p.name)) setParsed(s, p.name, '');
    for (const { key: k, value } of pairs) {
      const key = sanitizeKey(k);
      const p = params.find((x) => x.expression === key) ?? params.find((x) => x.name === key);
      if (p === undefined) continue;
      setParsed(s, s.base.has(p.name) ? p.name + '_extracted' : p.name, value);
    }
  }
  if (strict && error !== null) setError(s, ERR_LOGFMT);
}

function regexpParser(s: State, pattern: string): void {
  const m = re2ToJs(pattern, false).exec(s.line);
  if (!m) return;
  for (const [name, v] of Object.entries(m.groups ?? {})) {
    let key = sanitizeKey(name);
    if (key === '') continue;
    if (s.base.has(key)) key += '_extracted';
    setParsed(s, key, v ?? '');
  }
}

function patternParser(s: State, pattern: string): void {
  for (const [name, v] of patternMatches(pattern, s.line)) {
    setParsed(s, s.base.has(name) ? name + '_extracted' : name, v);
  }
}

function unpackParser(s: State): void {
  if (s.line === '') return;
  const obj = parseJsonObject(s.line);
  if (obj === null) {
    setError(s, ERR_JSON);
    return;
  }
  let entry: string | null = null;
  for (const [k, v] of obj.members) {
    if (v.t !== 'string') continue;
    if (k === '_entry') {
      entry = v.v;
      continue;
    }
    const key = sanitizeKey(k);
    setParsed(s, s.base.has(key) ? key + '_extracted' : key, v.v);
  }
  if (entry !== null) s.line = entry;
}

// ---------------------------------------------------------------------------------------------
// Label filters

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
  throw new Error(`bad op ${op}`);
}

/** LabelFilterer.Process: may set `__error__` (then the entry passes). */
export function labelFilterPasses(f: LabelFilterExpr, s: State): boolean {
  switch (f.kind) {
    case 'and': {
      // Loki evaluates both sides (the right one may set an error) and ANDs them.
      const l = labelFilterPasses(f.left, s);
      const r = labelFilterPasses(f.right, s);
      return l && r;
    }
    case 'or': {
      if (labelFilterPasses(f.left, s)) return true;
      return labelFilterPasses(f.right, s);
    }
    case 'stringFilter': {
      const m = f.matcher;
      const v = m.name === '__error__' ? s.err : m.name === '__error_details__' ? s.details : (s.labels.get(m.name) ?? '');
      return matcherMatches(m, v);
    }
    case 'ipFilter':
      throw new ReferenceUnsupported('ip() label filter');
    case 'numberFilter':
    case 'durationFilter':
    case 'bytesFilter': {
      // Once an entry has an error only string filters (on __error__) can remove it.
      if (s.err !== '') return true;
      const v = s.labels.get(f.name);
      if (v === undefined) return false;
      let got: number | null;
      let want: number;
      if (f.kind === 'numberFilter') {
        got = goParseFloat(v);
        want = f.value;
      } else if (f.kind === 'durationFilter') {
        got = goParseDuration(v);
        want = Number(f.valueNs);
      } else {
        got = goParseBytes(v);
        want = f.valueBytes;
      }
      if (got === null) {
        setError(s, ERR_LABEL_FILTER);
        return true;
      }
      return compare(f.op, got, want);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline

/** Map of the current labels for templates (stream + parsed; no error labels). */
function templateMap(s: State): Map<string, string> {
  return new Map(s.labels);
}

/** Runs one stage; false when the entry is filtered out. */
export function runStage(st: StageExpr, s: State): boolean {
  switch (st.kind) {
    case 'lineFilter':
      return lineFilterPasses(st, s.line);
    case 'json':
      if (st.params.length === 0) jsonParser(s);
      else jsonExprParser(s, st.params);
      return true;
    case 'logfmt':
      logfmtParser(s, st.strict, st.keepEmpty, st.params);
      return true;
    case 'regexp':
      regexpParser(s, st.pattern);
      return true;
    case 'pattern':
      patternParser(s, st.pattern);
      return true;
    case 'unpack':
      unpackParser(s);
      return true;
    case 'labelFilter':
      return labelFilterPasses(st.filter, s);
    case 'lineFormat':
      s.line = renderTemplate(parseTemplate(st.template), templateMap(s), s.line);
      return true;
    case 'labelFormat': {
      // Loki takes the template data map once per stage (at the first template) and reuses it.
      let snapshot: Map<string, string> | null = null;
      for (const f of st.formats) {
        if (f.rename) {
          const v = s.labels.get(f.value);
          if (v !== undefined) {
            s.labels.delete(f.value);
            s.labels.set(f.name, v);
          }
          continue;
        }
        snapshot ??= templateMap(s);
        s.labels.set(f.name, renderTemplate(parseTemplate(f.value), snapshot, s.line));
      }
      return true;
    }
    case 'decolorize':
      // eslint-disable-next-line no-control-regex
      s.line = s.line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      return true;
    case 'drop':
      for (const d of st.labels) {
        const name = d.name;
        const value = name === '__error__' ? s.err : name === '__error_details__' ? s.details : s.labels.get(name);
        if (d.matcher !== null && !matcherMatches(d.matcher, value ?? '')) continue;
        if (name === '__error__') s.err = '';
        else if (name === '__error_details__') s.details = '';
        else s.labels.delete(name);
      }
      return true;
    case 'keep':
      if (st.labels.length === 0) return true;
      for (const [name, value] of [...s.labels]) {
        const keep = st.labels.some((k) => (k.matcher !== null ? k.matcher.name === name && matcherMatches(k.matcher, value) : k.name === name));
        if (!keep) s.labels.delete(name);
      }
      return true;
  }
}

/** A fresh state for an entry. */
export function newState(e: RefEntry): State {
  const base = new Map(Object.entries(e.labels));
  return { base, labels: new Map(base), err: '', details: '', line: e.line };
}

/** The final labels of a state: the label map plus the error labels. */
export function finalLabels(s: State): Map<string, string> {
  const out = new Map(s.labels);
  if (s.err !== '') out.set('__error__', s.err);
  if (s.details !== '') out.set('__error_details__', s.details);
  return out;
}

/** Runs selector + every stage on an entry; null when it is not selected or filtered out. */
export function runPipeline(sel: LogSelectorExpr, e: RefEntry, stages: readonly StageExpr[] = sel.stages): State | null {
  if (!selectorMatches(sel, e.labels)) return null;
  const s = newState(e);
  for (const st of stages) if (!runStage(st, s)) return null;
  return s;
}
