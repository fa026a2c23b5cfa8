/**
 * Parameters of Loki's HTTP query API (pkg/loghttp): times, ranges, steps, limits and
 * directions as the querier's routes and the query-frontend's planners read them.
 */
import { InvalidError } from '../errors.js';
import { parseConfigDurationMs } from '../util/go/duration.js';
import { parseRfc3339 } from '../util/go/rfc3339.js';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Request parameters from the query string and, for POST forms, the body. */
export type Params = URLSearchParams;

/**
 * Parses a time the way Loki's loghttp does: a number with a dot is float seconds; an
 * integer of up to 10 digits is seconds, longer is nanoseconds; otherwise RFC3339(Nano).
 */
export function parseTimeNs(value: string): bigint {
  const v = value.trim();
  if (/^-?\d+\.\d*$/.test(v) || /^-?\d*\.\d+$/.test(v)) {
    const neg = v.startsWith('-');
    const [ip, fp = ''] = (neg ? v.slice(1) : v).split('.');
    const ns = BigInt(ip || '0') * NS_PER_S + BigInt((fp + '000000000').slice(0, 9));
    return neg ? -ns : ns;
  }
  if (/^-?\d+$/.test(v)) {
    const digits = v.replace('-', '');
    const n = BigInt(v);
    if (digits.length > 19) throw new InvalidError(`cannot parse "${value}" to a valid timestamp`);
    return digits.length <= 10 ? n * NS_PER_S : n;
  }
  const ns = parseRfc3339(v);
  if (ns !== null) return ns;
  throw new InvalidError(`cannot parse "${value}" to a valid timestamp`);
}

/** A non-negative duration parameter (`5m`) or float seconds (`300`), in ms. */
export function parseDurationParam(value: string, name: string): number {
  const ms = parseConfigDurationMs(value);
  if (ms !== null && ms >= 0) return ms;
  const s = Number(value);
  if (value.trim() !== '' && Number.isFinite(s) && s >= 0) return s * 1000;
  throw new InvalidError(`cannot parse "${value}" to a valid duration for ${name}`);
}

export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

/** `start`, `end` and `since` with Loki's defaults: end = now, start = end - since (1h). */
export function parseRange(p: Params, nowNs: bigint, defaultSinceMs = 3_600_000): TimeRange {
  const end = p.get('end');
  const endNs = end ? parseTimeNs(end) : nowNs;
  const since = p.get('since');
  const sinceMs = since ? parseDurationParam(since, 'since') : defaultSinceMs;
  const start = p.get('start');
  const startNs = start ? parseTimeNs(start) : endNs - BigInt(Math.round(sinceMs)) * NS_PER_MS;
  if (endNs < startNs) throw new InvalidError('end timestamp must not be before or equal to start time');
  return { startNs, endNs };
}

export function parseLimit(p: Params, def = 100): number {
  const v = p.get('limit');
  if (v === null || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  if (n <= 0) throw new InvalidError('limit must be a positive value');
  return n;
}

export function parseDirection(p: Params): 'forward' | 'backward' {
  const v = p.get('direction');
  if (v === null || v === '') return 'backward';
  const d = v.toLowerCase();
  if (d === 'forward' || d === 'backward') return d;
  throw new InvalidError(`invalid direction '${v}'`);
}

/** Loki's default step: max(floor((end - start) / 250 s), 1 s), in ns. */
export function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const s = (endNs - startNs) / 250n / NS_PER_S;
  return (s > 1n ? s : 1n) * NS_PER_S;
}

/**
 * `step` as a duration (`15s`) or float seconds (`15`, `0.5`), defaulting as Loki does;
 * zero or negative steps are rejected with Loki's message.
 */
export function parseStep(p: Params, startNs: bigint, endNs: bigint): bigint {
  const v = p.get('step');
  if (v === null || v === '') return defaultStepNs(startNs, endNs);
  let ns: bigint;
  if (/^-?\d+(\.\d+)?$/.test(v.trim())) {
    const [ip, fp = ''] = v.trim().replace('-', '').split('.');
    ns = BigInt(ip!) * NS_PER_S + BigInt((fp + '000000000').slice(0, 9));
    if (v.trim().startsWith('-')) ns = -ns;
  } else {
    const ms = parseConfigDurationMs(v);
    if (ms === null) throw new InvalidError(`cannot parse "${v}" to a valid duration`);
    ns = BigInt(Math.round(ms * 1e6));
  }
  if (ns <= 0n) throw new InvalidError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  return ns;
}
