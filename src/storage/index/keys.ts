/** Index object keys and day arithmetic. */
import { DAY_NS, INDEX_PREFIX, SEGMENT_SUFFIX } from './consts.js';

/** The UTC day number of a timestamp: floor(ns / 86400e9); negative times clamp to day 0. */
export function dayOf(ns: bigint): number {
  return ns <= 0n ? 0 : Number(ns / DAY_NS);
}

/** First nanosecond of a day. */
export function dayStartNs(day: number): bigint {
  return BigInt(day) * DAY_NS;
}

/** `index/<day>/<tenant>/`: the listing prefix of one (tenant, day) table. */
export function tablePrefix(tenant: string, day: number): string {
  return `${INDEX_PREFIX}${day}/${tenant}/`;
}

/** Digits of the zero-padded sequence number (covers µs since the epoch past year 2200). */
export const SEQ_DIGITS = 16;

/** `index/<day>/<tenant>/<writerId>-<seq>.idx`. */
export function segmentKey(tenant: string, day: number, writerId: string, seq: number): string {
  return `${tablePrefix(tenant, day)}${writerId}-${String(seq).padStart(SEQ_DIGITS, '0')}${SEGMENT_SUFFIX}`;
}

/** Parses `index/<day>/<tenant>/<file>.idx`; undefined for any other key. */
export function parseSegmentKey(key: string): { day: number; tenant: string } | undefined {
  if (!key.startsWith(INDEX_PREFIX) || !key.endsWith(SEGMENT_SUFFIX)) return undefined;
  const parts = key.slice(INDEX_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [dayText, tenant] = parts as [string, string, string];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(dayText)) return undefined;
  return { day: Number(dayText), tenant };
}
