/**
 * Groups items of one request by a string key without a Map per request: a push of 1000
 * entries spans ~450 streams, and building (and growing) two such maps per request was a
 * measurable share of the garbage the push path made. Slots live across requests, and a
 * generation number tells which belong to the current one. Not reentrant: one request at a
 * time, synchronously (begin, then get/set).
 */
interface Slot<T> {
  gen: number;
  value: T | undefined;
}

export class RequestGroups<T> {
  readonly #slots = new Map<string, Slot<T>>();
  readonly #maxKeys: number;
  #gen = 0;
  /** Slots set in the current request: [0, #touchedCount) (the array is reused, never shrunk). */
  readonly #touched: Slot<T>[] = [];
  #touchedCount = 0;

  /** `maxKeys` bounds the distinct keys remembered (all are forgotten at once past it). */
  constructor(maxKeys = 100_000) {
    this.#maxKeys = maxKeys;
  }

  /** Starts a request: every key is unset again. */
  begin(): void {
    this.release();
    if (this.#slots.size > this.#maxKeys) this.#slots.clear();
  }

  /** The value set for `key` in the current request, or undefined. */
  get(key: string): T | undefined {
    const s = this.#slots.get(key);
    return s !== undefined && s.gen === this.#gen ? s.value : undefined;
  }

  set(key: string, value: T): void {
    let s = this.#slots.get(key);
    if (s === undefined) {
      s = { gen: this.#gen, value };
      this.#slots.set(key, s);
    } else {
      if (s.gen === this.#gen) {
        s.value = value;
        return;
      }
      s.gen = this.#gen;
      s.value = value;
    }
    this.#touched[this.#touchedCount++] = s;
  }

  /** Keys remembered (a slot each). */
  get size(): number {
    return this.#slots.size;
  }

  /** Values still referenced (0 after release): what the slots keep alive. */
  heldValues(): number {
    let n = 0;
    for (const s of this.#slots.values()) if (s.value !== undefined) n++;
    return n;
  }

  /**
   * Forgets every key (between requests): a process gone quiet gives back the slot each label
   * set it saw keeps (IdleMemoryRelease's `beforeCollect`); the next request makes them again.
   */
  forget(): void {
    this.release();
    this.#slots.clear();
    this.#touched.length = 0;
  }

  /** Ends the current request: drops its values (they may hold the request's objects). */
  release(): void {
    this.#gen++;
    const t = this.#touched;
    for (let i = 0; i < this.#touchedCount; i++) t[i]!.value = undefined;
    this.#touchedCount = 0;
  }
}
