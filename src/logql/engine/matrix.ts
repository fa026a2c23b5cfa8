/**
 * The value every engine node produces: samples of K evaluation steps, stored step-major
 * in CSR form (Loki evaluates step by step; this keeps the same per-step order while
 * holding only the points that exist). `off[k]..off[k+1]` index `idx` (series) and `val`.
 */
import type { Labels } from '../../model/index.js';
import { labelsKey } from './labels.js';

/** One output series of a node. Two series of a node may carry the same labels. */
export class SeriesInfo {
  private k: string | null = null;
  constructor(readonly labels: Labels) {}
  get key(): string {
    if (this.k === null) this.k = labelsKey(this.labels);
    return this.k;
  }
}

export class StepMatrix {
  constructor(
    /** Number of steps. */
    readonly steps: number,
    readonly series: readonly SeriesInfo[],
    /** Length steps+1. */
    readonly off: Int32Array,
    readonly idx: Int32Array,
    readonly val: Float64Array,
    /** Timestamp (ms) of each step's samples. */
    readonly tsMs: Float64Array,
  ) {}
}

/** Appends samples step by step (k ascending) and seals them into a StepMatrix. */
export class MatrixBuilder {
  private idx: Int32Array;
  private val: Float64Array;
  private n = 0;
  private readonly off: Int32Array;
  private k = 0;
  constructor(
    readonly steps: number,
    capacity = 16,
  ) {
    this.off = new Int32Array(steps + 1);
    const cap = Math.max(16, capacity);
    this.idx = new Int32Array(cap);
    this.val = new Float64Array(cap);
  }
  push(series: number, value: number): void {
    if (this.n === this.idx.length) {
      const cap = this.idx.length * 2;
      const idx = new Int32Array(cap);
      idx.set(this.idx);
      const val = new Float64Array(cap);
      val.set(this.val);
      this.idx = idx;
      this.val = val;
    }
    this.idx[this.n] = series;
    this.val[this.n] = value;
    this.n++;
  }
  /** Closes the current step. */
  endStep(): void {
    this.k++;
    this.off[this.k] = this.n;
  }
  build(series: readonly SeriesInfo[], tsMs: Float64Array): StepMatrix {
    while (this.k < this.steps) this.endStep();
    return new StepMatrix(this.steps, series, this.off, this.idx.subarray(0, this.n), this.val.subarray(0, this.n), tsMs);
  }
}
