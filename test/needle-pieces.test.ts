/**
 * Needle queries over stored chunks whose blocks the needle filters mostly rule out: a chunk the
 * chunk cache lacks is then read only in part, the blocks that may match (ChunkStore
 * getBlocksForScan, chunk decodeChunkPieces). Log and metric answers equal a brute force over
 * the pushed data for whole trace ids (in a few lines), pieces of them at 8 and 12 bytes, an
 * absent id and a filter pair, with the chunk cache off and on, after a full scan filled it,
 * and with the decoded-block cache on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredBlockProbe } from '../src/logql/log/index.js';
import { parseExpr } from '../src/logql/syntax/index.js';
import { genEntries } from './support/genlogs.js';
import { flattenStreams, referenceQuery } from './support/reference.js';
import { NO_INGEST_ENRICHMENT, getJson, pushEntries, queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

const entries = genEntries({ lines: 8000, streams: 4, rate: 100, seed: 23 });
const first = entries[0]!.tsNs;
const last = entries.at(-1)!.tsNs;

/** The trace id of entry `i`'s line, or of the first line after it that has one (32 hex digits). */
function traceId(i: number): string {
  for (let j = i; j < entries.length; j++) {
    const m = /trace_id\W+([0-9a-f]{32})/.exec(entries[j]!.line);
    if (m) return m[1]!;
  }
  throw new Error('no trace id');
}

const id1 = traceId(1234);
const id2 = traceId(5555);
const ABSENT = 'ffff0000e9e9aaaa';
const NEEDLES: string[][] = [[id1], [id1.slice(3, 15)], [id2.slice(0, 8)], [ABSENT], ['level', id2.slice(2, 14)], [`trace_id=${id1}`]];

const CONFIGS: { name: string; flags: string[]; fullScanFirst: boolean }[] = [
  { name: 'no chunk cache', flags: ['-store.chunks-cache-size=0'], fullScanFirst: false },
  { name: 'chunk cache', flags: [], fullScanFirst: false },
  { name: 'chunk cache after a full scan', flags: [], fullScanFirst: true },
  { name: 'block cache', flags: ['-store.chunks-cache-size=0', '-querier.block-cache-size=64MiB'], fullScanFirst: false },
];

for (const c of CONFIGS) {
  describe(`needles read by blocks, ${c.name}`, () => {
    let silt: InProcess;
    beforeAll(async () => {
      silt = await startInProcess(tempDir(), [
        ...NO_INGEST_ENRICHMENT,
        '-ingester.chunk-target-size=32KiB',
        '-ingester.chunks-block-size=4KiB',
        // The data ends a minute ago: only stored chunks answer.
        '-querier.query-ingesters-within=1s',
        ...c.flags,
      ]);
      expect((await pushEntries(silt.url, entries)).status).toBe(204);
      await silt.app.ingester!.flushNow(true);
      if (c.fullScanFirst) {
        const resp = await queryRange(silt.url, { query: '{cluster=~".+"} |= "zq"', start: first.toString(), end: (last + 1n).toString(), limit: '10', direction: 'forward' });
        expect(resp.data.result.length).toBe(0);
      }
    });
    afterAll(async () => {
      await silt?.stop();
    });

    for (const filters of NEEDLES) {
      const query = `{cluster=~".+"} ${filters.map((f) => `|= ${JSON.stringify(f)}`).join(' ')}`;
      it(`${query}: log queries both ways, all and a window, and a count`, async () => {
        // Every needle is one the block filters decide on.
        expect(requiredBlockProbe(parseExpr(query)).length).toBeGreaterThan(0);
        const store = silt.app.chunkStore;
        const before = store.blockReads;
        for (const sub of ['all', 'window'] as const) {
          const startNs = sub === 'all' ? first : first + (last - first) / 3n;
          const endNs = sub === 'all' ? last + 1n : first + ((last - first) * 2n) / 3n;
          for (const direction of ['forward', 'backward'] as const) {
            const want = referenceQuery(entries, { labels: { cluster: (v) => v !== '' }, line: filters.map((f) => (l: string) => l.includes(f)), startNs, endNs, limit: 5000, direction });
            const resp = await queryRange(silt.url, { query, start: startNs.toString(), end: endNs.toString(), limit: '5000', direction });
            const got = flattenStreams(resp, direction);
            expect(got.ordered).toBe(true);
            expect([...got.rows].sort()).toEqual([...want].sort());
            expect(resp.data.stats.summary.totalPostFilterLines).toBe(want.length);
          }
        }
        const count = `sum(count_over_time(${query} [1h]))`;
        const resp = await getJson(`${silt.url}/loki/api/v1/query?${new URLSearchParams({ query: count, time: (last + 1n).toString() })}`);
        const want = entries.filter((e) => filters.every((f) => e.line.includes(f))).length;
        expect(resp.data.result.length ? Number(resp.data.result[0].value[1]) : 0).toBe(want);
        // A needle in few blocks reads the chunks the cache lacks in part (and they stay out of
        // it); chunks the full scan left in the cache are read from it, whole.
        if (c.fullScanFirst) expect(store.blockReads).toBe(before);
      });
    }

    it('the needles are present and absent as meant, in chunks of many blocks', async () => {
      expect(entries.filter((e) => e.line.includes(id1)).length).toBeGreaterThan(0);
      expect(entries.filter((e) => e.line.includes(id2.slice(0, 8))).length).toBeGreaterThan(0);
      expect(entries.filter((e) => e.line.includes(ABSENT)).length).toBe(0);
      const store = silt.app.chunkStore;
      const before = store.blockReadBytes;
      const resp = await queryRange(silt.url, { query: `{cluster=~".+"} |= ${JSON.stringify(id1)}`, start: first.toString(), end: (last + 1n).toString(), limit: '10', direction: 'forward' });
      expect(resp.data.result.length).toBeGreaterThan(0);
      const s = resp.data.stats.querier.store;
      expect(s.totalChunksDownloaded).toBeGreaterThan(0);
      // What the query says it downloaded is what the reads of its blocks took (none when cached).
      expect(s.chunk.compressedBytes).toBeGreaterThan(0);
      if (c.fullScanFirst) expect(store.blockReadBytes).toBe(before);
      // A chunk whose matching blocks are more than half of it is read whole: the data's
      // timestamps follow the clock, so where chunks are cut varies from run to run.
      else expect(store.blockReadBytes - before).toBeLessThanOrEqual(s.chunk.compressedBytes);
      if (!c.fullScanFirst) expect(store.blockReads).toBeGreaterThan(0);
      // Reads in part put nothing in the chunk cache.
      if (!c.fullScanFirst) expect(store.cache.count).toBe(0);
    });
  });
}
