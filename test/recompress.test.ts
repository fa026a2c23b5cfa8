/**
 * The compactor's recompression of old days (ADR 0038) through a server's config: push
 * generator data spanning yesterday and today, run the compactor with
 * `-compactor.recompress-after`, and compare log and metric queries with a brute-force reference
 * while yesterday's chunks become zstd and today's stay as the ingester wrote them; late
 * entries for yesterday are recompressed by the next run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChunk } from '../src/chunk/index.js';
import { loadTable } from '../src/compactor/markers.js';
import { chunkKey, dayOf } from '../src/storage/index.js';
import { genEntries, toStreams, type GenEntry } from './support/genlogs.js';
import { flattenStreams, referenceQuery } from './support/reference.js';
import { getJson, NO_INGEST_ENRICHMENT, queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

const H_MS = 3_600_000;
const DAY_MS = 24 * H_MS;
const NOW_MS = Date.now();
const TODAY_MS = Math.floor(NOW_MS / DAY_MS) * DAY_MS;
/**
 * Yesterday 01:00–23:00 UTC, and today from 00:00 (or the last 10 minutes) until 2 minutes ago
 * (none in the first minutes of a day). Queries end a minute ago: with query_ingesters_within
 * 1s they read stored chunks only, so none meets an ingester's copy of a chunk that the test's
 * compactor runs (minChunkAgeMs 0, unlike a server's) rewrote.
 */
const todayStartMs = Math.max(TODAY_MS + 1000, NOW_MS - 10 * 60_000);
const todayEndMs = NOW_MS - 2 * 60_000;
const entries: GenEntry[] = [
  ...genEntries({ lines: 3000, streams: 12, seed: 11, startMs: TODAY_MS - 23 * H_MS, rate: 3000 / (22 * 3600) }),
  ...(todayEndMs - todayStartMs > 10_000 ? genEntries({ lines: 200, streams: 12, seed: 13, startMs: todayStartMs, rate: 200 / ((todayEndMs - todayStartMs) / 1000) }) : []),
];
const QUERY_END_NS = BigInt(NOW_MS - 60_000) * 1_000_000n;
/** Late entries for yesterday, pushed after the first recompression. */
const late: GenEntry[] = genEntries({ lines: 40, streams: 12, seed: 12, startMs: TODAY_MS - 12 * H_MS, rate: 1 });
const all = (): GenEntry[] => [...entries, ...late];
const firstNs = entries[0]!.tsNs;
const lastNs = entries[entries.length - 1]!.tsNs;
const yesterday = dayOf(firstNs);
const today = dayOf(lastNs);

let silt: InProcess;

async function push(es: readonly GenEntry[]): Promise<void> {
  const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: toStreams([...es]) }) });
  expect(r.status, await r.text()).toBe(204);
  await silt.app.ingester!.flushNow();
}

async function logRows(): Promise<string[]> {
  const resp = await queryRange(silt.url, { query: '{cluster=~".+"}', start: String(firstNs), end: String(QUERY_END_NS), limit: '10000', direction: 'forward' });
  const { rows, ordered } = flattenStreams(resp, 'forward');
  expect(ordered).toBe(true);
  return rows.sort();
}
const refRows = (es: readonly GenEntry[]): string[] => referenceQuery([...es], { labels: {}, line: [], startNs: firstNs, endNs: QUERY_END_NS, limit: 1e9, direction: 'forward' }).sort();

/** `sum by (app) (count_over_time(...))` over everything: doubled or lost entries show. */
async function countsByApp(): Promise<Record<string, number>> {
  const q = 'sum by (app) (count_over_time({cluster=~".+"}[48h]))';
  const r = await getJson(`${silt.url}/loki/api/v1/query?${new URLSearchParams({ query: q, time: String(QUERY_END_NS / 1_000_000_000n) })}`);
  const out: Record<string, number> = {};
  for (const s of r.data.result) out[s.metric.app] = Number(s.value[1]);
  return out;
}
function refCounts(es: readonly GenEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of es) out[e.labels['app']!] = (out[e.labels['app']!] ?? 0) + 1;
  return out;
}

/** Codecs of the chunks lying wholly in `day` (those crossing midnight belong to two days). */
async function codecsOf(day: number): Promise<{ codecs: Set<string>; maxBlock: number; recompressed: string }> {
  const { live } = await loadTable(silt.app.objects, 'fake', day);
  const codecs = new Set<string>();
  let maxBlock = 0;
  for (const seg of live) {
    for (let i = 0; i < seg.seriesCount; i++) {
      for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) {
        const ref = seg.refAt(i, j);
        if (dayOf(ref.fromNs) !== day || dayOf(ref.throughNs) !== day) continue;
        const c = decodeChunk(await silt.app.objects.get(chunkKey(ref)));
        codecs.add(c.codec);
        for (const m of c.blockMetas()) maxBlock = Math.max(maxBlock, m.uncompressedBytes);
      }
    }
  }
  return { codecs, maxBlock, recompressed: live.length === 1 ? live[0]!.recompressed : '' };
}

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [
    ...NO_INGEST_ENRICHMENT,
    '-compactor.recompress-after=1s',
    '-compactor.recompress-zstd-level=9',
    '-compactor.recompress-block-size=64KiB',
    '-compactor.retention-delete-delay=0s',
    '-compactor.compaction-interval=1h',
    '-querier.query-ingesters-within=1s',
    '-validation.max-entries-limit=10000',
  ]);
  // Twelve pushes, each flushed: about twelve small chunks per stream.
  const batch = Math.ceil(entries.length / 12);
  expect(entries.every((e, i) => i === 0 || e.tsNs > entries[i - 1]!.tsNs)).toBe(true);
  for (let i = 0; i < entries.length; i += batch) await push(entries.slice(i, i + batch));
});

afterAll(async () => {
  await silt?.stop();
});

describe('compactor.recompress_after end to end', () => {
  it("rewrites yesterday's chunks as zstd once, leaves today's, and every query answers as before", async () => {
    expect(today === yesterday + 1 || entries.length === 3000).toBe(true);
    expect(await logRows()).toEqual(refRows(entries));
    expect(await countsByApp()).toEqual(refCounts(entries));
    expect((await codecsOf(yesterday)).codecs).toEqual(new Set(['lz4']));

    const run = await silt.app.compactor!.runOnce({ minChunkAgeMs: 0 });
    expect(run.totals.recompressed).toBeGreaterThan(12);
    expect(run.totals.recompressedBytesOut).toBeLessThan(run.totals.recompressedBytesIn);
    const y = await codecsOf(yesterday);
    expect(y.codecs).toEqual(new Set(['zstd']));
    expect(y.maxBlock).toBeLessThanOrEqual(64 * 1024 + 4096);
    expect(y.recompressed).toBe('zstd-9/65536/1572864');
    if (today !== yesterday) {
      const t = await codecsOf(today);
      expect(t.codecs).toEqual(new Set(['lz4']));
      expect(t.recompressed).toBe('');
    }
    expect(await logRows()).toEqual(refRows(entries));
    expect(await countsByApp()).toEqual(refCounts(entries));
    // Nothing left to do.
    expect((await silt.app.compactor!.runOnce({ minChunkAgeMs: 0 })).totals.recompressed).toBe(0);
    const metrics = await (await fetch(`${silt.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^silt_compactor_chunks_recompressed_total ${run.totals.recompressed}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^silt_compactor_recompressed_bytes_total\\{stage="after"\\} ${run.totals.recompressedBytesOut}$`, 'm'));
  });

  it('recompresses entries that arrive late for a recompressed day', async () => {
    await push(late);
    expect((await codecsOf(yesterday)).codecs).toEqual(new Set(['zstd', 'lz4']));
    expect(await logRows()).toEqual(refRows(all()));
    const run = await silt.app.compactor!.runOnce({ minChunkAgeMs: 0 });
    expect(run.totals.recompressed).toBeGreaterThan(0);
    expect((await codecsOf(yesterday)).codecs).toEqual(new Set(['zstd']));
    expect(await logRows()).toEqual(refRows(all()));
    expect(await countsByApp()).toEqual(refCounts(all()));
  });
});
