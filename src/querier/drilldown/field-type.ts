/**
 * The type Loki's detected_fields assigns to a value (determineType in
 * pkg/querier/queryrange/detected_fields.go): the first of Go's strconv.ParseInt,
 * ParseFloat, ParseBool, time.ParseDuration and humanize.ParseBytes that accepts it.
 */
export type DetectedFieldType = 'int' | 'float' | 'boolean' | 'duration' | 'bytes' | 'string';

const INT = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?\d+|inf|infinity|nan)$/i;
const BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);
const DURATION = /^[+-]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
/** humanize.ParseBytes units (lower case); '' is plain bytes. */
const BYTE_UNITS = new Set(['', 'b', 'kib', 'ki', 'kb', 'k', 'mib', 'mi', 'mb', 'm', 'gib', 'gi', 'gb', 'g', 'tib', 'ti', 'tb', 't', 'pib', 'pi', 'pb', 'p', 'eib', 'ei', 'eb', 'e', 'zib', 'zi', 'zb', 'z', 'yib', 'yi', 'yb', 'y']);

function isInt(v: string): boolean {
  if (!INT.test(v)) return false;
  const n = BigInt(v);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** humanize.ParseBytes: digits, dots and commas, optional spaces, then a known unit. */
export function isBytes(value: string): boolean {
  const s = value.trim();
  let i = 0;
  while (i < s.length && /[0-9.,]/.test(s[i]!)) i++;
  const num = s.slice(0, i).replaceAll(',', '');
  if (num === '' || !FLOAT.test(num)) return false;
  return BYTE_UNITS.has(s.slice(i).trim().toLowerCase());
}

export function determineType(value: string): DetectedFieldType {
  if (isInt(value)) return 'int';
  if (FLOAT.test(value)) return 'float';
  if (BOOL.has(value)) return 'boolean';
  if (DURATION.test(value)) return 'duration';
  if (isBytes(value)) return 'bytes';
  return 'string';
}
