/**
 * RE2 compilation shared by validation and evaluation, with Go's `regexp` error wording
 * (`error parsing regexp: missing closing ): \`(a\``), which Loki returns to clients.
 */
import RE2 from 're2';

/** RE2 (C++) error descriptions mapped to Go's regexp/syntax ErrorCode texts. */
const GO_CODES: ReadonlyArray<readonly [string, string]> = [
  ['missing )', 'missing closing )'],
  ['unexpected )', 'unexpected )'],
  ['missing ]', 'missing closing ]'],
  ['bad repetition operator', 'invalid nested repetition operator'],
  ['invalid repetition size', 'invalid repeat count'],
  ['missing argument to repetition operator', 'missing argument to repetition operator'],
  ['invalid character class range', 'invalid character class range'],
  ['invalid character class', 'invalid character class'],
  ['invalid escape sequence', 'invalid escape sequence'],
  ['trailing \\', 'trailing backslash at end of expression'],
  ['invalid named capture group', 'invalid named capture'],
  ['invalid perl operator', 'invalid or unsupported Perl syntax'],
  ['invalid UTF-8', 'invalid UTF-8'],
  ['pattern too large', 'expression too large'],
];

/** Converts an RE2 SyntaxError message into Go's `error parsing regexp: code: \`expr\``. */
function goRegexError(message: string, pattern: string): string {
  const sep = message.indexOf(': ');
  const desc = sep >= 0 ? message.slice(0, sep) : message;
  let expr = sep >= 0 ? message.slice(sep + 2) : pattern;
  const code = GO_CODES.find(([re2]) => desc.startsWith(re2))?.[1] ?? desc;
  if (code === 'missing closing )' || code === 'unexpected )') expr = pattern;
  return `error parsing regexp: ${code}: \`${expr}\``;
}

/** Validity cache: parse-time checks of the same patterns repeat across queries. */
const checked = new Map<string, string | null>();
const CHECK_CACHE_MAX = 4096;

/** Returns Go's error text for an invalid RE2 pattern, or null when it compiles. */
export function regexError(pattern: string): string | null {
  const hit = checked.get(pattern);
  if (hit !== undefined) return hit;
  let err: string | null = null;
  try {
    new RE2(pattern, 'u');
  } catch (e) {
    err = goRegexError(e instanceof Error ? e.message : String(e), pattern);
  }
  if (checked.size >= CHECK_CACHE_MAX) checked.clear();
  checked.set(pattern, err);
  return err;
}

/** Compiles `pattern` fully anchored with `.` matching newlines, as Prometheus label matchers do. */
export function compileAnchored(pattern: string): RE2 {
  return new RE2(`^(?s:${pattern})$`, 'u');
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

/** Compiles an unanchored line-filter regex (Go semantics: `.` does not match `\n`). */
export function compileUnanchored(pattern: string): RE2 {
  return new RE2(pattern, 'u');
}

/** Names of the named capture groups `(?P<name>...)` / `(?<name>...)` of a valid pattern. */
export function captureNames(pattern: string): string[] {
  const names: string[] = [];
  const re = /\\.|\[(?:\\.|[^\]\\])*\]|\(\?P?<([^>]+)>/g;
  for (let m = re.exec(pattern); m !== null; m = re.exec(pattern)) {
    if (m[1] !== undefined) names.push(m[1]);
  }
  return names;
}
