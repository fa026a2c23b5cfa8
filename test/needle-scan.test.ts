/**
 * Line-filter scans over stored chunks, whose blocks are searched for the filters' literals
 * before they are decoded (chunk `readBlockUnlessLacking`): the answer and Loki's stats
 * (`totalLinesProcessed`, `totalBytesProcessed`) equal a brute force over the pushed data, with
 * the decoded-block cache off and on, for needles absent, present, and made of two lines' ends,
 * and without any filter. With the chunk cache off every chunk is read into memory lent for its
 * scan and reused by later reads (ChunkStore.getForScan): lines kept from earlier chunks must
 * not change, uncompressed blocks (codec none) included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredBlockProbe } from '../src/logql/log/index.js';
import { parseExpr } from '../src/logql/syntax/index.js';
import { genEntries, labelKey } from './support/genlogs.js';
import { flattenStreams, referenceQuery } from './support/reference.js';
import { NO_INGEST_ENRICHMENT, getJson, pushEntries, queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

const entries = genEntries({ lines: 3000, streams: 12, rate: 100, seed: 7 });
const first = entries[0]!.tsNs;
const last = entries.at(-1)!.tsNs;

/**
 * Literal made of one line's last bytes and the next line's first, of the same stream, found in
 * no line; short and without a whole token, so no block filter can rule a block out.
 */
function acrossLines(): string {
  const prev = new Map<string, string>();
  for (const e of entries) {
    const k = labelKey(e.labels);
    const p = prev.get(k);
    prev.set(k, e.line);
    if (p === undefined) continue;
    const lit = p.slice(-3) + e.line.slice(0, 3);
    if (!/^[\x20-\x7e]+$/.test(lit) || requiredBlockProbe(parseExpr(`{a="b"} |= ${JSON.stringify(lit)}`)).length > 0 || entries.some((x) => x.line.includes(lit))) continue;
    return lit;
  }
  throw new Error('no literal across two lines');
}

const NEEDLES: { name: string; filters: string[] }[] = [
  { name: 'absent, rare first byte', filters: ['zq#x'] },
  { name: 'absent, common first byte', filters: ['ezq#x'] },
  { name: 'present', filters: ['GET /'] },
  { name: 'two filters, one absent', filters: ['GET /', 'zq#x'] },
  { name: 'across two lines', filters: [acrossLines()] },
  { name: 'no filter', filters: [] },
];

const CONFIGS: { blockCache: string; chunkCache: string | null; codec: string | null }[] = [
  { blockCache: '0', chunkCache: null, codec: null },
  { blockCache: '64MiB', chunkCache: null, codec: null },
  { blockCache: '0', chunkCache: '0', codec: null },
  { blockCache: '0', chunkCache: '0', codec: 'none' },
  { blockCache: '64MiB', chunkCache: '0', codec: 'none' },
];

for (const c of CONFIGS) {
  describe(`stored scan, block cache ${c.blockCache}, chunk cache ${c.chunkCache ?? 'default'}, codec ${c.codec ?? 'default'}`, () => {
    let silt: InProcess;
    beforeAll(async () => {
      silt = await startInProcess(tempDir(), [
        ...NO_INGEST_ENRICHMENT,
        '-ingester.chunk-target-size=32KiB',
        '-ingester.chunks-block-size=8KiB',
        // The data ends a minute ago: only stored chunks answer.
        '-querier.query-ingesters-within=1s',
        `-querier.block-cache-size=${c.blockCache}`,
        // Without the chunk cache, 2 chunks read ahead: a few lent buffers serve every chunk.
        ...(c.chunkCache === null ? [] : [`-store.chunks-cache-size=${c.chunkCache}`, '-querier.max-concurrent=2']),
        ...(c.codec === null ? [] : [`-ingester.chunk-encoding=${c.codec}`]),
      ]);
      const r = await pushEntries(silt.url, entries);
      expect(r.status).toBe(204);
      await silt.app.ingester!.flushNow(true);
    });
    afterAll(async () => {
      await silt?.stop();
    });

    it('metric query over the same chunks, twice', async () => {
      // Metric queries read chunks through the same leases; the second run is served by the
      // decoded-block cache when it is on, whose blocks must not view lent memory.
      const filters = [entries[7]!.line.slice(2, 6), ''];
      for (const f of filters) {
        const query = `sum(count_over_time({cluster=~".+"} |= ${JSON.stringify(f)} [1h]))`;
        const want = entries.filter((e) => e.line.includes(f)).length;
        expect(want).toBeGreaterThan(0);
        for (let i = 0; i < 2; i++) {
          const resp = await getJson(`${silt.url}/loki/api/v1/query?${new URLSearchParams({ query, time: (last + 1n).toString() })}`);
          expect(resp.data.result.length, JSON.stringify(resp).slice(0, 400)).toBe(1);
          expect(Number(resp.data.result[0].value[1]), `${query} #${i}`).toBe(want);
        }
      }
    });

    if (c.chunkCache === '0') {
      it('reads chunks into lent memory, reused from chunk to chunk', async () => {
        const lent = silt.app.chunkStore.lendBuffers!;
        const resp = await queryRange(silt.url, { query: '{cluster=~".+"}', start: first.toString(), end: (last + 1n).toString(), limit: '5000', direction: 'forward' });
        const chunks = resp.data.stats.querier.store.totalChunksDownloaded;
        expect(chunks).toBeGreaterThan(10);
        // A few buffers (the prefetch's depth) served every chunk of every query so far.
        expect(lent.allocated).toBeGreaterThan(0);
        expect(lent.allocated).toBeLessThanOrEqual(4);
      });
    }

    for (const n of NEEDLES) {
      for (const sub of ['all', 'window'] as const) {
        it(`${n.name} (${sub}), twice`, async () => {
          const startNs = sub === 'all' ? first : first + (last - first) / 3n;
          const endNs = sub === 'all' ? last + 1n : first + ((last - first) * 2n) / 3n;
          const query = `{cluster=~".+"} ${n.filters.map((f) => `|= ${JSON.stringify(f)}`).join(' ')}`;
          const want = referenceQuery(entries, { labels: { cluster: (v) => v !== '' }, line: n.filters.map((f) => (l: string) => l.includes(f)), startNs, endNs, limit: 5000, direction: 'backward' });
          expect(want.length).toBeLessThan(5000);
          // Nothing for the block filters: every line in range is processed, as the stats below say.
          expect(requiredBlockProbe(parseExpr(query)).length).toBe(0);
          const inRange = entries.filter((e) => e.tsNs >= startNs && e.tsNs < endNs);
          // The second time the block cache (when on) holds what the first query decoded.
          for (let i = 0; i < 2; i++) {
            const resp = await queryRange(silt.url, { query, start: startNs.toString(), end: endNs.toString(), limit: '5000', direction: 'backward' });
            const got = flattenStreams(resp, 'backward');
            expect([...got.rows].sort()).toEqual([...want].sort());
            const s = resp.data.stats.summary;
            expect(s.totalLinesProcessed).toBe(inRange.length);
            expect(s.totalBytesProcessed).toBe(inRange.reduce((a, e) => a + Buffer.byteLength(e.line), 0));
            expect(s.totalPostFilterLines).toBe(want.length);
          }
        });
      }
    }
  });
}
