/**
 * A least-recently-used cache bounded by bytes. Each entry carries a caller-supplied size;
 * inserting evicts from the cold end until the total fits. Entries bigger than the whole
 * budget are not cached at all. Not thread-aware: one event loop, no locking needed.
 */
export class ByteLru<K, V> {
  /** Budget in bytes; 0 disables caching. */
  readonly maxBytes: number;
  /** Bytes currently held. */
  sizeBytes = 0;
  /** `get` calls that found an entry. */
  hits = 0;
  /** `get` calls that found nothing. */
  misses = 0;
  /** Entries dropped to make room. */
  evictions = 0;
  // Map iteration order is insertion order: the first key is the least recently used.
  readonly #entries = new Map<K, { value: V; sizeBytes: number }>();

  constructor(maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`invalid cache size ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  /** Number of entries. */
  get count(): number {
    return this.#entries.size;
  }

  /** The value, marking it most recently used; counts a hit or a miss. */
  get(key: K): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  /** True when present; does not touch recency or counters. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Inserts or replaces. Returns false (and caches nothing) when `sizeBytes` exceeds the budget. */
  set(key: K, value: V, sizeBytes: number): boolean {
    this.delete(key);
    if (sizeBytes > this.maxBytes) return false;
    while (this.sizeBytes + sizeBytes > this.maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
      this.evictions++;
    }
    this.#entries.set(key, { value, sizeBytes });
    this.sizeBytes += sizeBytes;
    return true;
  }

  /** Removes an entry; true when it was present. */
  delete(key: K): boolean {
    const e = this.#entries.get(key);
    if (e === undefined) return false;
    this.#entries.delete(key);
    this.sizeBytes -= e.sizeBytes;
    return true;
  }

  /** Drops every entry; counters are kept. */
  clear(): void {
    this.#entries.clear();
    this.sizeBytes = 0;
  }
}
