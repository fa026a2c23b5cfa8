/**
 * Test helpers for storage tests: a seeded PRNG and a minimal Matcher. Not for production use;
 * real matchers come from the LogQL parser (RE2 semantics).
 */
import type { Matcher, MatchType } from '../model/matcher.js';

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Matcher backed by an anchored JS RegExp (close enough to RE2 for test patterns). */
export function testMatcher(name: string, type: MatchType, value: string): Matcher {
  let matches: (v: string) => boolean;
  if (type === '=') matches = (v) => v === value;
  else if (type === '!=') matches = (v) => v !== value;
  else {
    const re = new RegExp(`^(?:${value})$`, 's');
    matches = type === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
  }
  return { name, type, value, matches };
}
