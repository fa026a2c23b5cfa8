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
