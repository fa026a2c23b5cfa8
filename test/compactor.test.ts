/**
 * The compactor end to end: push generator data spanning 26 hours in batches (many small
 * chunks), run the compactor, and compare log and metric queries with a brute-force
 * reference after index compaction, chunk merging, per-stream retention and a delete request
 * (hidden at once, then physically removed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChunk } from '../src/chunk/index.js';
import { genEntries, toStreams, type GenEntry } from './support/genlogs.js';
import { flattenStreams, referenceQuery } from './support/reference.js';
import { getJson, NO_INGEST_ENRICHMENT, queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

const H_MS = 3_600_000;
const NOW_MS = Date.now();
const START_MS = NOW_MS - 26 * H_MS;
const LINES = 3000;
const entries: GenEntry[] = genEntries({ lines: LINES, streams: 12, seed: 7, startMs: START_MS, rate: LINES / (25.5 * 3600) });
const firstNs = entries[0]!.tsNs;
const lastNs = entries[entries.length - 1]!.tsNs;
const apps = [...new Set(entries.map((e) => e.labels['app']!))];
/** The app with a 24h retention rule, and the app a delete request targets. */
const RET_APP = apps[0]!;
const DEL_APP = apps.find((a) => a !== RET_APP && entries.filter((e) => e.labels['app'] === a).length > 100)!;
/** A token in some but not all of DEL_APP's lines. */
const DEL_WORD = (() => {
  const lines = entries.filter((e) => e.labels['app'] === DEL_APP).map((e) => e.line);
  const counts = new Map<string, number>();
  for (const l of lines) for (const w of new Set(l.split(/[^A-Za-z]+/))) if (w.length >= 4) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts].sort((a, b) => Math.abs(a[1] - lines.length / 3) - Math.abs(b[1] - lines.length / 3))[0]![0];
})();
const DEL_START_S = Math.floor(Number((firstNs + (lastNs - firstNs) / 4n) / 1_000_000_000n));
const DEL_END_S = Math.floor(Number((firstNs + ((lastNs - firstNs) * 3n) / 4n) / 1_000_000_000n));
const isDeleted = (e: GenEntry): boolean =>
  e.labels['app'] === DEL_APP && e.tsNs >= BigInt(DEL_START_S) * 1_000_000_000n && e.tsNs <= BigInt(DEL_END_S) * 1_000_000_000n && e.line.includes(DEL_WORD);

let silt: InProcess;

async function logRows(query: string): Promise<string[]> {
  const resp = await queryRange(silt.url, { query, start: String(firstNs), end: String(lastNs + 1n), limit: '5000', direction: 'forward' });
  const { rows, ordered } = flattenStreams(resp, 'forward');
  expect(ordered).toBe(true);
  return rows.sort();
}

function refRows(keep: (e: GenEntry) => boolean): string[] {
  return referenceQuery(entries.filter(keep), { labels: {}, line: [], startNs: firstNs, endNs: lastNs + 1n, limit: 1e9, direction: 'forward' }).sort();
}

/** `sum by (app) (count_over_time(...))` over all the data: counts every stored entry, so doubled data shows. */
async function countsByApp(): Promise<Record<string, number>> {
  const t = (lastNs + 1_000_000_000n) / 1_000_000_000n;
  const q = `sum by (app) (count_over_time({cluster=~".+", app!="${RET_APP}"}[27h]))`;
  const r = await getJson(`${silt.url}/loki/api/v1/query?${new URLSearchParams({ query: q, time: String(t) })}`);
  const out: Record<string, number> = {};
  for (const s of r.data.result) out[s.metric.app] = Number(s.value[1]);
  return out;
}

function refCounts(keep: (e: GenEntry) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) if (e.labels['app'] !== RET_APP && keep(e)) out[e.labels['app']!] = (out[e.labels['app']!] ?? 0) + 1;
  return out;
}

async function chunkObjects(): Promise<{ count: number; bytes: number; keys: string[] }> {
  const { objects } = await silt.app.objects.list('fake/chunks/');
  return { count: objects.length, bytes: objects.reduce((a, o) => a + o.sizeBytes, 0), keys: objects.map((o) => o.key) };
}

const notRet = (e: GenEntry): boolean => e.labels['app'] !== RET_APP;
const ALL_BUT_RET = `{cluster=~".+", app!="${RET_APP}"}`;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [
    ...NO_INGEST_ENRICHMENT,
    '-compactor.retention-enabled=true',
    '-compactor.delete-request-cancel-period=0s',
    '-compactor.retention-delete-delay=0s',
    '-compactor.compaction-interval=1h',
    '-querier.query-ingesters-within=1s',
    `-limits.retention-stream=[{"selector":"{app=\\"${RET_APP}\\"}","priority":1,"period":"24h"}]`,
  ]);
  // Twelve pushes, each flushed: about twelve small chunks per stream.
  const batch = Math.ceil(entries.length / 12);
  for (let i = 0; i < entries.length; i += batch) {
    const body = JSON.stringify({ streams: toStreams(entries.slice(i, i + batch)) });
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(r.status, await r.text()).toBe(204);
    await silt.app.ingester!.flushNow();
  }
});

afterAll(async () => {
  await silt?.stop();
});

describe('compactor end to end', () => {
  it('compacts the index, merges small chunks and applies retention without changing other results', async () => {
    expect(await logRows(ALL_BUT_RET)).toEqual(refRows(notRet));
    expect(await countsByApp()).toEqual(refCounts(() => true));
    const before = await chunkObjects();

    // A run leaves chunks alone while an ingester may still serve them from memory.
    const early = await silt.app.compactor!.runOnce({ noSweep: true });
    expect(early.totals.merged).toBe(0);
    expect(await countsByApp()).toEqual(refCounts(() => true));
    // As if they were old enough (the querier reads no ingester memory for this data).
    const run = await silt.app.compactor!.runOnce({ minChunkAgeMs: 0 });
    expect(run.tablesChanged).toBeGreaterThan(0);
    expect(run.totals.merged).toBeGreaterThan(run.totals.mergedInto);
    expect(early.totals.expired + run.totals.expired).toBeGreaterThan(0);

    expect(await logRows(ALL_BUT_RET)).toEqual(refRows(notRet));
    expect(await countsByApp()).toEqual(refCounts(() => true));
    // One segment per table.
    const { objects } = await silt.app.objects.list('index/');
    const perTable = new Map<string, number>();
    for (const o of objects) {
      const t = o.key.slice(0, o.key.lastIndexOf('/'));
      perTable.set(t, (perTable.get(t) ?? 0) + 1);
    }
    expect([...perTable.values()].every((n) => n === 1)).toBe(true);
    // Merged originals and expired chunks were swept (delay 0).
    const after = await chunkObjects();
    expect(after.count).toBeLessThan(before.count);

    // Retention: the rule's stream keeps its last 24h, loses what is older than 24h + a chunk's span.
    const ret = await logRows(`{app="${RET_APP}"}`);
    const cutoffNs = BigInt(Date.now() - 24 * H_MS) * 1_000_000n;
    const kept = new Set(ret);
    const refRet = refRows((e) => e.labels['app'] === RET_APP);
    for (const row of refRet) {
      const ts = BigInt(row.split('|')[1]!);
      if (ts >= cutoffNs) expect(kept.has(row), row).toBe(true);
      if (ts < cutoffNs - 2n * BigInt(H_MS) * 1_000_000n - 60_000_000_000n) expect(kept.has(row), row).toBe(false);
    }
    expect(ret.length).toBeLessThan(refRet.length);
  });

  it('hides deleted lines at once, then the compactor removes them from every chunk', async () => {
    const q = `{app="${DEL_APP}"} |= "${DEL_WORD}"`;
    const post = await fetch(`${silt.url}/loki/api/v1/delete?${new URLSearchParams({ query: q, start: String(DEL_START_S), end: String(DEL_END_S) })}`, { method: 'POST' });
    expect(post.status, await post.text()).toBe(204);
    const list = await getJson(`${silt.url}/loki/api/v1/delete`);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ query: q, start_time: DEL_START_S, end_time: DEL_END_S, status: 'received' });
    expect(Object.keys(list[0]).sort()).toEqual(['created_at', 'end_time', 'query', 'request_id', 'start_time', 'status', 'user_id']);
    expect(entries.some(isDeleted)).toBe(true);

    // Hidden at query time, in log and metric queries.
    const want = refRows((e) => notRet(e) && !isDeleted(e));
    expect(await logRows(ALL_BUT_RET)).toEqual(want);
    expect(await countsByApp()).toEqual(refCounts((e) => !isDeleted(e)));

    const run = await silt.app.compactor!.runOnce();
    expect(run.deleteRequestsProcessed).toBe(1);
    expect(run.totals.entriesDeleted).toBe(entries.filter(isDeleted).length);
    const listed = await getJson(`${silt.url}/loki/api/v1/delete`);
    expect(listed[0].status).toBe('processed');
    expect(await logRows(ALL_BUT_RET)).toEqual(want);
    expect(await countsByApp()).toEqual(refCounts((e) => !isDeleted(e)));

    // Physically gone: no stored chunk holds a deleted line.
    const gone = new Set(entries.filter(isDeleted).map((e) => e.line));
    for (const key of (await chunkObjects()).keys) {
      const c = decodeChunk(await silt.app.objects.get(key));
      for (let b = 0; b < c.blockMetas().length; b++) {
        const blk = c.readBlock(b);
        for (let i = 0; i < blk.n; i++) expect(gone.has(blk.lines.toString('utf8', blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!))).toBe(false);
      }
    }
    // A processed request cannot be cancelled.
    const cancel = await fetch(`${silt.url}/loki/api/v1/delete?request_id=${listed[0].request_id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(400);
    expect(await cancel.text()).toBe('deletion of request which is in process or already processed is not allowed\n');
  });

  it.each([
    [{}, 'query not set'],
    [{ query: 'sum(rate({a="b"}[1m]))', start: '1700000000' }, 'invalid query expression'],
    [{ query: '{a="b"' }, 'invalid query expression'],
    [{ query: '{a="b"}' }, 'start time not set'],
    [{ query: '{a="b"}', start: '17000000' }, 'invalid start time: require unix seconds or RFC3339 format'],
    [{ query: '{a="b"}', start: '1700000000', end: 'yesterday' }, 'invalid end time: require unix seconds or RFC3339 format'],
    [{ query: '{a="b"}', start: '1700000000', end: '4000000000' }, 'deletes in the future are not allowed'],
    [{ query: '{a="b"}', start: '2023-11-14T22:13:20Z', end: '1700000000' }, "start time can't be greater than or equal to end time"],
  ])('rejects a bad delete request %j with 400 and Loki\'s text', async (params, text) => {
    const r = await fetch(`${silt.url}/loki/api/v1/delete?${new URLSearchParams(params as Record<string, string>)}`, { method: 'PUT' });
    expect(r.status).toBe(400);
    expect(await r.text()).toBe(text + '\n');
  });

  it('answers 404 for cancelling an unknown request and serves the cache generation number', async () => {
    const r = await fetch(`${silt.url}/loki/api/v1/delete?request_id=deadbeef`, { method: 'DELETE' });
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('could not find delete request with given id\n');
    const gen = await getJson(`${silt.url}/loki/api/v1/cache/generation_numbers`);
    expect(gen).toMatch(/^\d{13}$/);
  });
});
