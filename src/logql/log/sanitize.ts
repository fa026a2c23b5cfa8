/**
 * Label names from parsed data, sanitised the way Loki's parsers do (`sanitizeLabelKey` in
 * pkg/logql/log/util.go): surrounding whitespace trimmed, a leading digit prefixed with `_`,
 * and every character outside `[A-Za-z0-9_]` (each code point, not each byte) replaced by `_`.
 */

/** Suffix Loki adds to a parsed label whose name clashes with a stream label or metadata. */
export const DUPLICATE_SUFFIX = '_extracted';

/** Loki's error label names. */
export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';
export const PRESERVE_ERROR_LABEL = '__preserve_error__';

/** Loki's `__error__` values (pkg/logql/log/error.go). */
export const ERR_JSON = 'JSONParserErr';
export const ERR_LOGFMT = 'LogfmtParserErr';
export const ERR_SAMPLE_EXTRACTION = 'SampleExtractionErr';
export const ERR_LABEL_FILTER = 'LabelFilterErr';
export const ERR_TEMPLATE_FORMAT = 'TemplateFormatErr';

function isWs(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

function isIdent(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/** True when `s` needs no change: non-empty, only `[A-Za-z0-9_]`, no leading digit. */
export function isPlainName(s: string): boolean {
  if (s.length === 0) return false;
  const c0 = s.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) return false;
  for (let i = 0; i < s.length; i++) if (!isIdent(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Loki's sanitizeLabelKey(key, true). `prefixDigit` false leaves a leading digit alone (used for
 * the non-first parts of a nested JSON key). Returns '' when nothing is left after trimming.
 */
export function sanitizeLabelKey(key: string, prefixDigit = true): string {
  if (isPlainName(key)) return key;
  let start = 0;
  let end = key.length;
  while (start < end && isWs(key.charCodeAt(start))) start++;
  while (end > start && isWs(key.charCodeAt(end - 1))) end--;
  if (start === end) return '';
  let out = '';
  const c0 = key.charCodeAt(start);
  if (prefixDigit && c0 >= 48 && c0 <= 57) out = '_';
  for (let i = start; i < end; i++) {
    const c = key.charCodeAt(i);
    if (isIdent(c)) out += key[i]!;
    else {
      out += '_';
      // One `_` per code point: skip the low half of a surrogate pair.
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
        const d = key.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
    }
  }
  return out;
}

/** Replaces U+FFFD (Go's utf8.RuneError, also produced for invalid UTF-8) by a space, as Loki does for values. */
export function replaceRuneError(s: string): string {
  return s.indexOf('\ufffd') < 0 ? s : s.replaceAll('\ufffd', ' ');
}
