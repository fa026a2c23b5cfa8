/**
 * Parser of the label text a push stream carries (`{app="api", env="prod"}`), with the
 * syntax Loki accepts there (Prometheus' `ParseMetric`, via Loki's `syntax.ParseLabels`):
 * an optional metric name (becomes `__name__`), braces, `name="value"` pairs separated by
 * commas (a trailing comma is fine), values in double quotes, single quotes or backticks
 * with Go escapes, names either identifiers or quoted. Pairs with an empty value are
 * dropped, as Loki does, and the rest sorted by name; duplicate names are kept for the
 * validator to report.
 *
 * Errors are values, not exceptions: `ParsedLabels.error` holds a Prometheus-style
 * `1:COL: parse error: ...` text. Parse once per distinct label string (`LabelsCache`).
 */
import { fingerprint, isValidLabelName, labelsToString, sortLabels, type Label } from '../model/labels.js';
import { GO_CHAR_ESCAPES } from '../util/go-escapes.js';

/**
 * The result of parsing one label string, plus the facts the validator checks per push. The
 * label fields are the stream's labels as last used: as parsed, or, once the validator ran
 * service-name discovery on them (field-detection.ts `discoverServiceName`), with the
 * service_name it added, so a stream keeps one label array, text and fingerprint (not the
 * parsed form beside the discovered one). The checks (`numNames`, `maxNameBytes`, ...) always
 * describe the labels as sent.
 */
export interface ParsedLabels {
  /** Parse error text (`1:5: parse error: ...`), or null when the string parsed. */
  readonly error: string | null;
  /** Sorted by name, empty values dropped; may hold duplicate names. Empty on error. */
  labels: readonly Label[];
  /** Canonical text (labelsToString); '' on error. */
  labelsString: string;
  /** fingerprint(labels); '' on error or when names repeat. */
  fingerprint: string;
  /** Label names counted against max_label_names_per_series (`service_name` is free). */
  readonly numNames: number;
  /** Longest name and value in UTF-8 bytes, so the common case needs two comparisons. */
  readonly maxNameBytes: number;
  readonly maxValueBytes: number;
  /** Some name occurs twice. */
  readonly hasDuplicate: boolean;
  /** The discovery list the label fields were made for, null while they are as parsed. */
  discoveredFor: readonly string[] | null;
  /** The pair discovery added to `labels` (one of its elements), or null. */
  addedServiceName: Label | null;
}

/** A parse's labels as sent (sorted, empty values dropped), without what discovery added. */
export function parsedLabelsAsSent(p: ParsedLabels): readonly Label[] {
  const added = p.addedServiceName;
  return added === null ? p.labels : p.labels.filter((l) => l !== added);
}

/** Loki exempts this label, which it may add itself, from the label-count limit. */
const SERVICE_NAME = 'service_name';

/** UTF-8 byte length of a JS string without allocating. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // the pair (2 UTF-16 units) is 4 bytes
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

function failed(error: string): ParsedLabels {
  return {
    error,
    labels: [],
    labelsString: '',
    fingerprint: '',
    numNames: 0,
    maxNameBytes: 0,
    maxValueBytes: 0,
    hasDuplicate: false,
    discoveredFor: null,
    addedServiceName: null,
  };
}

class LabelSyntaxError {
  constructor(
    readonly pos: number,
    readonly msg: string,
  ) {}
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function describe(s: string, i: number): string {
  if (i >= s.length) return 'end of input';
  const ch = s[i]!;
  return JSON.stringify(ch);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parser state over one string; methods throw LabelSyntaxError (caught in parseLabelString). */
class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  ws(): void {
    const s = this.s;
    while (this.pos < s.length && isWs(s.charCodeAt(this.pos))) this.pos++;
  }

  fail(msg: string, at = this.pos): never {
    throw new LabelSyntaxError(at, msg);
  }

  /** Reads a quoted string starting at `pos` (which holds the quote). */
  quoted(): string {
    const s = this.s;
    const start = this.pos;
    const q = s.charCodeAt(start);
    let i = start + 1;
    if (q === 0x60) {
      // Raw string: no escapes, newlines allowed.
      const end = s.indexOf('`', i);
      if (end < 0) this.fail('unterminated raw string', start);
      this.pos = end + 1;
      return s.slice(i, end);
    }
    // Fast path: no escapes.
    let j = i;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === q || c === 0x5c || c === 0x0a) break;
      j++;
    }
    if (j < s.length && s.charCodeAt(j) === q) {
      this.pos = j + 1;
      return s.slice(i, j);
    }
    let out = s.slice(i, j);
    i = j;
    for (;;) {
      if (i >= s.length || s.charCodeAt(i) === 0x0a) this.fail('unterminated quoted string', start);
      const c = s.charCodeAt(i);
      if (c === q) {
        this.pos = i + 1;
        return out;
      }
      if (c !== 0x5c) {
        out += s[i];
        i++;
        continue;
      }
      i++;
      if (i >= s.length) this.fail('unterminated quoted string', start);
      const e = s[i]!;
      i++;
      const simple = GO_CHAR_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        continue;
      }
      switch (e) {
        case '"': out += '"'; break;
        case "'": out += "'"; break;
        case 'x':
        case 'u':
        case 'U': {
          const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          let v = 0;
          for (let k = 0; k < digits; k++) {
            const h = hexValue(s.charCodeAt(i + k));
            if (h < 0) this.fail(`invalid escape sequence "\\${e}"`, i - 2);
            v = v * 16 + h;
          }
          i += digits;
          if (e === 'x') out += v < 0x80 ? String.fromCharCode(v) : '\ufffd';
          else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) this.fail('escape sequence is an invalid Unicode code point', i - digits - 2);
          else out += String.fromCodePoint(v);
          break;
        }
        default: {
          // Octal \ooo.
          const o1 = e.charCodeAt(0) - 48;
          const o2 = s.charCodeAt(i) - 48;
          const o3 = s.charCodeAt(i + 1) - 48;
          if (o1 >= 0 && o1 <= 3 && o2 >= 0 && o2 <= 7 && o3 >= 0 && o3 <= 7) {
            const v = o1 * 64 + o2 * 8 + o3;
            out += v < 0x80 ? String.fromCharCode(v) : '\ufffd';
            i += 2;
          } else {
            this.fail(`unknown escape sequence ${JSON.stringify(e)}`, i - 2);
          }
        }
      }
    }
  }

  ident(): string {
    const s = this.s;
    const start = this.pos;
    let i = start + 1;
    while (i < s.length && isIdentPart(s.charCodeAt(i))) i++;
    this.pos = i;
    return s.slice(start, i);
  }
}

function parseInto(sc: Scanner, out: Label[]): void {
  const s = sc.s;
  sc.ws();
  const c0 = s.charCodeAt(sc.pos);
  if (isIdentStart(c0) || c0 === 0x3a /* : */) {
    // Metric name prefix, allowed by ParseMetric; it may contain ':'.
    const start = sc.pos;
    let i = start + 1;
    while (i < s.length && (isIdentPart(s.charCodeAt(i)) || s.charCodeAt(i) === 0x3a)) i++;
    sc.pos = i;
    out.push({ name: '__name__', value: s.slice(start, i) });
    sc.ws();
  }
  if (s.charCodeAt(sc.pos) !== 0x7b /* { */) sc.fail(`unexpected ${describe(s, sc.pos)}, expected "{"`);
  sc.pos++;
  for (;;) {
    sc.ws();
    let c = s.charCodeAt(sc.pos);
    if (c === 0x7d /* } */) break;
    let name: string;
    const nameAt = sc.pos;
    if (isIdentStart(c)) name = sc.ident();
    else if (c === 0x22 || c === 0x27 || c === 0x60) {
      name = sc.quoted();
      if (!isValidLabelName(name)) sc.fail(`invalid label name ${JSON.stringify(name)}`, nameAt);
    } else sc.fail(`unexpected ${describe(s, sc.pos)} in label set, expected identifier or "}"`);
    sc.ws();
    if (s.charCodeAt(sc.pos) !== 0x3d /* = */ || s.charCodeAt(sc.pos + 1) === 0x7e /* =~ */) {
      sc.fail(`unexpected ${describe(s, sc.pos)} in label matching, expected "="`);
    }
    sc.pos++;
    sc.ws();
    c = s.charCodeAt(sc.pos);
    if (c !== 0x22 && c !== 0x27 && c !== 0x60) sc.fail(`unexpected ${describe(s, sc.pos)} in label matching, expected string`);
    const value = sc.quoted();
    out.push({ name, value });
    sc.ws();
    c = s.charCodeAt(sc.pos);
    if (c === 0x2c /* , */) {
      sc.pos++;
      continue;
    }
    if (c === 0x7d) break;
    sc.fail(`unexpected ${describe(s, sc.pos)} in label set, expected "," or "}"`);
  }
  sc.pos++; // past '}'
  sc.ws();
  if (sc.pos < s.length) sc.fail(`unexpected ${describe(s, sc.pos)} after "}"`);
}

/**
 * One name's shared pairs: its string, and its pairs by value while it has few enough values to
 * share (null once it had more: a pod or request id per stream shares nothing).
 */
class SharedName {
  values: Map<string, Label> | null = new Map();
  constructor(readonly name: string) {}
}

/**
 * Label pairs shared by every stream of this process: one object and one value string per
 * `name=value` instead of one per stream (most of a stream's labels — cluster, namespace, app —
 * are its neighbours' too; at 50k streams that is ~300 bytes per stream: issue #20 goal 4).
 * Bounded, so that a push of random labels cannot grow it for ever: names, values per name, and
 * pairs in all; past a bound a pair is made for its stream alone, as before.
 */
const sharedNames = new Map<string, SharedName>();
/** Bound on shared names. */
const MAX_SHARED_NAMES = 10_000;
/** A name with more distinct values than this stops being shared (its pairs stay with their streams). */
const SHARED_VALUES_PER_NAME = 1024;
/** Bound on shared pairs over all names. */
const MAX_SHARED_PAIRS = 32_768;
let sharedPairs = 0;

/** The pair `name=value`, shared with the streams that carry it too while the bounds allow. */
export function sharedLabel(name: string, value: string): Label {
  let n = sharedNames.get(name);
  if (n === undefined) {
    if (sharedNames.size >= MAX_SHARED_NAMES) return { name, value };
    sharedNames.set(name, (n = new SharedName(name)));
  }
  const values = n.values;
  if (values === null) return { name: n.name, value };
  const known = values.get(value);
  if (known !== undefined) return known;
  const made = { name: n.name, value };
  if (values.size >= SHARED_VALUES_PER_NAME) {
    n.values = null;
    sharedPairs -= values.size;
  } else if (sharedPairs < MAX_SHARED_PAIRS) {
    values.set(value, made);
    sharedPairs++;
  }
  return made;
}

/** Parses one stream label string. Never throws. */
export function parseLabelString(s: string): ParsedLabels {
  const raw: Label[] = [];
  try {
    parseInto(new Scanner(s), raw);
  } catch (err) {
    if (err instanceof LabelSyntaxError) return failed(`1:${err.pos + 1}: parse error: ${err.msg}`);
    throw err;
  }
  // Empty values mean "absent" (Loki normalises them away before hashing).
  const kept: Label[] = [];
  for (const l of raw) if (l.value !== '') kept.push(sharedLabel(l.name, l.value));
  const labels = sortLabels(kept);
  let numNames = 0;
  let maxNameBytes = 0;
  let maxValueBytes = 0;
  let hasDuplicate = false;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l.name !== SERVICE_NAME) numNames++;
    const nb = utf8Length(l.name);
    const vb = utf8Length(l.value);
    if (nb > maxNameBytes) maxNameBytes = nb;
    if (vb > maxValueBytes) maxValueBytes = vb;
    if (i > 0 && labels[i - 1]!.name === l.name) hasDuplicate = true;
  }
  const canonical = labelsToString(labels);
  return {
    error: null,
    labels,
    // Agents that send the canonical form (Promtail and Alloy do) keep one string per stream, not two.
    labelsString: canonical === s ? s : canonical,
    fingerprint: hasDuplicate ? '' : fingerprint(labels),
    numNames,
    maxNameBytes,
    maxValueBytes,
    hasDuplicate,
    discoveredFor: null,
    addedServiceName: null,
  };
}

/**
 * A bounded cache of parsed label strings. Agents resend the same strings on every push,
 * so nearly every lookup hits. When full, the oldest insertion is evicted (FIFO: a hit does
 * not reorder, which keeps hits to one Map lookup).
 */
export class LabelsCache {
  readonly #map = new Map<string, ParsedLabels>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** The parse of `s`, from the cache or freshly parsed. */
  get(s: string): ParsedLabels {
    let p = this.#map.get(s);
    if (p !== undefined) return p;
    p = parseLabelString(s);
    if (this.#map.size >= this.#maxEntries) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(s, p);
    return p;
  }

  get size(): number {
    return this.#map.size;
  }
}
