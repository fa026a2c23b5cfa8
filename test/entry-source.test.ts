/**
 * The metric engine's view of storage: every entry of a selector exactly once, from memory
 * and stored chunks together, with time range and line filters applied — compared with a
 * brute-force filter over the pushed data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExpr, type LogSelectorExpr } from '../src/logql/syntax/index.js';
import { QuerierEntrySource } from '../src/querier/entry-source.js';
import { genEntries, labelKey } from './support/genlogs.js';
import { getJson, startInProcess, tempDir, type InProcess, NO_INGEST_ENRICHMENT, pushEntries } from './support/silt.js';

let silt: InProcess;
const entries = genEntries({ lines: 4000, streams: 25, rate: 100 });

async function push(from: number, to: number): Promise<void> {
  const r = await pushEntries(silt.url, entries.slice(from, to));
  expect(r.status).toBe(204);
}

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT, '-ingester.chunk-target-size=32KiB', '-ingester.chunks-block-size=8KiB', '-ingester.chunks-retain-period=1h']);
  await push(0, 2500);
  await silt.app.ingester!.flushNow(true); // first part flushed but still retained in memory
  await push(2500, 4000);
});
afterAll(async () => {
  await silt?.stop();
});

async function collect(query: string, fromNs: bigint, throughNs: bigint): Promise<string[]> {
  const src = new QuerierEntrySource('fake', silt.app.ingesterClient, (silt.app.querier as any).deps.store, { concurrency: 4, decodeAhead: true });
  const out: string[] = [];
  await src.scan(parseExpr(query) as LogSelectorExpr, fromNs, throughNs, (v) => {
    const obj = Object.fromEntries(v.labels.map((l) => [l.name, l.value]));
    for (let i = v.lo; i < v.hi; i++) {
      if (v.sel[i] !== 1) continue;
      const line = v.block.lines.toString('utf8', v.block.lineOffsets[i]!, v.block.lineOffsets[i + 1]!);
      out.push(`${labelKey(obj)}|${v.block.baseNs + BigInt(v.block.tsRel[i]!)}|${line}`);
    }
  });
  return out.sort();
}

describe('QuerierEntrySource', () => {
  it.each([
    ['{cluster=~".+"}', () => true],
    ['{cluster="prod-eu-west-1"} |= "GET"', (l: string, c: string) => c === 'prod-eu-west-1' && l.includes('GET')],
    ['{cluster=~".+"} |= "ERR_RATE_LIMITED_7F1A"', (l: string) => l.includes('ERR_RATE_LIMITED_7F1A')],
    ['{cluster=~".+"} != "info"', (l: string) => !l.includes('info')],
  ])('%s visits each entry once', async (query, pred) => {
    const from = entries[300]!.tsNs;
    const through = entries[3700]!.tsNs;
    const want = entries
      .filter((e) => e.tsNs >= from && e.tsNs <= through && (pred as (l: string, c: string) => boolean)(e.line, e.labels['cluster']!))
      .map((e) => `${labelKey(e.labels)}|${e.tsNs}|${e.line}`)
      .sort();
    expect(await collect(query, from, through)).toEqual(want);
  });
});

describe('flushed chunks still in ingester memory', () => {
  const range = (): URLSearchParams => new URLSearchParams({ start: String(entries[0]!.tsNs), end: String(entries[entries.length - 1]!.tsNs + 1n) });

  it('are counted once by /index/stats', async () => {
    const q = range();
    q.set('query', '{cluster=~".+"}');
    const st = await getJson(`${silt.url}/loki/api/v1/index/stats?${q}`);
    expect(st.entries).toBe(entries.length);
    expect(st.streams).toBe(new Set(entries.map((e) => labelKey(e.labels))).size);
  });

  it('are read from memory, not fetched again from the store', async () => {
    const src = new QuerierEntrySource('fake', silt.app.ingesterClient, (silt.app.querier as any).deps.store, { concurrency: 4, decodeAhead: true });
    let n = 0;
    await src.scan(parseExpr('{cluster=~".+"}') as LogSelectorExpr, entries[0]!.tsNs, entries[entries.length - 1]!.tsNs, (v) => {
      for (let i = v.lo; i < v.hi; i++) n += v.sel[i]!;
    });
    expect(n).toBe(entries.length);
    expect(src.stats.chunksFetched).toBe(0);
  });
});

describe('a chunk whose index entry is written while a query runs', () => {
  it('is counted once by metric queries, log queries and /index/stats', async () => {
    const own = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT, '-ingester.chunks-retain-period=1h']);
    let release = (): void => undefined;
    try {
      const mine = genEntries({ lines: 300, streams: 3, rate: 50, seed: 11 });
      expect((await pushEntries(own.url, mine)).status).toBe(204);
      // Hold the flush after the index segment is written, before the ingester marks the chunks flushed.
      const sink = (own.app.ingester as any).deps.sink as { writeIndex: (...a: unknown[]) => Promise<void> };
      const write = sink.writeIndex.bind(sink);
      const gate = new Promise<void>((r) => (release = r));
      let indexed!: () => void;
      const written = new Promise<void>((r) => (indexed = r));
      sink.writeIndex = async (...a: unknown[]) => {
        await write(...a);
        indexed();
        await gate;
      };
      const flushing = own.app.ingester!.flushNow(true);
      await written;

      const fromNs = mine[0]!.tsNs;
      const t = mine[mine.length - 1]!.tsNs + 1_000_000_000n;
      const count = async (): Promise<number> => {
        const q = new URLSearchParams({ query: 'sum(count_over_time({cluster=~".+"}[1h]))', time: String(t) });
        const r = await getJson(`${own.url}/loki/api/v1/query?${q}`);
        return Number(r.data.result[0].value[1]);
      };
      const lines = async (): Promise<number> => {
        const q = new URLSearchParams({ query: '{cluster=~".+"}', start: String(fromNs), end: String(t), limit: '5000' });
        const r = await getJson(`${own.url}/loki/api/v1/query_range?${q}`);
        return r.data.result.reduce((a: number, s: { values: unknown[] }) => a + s.values.length, 0);
      };
      const stats = async (): Promise<number> => {
        const q = new URLSearchParams({ query: '{cluster=~".+"}', start: String(fromNs), end: String(t) });
        return (await getJson(`${own.url}/loki/api/v1/index/stats?${q}`)).entries;
      };
      // Chunks uploaded and indexed, still in memory and not yet marked flushed.
      expect([await count(), await lines(), await stats()]).toEqual([mine.length, mine.length, mine.length]);
      release();
      await flushing;
      // Marked flushed and retained in memory.
      expect([await count(), await lines(), await stats()]).toEqual([mine.length, mine.length, mine.length]);
    } finally {
      // A failed expectation must not leave the flush (and so the shutdown) waiting on the gate.
      release();
      await own.stop();
    }
  });
});
