/**
 * Byte-level JSON helpers for the json/unpack parsers: whitespace, string ends, skipping nested
 * blocks without building values, and string decoding. Lenient like the jsonparser package Loki
 * uses (github.com/grafana/jsonparser): values are not validated beyond what is needed to find
 * their end. All functions work on [pos, end) of a Buffer and return positions (-1 = not found),
 * so nothing is allocated while skipping.
 */
import { replaceRuneError } from './sanitize.js';

/** jsonparser's error texts (Loki copies them into `__error_details__`). */
export const MALFORMED_JSON = 'Malformed JSON error';
export const MALFORMED_STRING = 'Value is string, but can\'t find closing \'"\' symbol';
export const MALFORMED_ARRAY = "Value is array, but can't find closing ']' symbol";
export const MALFORMED_OBJECT = "Value looks like object, but can't find closing '}' symbol";
export const UNKNOWN_VALUE_TYPE = 'Unknown value type';
export const MALFORMED_STRING_ESCAPE = 'Encountered an invalid escape sequence in a string';

/** Set by stringEnd: whether the string held a backslash. */
export let lastEscaped = false;

export function skipWs(b: Buffer, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
  return p;
}

/** `p` is just after an opening quote: index of the closing quote, or -1. Sets lastEscaped. */
export function stringEnd(b: Buffer, p: number, end: number): number {
  let esc = false;
  while (p < end) {
    const c = b[p]!;
    if (c === 0x22) {
      lastEscaped = esc;
      return p;
    }
    if (c === 0x5c) {
      esc = true;
      p += 2;
      continue;
    }
    p++;
  }
  lastEscaped = esc;
  return -1;
}

/** `p` is at `open`: index just after the matching `close` (strings skipped), or -1. */
export function blockEnd(b: Buffer, p: number, end: number, open: number, close: number): number {
  let level = 0;
  while (p < end) {
    const c = b[p]!;
    if (c === 0x22) {
      const se = stringEnd(b, p + 1, end);
      if (se < 0) return -1;
      p = se;
    } else if (c === open) level++;
    else if (c === close) {
      level--;
      if (level === 0) return p + 1;
    }
    p++;
  }
  return -1;
}

/** End of a bare token (number, true, false, null). */
export function tokenEnd(b: Buffer, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2c || c === 0x7d || c === 0x5d) return p;
    p++;
  }
  return end;
}

/** Kinds of bare tokens. */
export const TOK_NUMBER = 1;
export const TOK_TRUE = 2;
export const TOK_FALSE = 3;
export const TOK_NULL = 4;
export const TOK_BAD = 0;

export function tokenKind(b: Buffer, p: number, e: number): number {
  const c = b[p]!;
  const len = e - p;
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d) return TOK_NUMBER;
  if (c === 0x74) return len === 4 && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65 ? TOK_TRUE : TOK_BAD;
  if (c === 0x66) return len === 5 && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65 ? TOK_FALSE : TOK_BAD;
  if (c === 0x6e) return len === 4 && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c ? TOK_NULL : TOK_BAD;
  return TOK_BAD;
}

let scratch = Buffer.allocUnsafe(256);

function hex4(b: Buffer, p: number, end: number): number {
  if (p + 4 > end) return -1;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = b[p + i]!;
    let h: number;
    if (c >= 48 && c <= 57) h = c - 48;
    else if (c >= 97 && c <= 102) h = c - 87;
    else if (c >= 65 && c <= 70) h = c - 55;
    else return -1;
    v = (v << 4) | h;
  }
  return v;
}

/** Decodes a JSON string body [s,e) with escapes; null on an invalid escape. */
export function unescapeJson(b: Buffer, s: number, e: number): string | null {
  if (scratch.length < (e - s) * 2 + 8) scratch = Buffer.allocUnsafe((e - s) * 2 + 64);
  const out = scratch;
  let o = 0;
  let i = s;
  while (i < e) {
    const c = b[i]!;
    if (c !== 0x5c) {
      out[o++] = c;
      i++;
      continue;
    }
    if (i + 1 >= e) return null;
    const x = b[i + 1]!;
    i += 2;
    switch (x) {
      case 0x22:
      case 0x5c:
      case 0x2f:
        out[o++] = x;
        break;
      case 0x62:
        out[o++] = 0x08;
        break;
      case 0x66:
        out[o++] = 0x0c;
        break;
      case 0x6e:
        out[o++] = 0x0a;
        break;
      case 0x72:
        out[o++] = 0x0d;
        break;
      case 0x74:
        out[o++] = 0x09;
        break;
      case 0x75: {
        let cp = hex4(b, i, e);
        if (cp < 0) return null;
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          // A high surrogate needs a low one; otherwise U+FFFD like Go.
          const lo = b[i] === 0x5c && b[i + 1] === 0x75 ? hex4(b, i + 2, e) : -1;
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          } else cp = 0xfffd;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) cp = 0xfffd;
        o += out.write(String.fromCodePoint(cp), o, 'utf8');
        break;
      }
      default:
        return null;
    }
  }
  return out.toString('utf8', 0, o);
}

/** A JSON string value [s,e) as Loki stores it: unescaped ('' on a bad escape), U+FFFD → space. */
export function jsonStringValue(b: Buffer, s: number, e: number, escaped: boolean): string {
  const v = escaped ? unescapeJson(b, s, e) : b.toString('utf8', s, e);
  return v === null ? '' : replaceRuneError(v);
}
