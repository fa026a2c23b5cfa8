/**
 * The memory the chunk cache keeps chunks in: large slabs, each cut front to back into the
 * chunks read into it, and let go once no cached chunk is left in it (ADR 0041).
 *
 * Why not one Buffer per chunk: V8 counts every ArrayBuffer as external memory and starts a
 * full collection each time that grows by about 64 MB (its external-memory soft limit), so a
 * scan that fills an empty cache with 490 MB of chunks ran 8 to 15 full collections, each marking
 * the whole heap (bench/RESULTS.md, "a cache filled in slabs"). A slab is one such growth however
 * many chunks it takes, and its pages are only resident once a chunk is read into them.
 *
 * Nothing in a slab is ever reused: a chunk's memory is written once, and a slab is dropped
 * whole (the collector frees it once no view of it is left), so a reader that still holds a
 * chunk the cache has dropped keeps reading the same bytes. The price is dead space: the room
 * of chunks that left the cache stays taken until their slab goes. `compact` bounds it by
 * copying the chunks still cached in the emptiest slabs into the current one.
 */

/** Chunk views start at multiples of this. */
const ALIGN = 8;

interface Slab {
  readonly mem: Buffer;
  /** Bytes handed out from the front. */
  used: number;
  /** Bytes of the cached chunks in it (`own`). */
  live: number;
  /** Its cached chunks, by key. */
  readonly entries: Map<string, Buffer>;
}

export class SlabArena {
  /** Bytes of a slab (a chunk larger than this gets a slab of its own). */
  readonly slabBytes: number;
  /** Slabs made, for tests and benches. */
  slabsMade = 0;
  /** Bytes copied by `compact`, for tests and benches. */
  copiedBytes = 0;
  /** Slabs held: the current one and every other with a cached chunk in it. */
  readonly #slabs = new Set<Slab>();
  readonly #byKey = new Map<string, Slab>();
  #current: Slab;
  #heldBytes = 0;

  constructor(slabBytes: number) {
    if (!Number.isInteger(slabBytes) || slabBytes < ALIGN) throw new RangeError(`invalid slab size ${slabBytes}`);
    this.slabBytes = slabBytes;
    // The first slab now, while the heap is small: the collection its external memory may
    // start is the cheapest it will be, and the first queries fill it without one.
    this.#current = this.#newSlab(slabBytes);
  }

  /** Bytes of the slabs held that are in use (cut out, cached or not): what they keep resident. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Bytes of the cached chunks (`own`). */
  get liveBytes(): number {
    let live = 0;
    for (const s of this.#slabs) live += s.live;
    return live;
  }

  /**
   * `size` bytes of fresh memory, cut from the current slab (a new slab when it does not fit).
   * Room not given to `own` afterwards stays dead until its slab is dropped.
   */
  take(size: number): Buffer {
    const need = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
    let cur = this.#current;
    if (cur.mem.length - cur.used < need) {
      const old = cur;
      cur = this.#newSlab(Math.max(this.slabBytes, need));
      this.#current = cur;
      if (old.entries.size === 0) this.#drop(old);
    }
    const at = cur.used;
    cur.used += need;
    this.#heldBytes += need;
    return cur.mem.subarray(at, at + size);
  }

  /** `view` (from `take`, or a view of its front) now holds the cached chunk `key`. */
  own(key: string, view: Buffer): void {
    const slab = this.#slabOf(view);
    if (slab === undefined) return;
    this.disown(key);
    slab.entries.set(key, view);
    slab.live += view.length;
    this.#byKey.set(key, slab);
  }

  /** The cached chunk `key` left the cache; its slab goes once it holds no other. */
  disown(key: string): void {
    const slab = this.#byKey.get(key);
    if (slab === undefined) return;
    this.#byKey.delete(key);
    const view = slab.entries.get(key)!;
    slab.entries.delete(key);
    slab.live -= view.length;
    if (slab.entries.size === 0 && slab !== this.#current) this.#drop(slab);
  }

  /**
   * While more than `maxHeldBytes` are held, copies the cached chunks of the slab with the
   * fewest live bytes (never the current one; none under 1/8 dead) into fresh room and hands
   * each copy to `move`, which must put it in the cached chunk's place (and `own` it). Returns
   * the bytes copied.
   */
  compact(maxHeldBytes: number, move: (key: string, copy: Buffer) => void): number {
    let copied = 0;
    while (this.#heldBytes > maxHeldBytes) {
      let emptiest: Slab | null = null;
      for (const s of this.#slabs) if (s !== this.#current && (emptiest === null || s.live < emptiest.live)) emptiest = s;
      // The emptiest frees the most for what its copy costs; when even it is 7/8 live, a copy
      // frees too little to pay for itself (and the slabs held are at most 8/7 of the chunks
      // cached in them, plus the current one).
      if (emptiest === null || (emptiest.used - emptiest.live) * 8 < emptiest.used) break;
      for (const [key, view] of [...emptiest.entries]) {
        const copy = this.take(view.length);
        copy.set(view);
        copied += view.length;
        move(key, copy);
        // A `move` that neither owned nor disowned the key would keep the slab for ever.
        if (this.#byKey.get(key) === emptiest) this.disown(key);
      }
    }
    this.copiedBytes += copied;
    return copied;
  }

  #newSlab(size: number): Slab {
    // Not zero-filled: every byte handed out is written by a read before anyone reads it.
    const slab: Slab = { mem: Buffer.allocUnsafeSlow(size), used: 0, live: 0, entries: new Map() };
    this.#slabs.add(slab);
    this.slabsMade++;
    return slab;
  }

  #drop(slab: Slab): void {
    if (!this.#slabs.delete(slab)) return;
    this.#heldBytes -= slab.used;
  }

  #slabOf(view: Buffer): Slab | undefined {
    for (const s of this.#slabs) if (s.mem.buffer === view.buffer) return s;
    return undefined;
  }
}
