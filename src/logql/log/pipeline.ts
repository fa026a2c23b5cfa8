/**
 * The contract between LogQL's log pipeline (stages after the stream selector) and its
 * users: the querier for log queries and the metric engine for sample extraction.
 * Implementations live beside this file; this file only fixes the shapes.
 *
 * Per-entry work follows Loki's `Pipeline.ForStream` idea: a query compiles once into a
 * Pipeline; `forStream(labels)` returns a StreamPipeline cached by the stream's labels; each
 * entry then runs through plain method calls with one reused LabelsView — no allocation for
 * entries that are filtered out.
 */
import type { Labels, StructuredMetadata } from '../../model/index.js';

/** Where a label came from, for the categorize-labels response encoding. */
export type LabelCategory = 'stream' | 'metadata' | 'parsed';

/** The labels of the entry being processed, after every stage so far (read-only view). */
export interface LabelsView {
  /** All labels, sorted by name, names unique (stream ∪ metadata ∪ parsed, later wins). */
  labels(): Labels;
  /** The same split by origin (stream labels a stage changed or dropped are reported as changed). */
  categorized(): { stream: Labels; metadata: Labels; parsed: Labels };
  /** Value of one label, or undefined. */
  get(name: string): string | undefined;
  /** Value of `__error__` ('' when none). */
  error(): string;
}

/** The result of one entry; valid until the next `process` call on the same StreamPipeline. */
export interface ProcessedEntry {
  /** The line after line_format / decolorize (the input line when unchanged). */
  line: Buffer;
  labels: LabelsView;
}

export interface StreamPipeline {
  /**
   * Runs every stage on one entry. Returns null when a stage filtered it out. The returned
   * object is reused by the next call: copy what you keep.
   */
  process(tsNs: bigint, line: Buffer, metadata: StructuredMetadata): ProcessedEntry | null;
}

export interface Pipeline {
  /** The per-stream pipeline for these stream labels (cached by label set). */
  forStream(labels: Labels): StreamPipeline;
  /** True when no stage can change labels or the line (selector + line filters only). */
  readonly noop: boolean;
}

/** One sample extracted from an entry by a metric query's range aggregation. */
export interface ExtractedSample {
  /** 1 for count_over_time/rate, line bytes for bytes_*, the unwrapped value for unwrap. */
  value: number;
  /** Output labels of the sample (after the pipeline, `by`/`without` of the range aggregation, and unwrap's label removal). */
  labels: LabelsView;
}

export interface StreamSampleExtractor {
  /** Extracts one sample, or null when the entry is filtered out. Reused object. */
  process(tsNs: bigint, line: Buffer, metadata: StructuredMetadata): ExtractedSample | null;
}

export interface SampleExtractor {
  forStream(labels: Labels): StreamSampleExtractor;
}
