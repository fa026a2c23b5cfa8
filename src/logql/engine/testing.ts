/**
 * Test helpers: an in-memory EntrySource and a stub sample extractor (selector without
 * stages; `| unwrap x` reading `x=<number>` from the line; `| __error__=""`-style post filters).
 */
import type { DecodedBlock } from '../../chunk/index.js';
import { fingerprint, labelsFromObject, type Labels, type StructuredMetadata } from '../../model/index.js';
import { compileMatchers } from '../log/index.js';
import type { ExtractedSample, LabelsView, SampleExtractor, StreamSampleExtractor } from '../log/pipeline.js';
import type { LogRangeExpr, LogSelectorExpr, RangeOp } from '../syntax/ast.js';
import type { BlockVisit, EntrySource } from './source.js';

export interface MemEntry {
  labels: Record<string, string>;
  tsNs: bigint;
  line: string;
}

const EMPTY: StructuredMetadata = Object.freeze([]) as StructuredMetadata;

class MemBlock implements DecodedBlock {
  readonly n: number;
  readonly baseNs: bigint;
  readonly tsRel: Float64Array;
  readonly lineOffsets: Int32Array;
  readonly lines: Buffer;
  constructor(entries: { tsNs: bigint; line: string }[]) {
    this.n = entries.length;
    this.baseNs = entries[0]!.tsNs;
    this.tsRel = new Float64Array(this.n);
    this.lineOffsets = new Int32Array(this.n + 1);
    const bufs: Buffer[] = [];
    let off = 0;
    for (let i = 0; i < this.n; i++) {
      const e = entries[i]!;
      this.tsRel[i] = Number(e.tsNs - this.baseNs);
      const b = Buffer.from(e.line);
      bufs.push(b);
      off += b.length;
      this.lineOffsets[i + 1] = off;
    }
    this.lines = Buffer.concat(bufs);
  }
  metadata(): StructuredMetadata {
    return EMPTY;
  }
}

interface MemStream {
  labels: Labels;
  fingerprint: string;
  blocks: MemBlock[];
}

/**
 * Entries grouped by stream, sorted, cut into blocks of `blockSize`; with `shuffle` the blocks
 * of every stream are visited in reverse order (blocks arrive in no particular order).
 */
export class MemSource implements EntrySource {
  readonly streams: MemStream[] = [];
  scans: { fromNs: bigint; throughNs: bigint }[] = [];
  constructor(entries: MemEntry[], opts: { blockSize?: number; shuffle?: boolean } = {}) {
    const bySeries = new Map<string, { labels: Labels; entries: MemEntry[] }>();
    for (const e of entries) {
      const labels = labelsFromObject(e.labels);
      const fp = fingerprint(labels);
      let s = bySeries.get(fp);
      if (!s) bySeries.set(fp, (s = { labels, entries: [] }));
      s.entries.push(e);
    }
    const size = opts.blockSize ?? 1000;
    for (const [fp, s] of bySeries) {
      s.entries.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
      const blocks: MemBlock[] = [];
      for (let i = 0; i < s.entries.length; i += size) blocks.push(new MemBlock(s.entries.slice(i, i + size)));
      if (opts.shuffle) blocks.reverse();
      this.streams.push({ labels: s.labels, fingerprint: fp, blocks });
    }
  }

  async scan(selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void): Promise<void> {
    this.scans.push({ fromNs, throughNs });
    const ms = compileMatchers(selector.matchers);
    for (const s of this.streams) {
      if (!ms.every((m) => m.matches(s.labels.find((l) => l.name === m.name)?.value ?? ''))) continue;
      for (const block of s.blocks) {
        const sel = new Uint8Array(block.n);
        let lo = block.n;
        let hi = 0;
        // Block-relative bounds: tsRel are exact integers, so compare as numbers.
        const from = Number(fromNs - block.baseNs);
        const through = Number(throughNs - block.baseNs);
        for (let i = 0; i < block.n; i++) {
          const r = block.tsRel[i]!;
          if (r >= from && r <= through) {
            sel[i] = 1;
            if (i < lo) lo = i;
            hi = i + 1;
          }
        }
        if (lo < hi) visit({ labels: s.labels, fingerprint: s.fingerprint, block, lo, hi, sel });
      }
    }
  }
}

class StubView implements LabelsView {
  all: Labels = [];
  err = '';
  labels(): Labels {
    return this.all;
  }
  categorized(): { stream: Labels; metadata: Labels; parsed: Labels } {
    return { stream: this.all, metadata: [], parsed: [] };
  }
  get(name: string): string | undefined {
    return this.all.find((l) => l.name === name)?.value;
  }
  error(): string {
    return this.err;
  }
}

/** Go strconv.ParseFloat-ish: decimal/exponent numbers, Inf, NaN. */
function parseNumber(s: string): number | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  return undefined;
}

class StubStream implements StreamSampleExtractor {
  private readonly view = new StubView();
  private readonly out: ExtractedSample = { value: 0, labels: this.view };
  private readonly withErr: Labels;
  constructor(
    private readonly stream: Labels,
    private readonly op: RangeOp,
    private readonly unwrap: string | null,
    private readonly dropErrors: boolean,
  ) {
    this.withErr = [...stream, { name: '__error__', value: 'SampleExtractionErr' }, { name: '__error_details__', value: 'bad value' }].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }
  process(_ts: bigint, line: Buffer): ExtractedSample | null {
    const v = this.view;
    if (this.unwrap === null) {
      v.all = this.stream;
      v.err = '';
      this.out.value = this.op === 'bytes_over_time' || this.op === 'bytes_rate' ? line.length : 1;
      return this.out;
    }
    const text = line.toString('latin1');
    const key = this.unwrap + '=';
    let at = 0;
    if (!text.startsWith(key)) {
      at = text.indexOf(' ' + key) + 1;
      if (at === 0) return null;
    }
    let end = text.indexOf(' ', at + key.length);
    if (end < 0) end = text.length;
    const raw = text.slice(at + key.length, end);
    if (raw === '') return null;
    const x = parseNumber(raw);
    if (x === undefined) {
      if (this.dropErrors) return null;
      v.all = this.withErr;
      v.err = 'SampleExtractionErr';
      this.out.value = 0;
      return this.out;
    }
    v.all = this.stream;
    v.err = '';
    this.out.value = x;
    return this.out;
  }
}

/** The stub factory: `{...}[r]` and `{...} | unwrap x [| __error__=""]`. */
export function stubExtractors(range: LogRangeExpr, op: RangeOp): SampleExtractor {
  if (range.selector.stages.length > 0) throw new Error('stub extractor: no pipeline stages');
  const u = range.unwrap;
  const dropErrors =
    u !== null && u.postFilters.some((f) => f.kind === 'stringFilter' && f.matcher.name === '__error__' && f.matcher.type === '=' && f.matcher.value === '');
  return { forStream: (labels) => new StubStream(labels, op, u === null ? null : u.label, dropErrors) };
}
