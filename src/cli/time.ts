/**
 * Times for the CLI: Go durations (`--since 1h30m`), absolute times (`--from`), and Go's
 * RFC3339 / RFC3339Nano output in UTC or the local zone. Nanoseconds stay bigint throughout.
 */
import { NS_PER_MS, NS_PER_SECOND } from '../model/index.js';
import { CliError } from './errors.js';

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, μs: 1_000n, ms: 1_000_000n, s: NS_PER_SECOND, m: 60n * NS_PER_SECOND, h: 3600n * NS_PER_SECOND };

/** Go's time.ParseDuration, in ns. */
export function parseGoDuration(s: string): bigint {
  const v = s.trim();
  if (v === '0') return 0n;
  const m = /^([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(v);
  if (!m) throw new CliError(`time: invalid duration "${s}"`);
  let total = 0n;
  for (const part of m[2]!.matchAll(/(\d+)?(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/g)) {
    const unit = UNIT_NS[part[3]!]!;
    const frac = (part[2] ?? '').slice(0, 18);
    total += BigInt(part[1] ?? '0') * unit + (frac === '' ? 0n : (BigInt(frac) * unit) / 10n ** BigInt(frac.length));
  }
  return m[1] === '-' ? -total : total;
}

/** RFC3339(Nano) with Z or an offset; also unix seconds (≤ 10 digits) or ns. */
export function parseTimeArg(s: string, flag: string): bigint {
  const v = s.trim();
  if (/^\d+$/.test(v)) return v.length <= 10 ? BigInt(v) * NS_PER_SECOND : BigInt(v);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(v);
  if (m) {
    const ms = Date.parse(m[1]! + m[3]!);
    if (!Number.isNaN(ms)) return BigInt(ms) * NS_PER_MS + BigInt(((m[2] ?? '') + '000000000').slice(0, 9));
  }
  throw new CliError(`unable to parse time for --${flag} '${s}': use RFC3339 (2006-01-02T15:04:05Z07:00) or unix seconds/nanoseconds`);
}

export type Zone = 'UTC' | 'Local';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * Go's `time.RFC3339Nano` (fraction without trailing zeros) or `time.RFC3339` (no fraction)
 * in the given zone. Exact to the nanosecond.
 */
export function formatTime(tsNs: bigint, zone: Zone, nano = true): string {
  let sec = tsNs / NS_PER_SECOND;
  let frac = tsNs % NS_PER_SECOND;
  if (frac < 0n) {
    frac += NS_PER_SECOND;
    sec -= 1n;
  }
  const ms = Number(sec) * 1000;
  const offMin = zone === 'UTC' ? 0 : -new Date(ms).getTimezoneOffset();
  const d = new Date(ms + offMin * 60_000);
  let s = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (nano && frac > 0n) s += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  if (offMin === 0) return s + 'Z';
  const a = Math.abs(offMin);
  return s + (offMin < 0 ? '-' : '+') + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
}

/** Go's log package prefix: `2006/01/02 15:04:05 ` in local time. */
export function logPrefix(now = new Date()): string {
  return `${now.getFullYear()}/${pad(now.getMonth() + 1)}/${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())} `;
}
