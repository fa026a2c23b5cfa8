/**
 * The regex engine of Silt: every LogQL regex (line filters `|~`/`!~`, label matchers `=~`/`!~`,
 * the `regexp` parser, `label_replace`, `decolorize`, template functions) compiles here and
 * nowhere else. The engine is re2js, a JavaScript port of Go's `regexp` package (via RE2/J):
 * Go's syntax and semantics (leftmost-first, no backreferences or lookaround, `(?i)`, `\pL`,
 * `(?P<name>…)`), Go's error texts (`error parsing regexp: missing closing ): \`(a\``, which Loki
 * returns to clients) and matching in time linear in the input, so no query can block the event
 * loop. See docs/adr/0018-no-native-compile.md for the measurements behind the choice.
 *
 * Inputs are JS strings or UTF-8 bytes. Bytes are matched as Go matches a `[]byte`: each byte of
 * an invalid UTF-8 sequence is one U+FFFD rune. Pure-ASCII byte inputs take a faster path
 * (a Latin-1 string of the same characters; the result is the same).
 */
import { isAscii } from 'node:buffer';
import { RE2JS, RE2JSSyntaxException } from 're2js';

/** One match: `[0]` the whole match, `[i]` group i (undefined when it took no part), like RegExpExecArray. */
export interface RegexMatch extends Array<string | undefined> {
  0: string;
  /** Start of the match: a UTF-16 index for string input, a byte offset for byte input. */
  index: number;
  /** End of the match (exclusive), in the same unit as `index`. */
  end: number;
  /** Named groups (undefined when the pattern has none); a group that took no part is undefined. */
  groups: Record<string, string | undefined> | undefined;
}

/** A compiled pattern. Immutable and safe to share (matching keeps no state between calls). */
export class Regex {
  /** Named groups and their group numbers, in group order; empty when the pattern has none. */
  private readonly names: readonly (readonly [string, number])[];
  /** For `(?i)lit|lit…` with printable-ASCII literals: the literals lower-cased, else null. */
  private readonly foldedLiterals: readonly string[] | null;

  private constructor(
    private readonly re: RE2JS,
    /** The pattern as compiled (with the anchors compileAnchored adds). */
    readonly source: string,
  ) {
    const g = re.namedGroups();
    this.names = Object.keys(g)
      .map((k) => [k, g[k]!] as const)
      .sort((a, b) => a[1] - b[1]);
    this.foldedLiterals = foldedLiterals(source);
  }

  /** Compiles `pattern`; throws RE2JSSyntaxException for an invalid one (check with regexError first). */
  static compile(pattern: string): Regex {
    return new Regex(RE2JS.compile(pattern), pattern);
  }

  /** Names of the named groups, in group order. */
  groupNames(): string[] {
    return this.names.map((n) => n[0]);
  }

  /** Whether the pattern matches anywhere in `input`. */
  test(input: string | Uint8Array): boolean {
    if (typeof input !== 'string' && isAscii(input)) {
      const s = latin1(input);
      const lits = this.foldedLiterals;
      if (lits === null) return this.re.test(s);
      // In ASCII text a letter's only case fold is its ASCII pair (K's other fold, U+212A, and
      // S's, U+017F, are not ASCII), so `(?i)` on literals is a lower-cased substring search.
      const lower = s.toLowerCase();
      for (let i = 0; i < lits.length; i++) if (lower.includes(lits[i]!)) return true;
      return false;
    }
    return this.re.test(input);
  }

  /**
   * The leftmost-first match starting at or after `from` (a UTF-16 index for strings, a byte
   * offset for bytes), or null. Group values are strings in both cases.
   */
  exec(input: string | Uint8Array, from = 0): RegexMatch | null {
    const m = this.re.matcher(typeof input !== 'string' && isAscii(input) ? latin1(input) : input);
    if (!m.find(from)) return null;
    const n = m.groupCount();
    const r = new Array<string | undefined>(n + 1) as RegexMatch;
    for (let i = 0; i <= n; i++) r[i] = m.group(i) ?? undefined;
    r.index = m.start();
    r.end = m.end();
    r.groups = undefined;
    if (this.names.length > 0) {
      const groups: Record<string, string | undefined> = {};
      for (const [name, i] of this.names) groups[name] = r[i];
      r.groups = groups;
    }
    return r;
  }

  /**
   * `input` with every match replaced by `replacement` (literal bytes, no `$` expansion), by Go's
   * `ReplaceAll` rules: an empty match right after a match is not replaced, and bytes outside
   * matches are kept as they are (invalid UTF-8 included).
   */
  replaceAll(input: Uint8Array, replacement: Uint8Array): Buffer {
    const ascii = isAscii(input);
    const m = this.re.matcher(ascii ? latin1(input) : input);
    const parts: Uint8Array[] = [];
    let last = 0;
    let from = 0;
    let prevEnd = -1;
    while (from <= input.length && m.find(from)) {
      const start = m.start();
      const end = m.end();
      if (!(start === end && start === prevEnd)) {
        parts.push(input.subarray(last, start), replacement);
        last = end;
      }
      prevEnd = end;
      // Always advance, by at least one rune.
      from = end > start ? end : end + (ascii ? 1 : runeWidth(input, end));
    }
    if (parts.length === 0) return asBuffer(input);
    parts.push(input.subarray(last));
    return Buffer.concat(parts);
  }
}

/** Characters with a meaning in a pattern; a branch free of them is a literal. */
const LITERAL_BRANCH = /^[\x20-\x7e]*$/;
const META = /[\\.+*?()[\]{}^$|]/;

/** The lower-cased literals of `(?i)a|b|…` when every branch is printable ASCII without metacharacters. */
function foldedLiterals(source: string): string[] | null {
  if (!source.startsWith('(?i)')) return null;
  const branches = source.slice(4).split('|');
  for (const b of branches) if (!LITERAL_BRANCH.test(b) || META.test(b)) return null;
  return branches.map((b) => b.toLowerCase());
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** The same characters as a string: only for ASCII bytes, where Latin-1 and UTF-8 agree. */
function latin1(b: Uint8Array): string {
  return asBuffer(b).toString('latin1');
}

/** Byte length of the UTF-8 sequence at `i` as Go's utf8.DecodeRune counts it (1 for an invalid byte). */
function runeWidth(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === undefined || c < 0xc2 || c > 0xf4) return 1;
  const n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  if (i + n > b.length) return 1;
  const c1 = b[i + 1]!;
  const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
  const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
  if (c1 < lo || c1 > hi) return 1;
  for (let k = 2; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 1;
  return n;
}

/** Go's `(*syntax.Error).Error()`: `error parsing regexp: <code>: \`<expr>\``. */
function goRegexError(e: unknown): string {
  if (e instanceof RE2JSSyntaxException) return `error parsing regexp: ${e.error}: \`${e.input ?? ''}\``;
  return e instanceof Error ? e.message : String(e);
}

/** Validity cache: parse-time checks of the same patterns repeat across queries. */
const checked = new Map<string, string | null>();
const CHECK_CACHE_MAX = 4096;

/** Returns Go's error text for an invalid pattern, or null when it compiles. */
export function regexError(pattern: string): string | null {
  const hit = checked.get(pattern);
  if (hit !== undefined) return hit;
  let err: string | null = null;
  try {
    RE2JS.compile(pattern);
  } catch (e) {
    err = goRegexError(e);
  }
  if (checked.size >= CHECK_CACHE_MAX) checked.clear();
  checked.set(pattern, err);
  return err;
}

/** Compiles `pattern` fully anchored with `.` matching newlines, as Prometheus label matchers do (`^(?s:p)$`). */
export function compileAnchored(pattern: string): Regex {
  return Regex.compile(`^(?s:${pattern})$`);
}

const emptyMatch = new Map<string, boolean>();

/** Whether the anchored pattern matches the empty string (cached; pattern must be valid). */
export function anchoredMatchesEmpty(pattern: string): boolean {
  let hit = emptyMatch.get(pattern);
  if (hit === undefined) {
    hit = compileAnchored(pattern).test('');
    if (emptyMatch.size >= CHECK_CACHE_MAX) emptyMatch.clear();
    emptyMatch.set(pattern, hit);
  }
  return hit;
}

/** Compiles an unanchored regex (Go semantics: `.` does not match `\n` unless `(?s)`). */
export function compileUnanchored(pattern: string): Regex {
  return Regex.compile(pattern);
}

/** Names of the named capture groups `(?P<name>...)` / `(?<name>...)` of a valid pattern, in order. */
export function captureNames(pattern: string): string[] {
  return Regex.compile(pattern).groupNames();
}

/**
 * For each top-level alternative of `pattern`, the longest run of literal characters that every
 * match of that alternative contains, or null. A line can only match when it holds one of the
 * runs, so a block-wide substring search picks the lines worth running RE2 on (ripgrep's literal
 * prefilter). Conservative: null when an alternative has no run (it could match anything) or the
 * pattern uses syntax this reading does not follow (flags, `\Q…\E`, numeric and Unicode escapes,
 * a `{` that is not a repeat, non-ASCII outside groups and classes). Runs are printable ASCII, so
 * byte-wise search finds them exactly where RE2 does, invalid UTF-8 around them or not.
 */
export function requiredLiterals(pattern: string): string[] | null {
  // Flags change how later literals match (`(?i)`); `\Q…\E` quotes metacharacters.
  if (/\(\?(?!:|P<)/.test(pattern) || pattern.includes('\\Q')) return null;
  const end = pattern.length;
  const alternatives: string[] = [];
  let best = '';
  let run = '';
  const endRun = (): void => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; ; ) {
    if (i === end || pattern[i] === '|') {
      endRun();
      if (best === '') return null;
      alternatives.push(best);
      best = '';
      if (i === end) return alternatives;
      i++;
      continue;
    }
    const c = pattern[i]!;
    let literal: string | null = null;
    let next: number;
    if (c === '\\') {
      const e = pattern[i + 1] ?? '';
      next = i + 2;
      if (escapedPunct(e)) literal = e >= ' ' && e <= '~' ? e : null;
      else if (!ZERO_OR_CLASS_ESCAPES.includes(e) || e === '') return null;
    } else if (c === '(') {
      next = groupEnd(pattern, i);
    } else if (c === '[') {
      next = classEnd(pattern, i);
    } else if (c === '{' || c === '}' || c === ')' || c === ']' || c === '*' || c === '+' || c === '?') {
      return null;
    } else {
      next = i + 1;
      if (c !== '.' && c !== '^' && c !== '$') {
        if (c < ' ' || c > '~') return null;
        literal = c;
      }
    }
    if (next < 0) return null;
    // A quantifier on this element: it may occur zero times (or several, for +): the run ends.
    let quantified = true;
    const q = pattern[next];
    if (q === '*' || q === '+' || q === '?') next++;
    else if (q === '{') {
      const m = /^\{\d+(,\d*)?\}/.exec(pattern.slice(next, next + 24));
      if (!m) return null;
      next += m[0].length;
    } else quantified = false;
    if (quantified && pattern[next] === '?') next++;
    if (literal !== null && !quantified) run += literal;
    else endRun();
    i = next;
  }
}

/** Escapes RE2 reads as one zero-width assertion or one class (`\d`, `\b`…). */
const ZERO_OR_CLASS_ESCAPES = 'dDsSwWbBAz';

/** Whether `\e` is `e` itself: Go's rule, any ASCII character that is not a letter or digit. */
function escapedPunct(e: string): boolean {
  return e.length === 1 && e < '\x80' && !/[0-9A-Za-z]/.test(e);
}

/** Length of the escape at `at` (a backslash) inside a group or class, or -1 when unsupported. */
function escapeLen(p: string, at: number): number {
  const e = p[at + 1] ?? '';
  return escapedPunct(e) || (e !== '' && ZERO_OR_CLASS_ESCAPES.includes(e)) ? 2 : -1;
}

/** Index after the class `[…]` at `at`, or -1. */
function classEnd(p: string, at: number): number {
  let j = at + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++;
  while (j < p.length) {
    const c = p[j]!;
    if (c === '\\') {
      const n = escapeLen(p, j);
      if (n < 0) return -1;
      j += n;
    } else if (c === '[' && p[j + 1] === ':') {
      const close = p.indexOf(':]', j + 2);
      if (close < 0) return -1;
      j = close + 2;
    } else if (c === ']') return j + 1;
    else j++;
  }
  return -1;
}

/** Index after the group `(…)` at `at`, or -1. */
function groupEnd(p: string, at: number): number {
  let depth = 0;
  for (let j = at; j < p.length; ) {
    const c = p[j]!;
    if (c === '\\') {
      const n = escapeLen(p, j);
      if (n < 0) return -1;
      j += n;
    } else if (c === '[') {
      j = classEnd(p, j);
      if (j < 0) return -1;
    } else {
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return j + 1;
      j++;
    }
  }
  return -1;
}
