/**
 * Query sharding by stream (Loki's `shards=<i>_of_<n>` request parameter, `ShardAnnotation`):
 * a shard is the set of streams whose fingerprint is `i` modulo `n`. The query-frontend runs
 * one piece per shard and merges them (src/frontend/split/); queriers and ingesters only select
 * streams.
 */
import { InvalidError } from '../errors.js';

/** Streams with `fingerprint mod of === index`; `0 <= index < of`. */
export interface Shard {
  readonly index: number;
  readonly of: number;
}

/** Most shards a request may name: a fingerprint is 64 bits, far more than any query splits into. */
const MAX_SHARDS = 65_536;

/** Parses Loki's `<index>_of_<of>` (one shard; Loki allows a list, Silt's frontend sends one). */
export function parseShard(s: string): Shard {
  const m = /^(\d+)_of_(\d+)$/.exec(s.trim());
  const index = m ? Number(m[1]) : NaN;
  const of = m ? Number(m[2]) : NaN;
  if (!m || !(of >= 1) || of > MAX_SHARDS || !(index < of)) throw new InvalidError(`invalid shard "${s}": want <index>_of_<count> with 0 <= index < count <= ${MAX_SHARDS}`);
  return { index, of };
}

export function formatShard(s: Shard): string {
  return `${s.index}_of_${s.of}`;
}

/** Whether the stream with this fingerprint (16 hex digits) belongs to `shard`. */
export function inShard(fingerprint: string, shard: Shard): boolean {
  if (shard.of === 1) return true;
  // The 64-bit fingerprint modulo `of`, from its two 32-bit halves (no bigint per stream).
  const hi = parseInt(fingerprint.slice(0, 8), 16);
  const lo = parseInt(fingerprint.slice(8, 16), 16);
  return ((hi % shard.of) * (0x1_0000_0000 % shard.of) + lo) % shard.of === shard.index;
}
