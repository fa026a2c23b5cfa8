/**
 * Parquet export (issue #18 item 8, ADR 0020): `query_range` with
 * `Accept: application/vnd.apache.parquet` and `siltcli export --format parquet`. Every file
 * is read back with parquet-wasm (arrow-rs, Rust), a reader independent of the writer
 * (hyparquet-writer), and its rows compared with a brute-force reference over what was pushed.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey, REPO_ROOT, type GenEntry } from './support/genlogs.js';
import { NO_INGEST_ENRICHMENT, pushEntries, startInProcess, tempDir, type InProcess } from './support/silt.js';

const PARQUET = 'application/vnd.apache.parquet';

const gen = genEntries({ lines: 3000, streams: 20, rate: 100 });
/** Lines sharing one nanosecond, non-ASCII text and an empty line: exactness at the edges. */
const T0 = gen[100]!.tsNs + 1n;
const extra: GenEntry[] = [
  { labels: { job: 'parquet-edge', shard: 'a' }, tsNs: T0, line: 'same ns 1 — ünïcödé ✓' },
  { labels: { job: 'parquet-edge', shard: 'a' }, tsNs: T0, line: 'same ns 2' },
  { labels: { job: 'parquet-edge', shard: 'b' }, tsNs: T0, line: '' },
];
const entries = [...gen, ...extra];
const START = gen[0]!.tsNs;
const END = gen.at(-1)!.tsNs + 1n;

let on: InProcess;
let off: InProcess;

beforeAll(async () => {
  on = await startInProcess(tempDir('silt-parquet-on-'), [...NO_INGEST_ENRICHMENT, '-frontend.support-parquet-encoding=true']);
  off = await startInProcess(tempDir('silt-parquet-off-'), [...NO_INGEST_ENRICHMENT]);
  for (const s of [on, off]) expect((await pushEntries(s.url, entries)).status).toBe(204);
});
afterAll(async () => {
  await on?.stop();
  await off?.stop();
});

interface Row {
  /** The raw INT64 of the timestamp column (ns for logs, ms for metrics). */
  ts: bigint;
  labels: Record<string, string>;
  line?: string;
  value?: number;
}

/** Reads a Parquet file with parquet-wasm (arrow-rs) and returns its rows and Arrow schema. */
function readRows(file: Uint8Array): { rows: Row[]; types: Record<string, string> } {
  const t = arrow.tableFromIPC(readParquet(file).intoIPCStream());
  const types: Record<string, string> = {};
  for (const f of t.schema.fields) types[f.name] = String(f.type);
  const rows: Row[] = [];
  if (t.numRows === 0) return { rows, types };
  const ts: bigint[] = [];
  // The raw int64 values: Arrow's get() turns timestamps into (lossy) float milliseconds.
  for (const d of t.getChild('timestamp')!.data) ts.push(...(d.values as BigInt64Array));
  const labels = t.getChild('labels')!;
  const line = t.getChild('line');
  const value = t.getChild('value');
  for (let i = 0; i < t.numRows; i++) {
    const m: Record<string, string> = {};
    for (const [k, v] of labels.get(i) as Iterable<[string, string]>) m[k] = v;
    const r: Row = { ts: ts[i]!, labels: m };
    if (line) r.line = line.get(i) as string;
    if (value) r.value = value.get(i) as number;
    rows.push(r);
  }
  return { rows, types };
}

async function queryParquet(base: string, params: Record<string, string>): Promise<Response> {
  return fetch(`${base}/loki/api/v1/query_range?${new URLSearchParams(params)}`, { headers: { Accept: PARQUET } });
}

const logKey = (ts: bigint, labels: Record<string, string>, line: string): string => `${ts}|${labelKey(labels)}|${line}`;

describe('query_range as Parquet', () => {
  it('log query: one row per entry with its exact ns timestamp, labels and line', async () => {
    const r = await queryParquet(on.url, { query: '{namespace=~".+"}', start: START.toString(), end: END.toString(), limit: '5000', direction: 'forward' });
    expect(r.status, await r.clone().text()).toBe(200);
    expect(r.headers.get('content-type')).toBe(PARQUET);
    const { rows, types } = readRows(new Uint8Array(await r.arrayBuffer()));
    expect(types).toEqual({ timestamp: 'Timestamp<NANOSECOND, UTC>', labels: 'Map<{key:Utf8, value:Utf8}>', line: 'Utf8' });
    const want = gen.map((e) => logKey(e.tsNs, e.labels, e.line)).sort();
    expect(rows.map((x) => logKey(x.ts, x.labels, x.line!)).sort()).toEqual(want);
    // Forward: each stream's rows ascend.
    const last = new Map<string, bigint>();
    for (const x of rows) {
      const k = labelKey(x.labels);
      expect(x.ts >= (last.get(k) ?? 0n)).toBe(true);
      last.set(k, x.ts);
    }
  });

  it('log query, backward: same-ns entries, non-ASCII and empty lines survive', async () => {
    const r = await queryParquet(on.url, { query: '{job="parquet-edge"}', start: START.toString(), end: END.toString(), limit: '100' });
    expect(r.status).toBe(200);
    const { rows } = readRows(new Uint8Array(await r.arrayBuffer()));
    expect(rows.map((x) => logKey(x.ts, x.labels, x.line!)).sort()).toEqual(extra.map((e) => logKey(e.tsNs, e.labels, e.line)).sort());
    expect(rows.every((x) => x.ts === T0)).toBe(true);
  });

  it('a query matching nothing is a valid Parquet file with no rows', async () => {
    const r = await queryParquet(on.url, { query: '{job="no-such-job"}', start: START.toString(), end: END.toString() });
    expect(r.status).toBe(200);
    expect(readRows(new Uint8Array(await r.arrayBuffer())).rows).toEqual([]);
  });

  it('metric query: one row per sample {timestamp ms, labels, value}, checked against a brute-force count', async () => {
    const startS = START / 1_000_000_000n + 10n;
    const endS = END / 1_000_000_000n;
    const stepS = 5n;
    const r = await queryParquet(on.url, { query: 'sum by (namespace) (count_over_time({namespace=~".+"}[10s]))', start: startS.toString(), end: endS.toString(), step: stepS.toString() });
    expect(r.status, await r.clone().text()).toBe(200);
    expect(r.headers.get('content-type')).toBe(PARQUET);
    const { rows, types } = readRows(new Uint8Array(await r.arrayBuffer()));
    expect(types).toEqual({ timestamp: 'Timestamp<MILLISECOND, UTC>', labels: 'Map<{key:Utf8, value:Utf8}>', value: 'Float64' });
    // Brute force: at each step t, the entries with t-10s < ts <= t, per namespace.
    const want: string[] = [];
    for (let t = startS; t <= endS; t += stepS) {
      const tNs = t * 1_000_000_000n;
      const counts = new Map<string, number>();
      for (const e of gen) if (e.tsNs > tNs - 10_000_000_000n && e.tsNs <= tNs) counts.set(e.labels['namespace']!, (counts.get(e.labels['namespace']!) ?? 0) + 1);
      for (const [ns, n] of counts) want.push(`${t * 1000n}|${labelKey({ namespace: ns })}|${n}`);
    }
    expect(want.length).toBeGreaterThan(20);
    expect(rows.map((x) => `${x.ts}|${labelKey(x.labels)}|${x.value}`).sort()).toEqual(want.sort());
  });

  it('disabled (the default): Loki\'s 400 text; JSON still answers', async () => {
    const params = { query: '{namespace=~".+"}', start: START.toString(), end: END.toString(), limit: '10' };
    for (const query of [params.query, 'count_over_time({namespace=~".+"}[1m])']) {
      const r = await queryParquet(off.url, { ...params, query });
      expect(r.status).toBe(400);
      expect((await r.text()).trim()).toBe('support for Parquet encoded responses is disabled. Enable with -frontend.support-parquet-encoding=true');
    }
    const j = await fetch(`${off.url}/loki/api/v1/query_range?${new URLSearchParams(params)}`);
    expect(j.status).toBe(200);
    expect(j.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('siltcli export --format parquet', () => {
  it('writes a file that reads back to every pushed entry', async () => {
    const dir = tempDir('silt-parquet-cli-');
    const file = path.join(dir, 'out.parquet');
    const fd = openSync(file, 'w');
    const iso = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().replace('Z', '') + (ns % 1_000_000n).toString().padStart(6, '0') + 'Z';
    let stderr = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(REPO_ROOT, 'cmd/siltcli.ts'), 'export', '{namespace=~".+"}', '--from', iso(START), '--to', iso(END), '--format', 'parquet', '--batch', '700', '--addr', on.url],
        { cwd: REPO_ROOT, stdio: ['ignore', fd, 'pipe'], env: { ...process.env, NO_COLOR: '' } },
      );
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (c) => resolve(c));
    });
    closeSync(fd);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`exported ${gen.length} lines`);
    const { rows, types } = readRows(readFileSync(file));
    expect(types['timestamp']).toBe('Timestamp<NANOSECOND, UTC>');
    // Forward over the whole range: the file's order is the entries' time order.
    const byTs = [...gen].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
    expect(rows.map((x) => x.ts)).toEqual(byTs.map((e) => e.tsNs));
    expect(rows.map((x) => logKey(x.ts, x.labels, x.line!)).sort()).toEqual(gen.map((e) => logKey(e.tsNs, e.labels, e.line)).sort());
  });
});
