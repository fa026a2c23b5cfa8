/**
 * Pushes of one sender applied in the order it sent them.
 *
 * A distributor sends each push to every replica of its streams at once, over one HTTP/2
 * connection per ingester. HTTP/2 interleaves the frames of concurrent calls, so a small push
 * can arrive complete before a larger one sent just before it, and not necessarily on every
 * connection alike: the replicas of a stream then take its entries in different orders and
 * cut different chunks, which the store cannot keep as one copy. So each client numbers its
 * pushes (`silt-push-seq: <sender>.<n>`, GrpcIngesterClient) and the ingester starts push n of
 * a sender only after n-1. With each push the sender also says which of its pushes is the
 * oldest still unanswered (`silt-push-low`): a predecessor at or above it is on its way (a
 * large message behind a small one, on a busy connection) and is waited for, at most
 * `gapWaitMs`; one below it was answered and is not waited for. A predecessor given up on runs
 * at once if it comes later. Nothing is admitted, logged or acknowledged while waiting, so the
 * order changes nothing else about a push.
 */

interface Sender {
  /** The number whose turn it is. */
  next: number;
  /** Numbers below this were answered at the sender (see `run`): never waited for. */
  floor: number;
  /** Pushes that arrived before their turn, by number. */
  readonly held: Map<number, () => void>;
  timer: NodeJS.Timeout | null;
  lastMs: number;
}

/** Senders forgotten after this long without a push (distributors restart with a new id). */
const SENDER_IDLE_MS = 5 * 60_000;
/** Senders kept at most; the longest idle are forgotten first. */
const MAX_SENDERS = 10_000;

/** Parses `<sender>.<n>`; null when absent or malformed (the push is then served as it comes). */
export function parsePushSeq(v: string | undefined): { sender: string; n: number } | null {
  if (v === undefined || v.length > 200) return null;
  const dot = v.lastIndexOf('.');
  if (dot <= 0) return null;
  const n = Number(v.slice(dot + 1));
  if (!Number.isSafeInteger(n) || n < 1) return null;
  return { sender: v.slice(0, dot), n };
}

export class PushOrderer {
  readonly #senders = new Map<string, Sender>();
  readonly #gapWaitMs: number;
  readonly #now: () => number;
  /** Gaps passed over: pushes that went ahead of predecessors that had not come (which, if they come, run out of order). */
  skipped = 0;

  constructor(gapWaitMs: number, now: () => number = Date.now) {
    this.#gapWaitMs = gapWaitMs;
    this.#now = now;
  }

  /**
   * Runs `start` (which must begin the push synchronously) in `sender`'s order: now, or once push
   * n-1 of it has started. `low` is the sender's smallest push still unanswered when it sent
   * this one (at most n): every number below it was answered, so one not seen here by now will
   * not come in time and is not waited for.
   */
  run(sender: string, n: number, start: () => void, low = 0): void {
    const now = this.#now();
    let s = this.#senders.get(sender);
    if (s === undefined) {
      this.#forgetIdle(now);
      // Senders number from 1: a sender first seen at n > 1 (this ingester restarted, or forgot
      // it) waits once for numbers that may never come, but its first two pushes, which HTTP/2
      // reorders like any others, are not taken in arrival order.
      s = { next: 1, floor: 0, held: new Map(), timer: null, lastMs: now };
      this.#senders.set(sender, s);
    }
    s.lastMs = now;
    if (low > s.next) {
      // Answered numbers that never arrived: pass them at once, and what they held up with them.
      s.floor = Math.max(s.floor, low);
      this.#drain(s);
    }
    if (n < s.next || s.held.has(n)) {
      // Its turn was skipped (or a duplicate number): late is better than never.
      start();
      return;
    }
    if (n > s.next) {
      s.held.set(n, start);
      this.#arm(s);
      return;
    }
    s.next++;
    start();
    this.#drain(s);
  }

  /** Pushes waiting for a predecessor (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#senders.values()) n += s.held.size;
    return n;
  }

  /** Starts every held push now, in order (shutdown: nothing waits for a predecessor that will not come). */
  close(): void {
    for (const s of this.#senders.values()) {
      if (s.timer !== null) clearTimeout(s.timer);
      s.timer = null;
      const held = [...s.held].sort((a, b) => a[0] - b[0]);
      s.held.clear();
      for (const [, f] of held) f();
    }
    this.#senders.clear();
  }

  #drain(s: Sender): void {
    for (;;) {
      const f = s.held.get(s.next);
      if (f !== undefined) {
        s.held.delete(s.next);
        s.next++;
        f();
      } else if (s.next < s.floor) {
        // One gap: up to the floor, or to the first push held below it.
        let to = s.floor;
        for (const k of s.held.keys()) if (k > s.next && k < to) to = k;
        this.skipped++;
        s.next = to;
      } else break;
    }
    if (s.held.size === 0) {
      if (s.timer !== null) clearTimeout(s.timer);
      s.timer = null;
    } else this.#arm(s);
  }

  #arm(s: Sender): void {
    if (s.timer !== null) return;
    s.timer = setTimeout(() => {
      // Timers run before the event loop reads sockets: on a busy loop the predecessor may be
      // waiting in a socket buffer. Give up on it only after one more read of pending I/O.
      setImmediate(() => {
        s.timer = null;
        this.#skip(s);
      });
    }, this.#gapWaitMs);
    s.timer.unref();
  }

  /** Gives up on the missing number(s): the smallest held push goes next. */
  #skip(s: Sender): void {
    if (s.held.size === 0) return;
    this.skipped++;
    s.next = Math.min(...s.held.keys());
    this.#drain(s);
  }

  #forgetIdle(now: number): void {
    if (this.#senders.size < MAX_SENDERS) {
      // Cheap enough at this size: one pass when a new sender appears.
      for (const [id, s] of this.#senders) if (s.held.size === 0 && now - s.lastMs > SENDER_IDLE_MS) this.#senders.delete(id);
      return;
    }
    const byAge = [...this.#senders].sort((a, b) => a[1].lastMs - b[1].lastMs);
    for (const [id, s] of byAge.slice(0, byAge.length - MAX_SENDERS + 1)) {
      this.#skip(s);
      this.#senders.delete(id);
    }
  }
}
