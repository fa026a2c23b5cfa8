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
import type { StructuredMetadata, ValidStream } from '../model/stream.js';

/** The structured metadata name Loki stores the detected level under. */
export const DETECTED_LEVEL = 'detected_level';
/** The stream label service-name discovery sets. */
export const SERVICE_NAME = 'service_name';
/** Its value when no listed label is present. */
export const UNKNOWN_SERVICE = 'unknown_service';
/** The metadata name OTLP's severity number is stored under. */
export const OTLP_SEVERITY_NUMBER = 'severity_number';

const LEVEL_UNKNOWN = 'unknown';

/** Normalised level for a value compared case-insensitively (Loki's `normalizeLogLevel`), or null. */
function knownLevel(v: string): string | null {
  if (v.length < 3 || v.length > 11) return null;
  switch (v.toLowerCase()) {
    case 'trace':
    case 'trc':
      return 'trace';
    case 'debug':
    case 'dbg':
      return 'debug';
    case 'info':
    case 'inf':
    case 'information':
      return 'info';
    case 'warn':
    case 'wrn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'err':
      return 'error';
    case 'critical':
      return 'critical';
    case 'fatal':
      return 'fatal';
    default:
      return null;
  }
}

/** Loki's `normalizeLogLevel`: a known spelling becomes its canonical name, anything else stays as is. */
export function normalizeLogLevel(v: string): string {
  return knownLevel(v) ?? v;
}

/** Words searched for in free text, in Loki's order (earlier position wins, then list order). */
const LEVEL_WORDS: readonly (readonly [string, string])[] = [
  ['trace', 'trace'],
  ['debug', 'debug'],
  ['fatal', 'fatal'],
  ['critical', 'critical'],
  ['error', 'error'],
  ['err', 'error'],
  ['warning', 'warn'],
  ['warn', 'warn'],
  ['info', 'info'],
];

function leftBoundary(s: string, pos: number): boolean {
  if (pos < 0 || pos >= s.length) return true;
  const c = s[pos];
  return c === ' ' || c === '\t' || c === '\n' || c === '[' || c === '(' || c === '{' || c === '"' || c === "'" || c === '=' || c === '|';
}

function rightBoundary(s: string, pos: number): boolean {
  if (pos < 0 || pos >= s.length) return true;
  const c = s[pos];
  return (
    c === ' ' || c === '\t' || c === '\n' || c === '[' || c === ']' || c === '(' || c === ')' || c === '{' || c === '}' || c === ':' || c === ',' || c === '!' || c === '"' || c === "'" || c === '=' || c === '|'
  );
}

function indexOfBounded(s: string, word: string, before: number): number {
  let from = 0;
  for (;;) {
    const at = s.indexOf(word, from);
    if (at < 0 || at >= before) return -1;
    if (leftBoundary(s, at - 1) && rightBoundary(s, at + word.length)) return at;
    from = at + 1;
  }
}

/** Loki's `detectLevelFromLogLine`: the level word that appears first as a whole word; `unknown` when none. */
export function detectLevelFromText(line: string): string {
  const lower = line.toLowerCase();
  let best = lower.length;
  let guess = LEVEL_UNKNOWN;
  for (const [word, level] of LEVEL_WORDS) {
    const at = indexOfBounded(lower, word, best);
    if (at < 0) continue;
    best = at;
    guess = level;
    if (at === 0) break;
  }
  return guess;
}

function isSpaceCode(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
}

/** Loki's `isJSON`: first and last non-space characters are braces. */
function looksLikeJson(s: string): boolean {
  let i = 0;
  while (i < s.length && isSpaceCode(s.charCodeAt(i))) i++;
  let j = s.length - 1;
  while (j > i && isSpaceCode(s.charCodeAt(j))) j--;
  return s.charCodeAt(i) === 0x7b && s.charCodeAt(j) === 0x7d;
}

/** First string value under an allowed key, searching nested objects up to `maxDepth` levels. */
function jsonLevel(obj: unknown, allowed: ReadonlySet<string>, depth: number, maxDepth: number): string | null {
  if (maxDepth > 0 && depth >= maxDepth) return null;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof v === 'string') {
      if (allowed.has(k)) return v;
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const r = jsonLevel(v, allowed, depth + 1, maxDepth);
      if (r !== null) return r;
    }
  }
  return null;
}

/**
 * The value of the earliest-listed `hints` key (case-insensitive) in a logfmt line, or null.
 * Stops at the first malformed pair, as go-logfmt's scanner does.
 */
export function logfmtValue(line: string, hints: readonly string[]): string | null {
  const lowerHints = hints.map((h) => h.toLowerCase());
  let best = hints.length;
  let res: string | null = null;
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 0x20) i++;
    if (i >= n) break;
    const k0 = i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c <= 0x20 || c === 0x3d || c === 0x22) break;
      i++;
    }
    if (i === k0) break; // '=' or '"' where a key should start
    const key = line.slice(k0, i).toLowerCase();
    let value = '';
    if (i < n && line.charCodeAt(i) === 0x3d) {
      i++;
      if (i < n && line.charCodeAt(i) === 0x22) {
        let j = i + 1;
        let escaped = false;
        while (j < n && line.charCodeAt(j) !== 0x22) {
          if (line.charCodeAt(j) === 0x5c) {
            escaped = true;
            j++;
          }
          j++;
        }
        if (j >= n) break; // unterminated quote
        const raw = line.slice(i, j + 1);
        try {
          value = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        } catch {
          value = raw.slice(1, -1);
        }
        i = j + 1;
      } else {
        const v0 = i;
        while (i < n && line.charCodeAt(i) > 0x20) i++;
        value = line.slice(v0, i);
      }
    }
    const h = lowerHints.indexOf(key);
    if (h >= 0 && h < best) {
      best = h;
      res = value;
      if (h === 0) return res;
    }
  }
  return res;
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
  readonly #fieldSet: ReadonlySet<string>;
  readonly #maxDepth: number;

  constructor(fields: readonly string[], maxDepth: number) {
    this.#fields = fields;
    this.#fieldSet = new Set(fields);
    this.#maxDepth = maxDepth;
  }

  /** The level of a stream's entries when a stream label names it (then it holds for every entry), else null. */
  fromStreamLabels(labels: Labels): string | null {
    const v = firstOf(labels, this.#fields);
    return v === null ? null : normalizeLogLevel(v);
  }

  /** The level of one entry from its metadata or line (after `fromStreamLabels` found none). */
  fromEntry(metadata: StructuredMetadata, line: string): string {
    const v = firstOf(metadata, this.#fields);
    if (v !== null) return normalizeLogLevel(v);
    for (const p of metadata) if (p.name === OTLP_SEVERITY_NUMBER) return levelFromSeverityNumber(p.value);
    return this.fromLine(line);
  }

  /** Loki's `extractLogLevelFromLogLine`: a JSON or logfmt field, else a level word in the text. */
  fromLine(line: string): string {
    let v: string | null = null;
    if (looksLikeJson(line)) {
      try {
        v = jsonLevel(JSON.parse(line), this.#fieldSet, 0, this.#maxDepth);
      } catch {
        v = null;
      }
    } else if (line.includes('=')) {
      v = logfmtValue(line, this.#fields);
    } else {
      return detectLevelFromText(line);
    }
    return (v === null ? null : knownLevel(v)) ?? detectLevelFromText(line);
  }
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
      const level = fromLabels ?? detector.fromEntry(md, e.line.toString('utf8'));
      e.metadata = [...md, { name: DETECTED_LEVEL, value: level }];
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

/** A stream's labels after service-name discovery. */
interface Discovered {
  labels: Labels;
  labelsString: string;
  fingerprint: string;
}

/** Entries kept before the cache of discovered label sets is cleared. */
const MAX_CACHED_LABEL_SETS = 100_000;

/**
 * Loki's service-name discovery, cached per label string. Streams that become equal (one
 * already had the service_name another one gets) are merged.
 */
export class ServiceNameDiscovery {
  readonly #cache = new Map<string, Discovered | null>();
  #cacheKeyList: readonly string[] | null = null;

  /** Returns `streams` with service_name added where missing (the same array when nothing changed). */
  apply(streams: ValidStream[], names: readonly string[]): ValidStream[] {
    if (names.length === 0) return streams;
    if (this.#cacheKeyList !== names) {
      this.#cache.clear();
      this.#cacheKeyList = names;
    }
    let changed = false;
    for (const s of streams) {
      const d = this.#discover(s, names);
      if (d === null) continue;
      s.labels = d.labels;
      s.labelsString = d.labelsString;
      s.fingerprint = d.fingerprint;
      changed = true;
    }
    if (!changed || streams.length === 1) return streams;
    const byLabels = new Map<string, ValidStream>();
    const out: ValidStream[] = [];
    for (const s of streams) {
      const prev = byLabels.get(s.labelsString);
      if (prev === undefined) {
        byLabels.set(s.labelsString, s);
        out.push(s);
      } else {
        prev.entries = prev.entries.concat(s.entries);
      }
    }
    return out;
  }

  #discover(s: ValidStream, names: readonly string[]): Discovered | null {
    const cached = this.#cache.get(s.labelsString);
    if (cached !== undefined) return cached;
    let d: Discovered | null = null;
    if (!s.labels.some((l) => l.name === SERVICE_NAME)) {
      let value = UNKNOWN_SERVICE;
      for (const n of names) {
        const l = s.labels.find((x) => x.name === n);
        if (l !== undefined && l.value !== '') {
          value = l.value;
          break;
        }
      }
      const labels = sortLabels([...s.labels, { name: SERVICE_NAME, value }]);
      d = { labels, labelsString: labelsToString(labels), fingerprint: fingerprint(labels) };
    }
    if (this.#cache.size >= MAX_CACHED_LABEL_SETS) this.#cache.clear();
    this.#cache.set(s.labelsString, d);
    return d;
  }
}
