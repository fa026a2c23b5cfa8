/**
 * `query` and `instant-query`. Log queries page through the range with `--batch` until
 * `--limit` lines (0: all) are printed. Unlike logcli, a page boundary inside a run of equal
 * timestamps neither repeats nor loses lines: the next page starts at the boundary timestamp
 * (inclusive), asks for as many more lines as were already printed at that timestamp, and
 * skips exactly those (ADR 0010).
 */
import { CliError } from './errors.js';
import { HttpError, type LokiClient } from './client.js';
import { commonLabels, labelSetString, matchLabels, subtract, type LabelSet, type LogPrinter } from './output.js';

export interface StreamsResult {
  resultType: 'streams';
  result: { stream: LabelSet; values: [string, string, unknown?][] }[];
}
export interface MetricData {
  resultType: 'matrix' | 'vector' | 'scalar';
  result: unknown;
}
export interface QueryResponse {
  status: string;
  data: StreamsResult | MetricData;
}

export interface RangeQuery {
  query: string;
  startNs: bigint;
  /** Exclusive. */
  endNs: bigint;
  /** Lines to print; 0 for all. */
  limit: number;
  batch: number;
  forward: boolean;
  /** Metric query step (ns); 0 lets the server choose. */
  stepNs: bigint;
  quiet: boolean;
  includeLabels: readonly string[];
  excludeLabels: readonly string[];
  includeCommonLabels: boolean;
  fixedLabelsLen: number;
}

/** One log entry of a page, with its stream labels. */
export interface PageEntry {
  tsNs: bigint;
  line: string;
  labels: LabelSet;
}

/** Identity of an entry for de-duplication across pages. */
const entryKey = (e: PageEntry): string => labelSetString(e.labels) + '\u0000' + e.line;

/** Flattens a streams answer into entries in output order (ties: labels, then line). */
export function flattenStreams(r: StreamsResult, forward: boolean): PageEntry[] {
  const out: PageEntry[] = [];
  for (const s of r.result) for (const v of s.values) out.push({ tsNs: BigInt(v[0]), line: v[1], labels: s.stream });
  const keys = new Map<PageEntry, string>();
  const key = (e: PageEntry): string => {
    let k = keys.get(e);
    if (k === undefined) keys.set(e, (k = entryKey(e)));
    return k;
  };
  out.sort((a, b) => {
    if (a.tsNs !== b.tsNs) return (a.tsNs < b.tsNs) === forward ? -1 : 1;
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return out;
}

/** Parses Loki's "max entries limit per query exceeded, limit > max_entries_limit_per_query (a > b)". */
function maxEntriesLimit(e: unknown): number | null {
  if (!(e instanceof HttpError) || e.status !== 400) return null;
  const m = /max entries limit per query exceeded.*\((\d+) > (\d+)\)/.exec(e.body);
  return m ? Number(m[2]) : null;
}

export interface Pager {
  /** Called with each page's new entries, in order; a promise is awaited (output back-pressure). */
  onEntries(entries: PageEntry[]): void | Promise<void>;
  /** Called once if the answer is a metric result (no paging). */
  onMetric(data: MetricData): void;
  /** Called with each answer's `stats` object (`--stats`). */
  onStats?: ((stats: unknown) => void) | undefined;
}

/**
 * Runs a range query page by page. Returns the number of entries delivered.
 * Entries equal to the boundary timestamp already delivered are remembered and skipped.
 */
export async function pageRange(c: LokiClient, q: RangeQuery, pager: Pager): Promise<number> {
  const unlimited = q.limit === 0;
  const batch = q.batch > 0 ? q.batch : 1000;
  /** The server's max_entries_limit_per_query, once a 400 has told us. */
  let serverMax: number | null = null;
  let start = q.startNs;
  let end = q.endNs;
  let total = 0;
  let boundary: bigint | null = null;
  let seen = new Set<string>();
  for (;;) {
    const want = unlimited ? batch : Math.min(batch, q.limit - total);
    if (want <= 0) return total;
    // Ask for the lines already printed at the boundary again, plus `want` new ones.
    const reqLimit = serverMax === null ? want + seen.size : Math.min(want + seen.size, serverMax);
    const p = new URLSearchParams({ query: q.query, limit: String(reqLimit), start: start.toString(), end: end.toString(), direction: q.forward ? 'FORWARD' : 'BACKWARD' });
    if (q.stepNs > 0n) p.set('step', (Number(q.stepNs) / 1e9).toString());
    let resp: QueryResponse;
    try {
      resp = await c.getJson<QueryResponse>('/loki/api/v1/query_range', p);
    } catch (e) {
      const max = maxEntriesLimit(e);
      if (max === null || max >= reqLimit) throw e;
      serverMax = max;
      continue;
    }
    pager.onStats?.((resp.data as { stats?: unknown }).stats);
    if (resp.data.resultType !== 'streams') {
      pager.onMetric(resp.data);
      return -1;
    }
    const entries = flattenStreams(resp.data, q.forward);
    const b: bigint | null = boundary;
    const fresh: PageEntry[] = b === null ? entries : entries.filter((e) => e.tsNs !== b || !seen.has(entryKey(e)));
    const page: PageEntry[] = fresh.slice(0, want);
    if (page.length === 0) {
      // A full answer of nothing but already printed lines at the boundary: more lines may
      // share that timestamp than one query can return, so they cannot be paged.
      if (entries.length === reqLimit && b !== null && entries.every((e) => e.tsNs === b)) {
        throw new CliError(`more than ${entries.length} entries share the timestamp ${b}; the server returns at most ${reqLimit} per query (max_entries_limit_per_query), so the rest cannot be paged`);
      }
      return total;
    }
    await pager.onEntries(page);
    total += page.length;
    const last: bigint = page[page.length - 1]!.tsNs;
    if (last !== boundary) {
      boundary = last;
      seen = new Set();
    }
    for (const e of page) if (e.tsNs === last) seen.add(entryKey(e));
    // Fewer lines than asked for: the range is exhausted once this page is out.
    if (entries.length < reqLimit && fresh.length <= want) return total;
    if (q.forward) start = last;
    else end = last + 1n;
  }
}

/** Prints pages the way logcli does: common labels once (to stderr), aligned label columns. */
export class StreamPrinter implements Pager {
  private common: LabelSet | null = null;

  constructor(
    private readonly q: Pick<RangeQuery, 'quiet' | 'includeLabels' | 'excludeLabels' | 'includeCommonLabels' | 'fixedLabelsLen'>,
    private readonly out: LogPrinter,
    private readonly log: (msg: string) => void,
    private readonly printMetric: (d: MetricData) => void,
  ) {}

  onMetric(data: MetricData): void {
    this.printMetric(data);
  }

  onEntries(entries: PageEntry[]): void {
    const q = this.q;
    if (this.common === null) {
      const distinct = new Map<string, LabelSet>();
      for (const e of entries) distinct.set(labelSetString(e.labels), e.labels);
      let common = q.includeCommonLabels ? {} : commonLabels([...distinct.values()]);
      if (q.includeLabels.length > 0) common = matchLabels(false, common, q.includeLabels);
      this.common = common;
      if (!q.quiet) {
        if (Object.keys(common).length > 0) this.log('Common labels: ' + labelSetString(common));
        if (q.excludeLabels.length > 0) this.log('Ignoring labels key: ' + q.excludeLabels.join(','));
        if (q.includeLabels.length > 0) this.log('Print only labels key: ' + q.includeLabels.join(','));
      }
    }
    const common = this.common;
    const shown = new Map<LabelSet, LabelSet>();
    let maxLen = q.fixedLabelsLen;
    for (const e of entries) {
      if (shown.has(e.labels)) continue;
      // A stream that lacks a common label (seen in a later page) is shown in full.
      let ls = Object.entries(common).every(([k, v]) => e.labels[k] === v) ? subtract(e.labels, common) : e.labels;
      if (q.includeLabels.length > 0) ls = matchLabels(true, ls, q.includeLabels);
      if (q.excludeLabels.length > 0) ls = matchLabels(false, ls, q.excludeLabels);
      shown.set(e.labels, ls);
      maxLen = Math.max(maxLen, labelSetString(ls).length);
    }
    for (const e of entries) this.out.print(e.tsNs, shown.get(e.labels)!, maxLen, e.line, e.labels);
  }
}

/** logcli prints metric results as indented JSON of the result array. */
export function metricJson(d: MetricData): string {
  return JSON.stringify(d.result, null, 2);
}
