/**
 * The `limit` best entries of a log query. "Best" is newest first for backward queries and
 * oldest first for forward ones; entries of equal timestamp are ordered by their result
 * labels (as Loki's heap iterator orders them), then by line bytes. That order is total on what
 * an answer shows (timestamp, labels, line), so a query-frontend can merge the answers of
 * stream shards into exactly this answer (src/frontend/split/log-plan.ts). A binary heap keeps
 * the worst kept entry at the root so a candidate is compared once; `worstNs()` lets the
 * caller skip whole blocks and chunks.
 */
export interface Candidate {
  tsNs: bigint;
  /** Stream fingerprint + structured metadata identity, for dedupe and grouping. */
  streamKey: string;
  line: Buffer;
  /** Index of the result label set (ScanContext.outputs). */
  out: number;
  /** The result labels as one string (stream, metadata and parsed labels merged): the tie-break. */
  order: string;
}

export class TopK {
  private readonly heap: Candidate[] = [];
  private readonly keys = new Set<string>();
  readonly limit: number;
  /** true: keep the largest timestamps (backward). */
  readonly newest: boolean;

  constructor(limit: number, newest: boolean) {
    this.limit = limit;
    this.newest = newest;
  }

  get size(): number {
    return this.heap.length;
  }

  full(): boolean {
    return this.heap.length >= this.limit;
  }

  /** Timestamp of the worst kept entry; only meaningful when full(). */
  worstNs(): bigint {
    return this.heap[0]!.tsNs;
  }

  /** True when a candidate at `ts` could still enter (ties may enter: they can be new lines). */
  wants(ts: bigint): boolean {
    if (this.heap.length < this.limit) return true;
    const w = this.heap[0]!.tsNs;
    return this.newest ? ts >= w : ts <= w;
  }

  /** `a` is worse than `b`: it would be evicted first. */
  private worse(a: Candidate, b: Candidate): boolean {
    if (a.tsNs !== b.tsNs) return this.newest ? a.tsNs < b.tsNs : a.tsNs > b.tsNs;
    if (a.order !== b.order) return a.order > b.order;
    return Buffer.compare(a.line, b.line) > 0;
  }

  /** Offers a candidate; the line buffer is copied only when kept. Returns true if kept. */
  offer(tsNs: bigint, streamKey: string, line: Buffer, out: number, order: string): boolean {
    if (this.limit <= 0) return false;
    const c: Candidate = { tsNs, streamKey, line, out, order };
    const full = this.heap.length >= this.limit;
    if (full && !this.worse(this.heap[0]!, c)) return false;
    const key = streamKey + '\u0000' + tsNs.toString() + '\u0000' + line.toString('latin1');
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    c.line = Buffer.from(line);
    if (full) {
      const old = this.heap[0]!;
      this.keys.delete(old.streamKey + '\u0000' + old.tsNs.toString() + '\u0000' + old.line.toString('latin1'));
      this.heap[0] = c;
      this.down(0);
    } else {
      this.heap.push(c);
      this.up(this.heap.length - 1);
    }
    return true;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.worse(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.worse(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.worse(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  /** The kept entries, best first. */
  sorted(): Candidate[] {
    return [...this.heap].sort((a, b) => (this.worse(a, b) ? 1 : this.worse(b, a) ? -1 : 0));
  }
}
