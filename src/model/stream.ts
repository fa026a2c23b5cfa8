import type { Label, Labels } from './labels.js';

/** Structured metadata of one entry: name/value pairs in push order (may be empty). */
export type StructuredMetadata = readonly Label[];

/** One pushed log entry. `line` is a view into the request body; copy before keeping it. */
export interface PushEntry {
  tsNs: bigint;
  line: Buffer;
  metadata: StructuredMetadata;
  /**
   * The level read from `line` at decode time (a LINE_LEVELS code), when a decode worker
   * computed it; anything else (absent, LINE_LEVEL_NONE) means "not computed". Whoever
   * changes `line` must clear it.
   */
  lineLevel?: number;
}

/** A stream as decoded from a push body, labels still as sent. */
export interface PushStream {
  /** Loki label string as sent, e.g. `{app="x"}` (protobuf) or built from the JSON object. */
  labels: string;
  /** Labels as an object when the body was JSON (parsing skipped); null for protobuf. */
  labelsObject: Record<string, string> | null;
  entries: PushEntry[];
}

export interface PushRequest {
  streams: PushStream[];
}

/** A validated stream ready for the ingester. */
export interface ValidStream {
  labels: Labels;
  /** labelsToString(labels) */
  labelsString: string;
  /** fingerprint(labels) */
  fingerprint: string;
  entries: PushEntry[];
}

/** One entry as returned by queries, with its timestamp as bigint ns. */
export interface QueryEntry {
  tsNs: bigint;
  line: string;
  metadata: StructuredMetadata;
}
