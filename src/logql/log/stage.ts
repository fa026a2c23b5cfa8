/**
 * The one interface every compiled pipeline stage implements (Loki's `Stage`). A query compiles
 * into an array of stage instances once; stream pipelines share them and call `process` per
 * entry with the stream's LabelsBuilder.
 */
import type { LabelsBuilder } from './labels-builder.js';

export interface Stage {
  /** Returns the (possibly rewritten) line, or null when the entry is filtered out. */
  process(tsNs: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null;
}

/**
 * Which labels later stages and the output need, so parsers can skip the rest (Loki's parser
 * hints). `all` true: extract everything (log queries, `without`, no grouping).
 */
export class LabelNeeds {
  constructor(
    readonly all: boolean,
    readonly names: ReadonlySet<string>,
  ) {}

  static readonly ALL = new LabelNeeds(true, new Set());

  has(name: string): boolean {
    return this.all || this.names.has(name);
  }

  /** True when some needed name starts with `prefix` (nested JSON objects worth descending into). */
  hasPrefix(prefix: string): boolean {
    if (this.all) return true;
    for (const n of this.names) if (n.startsWith(prefix)) return true;
    return false;
  }

  /** Needed names a parser may produce (error labels excluded). */
  extractable(): string[] {
    const out: string[] = [];
    for (const n of this.names) if (!n.startsWith('__error')) out.push(n);
    return out;
  }
}
