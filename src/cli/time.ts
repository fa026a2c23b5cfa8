/**
 * Times for the CLI: Go durations (`--since 1h30m`), absolute times (`--from`), and Go's
 * RFC3339 / RFC3339Nano output in UTC or the local zone. Nanoseconds stay bigint throughout.
 */
import { NS_PER_SECOND } from '../model/index.js';
import { tryParseDuration } from '../util/go/duration.js';
import { formatRfc3339, formatRfc3339Nano, parseRfc3339 } from '../util/go/rfc3339.js';
import { CliError } from './errors.js';

/** Go's time.ParseDuration, in ns (surrounding spaces ignored); every failure reads `time: invalid duration`. */
export function parseGoDuration(s: string): bigint {
  const ns = tryParseDuration(s.trim());
  if (ns === null) throw new CliError(`time: invalid duration "${s}"`);
  return ns;
}

/** RFC3339(Nano) with Z or an offset; also unix seconds (≤ 10 digits) or ns. */
export function parseTimeArg(s: string, flag: string): bigint {
  const v = s.trim();
  if (/^\d+$/.test(v)) return v.length <= 10 ? BigInt(v) * NS_PER_SECOND : BigInt(v);
  const ns = parseRfc3339(v);
  if (ns !== null) return ns;
  throw new CliError(`unable to parse time for --${flag} '${s}': use RFC3339 (2006-01-02T15:04:05Z07:00) or unix seconds/nanoseconds`);
}

export type Zone = 'UTC' | 'Local';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * Go's `time.RFC3339Nano` (fraction without trailing zeros) or `time.RFC3339` (no fraction)
 * in the given zone. Exact to the nanosecond.
 */
export function formatTime(tsNs: bigint, zone: Zone, nano = true): string {
  let offsetSec = 0;
  if (zone === 'Local') {
    let sec = tsNs / NS_PER_SECOND;
    if (tsNs % NS_PER_SECOND < 0n) sec -= 1n;
    offsetSec = -new Date(Number(sec) * 1000).getTimezoneOffset() * 60;
  }
  return nano ? formatRfc3339Nano(tsNs, offsetSec) : formatRfc3339(tsNs, offsetSec);
}

/** Go's log package prefix: `2006/01/02 15:04:05 ` in local time. */
export function logPrefix(now = new Date()): string {
  return `${now.getFullYear()}/${pad(now.getMonth() + 1)}/${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())} `;
}
