/**
 * What the metric engine reads: entries of the streams a log selector matches, handed over
 * block by block. The querier implements it over ingester memory and stored chunks.
 */
import type { DecodedBlock } from '../../chunk/index.js';
import type { Labels } from '../../model/index.js';
import type { LogSelectorExpr } from '../syntax/ast.js';

/** One block of one stream. Valid only during the `visit` call: copy what you keep. */
export interface BlockVisit {
  readonly labels: Labels;
  readonly fingerprint: string;
  readonly block: DecodedBlock;
  /**
   * Entries to look at: `sel[i] === 1` for i in [lo, hi). Time range and the selector's
   * line filters (those before the first line_format) are already applied; the engine must
   * still run the full pipeline (parsers, label filters, ...) on each selected entry.
   */
  readonly lo: number;
  readonly hi: number;
  readonly sel: Uint8Array;
}

export interface EntrySource {
  /**
   * Calls `visit` for every block holding entries with `fromNs <= ts <= throughNs` of every
   * stream matching `selector`. Each entry is visited exactly once (memory and storage are
   * deduplicated). Blocks of one stream come in no particular order and may overlap in time.
   */
  scan(selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void): Promise<void>;
}
