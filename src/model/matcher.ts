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
 * The key of a kept metadata answer (util/kept-answers.ts): what was asked (`series`, label
 * `names`, or the `values` of label `name`) and the selector's matchers, each matcher's name,
 * type and quoted value in their order.
 */
export function metadataKey(kind: 'series' | 'names' | 'values', matchers: readonly Matcher[], name = ''): string {
  let k = kind === 'values' ? `values ${JSON.stringify(name)} ` : `${kind} `;
  for (const m of matchers) k += `${m.name}${m.type}${JSON.stringify(m.value)},`;
  return k;
}
