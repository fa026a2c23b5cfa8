/**
 * `| json` and `| json a="path", ...` (Loki pkg/logql/log/parser.go JSONParser and
 * JSONExpressionParser).
 *
 * `| json` flattens every string/number/boolean field of the top-level object into labels,
 * nested object keys joined with `_` (`{"a":{"b":1}}` → `a_b="1"`); arrays and nulls are skipped;
 * names are sanitised (sanitize.ts), whitespace-only parts of nested keys dropped, and a name
 * already used by a stream label or metadata gets `_extracted`. A label a previous stage set is
 * never overwritten (first value wins, Loki's `Extracted` hint). Malformed input sets
 * `__error__="JSONParserErr"` with jsonparser's message in `__error_details__`; labels found
 * before the error stay.
 *
 * When the query needs only some labels (LabelNeeds), the scanner compares raw key bytes with
 * the wanted names, skips other values without decoding them, descends only into objects whose
 * name prefixes a wanted label, and stops as soon as every required label is a parsed label
 * (Loki's AllRequiredExtracted; see `required`).
 */
import {
  MALFORMED_ARRAY,
  MALFORMED_JSON,
  MALFORMED_OBJECT,
  MALFORMED_STRING,
  MALFORMED_STRING_ESCAPE,
  TOK_BAD,
  TOK_FALSE,
  TOK_NULL,
  TOK_TRUE,
  UNKNOWN_VALUE_TYPE,
  blockEnd,
  jsonStringValue,
  lastEscaped,
  skipWs,
  stringEnd,
  tokenEnd,
  tokenKind,
  unescapeJson,
} from './json-scan.js';
import { parseJsonExpression } from './extraction-path.js';
import type { LabelsBuilder } from './labels-builder.js';
import { DUPLICATE_SUFFIX, ERR_JSON, sanitizeLabelKey } from './sanitize.js';
import type { LabelNeeds, Stage } from './stage.js';
import type { LabelExtraction } from '../syntax/ast.js';
import { FlatJson } from '../../wasm/kernels.js';

/** A wanted label name and the raw key bytes that produce it at the top level. */
interface Candidate {
  readonly key: Buffer;
  readonly name: string;
  /** `name` + `_extracted`, built once. */
  readonly extracted: string;
  /** Whether the query needs `name` / `extracted`. */
  readonly needPlain: boolean;
  readonly needExtracted: boolean;
}

const STOP = -2;
const FAIL = -1;

let flatJsonKernel: FlatJson | null | undefined;

/** This thread's `json_flat` kernel (null without WebAssembly: every line is parsed). */
function flatJson(): FlatJson | null {
  if (flatJsonKernel === undefined) flatJsonKernel = FlatJson.create();
  return flatJsonKernel;
}

/**
 * The name candidate `c` would come out under for this entry (`x`, or `x_extracted` when a
 * stream label or metadata already has `x`) when the query wants it in that form, else ''.
 */
function wantedForm(c: Candidate, lb: LabelsBuilder): string {
  const plain = !lb.baseHas(c.name) && !lb.hasMetadata(c.name);
  if (!(plain ? c.needPlain : c.needExtracted)) return '';
  return plain ? c.name : c.extracted;
}

function isIdentByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/** Raw key bytes [s,e) form a plain label name (no sanitising needed). */
function plainKey(b: Buffer, s: number, e: number): boolean {
  if (e === s) return false;
  const c0 = b[s]!;
  if (c0 >= 48 && c0 <= 57) return false;
  for (let i = s; i < e; i++) if (!isIdentByte(b[i]!)) return false;
  return true;
}

function bytesEqual(b: Buffer, s: number, e: number, key: Buffer, prefixOnly: boolean): boolean {
  const len = e - s;
  if (prefixOnly ? key.length < len : key.length !== len) return false;
  for (let i = 0; i < len; i++) if (b[s + i] !== key[i]) return false;
  return true;
}

export class JsonParserStage implements Stage {
  private readonly all: boolean;
  private readonly candidates: Candidate[] = [];
  /** Wanted names a parser can produce. */
  private readonly targets: string[];
  /** Sanitised names of top-level keys (all-mode cache). */
  private readonly keyCache = new Map<string, string>();
  // Per-entry state.
  private buf: Buffer = Buffer.alloc(0);
  private end = 0;
  private lb!: LabelsBuilder;
  private err = '';
  private found = 0;
  private target = 0;
  /**
   * Loki's required labels (parser hints): every needed name, `__error__` included, plus `x` for
   * each needed `x_extracted`. Parsing stops only once all of them are parsed labels (Loki's
   * AllRequiredExtracted), so a needed name that can only come out suffixed (a stream label) or
   * never comes out of a parser (`__error__`) makes every line parse to its end and malformed
   * lines get their error, as in Loki.
   */
  private readonly required: string[];

  /**
   * `flatKernel` false parses every line (tests compare the kernel against that); by default
   * flat objects of lines whose labels cannot come out are checked by this thread's kernel.
   */
  constructor(
    private readonly needs: LabelNeeds,
    private readonly flatKernel = true,
  ) {
    this.all = needs.all;
    this.targets = needs.all ? [] : needs.extractable();
    const req = new Set<string>();
    if (!needs.all) {
      for (const n of needs.names) {
        req.add(n);
        if (n.endsWith(DUPLICATE_SUFFIX)) req.add(n.slice(0, -DUPLICATE_SUFFIX.length));
      }
    }
    this.required = [...req];
    const seen = new Set<string>();
    for (const n of this.targets) {
      for (const k of n.endsWith(DUPLICATE_SUFFIX) ? [n, n.slice(0, -DUPLICATE_SUFFIX.length)] : [n]) {
        if (k === '' || seen.has(k)) continue;
        seen.add(k);
        const extracted = k + DUPLICATE_SUFFIX;
        this.candidates.push({ key: Buffer.from(k, 'utf8'), name: k, extracted, needPlain: needs.names.has(k), needExtracted: needs.names.has(extracted) });
      }
    }
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    if (!this.all) {
      // No required label: Loki's NoLabels, the parser does not run. All already parsed by an
      // earlier stage: AllRequiredExtracted, the same.
      const req = this.required;
      if (req.length === 0) return line;
      let found = 0;
      for (let i = 0; i < req.length; i++) if (lb.hasParsed(req[i]!)) found++;
      if (found >= req.length) return line;
      this.found = found;
      this.target = req.length;
      // When no wanted label can come out of this entry (e.g. `by (level)` where `level` is a
      // stream label, so the line's would be `level_extracted`), the parse only decides
      // `__error__`: a flat object the kernel reads through without an error is that answer.
      // With no candidate at all, objectPrefix never descends: nested objects are skipped too.
      if (this.flatKernel && this.silent(lb) && flatJson()?.check(line, this.candidates.length === 0) === true) return line;
    }
    this.buf = line;
    this.end = line.length;
    this.lb = lb;
    this.err = '';
    const p = skipWs(line, 0, line.length);
    let r: number;
    if (p >= this.end || line[p] !== 0x7b) {
      r = FAIL;
      this.err = MALFORMED_OBJECT;
    } else r = this.object(p, '');
    if (r === FAIL) {
      lb.setError(ERR_JSON);
      lb.setErrorDetails(this.err);
    }
    return line;
  }

  /** Whether no candidate can be emitted for this entry (wantedCandidate's test, before the line is read). */
  private silent(lb: LabelsBuilder): boolean {
    const cands = this.candidates;
    for (let i = 0; i < cands.length; i++) if (wantedForm(cands[i]!, lb) !== '') return false;
    return true;
  }

  private fail(msg: string): number {
    this.err = msg;
    return FAIL;
  }

  /** Parses the object at b[p] === '{'; returns the index after it, FAIL or STOP. */
  private object(p: number, prefix: string): number {
    const b = this.buf;
    const end = this.end;
    p = skipWs(b, p + 1, end);
    if (p >= end) return this.fail(MALFORMED_JSON);
    if (b[p] === 0x7d) return p + 1;
    for (;;) {
      const c = b[p];
      if (c === 0x7d) return p + 1;
      if (c !== 0x22) return this.fail(MALFORMED_OBJECT);
      const ks = p + 1;
      const ke = stringEnd(b, ks, end);
      if (ke < 0) return this.fail(MALFORMED_JSON);
      const kesc = lastEscaped;
      p = skipWs(b, ke + 1, end);
      if (p >= end || b[p] !== 0x3a) return this.fail(MALFORMED_JSON);
      p = skipWs(b, p + 1, end);
      if (p >= end) return this.fail(MALFORMED_JSON);
      const v = b[p]!;
      if (v === 0x22) {
        const ve = stringEnd(b, p + 1, end);
        if (ve < 0) return this.fail(MALFORMED_STRING);
        const vesc = lastEscaped;
        const name = this.leafName(ks, ke, kesc, prefix);
        if (name === null) return FAIL;
        if (name !== '' && this.emit(name, jsonStringValue(b, p + 1, ve, vesc))) return STOP;
        p = ve + 1;
      } else if (v === 0x7b) {
        const sub = this.objectPrefix(ks, ke, kesc, prefix);
        if (sub === null) {
          if (this.err !== '') return FAIL;
          const q = blockEnd(b, p, end, 0x7b, 0x7d);
          if (q < 0) return this.fail(MALFORMED_OBJECT);
          p = q;
        } else {
          const q = this.object(p, sub);
          if (q < 0) return q;
          p = q;
        }
      } else if (v === 0x5b) {
        const q = blockEnd(b, p, end, 0x5b, 0x5d);
        if (q < 0) return this.fail(MALFORMED_ARRAY);
        p = q;
      } else {
        const te = tokenEnd(b, p, end);
        const kind = tokenKind(b, p, te);
        if (kind === TOK_BAD) return this.fail(UNKNOWN_VALUE_TYPE);
        if (kind !== TOK_NULL) {
          const name = this.leafName(ks, ke, kesc, prefix);
          if (name === null) return FAIL;
          if (name !== '') {
            const val = kind === TOK_TRUE ? 'true' : kind === TOK_FALSE ? 'false' : b.toString('latin1', p, te);
            if (this.emit(name, val)) return STOP;
          }
        }
        p = te;
      }
      p = skipWs(b, p, end);
      if (p >= end) return this.fail(MALFORMED_ARRAY);
      const d = b[p];
      if (d === 0x7d) return p + 1;
      if (d !== 0x2c) return this.fail(MALFORMED_OBJECT);
      p = skipWs(b, p + 1, end);
      if (p >= end) return this.fail(MALFORMED_ARRAY);
    }
  }

  private keyString(ks: number, ke: number, kesc: boolean): string | null {
    if (!kesc) return this.buf.toString('utf8', ks, ke);
    const k = unescapeJson(this.buf, ks, ke);
    if (k === null) this.err = MALFORMED_STRING_ESCAPE;
    return k;
  }

  /** Label name of a leaf, '' to skip it, null on a key error. */
  private leafName(ks: number, ke: number, kesc: boolean, prefix: string): string | null {
    const b = this.buf;
    if (prefix === '') {
      if (!this.all && !kesc && plainKey(b, ks, ke)) {
        // Fast path: raw bytes against the wanted names, no string built for other keys.
        const cands = this.candidates;
        for (let i = 0; i < cands.length; i++) if (bytesEqual(b, ks, ke, cands[i]!.key, false)) return this.wantedCandidate(cands[i]!);
        return '';
      }
      const raw = this.keyString(ks, ke, kesc);
      if (raw === null) return null;
      let name = this.keyCache.get(raw);
      if (name === undefined) {
        name = sanitizeLabelKey(raw, true);
        if (this.keyCache.size < 1024) this.keyCache.set(raw, name);
      }
      return name === '' ? '' : this.wanted(name);
    }
    const raw = this.keyString(ks, ke, kesc);
    if (raw === null) return null;
    const part = sanitizeLabelKey(raw, false);
    return this.wanted(part === '' ? prefix : prefix + '_' + part);
  }

  /** The final (clash-suffixed) name when wanted and not yet set, else ''. */
  private wanted(name: string): string {
    const lb = this.lb;
    const final = lb.parsedName(name);
    if (!this.all && !this.needs.names.has(final)) return '';
    if (lb.hasParsed(final)) return '';
    return final;
  }

  /** `wanted(c.name)` without building `c.name + '_extracted'` per line (narrowed mode). */
  private wantedCandidate(c: Candidate): string {
    const final = wantedForm(c, this.lb);
    return final === '' || this.lb.hasParsed(final) ? '' : final;
  }

  /** Sets the label; true when every wanted label is now found (stop scanning). */
  private emit(name: string, value: string): boolean {
    this.lb.setParsed(name, value);
    if (this.all) return false;
    return ++this.found >= this.target;
  }

  /** The prefix for a nested object when worth descending into, else null (err set on key errors). */
  private objectPrefix(ks: number, ke: number, kesc: boolean, prefix: string): string | null {
    const b = this.buf;
    if (!this.all && prefix === '' && !kesc && plainKey(b, ks, ke)) {
      const cands = this.candidates;
      let hit = false;
      for (let i = 0; i < cands.length; i++) {
        if (bytesEqual(b, ks, ke, cands[i]!.key, true)) {
          hit = true;
          break;
        }
      }
      if (!hit) return null;
    }
    const raw = this.keyString(ks, ke, kesc);
    if (raw === null) return null;
    const part = sanitizeLabelKey(raw, prefix === '');
    const next = part === '' ? prefix : prefix === '' ? part : prefix + '_' + part;
    if (!this.all && !this.needs.hasPrefix(next)) return null;
    return next;
  }
}

// ---------------------------------------------------------------------------------------------
// `| json a="x.y[0]"`

/** One step of a JSON path: an object key or an array index. */
interface PathStep {
  readonly key: Buffer | null;
  readonly index: number;
}

/**
 * Parses Loki's json expression syntax (pkg/logql/log/jsonexpr): `a.b`, `a[0]`, `a["k.with.dots"]`,
 * `["a"].b`. Throws InvalidError with Loki's text (extraction-path.ts).
 */
export function parseJsonPath(expr: string): PathStep[] {
  return parseJsonExpression(expr).map((s) => (typeof s === 'number' ? { key: null, index: s } : { key: Buffer.from(s, 'utf8'), index: -1 }));
}

/** `| json a="path"`: each identifier gets the value at its path ('' when missing). */
export class JsonPathStage implements Stage {
  private readonly ids: string[];
  private readonly paths: PathStep[][];
  // Result of find().
  private vs = 0;
  private ve = 0;
  private kind = 0;
  private esc = false;

  constructor(params: readonly LabelExtraction[]) {
    this.ids = params.map((p) => p.name);
    this.paths = params.map((p) => parseJsonPath(p.expression));
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    if (line.length === 0) return line;
    const c = line[0];
    if (c !== 0x22 && c !== 0x7b && c !== 0x5b) {
      lb.setError(ERR_JSON);
      return line;
    }
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      const r = this.find(line, this.paths[i]!);
      if (r === FAIL) {
        lb.setError(ERR_JSON);
        continue;
      }
      if (r === 0) {
        if (lb.get(id) === undefined) lb.setParsed(id, '');
        continue;
      }
      let val: string;
      if (this.kind === 0x22) val = jsonStringValue(line, this.vs, this.ve, this.esc);
      else if (this.kind === TOK_NULL) val = '';
      else val = line.toString('utf8', this.vs, this.ve);
      lb.setParsed(lb.baseHas(id) || lb.hasMetadata(id) ? id + DUPLICATE_SUFFIX : id, val);
    }
    return line;
  }

  /** Locates the value at `path`: 1 found (vs/ve/kind set), 0 missing, FAIL malformed. */
  private find(b: Buffer, path: readonly PathStep[]): number {
    const end = b.length;
    let p = skipWs(b, 0, end);
    for (let s = 0; s < path.length; s++) {
      const step = path[s]!;
      if (p >= end) return FAIL;
      if (step.key !== null) {
        if (b[p] !== 0x7b) return 0;
        p = skipWs(b, p + 1, end);
        let found = false;
        while (p < end && b[p] !== 0x7d) {
          if (b[p] !== 0x22) return FAIL;
          const ke = stringEnd(b, p + 1, end);
          if (ke < 0) return FAIL;
          const kesc = lastEscaped;
          let match: boolean;
          if (!kesc) match = bytesEqual(b, p + 1, ke, step.key, false);
          else match = unescapeJson(b, p + 1, ke) === step.key.toString('utf8');
          p = skipWs(b, ke + 1, end);
          if (b[p] !== 0x3a) return FAIL;
          p = skipWs(b, p + 1, end);
          if (match) {
            found = true;
            break;
          }
          p = this.skipValue(b, p, end);
          if (p < 0) return FAIL;
          p = skipWs(b, p, end);
          if (b[p] === 0x2c) p = skipWs(b, p + 1, end);
        }
        if (!found) return 0;
      } else {
        if (b[p] !== 0x5b) return 0;
        p = skipWs(b, p + 1, end);
        let idx = 0;
        while (p < end && b[p] !== 0x5d && idx < step.index) {
          p = this.skipValue(b, p, end);
          if (p < 0) return FAIL;
          p = skipWs(b, p, end);
          if (b[p] === 0x2c) p = skipWs(b, p + 1, end);
          idx++;
        }
        if (p >= end || b[p] === 0x5d) return 0;
      }
    }
    if (p >= end) return FAIL;
    const c = b[p]!;
    const q = this.skipValue(b, p, end);
    if (q < 0) return FAIL;
    if (c === 0x22) {
      this.vs = p + 1;
      this.ve = q - 1;
      this.kind = 0x22;
      stringEnd(b, p + 1, end);
      this.esc = lastEscaped;
    } else {
      this.vs = p;
      this.ve = q;
      this.kind = c === 0x7b || c === 0x5b ? c : tokenKind(b, p, q);
    }
    return 1;
  }

  /** Index just after the value at p, or -1. */
  private skipValue(b: Buffer, p: number, end: number): number {
    const c = b[p];
    if (c === 0x22) {
      const e = stringEnd(b, p + 1, end);
      return e < 0 ? -1 : e + 1;
    }
    if (c === 0x7b) return blockEnd(b, p, end, 0x7b, 0x7d);
    if (c === 0x5b) return blockEnd(b, p, end, 0x5b, 0x5d);
    const e = tokenEnd(b, p, end);
    return e === p ? -1 : e;
  }
}
