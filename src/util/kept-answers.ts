/**
 * Answers kept for the next request that asks the same: frozen lists by key (`metadataKey`:
 * what was asked, and the selector), each with the version of the data it was made from. The
 * ingester keeps its metadata answers until a stream comes or goes; a stored index segment,
 * which never changes, keeps its own. Handing out the same frozen list again lets the answer's
 * bytes be kept with it too (`seriesResponseBody`, `labelListBody`).
 */
export class KeptAnswers {
  /** Least recently used first. */
  readonly #byKey = new Map<string, { readonly version: number; readonly list: readonly unknown[] }>();
  #items = 0;

  /** @param maxAnswers answers kept at most. */
  constructor(readonly maxAnswers: number) {}

  /** The list kept for `key` if it was made at `version` (made most recently used). */
  get<T>(key: string, version: number): readonly T[] | undefined {
    const kept = this.#byKey.get(key);
    if (kept === undefined || kept.version !== version) return undefined;
    this.#byKey.delete(key);
    this.#byKey.set(key, kept);
    return kept.list as readonly T[];
  }

  /** The answer kept for `key` at whatever version, for an update into the current one. */
  peek<T>(key: string): { readonly version: number; readonly list: readonly T[] } | undefined {
    return this.#byKey.get(key) as { readonly version: number; readonly list: readonly T[] } | undefined;
  }

  /**
   * Keeps `list` (frozen here: whoever gets it must not change it) for `key` at `version`,
   * dropping the least recently used answers while there are `maxAnswers` or their lists would
   * hold more than `maxItems` elements in all (the memory bound: a series answer of 100k series
   * is 100k elements, and the bytes kept with it ~12 MB); returns the list. A list longer than
   * `maxItems` alone is returned without being kept.
   */
  keep<T>(key: string, version: number, list: readonly T[], maxItems: number): readonly T[] {
    Object.freeze(list);
    this.#drop(key);
    if (list.length > maxItems) return list;
    for (const k of this.#byKey.keys()) {
      if (this.#byKey.size < this.maxAnswers && this.#items + list.length <= maxItems) break;
      this.#drop(k);
    }
    this.#byKey.set(key, { version, list });
    this.#items += list.length;
    return list;
  }

  /** Number of answers kept. */
  get size(): number {
    return this.#byKey.size;
  }

  #drop(key: string): void {
    const kept = this.#byKey.get(key);
    if (kept === undefined) return;
    this.#byKey.delete(key);
    this.#items -= kept.list.length;
  }
}
