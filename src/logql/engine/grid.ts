/** Evaluation times of a query: start, start+step, … ≤ end (one step for an instant query). */
const NS_PER_MS = 1_000_000n;

export class Grid {
  readonly steps: number;
  /** 0n for an instant query. */
  readonly stepNs: bigint;
  constructor(
    readonly startNs: bigint,
    readonly endNs: bigint,
    stepNs: bigint,
    readonly instant: boolean,
  ) {
    this.stepNs = instant ? 0n : stepNs;
    this.steps = instant ? 1 : Number((endNs - startNs) / stepNs) + 1;
  }

  /** Evaluation time of step k (ns). */
  at(k: number): bigint {
    return this.startNs + BigInt(k) * this.stepNs;
  }

  /**
   * Window bounds of every step relative to `start - offset`: step k covers (lo[k], hi[k]]
   * with hi[k] = k·step and lo[k] = hi[k] - range. Each bound is the correctly rounded
   * double of an exact integer, so comparisons with equally rounded entry offsets stay exact
   * (always, when the span is below 2^53 ns ≈ 104 days).
   */
  bounds(rangeNs: bigint): { lo: Float64Array; hi: Float64Array } {
    const lo = new Float64Array(this.steps);
    const hi = new Float64Array(this.steps);
    for (let k = 0; k < this.steps; k++) {
      const h = BigInt(k) * this.stepNs;
      hi[k] = Number(h);
      lo[k] = Number(h - rangeNs);
    }
    return { lo, hi };
  }

  /**
   * Timestamps (ms) Loki gives the samples of a range aggregation with this offset:
   * `(t - offset)/1e6 + offset/1e6`, each division truncating (range_vector.go `At`).
   */
  tsMs(offsetNs: bigint): Float64Array {
    const out = new Float64Array(this.steps);
    const offMs = Number(offsetNs / NS_PER_MS);
    for (let k = 0; k < this.steps; k++) out[k] = Number((this.at(k) - offsetNs) / NS_PER_MS) + offMs;
    return out;
  }

  /** Timestamps of `vector(x)` inside an expression: startMs + k·stepMs (Loki's VectorIterator). */
  vectorTsMs(): Float64Array {
    const out = new Float64Array(this.steps);
    const startMs = Number(this.startNs / NS_PER_MS);
    let stepMs = Number(this.stepNs / NS_PER_MS);
    if (stepMs === 0) stepMs = 1;
    for (let k = 0; k < this.steps; k++) out[k] = startMs + k * stepMs;
    return out;
  }
}
