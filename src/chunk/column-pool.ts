/**
 * Column buffers that head blocks gave up, kept for the next head that needs one of the same
 * size (ADR 0040). A head grows by laying its columns out in a bigger buffer (HeadBlock.layout);
 * the one it leaves is of a size another growing head of the same ingester asks for moments
 * later (head sizes follow one series). Without the pool every growth is a new ArrayBuffer: at
 * 10,000 streams the head columns alone allocated ~3x the pushed text, V8 counts each new
 * ArrayBuffer as external memory and starts a full collection every 64 MB of it, and every new
 * buffer's pages are fresh memory the kernel must fault in (bench/RESULTS.md, issue #20 goal 6).
 *
 * Only buffers nothing else views may be given (HeadBlock gives a buffer that held its columns
 * alone and that no snapshot shares). Every byte a head reads it wrote first, so a reused
 * buffer's old contents never show, as with the unzeroed `Buffer.allocUnsafeSlow` it replaces.
 *
 * Bounded by `maxBytes`: a give past it drops the buffer to the garbage collector as before.
 * The owner drains it when the pool has nothing to do (drainIfUnused, once per flush cycle) and
 * before an idle collection; its bytes count as the owner's memory.
 */
export class ColumnPool {
  /** Free buffers by byteLength. */
  readonly #bySize = new Map<number, ArrayBuffer[]>();
  #bytes = 0;
  readonly #maxBytes: number;
  #reused = 0;
  /** A take found a buffer or a give kept one since the last drainIfUnused. */
  #used = false;

  constructor(maxBytes: number) {
    this.#maxBytes = Math.max(0, maxBytes);
  }

  /** Bytes of the buffers held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Buffers handed out again by take, ever. */
  get reused(): number {
    return this.#reused;
  }

  /** A held buffer of exactly `bytes` bytes (now the caller's), or null. */
  take(bytes: number): ArrayBuffer | null {
    const free = this.#bySize.get(bytes);
    if (free === undefined || free.length === 0) return null;
    this.#bytes -= bytes;
    this.#used = true;
    this.#reused++;
    return free.pop()!;
  }

  /** Keeps `buf` for a later take, unless that would hold more than maxBytes. The caller no longer uses it. */
  give(buf: ArrayBuffer): void {
    const n = buf.byteLength;
    if (n === 0 || this.#bytes + n > this.#maxBytes) return;
    let free = this.#bySize.get(n);
    if (free === undefined) this.#bySize.set(n, (free = []));
    free.push(buf);
    this.#bytes += n;
    this.#used = true;
  }

  /** Drops every held buffer (the collector takes them); answers the bytes dropped. */
  drain(): number {
    const n = this.#bytes;
    this.#bySize.clear();
    this.#bytes = 0;
    return n;
  }

  /** Drains when nothing was taken or given since the last call: the heads stopped growing. */
  drainIfUnused(): number {
    const used = this.#used;
    this.#used = false;
    return used ? 0 : this.drain();
  }
}
