/**
 * Per-line value conversions of label filters and unwrap, with Go's error texts (Loki puts them
 * in `__error_details__`). Float-based: no bigint per line (STYLE §2.3).
 */
import { quoteValue } from '../../model/labels.js';
import { parseGoFloat } from '../syntax/literals.js';
import { BytesScan, scanHumanBytes } from '../../util/go/bytes.js';
import { DurationScan, scanDuration } from '../../util/go/duration.js';

/** Scratch result: `ok` false means `error` holds the message. Reused; read before the next call. */
export class Conversion {
  ok = true;
  value = 0;
  error = '';
  fail(msg: string): false {
    this.ok = false;
    this.value = 0;
    this.error = msg;
    return false;
  }
  done(v: number): true {
    this.ok = true;
    this.value = v;
    this.error = '';
    return true;
  }
}

const FLOAT_RE = /^[+-]?(?:(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9]+)?|0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)$/;
const SPECIAL_RE = /^[+-]?(?:inf|infinity|nan)$/i;

/** Go strconv.ParseFloat(s, 64). */
export function parseFloatGo(s: string, out: Conversion): boolean {
  if (s.length > 0 && s.length < 32) {
    const c = s.charCodeAt(0);
    // Fast path: plain decimal.
    if ((c >= 48 && c <= 57) || c === 45) {
      const v = +s;
      if (v === v && FLOAT_RE.test(s)) {
        if (!Number.isFinite(v)) return out.fail(`strconv.ParseFloat: parsing ${quoteValue(s)}: value out of range`);
        return out.done(v);
      }
    }
  }
  // Underscores between digits (`1_000`), hex floats (`0x1p-2`): the query literals' reader.
  const f = parseGoFloat(s);
  if (f.ok) return out.done(f.value);
  if (f.error.endsWith('value out of range')) return out.fail(`strconv.ParseFloat: parsing ${quoteValue(s)}: value out of range`);
  if (SPECIAL_RE.test(s)) {
    const l = s.toLowerCase();
    return out.done(l.includes('nan') ? NaN : l[0] === '-' ? -Infinity : Infinity);
  }
  return out.fail(`strconv.ParseFloat: parsing ${quoteValue(s)}: invalid syntax`);
}

const DURATION_SCAN = new DurationScan();
const BYTES_SCAN = new BytesScan();

/** Go time.ParseDuration; the value is nanoseconds as a float (no bigint below 2^53 ns). */
export function parseDurationGo(orig: string, out: Conversion): boolean {
  return scanDuration(orig, DURATION_SCAN) ? out.done(DURATION_SCAN.ns) : out.fail(DURATION_SCAN.error);
}

/** go-humanize ParseBytes: `10KB`, `1.5 MiB`, `42`. */
export function parseBytesHuman(s: string, out: Conversion): boolean {
  return scanHumanBytes(s, BYTES_SCAN) ? out.done(BYTES_SCAN.bytes) : out.fail(BYTES_SCAN.error);
}
