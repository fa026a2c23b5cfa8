/**
 * Regions for the columns of small head blocks, carved from shared slabs (ADR 0024).
 *
 * An ingester holds one head per active stream and most hold a few KB. Each in its own
 * ArrayBuffer cost, beyond its data, a malloc'd backing store with its bookkeeping, the
 * ArrayBuffer object, the growth slack of a buffer that is reallocated rarely because
 * reallocating is slow, and the fragmentation malloc keeps after every growth: ~2 KB per
 * stream at 50k streams (issue #20 goal 4). Here a region is an offset in a 256 KiB slab of
 * its size class; taking and returning one is a few array operations, so heads grow in
 * small steps and their slack stays small.
 *
 * Classes are 8-byte multiples about 19 % apart (four per doubling) from 256 bytes to
 * MAX_REGION_BYTES. A slab holds regions of one class; freed regions are reused last-in
 * first-out, and a slab none of whose regions is taken is let go.
 *
 * Queries view head columns without a copy (HeadBlock.snapshot) and may keep views of them
 * (a line's bytes) for as long as they run, so a region given back while viewed must never be
 * written again. Such a give "lends" its slab: no region of it is handed out again, the heads
 * still in it move out at their next growth or when the ingester's flush cycle asks them to
 * (`HeadBlock.leaveLentSlab`), and the slab is let go when the last has; its memory returns once
 * the last view of it is collected, as an ArrayBuffer of a head's own would.
 */

/** Largest region; bigger heads get an ArrayBuffer of their own. */
export const MAX_REGION_BYTES = 64 * 1024;
const MIN_REGION_BYTES = 256;
const SLAB_BYTES = 256 * 1024;
/**
 * Emptied slabs kept for the next class that needs one (a new slab is fresh memory, slow to
 * touch: a stream that cuts 256 KiB blocks empties and refills big-class slabs at every block).
 */
const SPARE_SLABS = 16;

/** The class sizes, ascending. */
const CLASS_BYTES: readonly number[] = (() => {
  const sizes: number[] = [];
  for (let k = 0; ; k++) {
    const b = Math.ceil((MIN_REGION_BYTES * 2 ** (k / 4)) / 8) * 8;
    if (b >= MAX_REGION_BYTES) break;
    sizes.push(b);
  }
  sizes.push(MAX_REGION_BYTES);
  return sizes;
})();

/** Smallest class holding `bytes` (≤ MAX_REGION_BYTES). */
function classOf(bytes: number): number {
  let lo = 0;
  let hi = CLASS_BYTES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CLASS_BYTES[mid]! < bytes) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One slab of one class. `buffer` is null once let go. */
export class Slab {
  /** Regions taken. */
  live = 0;
  /** Bytes carved from the front of it so far. */
  carved = 0;
  /** Its regions on its class's stack of returned regions. */
  free = 0;
  /**
   * A region of it was given back while readers may still view it: none of its regions is
   * handed out again, and it is let go once the last one taken is given back (the memory
   * returns when the last view of it is collected).
   */
  lent = false;
  constructor(
    public buffer: ArrayBuffer | null,
    readonly cls: number,
  ) {}
}

/** Per class: the slab being carved, where its next region starts, and the returned regions (two parallel stacks). */
interface SizeClass {
  bytes: number;
  carving: Slab | null;
  freeSlabs: Slab[];
  freeOffsets: number[];
  /** Entries of the stacks whose slab was let go or lent (skipped when popped; the stacks are filtered when they are half of them). */
  stale: number;
}

export class ColumnArena {
  readonly #classes: SizeClass[] = CLASS_BYTES.map((bytes) => ({ bytes, carving: null, freeSlabs: [], freeOffsets: [], stale: 0 }));
  #carvedBytes = 0;
  #takenBytes = 0;
  /** Memory of emptied slabs, for reuse (SPARE_SLABS at most). */
  readonly #spare: ArrayBuffer[] = [];
  /** Where the region of the last take() starts in its slab. */
  offset = 0;

  /** The size of every region of `slab` (at least the bytes asked for when it was taken). */
  regionBytes(slab: Slab): number {
    return CLASS_BYTES[slab.cls]!;
  }

  /**
   * Bytes of the regions carved from the slabs held, taken or not (a slab's memory is only
   * touched, so resident, as far as it was carved), and of the spare slabs.
   */
  get carvedBytes(): number {
    return this.#carvedBytes + this.#spare.length * SLAB_BYTES;
  }

  /** Bytes of the regions taken. */
  get takenBytes(): number {
    return this.#takenBytes;
  }

  /**
   * A region of at least `bytes` bytes (≤ MAX_REGION_BYTES; `regionBytes` of the slab): the slab is returned
   * and the region starts at `this.offset` in `slab.buffer` (8-byte aligned). Its content is whatever was there.
   */
  take(bytes: number): Slab {
    const k = classOf(bytes);
    const c = this.#classes[k]!;
    this.#takenBytes += c.bytes;
    const slabs = c.freeSlabs;
    while (slabs.length > 0) {
      const slab = slabs.pop()!;
      const off = c.freeOffsets.pop()!;
      if (slab.buffer === null || slab.lent) {
        c.stale--;
        continue;
      }
      slab.free--;
      slab.live++;
      this.offset = off;
      return slab;
    }
    let slab = c.carving;
    if (slab === null || slab.carved + c.bytes > SLAB_BYTES) {
      slab = c.carving = new Slab(this.#spare.pop() ?? new ArrayBuffer(SLAB_BYTES), k);
    }
    slab.live++;
    this.offset = slab.carved;
    slab.carved += c.bytes;
    this.#carvedBytes += c.bytes;
    return slab;
  }

  /**
   * Returns the region at `offset` of `slab`. Unless `lent`, nothing may read or write it
   * afterwards and it is reused. `lent`: readers may still view it, so it is never written
   * again, nor is any region of its slab handed out again (HeadBlock.snapshot shares columns).
   */
  give(slab: Slab, offset: number, lent = false): void {
    const c = this.#classes[slab.cls]!;
    this.#takenBytes -= c.bytes;
    slab.live--;
    if (lent && !slab.lent) {
      slab.lent = true;
      if (c.carving === slab) c.carving = null;
      c.stale += slab.free;
      slab.free = 0;
    }
    // A lent slab, or a full one all of whose regions are back, is let go rather than kept for a class that may not need it.
    if (slab.lent || (slab.live === 0 && slab !== c.carving)) {
      if (slab.live === 0) {
        // A lent slab's memory may still be viewed; an emptied one's is not.
        if (!slab.lent && this.#spare.length < SPARE_SLABS) this.#spare.push(slab.buffer!);
        slab.buffer = null;
        this.#carvedBytes -= slab.carved;
        c.stale += slab.free;
        slab.free = 0;
      }
      if (c.stale * 2 > c.freeSlabs.length) this.#dropStale(c);
      return;
    }
    c.freeSlabs.push(slab);
    c.freeOffsets.push(offset);
    slab.free++;
  }

  #dropStale(c: SizeClass): void {
    let k = 0;
    for (let i = 0; i < c.freeSlabs.length; i++) {
      const s = c.freeSlabs[i]!;
      if (s.buffer === null || s.lent) continue;
      c.freeSlabs[k] = s;
      c.freeOffsets[k++] = c.freeOffsets[i]!;
    }
    c.freeSlabs.length = k;
    c.freeOffsets.length = k;
    c.stale = 0;
  }
}
