/**
 * Sustained pushes for cluster tests: batches of uniquely numbered lines over Loki's JSON push
 * API, round-robin over distributors, with a record of what was acknowledged (2xx), refused
 * (an HTTP answer other than 2xx) and unknown (no answer: the connection broke). The checks
 * compare query results with these sets, never with hard-coded figures.
 */

export interface LoadOptions {
  /** Distributor base URLs (`http://127.0.0.1:port`). */
  urls: readonly string[];
  tenant?: string;
  /** Streams the lines are spread over (label `stream="s<i>"`). */
  streams?: number;
  /** Lines per push. */
  batch?: number;
  /** Pause between pushes, ms. */
  intervalMs?: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** Timestamp of line 0, ns (each later line +1 µs); default now. */
  startNs?: bigint;
  /** The `job` label of every line; default `load`. */
  job?: string;
}

export interface LoadResult {
  /** Lines a push that answered 2xx carried. */
  acked: Set<string>;
  /** Lines of pushes answered with another status (they may or may not be stored). */
  refused: Set<string>;
  /** Lines of pushes that got no answer. */
  unknown: Set<string>;
  /** Status of every push, in order (0: no answer). */
  statuses: number[];
  /** The first few answers other than 2xx (status and body), for assertion messages. */
  errors: string[];
  /** Value of the `job` label of every line (queries select `{job="<job>"}`). */
  job: string;
  /** First timestamp and last timestamp (ns) pushed. */
  fromNs: bigint;
  throughNs: bigint;
}

export class PushLoad {
  readonly #o: Required<LoadOptions>;
  readonly #res: LoadResult;
  #seq = 0;
  #stopped = false;
  #loop: Promise<void> | null = null;

  constructor(o: LoadOptions) {
    this.#o = { tenant: 'fake', streams: 4, batch: 20, intervalMs: 20, timeoutMs: 10_000, startNs: BigInt(Date.now()) * 1_000_000n, job: 'load', ...o };
    this.#res = { acked: new Set(), refused: new Set(), unknown: new Set(), statuses: [], errors: [], job: this.#o.job, fromNs: this.#o.startNs, throughNs: this.#o.startNs };
  }

  /** The line number `i`'s text and timestamp. */
  #line(i: number): { ts: bigint; line: string; stream: number } {
    return { ts: this.#o.startNs + BigInt(i) * 1000n, line: `load line ${i} id=${i.toString(36)}`, stream: i % this.#o.streams };
  }

  /** Pushes one batch to `url`; records the outcome. Returns the status (0: no answer). */
  async pushOnce(url: string): Promise<number> {
    const o = this.#o;
    const lines: { ts: bigint; line: string; stream: number }[] = [];
    for (let k = 0; k < o.batch; k++) lines.push(this.#line(this.#seq++));
    const byStream = new Map<number, [string, string][]>();
    for (const l of lines) {
      let v = byStream.get(l.stream);
      if (!v) byStream.set(l.stream, (v = []));
      v.push([l.ts.toString(), l.line]);
    }
    const body = JSON.stringify({ streams: [...byStream].map(([s, values]) => ({ stream: { job: o.job, stream: `s${s}` }, values })) });
    let status = 0;
    try {
      const res = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': o.tenant }, body, signal: AbortSignal.timeout(o.timeoutMs) });
      status = res.status;
      const text = await res.text();
      if ((status < 200 || status >= 300) && this.#res.errors.length < 5) this.#res.errors.push(`${new Date().toISOString()} ${status} ${text.trim()}`);
    } catch (e) {
      status = 0;
      if (this.#res.errors.length < 5) this.#res.errors.push(`no answer: ${(e as Error).message}`);
    }
    const into = status >= 200 && status < 300 ? this.#res.acked : status === 0 ? this.#res.unknown : this.#res.refused;
    for (const l of lines) into.add(l.line);
    this.#res.statuses.push(status);
    const last = lines[lines.length - 1]!.ts;
    if (last > this.#res.throughNs) this.#res.throughNs = last;
    return status;
  }

  /** Pushes until `stop()`, round-robin over the URLs. */
  start(): void {
    this.#loop = (async () => {
      let i = 0;
      while (!this.#stopped) {
        await this.pushOnce(this.#o.urls[i++ % this.#o.urls.length]!);
        await new Promise((r) => setTimeout(r, this.#o.intervalMs));
      }
    })();
  }

  async stop(): Promise<LoadResult> {
    this.#stopped = true;
    await this.#loop;
    return this.#res;
  }

  get result(): LoadResult {
    return this.#res;
  }
}

/** Every line of a log query over [fromNs, throughNs] (paged backward by `limit`), with counts. */
export async function queryAllLines(url: string, query: string, fromNs: bigint, throughNs: bigint, tenant = 'fake'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let end = throughNs + 1n;
  const limit = 5000;
  for (;;) {
    const q = new URLSearchParams({ query, start: fromNs.toString(), end: end.toString(), limit: String(limit), direction: 'backward' });
    const res = await fetch(`${url}/loki/api/v1/query_range?${q}`, { headers: { 'x-scope-orgid': tenant } });
    if (res.status !== 200) throw new Error(`query_range ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { data: { result: { values: [string, string][] }[] } };
    let n = 0;
    let oldest = end;
    for (const s of body.data.result) {
      for (const [ts, line] of s.values) {
        n++;
        counts.set(line, (counts.get(line) ?? 0) + 1);
        const t = BigInt(ts);
        if (t < oldest) oldest = t;
      }
    }
    if (n < limit) return counts;
    // Lines are 1 µs apart and unique per timestamp: continue strictly before the oldest seen.
    end = oldest;
  }
}

/** The value of a single-series instant/range metric result summed over series (`sum(count_over_time(…))`). */
export async function metricSum(url: string, query: string, atNs: bigint, tenant = 'fake'): Promise<number> {
  const q = new URLSearchParams({ query, time: atNs.toString() });
  const res = await fetch(`${url}/loki/api/v1/query?${q}`, { headers: { 'x-scope-orgid': tenant } });
  if (res.status !== 200) throw new Error(`query ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  let sum = 0;
  for (const r of body.data.result) sum += Number(r.value[1]);
  return sum;
}
