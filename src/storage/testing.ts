/**
 * Test helpers for storage tests: a seeded PRNG and a minimal Matcher. Not for production use;
 * real matchers come from the LogQL parser (RE2 semantics).
 */
import type { Matcher, MatchType } from '../model/matcher.js';

export { seededRandom } from '../util/random.js';

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
