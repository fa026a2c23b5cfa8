/**
 * Time helpers. Timestamps are nanoseconds since the Unix epoch as `bigint` at every
 * edge (API, WAL, chunk and index metadata) because they exceed 2^53; see
 * docs/adr/0001-timestamps.md for how hot loops avoid per-entry bigint work.
 */
export const NS_PER_MS = 1_000_000n;
export const NS_PER_SECOND = 1_000_000_000n;

/** Current wall-clock time in ns (ms resolution plus a monotonic sub-ms part is not needed). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

/** ns → ms as a float (loses sub-ms precision; for display and arithmetic on durations only). */
export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS);
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * NS_PER_MS;
}

/** Exact bigint ns from protobuf Timestamp parts. */
export function fromSecondsNanos(seconds: number, nanos: number): bigint {
  return BigInt(seconds) * NS_PER_SECOND + BigInt(nanos);
}
