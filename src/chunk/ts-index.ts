/**
 * An open-addressing hash map from a timestamp offset (an integer-valued float64, as the
 * head block stores it) to the newest entry index with that timestamp. Unlike a
 * Map<number, number>, whose keys beyond 2^31 are heap numbers, get and set allocate
 * nothing: once a head block holds out-of-order entries every append goes through here.
 */
const EMPTY = -1;
const TWO_32 = 4294967296;

function slot(key: number, mask: number): number {
  // Mix both 32-bit halves of the integer key (negative keys included).
  let h = Math.imul((key % TWO_32) | 0, 0x9e3779b1) ^ ((key / TWO_32) | 0);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) & mask;
}

export class TsIndex {
  #keys: Float64Array;
  #vals: Int32Array;
  #mask: number;
  /** Distinct keys held. */
  size = 0;

  /** `capacity` is rounded up to a power of two of at least 16. */
  constructor(capacity = 64) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.#keys = new Float64Array(cap);
    this.#vals = new Int32Array(cap).fill(EMPTY);
    this.#mask = cap - 1;
  }

  /** The value stored for `key`, or -1. */
  get(key: number): number {
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    for (let i = slot(key, mask); ; i = (i + 1) & mask) {
      const v = vals[i]!;
      if (v === EMPTY || keys[i] === key) return v;
    }
  }

  /** Stores `value` (≥ 0) for `key` and returns the previous value, or -1. */
  set(key: number, value: number): number {
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    for (let i = slot(key, mask); ; i = (i + 1) & mask) {
      const v = vals[i]!;
      if (v === EMPTY) {
        keys[i] = key;
        vals[i] = value;
        if (++this.size * 2 > vals.length) this.#grow();
        return EMPTY;
      }
      if (keys[i] === key) {
        vals[i] = value;
        return v;
      }
    }
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    const cap = oldVals.length * 2;
    const keys = new Float64Array(cap);
    const vals = new Int32Array(cap).fill(EMPTY);
    const mask = cap - 1;
    for (let j = 0; j < oldVals.length; j++) {
      const v = oldVals[j]!;
      if (v === EMPTY) continue;
      const k = oldKeys[j]!;
      let i = slot(k, mask);
      while (vals[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = k;
      vals[i] = v;
    }
    this.#keys = keys;
    this.#vals = vals;
    this.#mask = mask;
  }
}
