/** Label matcher types, as in PromQL/LogQL stream selectors. */
export type MatchType = '=' | '!=' | '=~' | '!~';

/**
 * A compiled label matcher. Regex matchers are fully anchored and use RE2 semantics.
 * `matches('')` tells whether a series lacking the label is selected.
 */
export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
  matches(value: string): boolean;
}

/**
 * A text telling matcher lists apart (each matcher's name, type and quoted value, in their
 * order): the key of answers kept per selector.
 */
export function matchersKey(matchers: readonly Matcher[]): string {
  let k = '';
  for (const m of matchers) k += `${m.name}${m.type}${JSON.stringify(m.value)},`;
  return k;
}
