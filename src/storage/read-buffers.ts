/**
 * Memory to read chunk bytes into when no cache will keep them (a scan past the chunk cache, or
 * with it off), handed back once the scan of the chunk is over and reused by the next read.
 *
 * Reading every chunk into new memory costs a cold or past-the-cache scan more than its reads:
 * the new pages are faulted in one by one, and V8 counts each Buffer as external memory and
 * runs full collections as a scan allocates hundreds of MB of them (ADR 0033; bench/RESULTS.md,
 * "chunks no cache keeps read into lent, reused memory"). Only free buffers are tracked: one
 * never given back is simply collected, so a scan that fails or is cancelled leaks nothing.
 */

/** Buffers are sized in steps of this, so chunks of similar sizes share them. */
const STEP_BYTES = 256 * 1024;

/** Free buffers are dropped after this long without a take (an idle server keeps none). */
export const READ_BUFFERS_IDLE_MS = 10_000;

export class ReadBuffers {
  /** Most bytes kept in free buffers. */
  readonly maxFreeBytes: number;
  readonly #free: ArrayBuffer[] = [];
  #freeBytes = 0;
  #lastTakeMs = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Buffers made new (not reused), for tests and benches. */
  allocated = 0;

  constructor(maxFreeBytes: number) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /** Bytes held in free buffers now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A Buffer of exactly `size` bytes over memory no one else uses until it is given back: the
   * smallest free buffer that holds it, else new memory. Every call answers a new Buffer object.
   */
  take(size: number): Buffer {
    this.#lastTakeMs = performance.now();
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const len = this.#free[i]!.byteLength;
      if (len >= size && (best < 0 || len < this.#free[best]!.byteLength)) best = i;
    }
    if (best < 0) {
      this.allocated++;
      return Buffer.allocUnsafeSlow(Math.ceil(Math.max(1, size) / STEP_BYTES) * STEP_BYTES).subarray(0, size);
    }
    const ab = this.#free[best]!;
    this.#free[best] = this.#free[this.#free.length - 1]!;
    this.#free.pop();
    this.#freeBytes -= ab.byteLength;
    return Buffer.from(ab, 0, size);
  }

  /** Gives back a Buffer from `take` (any view of its memory): nothing may read it afterwards. */
  give(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    if (ab.byteLength > this.maxFreeBytes || this.#free.includes(ab)) return;
    this.#free.push(ab);
    this.#freeBytes += ab.byteLength;
    // Over the budget: drop the smallest (the larger ones serve every size).
    while (this.#freeBytes > this.maxFreeBytes) {
      let smallest = 0;
      for (let i = 1; i < this.#free.length; i++) if (this.#free[i]!.byteLength < this.#free[smallest]!.byteLength) smallest = i;
      this.#freeBytes -= this.#free[smallest]!.byteLength;
      this.#free.splice(smallest, 1);
    }
    this.#armIdleDrop();
  }

  #armIdleDrop(): void {
    if (this.#timer !== null) return;
    const check = (): void => {
      this.#timer = null;
      if (this.#free.length === 0) return;
      const idle = performance.now() - this.#lastTakeMs;
      if (idle >= READ_BUFFERS_IDLE_MS) {
        this.#free.length = 0;
        this.#freeBytes = 0;
        return;
      }
      this.#timer = setTimeout(check, READ_BUFFERS_IDLE_MS - idle).unref();
    };
    this.#timer = setTimeout(check, READ_BUFFERS_IDLE_MS).unref();
  }
}
