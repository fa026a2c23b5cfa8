/**
 * What the distributor adds to a push before the ingester sees it, as Loki does:
 *
 * - `service_name` (Loki's `pkg/loghttp/push/push.go`): a stream without it gets the value of
 *   the first label of `discover_service_name` it carries, or `unknown_service`;
 * - `detected_level` structured metadata (Loki's `pkg/distributor/field_detection.go`): read
 *   from a level label, a level metadata pair, an OTLP `severity_number`, a JSON or logfmt
 *   field of the line, or a level word in the text, normalised (WARNING → warn, ERR → error).
 *
 * Both run on validated streams only, so their work is never wasted on rejected entries.
 */
import { fingerprint, labelsToString, sortLabels, type Label, type Labels } from '../model/labels.js';
import { knownLevel, knownLevelAt, LEVEL_UNKNOWN, LINE_LEVEL_NONE, LINE_LEVELS, lineLevelCode, normalizeLogLevel } from '../model/log-level.js';
import { LEVEL_SAW_EQUALS } from '../wasm/kernels.js';

export { normalizeLogLevel };
import type { StructuredMetadata, ValidStream } from '../model/stream.js';
import { parsedLabelsAsSent, sharedLabel, type ParsedLabels } from './labels-parser.js';
import { sameElements } from '../util/sorted.js';

/** The structured metadata name Loki stores the detected level under. */
export const DETECTED_LEVEL = 'detected_level';
/** The stream label service-name discovery sets. */
export const SERVICE_NAME = 'service_name';
/** Its value when no listed label is present. */
export const UNKNOWN_SERVICE = 'unknown_service';
/** The metadata name OTLP's severity number is stored under. */
export const OTLP_SEVERITY_NUMBER = 'severity_number';


/** Level words searched for in free text (Loki's levelPatterns), as lower-case bytes. */
const W_TRACE = Buffer.from('trace');
const W_DEBUG = Buffer.from('debug');
const W_FATAL = Buffer.from('fatal');
const W_CRITICAL = Buffer.from('critical');
const W_ERROR = Buffer.from('error');
const W_ERR = Buffer.from('err');
const W_WARNING = Buffer.from('warning');
const W_WARN = Buffer.from('warn');
const W_INFO = Buffer.from('info');

/** ASCII lower case of a byte. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

function rightBoundaryByte(c: number): boolean {
  return (
    c === 0x20 || c === 0x09 || c === 0x0a || c === 0x5b || c === 0x5d || c === 0x28 || c === 0x29 || c === 0x7b || c === 0x7d || c === 0x3a || c === 0x2c || c === 0x21 || c === 0x22 || c === 0x27 || c === 0x3d || c === 0x7c
  );
}

/** True when `w` (lower-case) is at `i`, case-insensitively, followed by a word boundary or the end. */
function wordAt(b: Uint8Array, i: number, end: number, w: Uint8Array): boolean {
  const n = w.length;
  if (i + n > end) return false;
  for (let k = 1; k < n; k++) if (lower(b[i + k]!) !== w[k]) return false;
  return i + n === end || rightBoundaryByte(b[i + n]!);
}

/**
 * A level-word scan of the line b[start, end) (Loki's `detectLevelFromLogLine`): the LINE_LEVELS
 * code of the level word that starts first as a whole word (case-insensitive), 0 (unknown) when
 * there is none, plus LEVEL_SAW_EQUALS when the line holds a '=' anywhere (it is then read as
 * logfmt first). `scanLevelWords` is the TypeScript one; a decode worker passes the WebAssembly
 * one (src/wasm/kernels.ts), which answers the same.
 */
export type LevelWordScan = (b: Uint8Array, start: number, end: number) => number;

/** Loki's `detectLevelFromLogLine` of the bytes b[start, end). */
export function detectLevelFromBytes(b: Uint8Array, start = 0, end = b.length): string {
  return LINE_LEVELS[scanLevelWords(b, start, end) & LEVEL_CODE_MASK]!;
}

/** Bits of a LevelWordScan answer that hold the level code. */
const LEVEL_CODE_MASK = LEVEL_SAW_EQUALS - 1;

/**
 * The TypeScript LevelWordScan, in one pass: at one position at most one word can match, so
 * scanning positions in order gives Loki's "smallest index" answer.
 */
export function scanLevelWords(b: Uint8Array, start: number, end: number): number {
  let eq = false;
  for (let i = start; i < end; i++) {
    // One table lookup per byte: most bytes are neither '=' nor the start of a level word.
    const k = BYTE_CLASS[b[i]!]!;
    if (k === 0) continue;
    if (k === EQUALS) {
      eq = true;
      continue;
    }
    if (i > start && LEFT_BOUNDARY[b[i - 1]!] === 0) continue;
    let code = 0;
    switch (lower(b[i]!)) {
      case 0x74: // t
        if (wordAt(b, i, end, W_TRACE)) code = L_TRACE;
        break;
      case 0x64: // d
        if (wordAt(b, i, end, W_DEBUG)) code = L_DEBUG;
        break;
      case 0x66: // f
        if (wordAt(b, i, end, W_FATAL)) code = L_FATAL;
        break;
      case 0x63: // c
        if (wordAt(b, i, end, W_CRITICAL)) code = L_CRITICAL;
        break;
      case 0x65: // e
        if (wordAt(b, i, end, W_ERROR) || wordAt(b, i, end, W_ERR)) code = L_ERROR;
        break;
      case 0x77: // w
        if (wordAt(b, i, end, W_WARNING) || wordAt(b, i, end, W_WARN)) code = L_WARN;
        break;
      case 0x69: // i
        if (wordAt(b, i, end, W_INFO)) code = L_INFO;
        break;
    }
    if (code !== 0) return eq || hasByte(b, i, end, 0x3d) ? code | LEVEL_SAW_EQUALS : code;
  }
  return eq ? LEVEL_SAW_EQUALS : 0;
}

const L_TRACE = lineLevelCode('trace');
const L_DEBUG = lineLevelCode('debug');
const L_INFO = lineLevelCode('info');
const L_WARN = lineLevelCode('warn');
const L_ERROR = lineLevelCode('error');
const L_CRITICAL = lineLevelCode('critical');
const L_FATAL = lineLevelCode('fatal');

/** Bytes a level word can start with (t d f c e w i, either case). */
/** Per byte: 1 when it may start a level word, EQUALS for '=', else 0. */
const EQUALS = 2;
const BYTE_CLASS = new Uint8Array(256);
for (const c of 'tdfcewi') {
  BYTE_CLASS[c.charCodeAt(0)] = 1;
  BYTE_CLASS[c.toUpperCase().charCodeAt(0)] = 1;
}
BYTE_CLASS[0x3d] = EQUALS;
/** Bytes that may precede a level word (Loki's isLeftWordBoundary). */
const LEFT_BOUNDARY = new Uint8Array(256);
for (const c of ' \t\n[({"\'=|') LEFT_BOUNDARY[c.charCodeAt(0)] = 1;

/** Loki's `detectLevelFromLogLine` for a string. */
export function detectLevelFromText(line: string): string {
  return detectLevelFromBytes(Buffer.from(line));
}

/** Whether byte `c` occurs in b[start, end). */
function hasByte(b: Uint8Array, start: number, end: number, c: number): boolean {
  // A loop, not indexOf: indexOf would search past `end`, through the rest of a push body.
  for (let i = start; i < end; i++) if (b[i] === c) return true;
  return false;
}

function isSpaceByte(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Loki's `isJSON` of b[start, end): the first and last non-space bytes are braces. */
function looksLikeJson(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && isSpaceByte(b[i]!)) i++;
  let j = end - 1;
  while (j > i && isSpaceByte(b[j]!)) j--;
  return i < j && b[i] === 0x7b && b[j] === 0x7d;
}

/** End (index of the closing quote, before `end`) of the JSON string whose opening quote is at `i`, or -1. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = b[j]!;
    if (c === 0x5c) j++;
    else if (c === 0x22) return j;
  }
  return -1;
}

function skipSpaces(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpaceByte(b[i]!)) i++;
  return i;
}

/** Result of the span scanners below: [spanStart, spanEnd) and whether it is quoted (no tuple per line). */
let spanStart = 0;
let spanEnd = 0;
let spanQuoted = false;

/**
 * Loki's `getLevelUsingJSONParser` over b[start, end) as one scan: the first string value, in
 * document order, under an allowed key of an object nested less than `maxDepth` deep (0: any
 * depth) and not inside an array. Sets spanStart/spanEnd to the raw value bytes and returns
 * true, or returns false. Stops at malformed input.
 */
function jsonLevelSpan(b: Uint8Array, start: number, end: number, fields: readonly Uint8Array[], maxDepth: number): boolean {
  const stack = jsonStack; // 0x7b or 0x5b per open container
  stack.length = 0;
  let arrays = 0;
  let expectKey = false;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    switch (c) {
      case 0x7b:
        stack.push(c);
        expectKey = true;
        break;
      case 0x5b:
        stack.push(c);
        arrays++;
        expectKey = false;
        break;
      case 0x7d:
      case 0x5d:
        if (stack.pop() === 0x5b) arrays--;
        expectKey = false;
        break;
      case 0x2c:
        expectKey = stack[stack.length - 1] === 0x7b;
        break;
      case 0x22: {
        const e = stringEnd(b, i, end);
        if (e < 0) return false;
        if (expectKey) {
          expectKey = false;
          const depth = stack.length - 1;
          let v = skipSpaces(b, e + 1, end);
          if (v >= end || b[v] !== 0x3a) return false;
          v = skipSpaces(b, v + 1, end);
          if (v < end && b[v] === 0x22 && arrays === 0 && (maxDepth <= 0 || depth < maxDepth) && isField(b, i + 1, e, fields)) {
            const ve = stringEnd(b, v, end);
            if (ve < 0) return false;
            spanStart = v + 1;
            spanEnd = ve;
            return true;
          }
          i = v - 1;
        } else i = e;
        break;
      }
    }
  }
  return false;
}

const jsonStack: number[] = [];

function isField(b: Uint8Array, start: number, end: number, fields: readonly Uint8Array[]): boolean {
  const n = end - start;
  outer: for (const f of fields) {
    if (f.length !== n) continue;
    for (let k = 0; k < n; k++) if (b[start + k] !== f[k]) continue outer;
    return true;
  }
  return false;
}

/**
 * The value of the earliest-listed `hints` key (ASCII case-insensitive) in the logfmt line
 * b[start, n): sets spanStart/spanEnd/spanQuoted and returns true, or returns false. Stops at
 * the first malformed pair, as go-logfmt's scanner does.
 */
function logfmtSpan(b: Uint8Array, start: number, n: number, hints: readonly Uint8Array[]): boolean {
  let best = hints.length;
  let found = false;
  let i = start;
  while (i < n) {
    while (i < n && b[i]! <= 0x20) i++;
    if (i >= n) break;
    const k0 = i;
    while (i < n) {
      const c = b[i]!;
      if (c <= 0x20 || c === 0x3d || c === 0x22) break;
      i++;
    }
    if (i === k0) break; // '=' or '"' where a key should start
    const k1 = i;
    let v0 = i;
    let v1 = i;
    let quoted = false;
    if (i < n && b[i] === 0x3d) {
      i++;
      if (i < n && b[i] === 0x22) {
        const e = stringEnd(b, i, n);
        if (e < 0) break; // unterminated quote
        v0 = i;
        v1 = e + 1;
        quoted = true;
        i = e + 1;
      } else {
        v0 = i;
        while (i < n && b[i]! > 0x20) i++;
        v1 = i;
      }
    }
    const h = hintIndex(b, k0, k1, hints, best);
    if (h >= 0) {
      best = h;
      spanStart = v0;
      spanEnd = v1;
      spanQuoted = quoted;
      found = true;
      if (h === 0) return true;
    }
  }
  return found;
}

/**
 * Whether some '=' in b[start, end) follows the bytes of a hint (lower case, compared ignoring
 * ASCII case). Every key logfmtSpan can answer with a value is such a hint followed by '=', so
 * without one it would find nothing: a line with a '=' in a URL is not parsed as logfmt.
 */
function mayHaveHintKey(b: Uint8Array, start: number, end: number, hints: readonly Uint8Array[]): boolean {
  for (let i = start; i < end; i++) {
    if (b[i] !== 0x3d) continue;
    outer: for (const w of hints) {
      const n = w.length;
      if (i - n < start) continue;
      for (let k = 0; k < n; k++) if (lower(b[i - n + k]!) !== w[k]) continue outer;
      return true;
    }
  }
  return false;
}

/** Index (< `before`) of the hint equal to b[start, end) ignoring ASCII case, or -1. */
function hintIndex(b: Uint8Array, start: number, end: number, hints: readonly Uint8Array[], before: number): number {
  const n = end - start;
  outer: for (let h = 0; h < before; h++) {
    const w = hints[h]!;
    if (w.length !== n) continue;
    for (let k = 0; k < n; k++) if (lower(b[start + k]!) !== w[k]) continue outer;
    return h;
  }
  return -1;
}

/** The value of the earliest-listed `hints` key in a logfmt line (tests and tools), or null. */
export function logfmtValue(line: string, hints: readonly string[]): string | null {
  const b = Buffer.from(line);
  const found = logfmtSpan(
    b,
    0,
    b.length,
    hints.map((h) => Buffer.from(h.toLowerCase())),
  );
  return found ? spanString(b, spanStart, spanEnd, spanQuoted) : null;
}

function spanString(b: Buffer, start: number, end: number, quoted: boolean): string {
  const raw = b.toString('utf8', start, end);
  if (!quoted) return raw;
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

/** Level from an OTLP severity number (1-4 trace … 21-24 fatal), as Loki maps it. */
function levelFromSeverityNumber(text: string): string {
  const n = Number(text);
  if (!Number.isInteger(n) || text.trim() === '') return 'info';
  if (n === 0) return LEVEL_UNKNOWN;
  if (n <= 4) return 'trace';
  if (n <= 8) return 'debug';
  if (n <= 12) return 'info';
  if (n <= 16) return 'warn';
  if (n <= 20) return 'error';
  if (n <= 24) return 'fatal';
  return LEVEL_UNKNOWN;
}

function firstOf(pairs: readonly Label[], names: readonly string[]): string | null {
  for (const name of names) for (const p of pairs) if (p.name === name) return p.value;
  return null;
}

/** Detects levels with one tenant's `log_level_fields` and JSON depth. */
export class LevelDetector {
  readonly #fields: readonly string[];
  readonly #fieldBytes: readonly Uint8Array[];
  readonly #hintBytes: readonly Uint8Array[];
  /** The distinct hints (for mayHaveHintKey). */
  readonly #keyBytes: readonly Uint8Array[];
  readonly #maxDepth: number;
  /** `name=` per field, as in a Loki label string. */
  readonly #labelNeedles: readonly string[];
  /** fromStreamLabels answers per label array. */
  readonly #byLabels = new WeakMap<Labels, string | null>();

  constructor(fields: readonly string[], maxDepth: number) {
    this.#fields = fields;
    this.#fieldBytes = fields.map((f) => Buffer.from(f));
    this.#hintBytes = fields.map((f) => Buffer.from(f.toLowerCase()));
    this.#keyBytes = [...new Set(fields.map((f) => f.toLowerCase()))].map((f) => Buffer.from(f));
    this.#maxDepth = maxDepth;
    this.#labelNeedles = fields.map((f) => `${f}=`);
  }

  /** The level of a stream's entries when a stream label names it (then it holds for every entry), else null. */
  fromStreamLabels(labels: Labels): string | null {
    // Label arrays are readonly and shared by every push of a stream (the distributor's label
    // cache and service-name discovery hand out the same array): remember the answer.
    const cached = this.#byLabels.get(labels);
    if (cached !== undefined) return cached;
    const v = firstOf(labels, this.#fields);
    const level = v === null ? null : normalizeLogLevel(v);
    this.#byLabels.set(labels, level);
    return level;
  }

  /**
   * The level of one entry from its metadata or line (after `fromStreamLabels` found none).
   * `lineLevel` is the line's level when a decode worker already read it (a LINE_LEVELS code).
   */
  fromEntry(metadata: StructuredMetadata, line: Buffer, lineLevel = LINE_LEVEL_NONE): string {
    if (metadata.length > 0) {
      const v = firstOf(metadata, this.#fields);
      if (v !== null) return normalizeLogLevel(v);
      for (const p of metadata) if (p.name === OTLP_SEVERITY_NUMBER) return levelFromSeverityNumber(p.value);
    }
    return lineLevel < LINE_LEVELS.length ? LINE_LEVELS[lineLevel]! : this.fromLine(line);
  }

  /** Whether a stream with this Loki label string may carry a level label (so its lines need no reading). */
  mayHaveLevelLabel(labels: string): boolean {
    for (const n of this.#labelNeedles) if (labels.includes(n)) return true;
    return false;
  }

  /** Loki's `extractLogLevelFromLogLine`: a JSON or logfmt field, else a level word in the text. */
  fromLine(line: Buffer | string): string {
    const b = typeof line === 'string' ? Buffer.from(line) : line;
    return this.fromLineAt(b, 0, b.length);
  }

  /** `fromLine` of the line b[start, end) (no view made), its level words found by `scan`. */
  fromLineAt(b: Buffer, start: number, end: number, scan: LevelWordScan = scanLevelWords): string {
    // Field values are matched as bytes (no strings made per line); only a quoted logfmt value
    // with escapes is unquoted as a string first.
    if (looksLikeJson(b, start, end)) {
      const level = jsonLevelSpan(b, start, end, this.#fieldBytes, this.#maxDepth) ? knownLevelAt(b, spanStart, spanEnd) : null;
      return level ?? LINE_LEVELS[scan(b, start, end) & LEVEL_CODE_MASK]!;
    }
    // The word scan also tells whether the line has a '=' (then it is read as logfmt first).
    const r = scan(b, start, end);
    const word = LINE_LEVELS[r & LEVEL_CODE_MASK]!;
    if ((r & LEVEL_SAW_EQUALS) === 0) return word;
    let level: string | null = null;
    if (mayHaveHintKey(b, start, end, this.#keyBytes) && logfmtSpan(b, start, end, this.#hintBytes)) {
      const s = spanStart;
      const e = spanEnd;
      if (!spanQuoted) level = knownLevelAt(b, s, e);
      else if (!hasByte(b, s, e, 0x5c)) level = knownLevelAt(b, s + 1, e - 1);
      else level = knownLevel(spanString(b, s, e, true));
    }
    return level ?? word;
  }
}

/** Shared metadata arrays for entries that had none: one frozen array per detected level. */
const LEVEL_ONLY = new Map<string, StructuredMetadata>();

function levelOnly(level: string): StructuredMetadata {
  let md = LEVEL_ONLY.get(level);
  if (md === undefined) {
    md = Object.freeze([Object.freeze({ name: DETECTED_LEVEL, value: level })]);
    // Only Loki's canonical names are shared; odd values from labels are not cached.
    if (knownLevel(level) === level || level === LEVEL_UNKNOWN) LEVEL_ONLY.set(level, md);
  }
  return md;
}

/**
 * Adds `detected_level` to every entry of `streams` that has no such metadata yet, and
 * normalises an existing one. Entries get a new metadata array (the decoded one may be shared).
 */
export function addDetectedLevels(streams: readonly ValidStream[], detector: LevelDetector): void {
  for (const s of streams) {
    const fromLabels = detector.fromStreamLabels(s.labels);
    const entries = s.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const md = e.metadata;
      let existing = -1;
      for (let j = 0; j < md.length; j++) if (md[j]!.name === DETECTED_LEVEL) existing = j;
      if (existing >= 0) {
        const v = md[existing]!.value;
        const norm = normalizeLogLevel(v);
        if (norm !== v) e.metadata = md.map((p, j) => (j === existing ? { name: DETECTED_LEVEL, value: norm } : p));
        continue;
      }
      const level = fromLabels ?? detector.fromEntry(md, e.line, e.lineLevel);
      e.metadata = md.length === 0 ? levelOnly(level) : [...md, { name: DETECTED_LEVEL, value: level }];
    }
  }
}

/** True when `s` has only [a-zA-Z0-9_] and no run of two '_'. */
function isCleanRun(s: string): boolean {
  let prevUnderscore = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5f) {
      if (prevUnderscore) return false;
      prevUnderscore = true;
    } else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) prevUnderscore = false;
    else return false;
  }
  return true;
}

/** True when `name` is already what Prometheus' label namer would make of it. */
function isNormalizedName(name: string): boolean {
  if (name.length === 0) return true; // left for validation to report
  const c0 = name.charCodeAt(0);
  if (c0 >= 0x30 && c0 <= 0x39) return false;
  // The reserved `__name__` shape keeps its double underscores at both ends.
  if (name.length >= 4 && name.startsWith('__') && name.endsWith('__')) return isCleanRun(name.slice(2, -2));
  return isCleanRun(name);
}

/**
 * Loki's distributor passes every structured metadata name through Prometheus' label namer
 * (`trace.id` → `trace_id`, `1st` → `key_1st`, `a__b` → `a_b`); a later pair wins over an
 * earlier one that maps to the same name. Entries get a new array only when a name changes.
 */
export function normalizeMetadataNames(streams: readonly ValidStream[], normalize: (name: string) => string): void {
  for (const s of streams) {
    for (const e of s.entries) {
      const md = e.metadata;
      let ok = true;
      for (let j = 0; j < md.length && ok; j++) ok = isNormalizedName(md[j]!.name);
      if (ok) continue;
      const out: Label[] = [];
      for (const p of md) {
        let name = p.name;
        try {
          name = normalize(p.name);
        } catch {
          // Names the namer rejects (only underscores) are kept for validation to judge.
        }
        const at = out.findIndex((x) => x.name === name);
        if (at >= 0) out.splice(at, 1);
        out.push(name === p.name ? p : { name, value: p.value });
      }
      e.metadata = out;
    }
  }
}

/**
 * `labels` (sorted) with the service_name discovery adds, or null when it adds none (the labels
 * have one, or `names` is empty): the first non-empty label listed in `names`, else
 * unknown_service.
 */
export function withServiceName(labels: readonly Label[], names: readonly string[]): Label[] | null {
  if (names.length === 0 || labels.some((l) => l.name === SERVICE_NAME)) return null;
  let value = UNKNOWN_SERVICE;
  for (const n of names) {
    const l = labels.find((x) => x.name === n);
    if (l !== undefined && l.value !== '') {
      value = l.value;
      break;
    }
  }
  return sortLabels([...labels, sharedLabel(SERVICE_NAME, value)]);
}

/**
 * Loki's service-name discovery on a cached parse, in place: its label fields become the labels
 * as sent plus the service_name `withServiceName` adds for `names` (unchanged when it adds none).
 * Runs once per distinct label string and discovery list; a later call with another list
 * (another tenant's `discover_service_name`) starts again from the labels as sent.
 */
export function discoverServiceName(p: ParsedLabels, names: readonly string[]): void {
  if (p.discoveredFor === names) return;
  // Tenants whose limits hold equal lists (separate arrays) share the result, not redo it in turn.
  if (p.discoveredFor !== null && sameElements(p.discoveredFor, names)) {
    p.discoveredFor = names;
    return;
  }
  const sent = p.addedServiceName === null ? null : parsedLabelsAsSent(p);
  const discovered = withServiceName(sent ?? p.labels, names);
  p.discoveredFor = names;
  // Unchanged when discovery adds nothing to labels that are already as sent.
  const next = discovered ?? sent;
  if (next === null) return;
  p.labels = next;
  p.labelsString = labelsToString(next);
  p.fingerprint = fingerprint(next);
  p.addedServiceName = discovered === null ? null : discovered.find((l) => l.name === SERVICE_NAME)!;
}
