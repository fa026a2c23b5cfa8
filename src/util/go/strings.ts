/**
 * Go's string helpers that error texts and parsers elsewhere in `util/go` depend on:
 * `strconv.Quote` (what `%q` prints), the `time` package's private `quote`, and
 * `strings.TrimSpace` (Unicode White_Space, which differs from `String.prototype.trim`).
 */

const NON_PRINT = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Cs}]/u;
const SPACE_SEP = /\p{Zs}/u;

/** Go's `strconv.Quote` (and `%q` of a string); `q` = `'` gives the rune-literal quoting. */
export function quote(s: string, q = '"'): string {
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === q || ch === '\\') out += '\\' + ch;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c > 0x7f && (NON_PRINT.test(ch) || (c !== 0x20 && SPACE_SEP.test(ch)))) out += c > 0xffff ? '\\U' + c.toString(16).padStart(8, '0') : '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + q;
}

/**
 * The `time` package's own `quote` (time/format.go), used in ParseDuration's errors: `"` and
 * `\` are escaped, and every byte of a control or non-ASCII character is printed as `\xNN`.
 */
export function timeQuote(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return '"' + s + '"';
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c >= 0x80) {
      // A lone surrogate encodes as U+FFFD, which Go prints as its three bytes too.
      for (const b of Buffer.from(ch, 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (c === 0x22 || c === 0x5c) out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

/** Go's `unicode.IsSpace`. */
export function isGoSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** Go's `strings.TrimSpace`. */
export function trimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isGoSpace(s.charCodeAt(a))) a++;
  while (b > a && isGoSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
