/**
 * The type Loki's detected_fields assigns to a value (determineType in
 * pkg/querier/queryrange/detected_fields.go): the first of Go's strconv.ParseInt,
 * ParseFloat, ParseBool, time.ParseDuration and humanize.ParseBytes that accepts it.
 */
import { BytesScan, scanHumanBytes } from '../../util/go/bytes.js';
import { DurationScan, scanDuration } from '../../util/go/duration.js';

export type DetectedFieldType = 'int' | 'float' | 'boolean' | 'duration' | 'bytes' | 'string';

const INT = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?\d+|inf|infinity|nan)$/i;
const BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);
const DURATION_SCAN = new DurationScan();
const BYTES_SCAN = new BytesScan();

function isInt(v: string): boolean {
  if (!INT.test(v)) return false;
  const n = BigInt(v);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** Whether humanize.ParseBytes accepts the value: digits, dots and commas, optional spaces, a unit. */
export function isBytes(value: string): boolean {
  return scanHumanBytes(value, BYTES_SCAN);
}

export function determineType(value: string): DetectedFieldType {
  if (isInt(value)) return 'int';
  if (FLOAT.test(value)) return 'float';
  if (BOOL.has(value)) return 'boolean';
  if (scanDuration(value, DURATION_SCAN)) return 'duration';
  if (isBytes(value)) return 'bytes';
  return 'string';
}
