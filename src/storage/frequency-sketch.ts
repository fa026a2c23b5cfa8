/**
 * How often each key was asked for lately, in a few bytes per cached entry: the frequency
 * sketch of TinyLFU (Einziger, Friedman, Manes 2017). A count-min sketch of four rows of
 * saturating counters (0..15); a key's estimate is the smallest of its four counters, so it
 * never undercounts, and collisions can only add. After `sampleSize` counted increments every
 * counter is halved, so what was popular long ago fades and a new working set can take over.
 *
 * ByteLru uses it to refuse an entry that is asked for less often than the ones it would evict
 * (ADR 0031): under a cyclic scan larger than the cache, every key has the same count, so the
 * entries already held stay and keep being hit, where plain LRU evicts each one just before it
 * is asked for again.
 */

const ROWS = 4;
const MAX_COUNT = 15;

/** FNV-1a over the UTF-16 code units, then a murmur3 finaliser (FNV alone mixes its low bits poorly). */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class FrequencySketch {
  /** ROWS rows of `width` one-byte counters, row after row. */
  readonly #counters: Uint8Array;
  readonly #mask: number;
  /** Scratch of #cellsOf. */
  readonly #cells = new Int32Array(ROWS);
  /** Increments counted since the last halving; the sketch halves when it reaches sampleSize. */
  #added = 0;
  readonly sampleSize: number;

  /**
   * `expectedKeys`: about how many entries the owner holds at once. Each row gets four counters
   * per expected key (rounded up to a power of two, at least 64), so the keys a scan asks for
   * beyond the cache still mostly have counters of their own; counts halve after ten requests
   * per expected key, as in TinyLFU.
   */
  constructor(expectedKeys: number) {
    const keys = Math.max(16, Math.ceil(expectedKeys));
    let width = 64;
    while (width < 4 * keys && width < 1 << 24) width *= 2;
    this.#mask = width - 1;
    this.#counters = new Uint8Array(ROWS * width);
    this.sampleSize = 10 * keys;
  }

  /** Counts one more request for `key`. */
  increment(key: string): void {
    const cells = this.#cellsOf(key);
    let added = false;
    for (const at of cells) {
      if (this.#counters[at]! < MAX_COUNT) {
        this.#counters[at]!++;
        added = true;
      }
    }
    if (added && ++this.#added >= this.sampleSize) this.#halve();
  }

  /** The estimated number of requests for `key` since it was last aged (0..15). */
  frequency(key: string): number {
    let min = MAX_COUNT;
    for (const at of this.#cellsOf(key)) min = Math.min(min, this.#counters[at]!);
    return min;
  }

  /** Where `key`'s counter is in each row (in a scratch array the next call overwrites). */
  #cellsOf(key: string): Int32Array {
    const h = hash(key);
    // Row i probes h + i·step: a second hash from the high bits, odd so every row moves.
    const step = ((h >>> 16) | (h << 16) | 1) >>> 0;
    const width = this.#mask + 1;
    for (let i = 0; i < ROWS; i++) this.#cells[i] = i * width + ((h + i * step) & this.#mask);
    return this.#cells;
  }

  /** Ages every counter: halves them, and the count of increments with them. */
  #halve(): void {
    const c = this.#counters;
    for (let i = 0; i < c.length; i++) c[i] = c[i]! >>> 1;
    this.#added = this.#added >>> 1;
  }
}
