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
