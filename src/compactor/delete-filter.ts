/**
 * Which entries delete requests remove: one compiled rule per request (stream matchers, time
 * range, line filters and any other pipeline stages). The same code hides deleted lines at
 * query time and drops them when the compactor rewrites chunks, so both always agree.
 */
import type { DecodedBlock } from '../chunk/index.js';
import { compileLineFilters, compilePipeline, selectorMatchers, type BlockLineFilter } from '../logql/log/index.js';
import type { Pipeline } from '../logql/log/pipeline.js';
import { parseLogSelector } from '../logql/syntax/index.js';
import { compileTemplate } from '../logql/template/index.js';
import { labelsToString, type Labels, type Matcher } from '../model/index.js';
import { lowerBound } from '../util/sorted.js';

/** What a rule needs of a delete request. */
export interface DeleteRuleSource {
  query: string;
  /** Inclusive bounds, ns. */
  startNs: bigint;
  endNs: bigint;
}

/** A compiled delete request. */
export class DeleteRule {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly matchers: readonly Matcher[];
  /** Line filters run on whole blocks (null: none). */
  readonly lineFilter: BlockLineFilter | null;
  /** Remaining stages (parsers, label filters) run per entry; null when there are none. */
  readonly pipeline: Pipeline | null;

  /** Throws ParseError for a bad query (callers validate at request time). */
  constructor(src: DeleteRuleSource) {
    const expr = parseLogSelector(src.query);
    this.startNs = src.startNs;
    this.endNs = src.endNs;
    this.matchers = selectorMatchers(expr);
    this.lineFilter = compileLineFilters(expr);
    const p = compilePipeline(expr, { template: compileTemplate, prefiltered: true });
    this.pipeline = p.noop ? null : p;
  }

  /** True when the rule's matchers select the stream. */
  matchesStream(labels: Labels): boolean {
    for (const m of this.matchers) {
      let v = '';
      for (const l of labels) {
        if (l.name === m.name) {
          v = l.value;
          break;
        }
      }
      if (!m.matches(v)) return false;
    }
    return true;
  }
}


/** The rules that apply to one stream. */
export class StreamDeleter {
  readonly rules: readonly DeleteRule[];
  readonly #labels: Labels;
  #mark = new Uint8Array(1024);

  constructor(rules: readonly DeleteRule[], labels: Labels) {
    this.rules = rules;
    this.#labels = labels;
  }

  /** True when some rule's time range overlaps [minNs, maxNs]. */
  overlaps(minNs: bigint, maxNs: bigint): boolean {
    for (const r of this.rules) if (r.startNs <= maxNs && r.endNs >= minNs) return true;
    return false;
  }

  /**
   * Clears `sel[i]` for every entry in [lo, hi) of the block that some rule deletes. Entries
   * with `sel[i] === 0` stay 0. Runs block at a time: time bounds by binary search, line
   * filters over the whole block, other stages only for entries still selected.
   */
  apply(block: DecodedBlock, lo: number, hi: number, sel: Uint8Array): void {
    const n = block.n;
    if (lo >= hi) return;
    const base = block.baseNs;
    const maxNs = base + BigInt(block.tsRel[n - 1]!);
    for (const r of this.rules) {
      if (r.startNs > maxNs || r.endNs < base) continue;
      const rlo = r.startNs <= base ? 0 : lowerBound(block.tsRel, n, Number(r.startNs - base));
      const rhi = r.endNs >= maxNs ? n : lowerBound(block.tsRel, n, Number(r.endNs - base) + 1);
      const from = Math.max(lo, rlo);
      const to = Math.min(hi, rhi);
      if (from >= to) continue;
      if (this.#mark.length < n) this.#mark = new Uint8Array(Math.max(n, this.#mark.length * 2));
      const mark = this.#mark;
      mark.fill(0, 0, n);
      let any = false;
      for (let i = from; i < to; i++) {
        if (sel[i] === 1) {
          mark[i] = 1;
          any = true;
        }
      }
      if (!any) continue;
      if (r.lineFilter !== null) r.lineFilter.apply(block.lines, block.lineOffsets, n, mark);
      const sp = r.pipeline === null ? null : r.pipeline.forStream(this.#labels);
      for (let i = from; i < to; i++) {
        if (mark[i] !== 1) continue;
        if (sp !== null) {
          const line = block.lines.subarray(block.lineOffsets[i]!, block.lineOffsets[i + 1]!);
          if (sp.process(base + BigInt(block.tsRel[i]!), line, block.metadata(i)) === null) continue;
        }
        sel[i] = 0;
      }
    }
  }
}

/** Per-stream deleters cached at most this many per tenant filter. */
const STREAM_CACHE_LIMIT = 10_000;

/** All delete rules of one tenant. */
export class TenantDeleter {
  readonly rules: readonly DeleteRule[];
  readonly #byStream = new Map<string, StreamDeleter | null>();

  constructor(rules: readonly DeleteRule[]) {
    this.rules = rules;
  }

  /** The deleter of a stream, or null when no rule selects it. */
  forStream(labels: Labels): StreamDeleter | null {
    const key = labelsToString(labels);
    const hit = this.#byStream.get(key);
    if (hit !== undefined) return hit;
    const rules = this.rules.filter((r) => r.matchesStream(labels));
    const d = rules.length === 0 ? null : new StreamDeleter(rules, labels);
    if (this.#byStream.size >= STREAM_CACHE_LIMIT) this.#byStream.clear();
    this.#byStream.set(key, d);
    return d;
  }
}
