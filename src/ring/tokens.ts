/**
 * Tokens: the uint32 hash space of the ring, the hashes that place keys in it (Loki's
 * `TokenFor` and the ruler's group hash), and random token generation.
 */
import { randomFillSync } from 'node:crypto';

const FNV32_OFFSET = 2166136261;
const FNV32_PRIME = 16777619;

/** Source of uniformly random uint32 values; injectable so tests can force collisions. */
export type TokenSource = () => number;

const pool = new Uint32Array(256);
let poolPos = pool.length;

/** Cryptographically random uint32s, drawn from a refilled pool. */
export const randomToken: TokenSource = () => {
  if (poolPos === pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  return pool[poolPos++]!;
};

/** FNV-1 (multiply then xor) of `s` as UTF-8, continuing from `h`. ASCII fast path. */
function fnv1(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return fnv1Bytes(h, Buffer.from(s.slice(i), 'utf8'));
    h = Math.imul(h, FNV32_PRIME) ^ c;
  }
  return h >>> 0;
}

function fnv1Bytes(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h, FNV32_PRIME) ^ b[i]!;
  return h >>> 0;
}

/** FNV-1a (xor then multiply) of `s` as UTF-8, continuing from `h`. ASCII fast path. */
function fnv1a(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return fnv1aBytes(h, Buffer.from(s.slice(i), 'utf8'));
    h = Math.imul(h ^ c, FNV32_PRIME);
  }
  return h >>> 0;
}

function fnv1aBytes(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, FNV32_PRIME);
  return h >>> 0;
}

/**
 * The ring token of a stream: FNV-1 32-bit over the tenant id then the stream's labels string
 * (Loki `pkg/util/ring.TokenFor`; the distributor passes the labels as `{a="b", c="d"}`).
 */
export function tokenFor(tenant: string, labels: string): number {
  return fnv1(fnv1(FNV32_OFFSET, tenant), labels);
}

/**
 * The ring token of a rule group: FNV-1a 32-bit over `tenant/groupName`. With `groupName` as
 * `<namespace>/<group name>` this is Loki's `tokenForGroup` (pkg/ruler/base/ruler.go).
 */
export function shardKeyFor(tenant: string, groupName: string): number {
  return fnv1a(fnv1a(fnv1a(FNV32_OFFSET, tenant), '/'), groupName);
}

/**
 * `n` distinct tokens not in `taken`, sorted. `keep` (tokens already owned) come first; only
 * the missing ones are drawn from `source`.
 */
export function pickTokens(n: number, taken: ReadonlySet<number>, keep: readonly number[] = [], source: TokenSource = randomToken): number[] {
  const out = new Set<number>();
  for (const t of keep) if (out.size < n && !taken.has(t)) out.add(t);
  // A 32-bit space rarely collides; the bound only guards an exhausted test source.
  for (let tries = 0; out.size < n; tries++) {
    if (tries > 1000 * n + 1_000_000) throw new RangeError(`cannot find ${n} free tokens (${taken.size} taken)`);
    const t = source() >>> 0;
    if (!taken.has(t)) out.add(t);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Index of the first token strictly greater than `key` in sorted `tokens`, wrapping to 0
 * (dskit `searchToken`: a key equal to a token belongs to the next one).
 */
export function searchToken(tokens: Uint32Array | readonly number[], key: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo >= tokens.length ? 0 : lo;
}
