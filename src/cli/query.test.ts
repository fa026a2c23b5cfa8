import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.js';
import { LokiClient } from './client.js';
import { pageRange, type PageEntry } from './query.js';

interface E {
  stream: string;
  ts: bigint;
  line: string;
}

/**
 * A fake query_range: the `limit` entries nearest the scan start in [start, end), with ties
 * broken at random (the worst case for paging), and a server-side cap on `limit`.
 */
function fakeLoki(all: E[], rnd: () => number, maxLimit: number): typeof fetch {
  return (async (input: string | URL | Request) => {
    const u = new URL(String(input));
    const p = u.searchParams;
    const limit = Number(p.get('limit'));
    if (limit > maxLimit) return new Response(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${maxLimit})`, { status: 400 });
    const start = BigInt(p.get('start')!);
    const end = BigInt(p.get('end')!);
    const forward = p.get('direction') === 'FORWARD';
    const hits = all.filter((e) => e.ts >= start && e.ts < end).map((e) => ({ e, r: rnd() }));
    hits.sort((a, b) => (a.e.ts !== b.e.ts ? ((a.e.ts < b.e.ts) === forward ? -1 : 1) : a.r - b.r));
    const byStream = new Map<string, [string, string][]>();
    for (const { e } of hits.slice(0, limit)) {
      let v = byStream.get(e.stream);
      if (!v) byStream.set(e.stream, (v = []));
      v.push([e.ts.toString(), e.line]);
    }
    const result = [...byStream].map(([s, values]) => ({ stream: { s }, values }));
    return new Response(JSON.stringify({ status: 'success', data: { resultType: 'streams', result } }), { status: 200 });
  }) as typeof fetch;
}

const key = (e: { ts: bigint | string; stream: string; line: string }): string => `${e.ts}|${e.stream}|${e.line}`;

describe('pageRange', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('random runs of equal timestamps, seed %i: every entry once, in order', async (seed) => {
    const rnd = seededRandom(seed);
    const all: E[] = [];
    let ts = 1_000n;
    for (let i = 0; i < 400; i++) {
      // Runs of up to 40 entries at one timestamp across three streams.
      const run = rnd() < 0.2 ? 1 + Math.floor(rnd() * 40) : 1;
      for (let j = 0; j < run; j++) all.push({ stream: `s${Math.floor(rnd() * 3)}`, ts, line: `l${i}-${j}` });
      ts += BigInt(1 + Math.floor(rnd() * 3));
    }
    const batch = 1 + Math.floor(rnd() * 25);
    // Above the longest run (40), but often below batch + lines already seen at a boundary.
    const maxLimit = 41 + Math.floor(rnd() * 40);
    for (const forward of [true, false]) {
      const client = new LokiClient({ addr: 'http://fake', orgId: '', username: '', password: '', bearerToken: '', bearerTokenFile: '', queryTags: '', headers: [], quiet: true, log: () => {}, fetchFn: fakeLoki(all, rnd, maxLimit) });
      const got: PageEntry[] = [];
      const n = await pageRange(
        client,
        { query: '{s=~".+"}', startNs: 0n, endNs: ts + 1n, limit: 0, batch, forward, stepNs: 0n, quiet: true, includeLabels: [], excludeLabels: [], includeCommonLabels: true, fixedLabelsLen: 0 },
        { onEntries: (es) => void got.push(...es), onMetric: () => {} },
      );
      expect(n).toBe(all.length);
      expect(got.map((e) => key({ ts: e.tsNs, stream: e.labels['s']!, line: e.line })).sort()).toEqual(all.map(key).sort());
      for (let i = 1; i < got.length; i++) expect(forward ? got[i]!.tsNs >= got[i - 1]!.tsNs : got[i]!.tsNs <= got[i - 1]!.tsNs).toBe(true);
      // A limit stops exactly there.
      const limited: PageEntry[] = [];
      await pageRange(
        client,
        { query: '{s=~".+"}', startNs: 0n, endNs: ts + 1n, limit: 123, batch, forward, stepNs: 0n, quiet: true, includeLabels: [], excludeLabels: [], includeCommonLabels: true, fixedLabelsLen: 0 },
        { onEntries: (es) => void limited.push(...es), onMetric: () => {} },
      );
      expect(limited).toHaveLength(123);
      expect(new Set(limited.map((e) => key({ ts: e.tsNs, stream: e.labels['s']!, line: e.line }))).size).toBe(123);
    }
  });

  it('says so when more lines share one timestamp than the server returns per query', async () => {
    const all: E[] = Array.from({ length: 50 }, (_, i) => ({ stream: 'a', ts: 5n, line: `x${i}` }));
    const client = new LokiClient({ addr: 'http://fake', orgId: '', username: '', password: '', bearerToken: '', bearerTokenFile: '', queryTags: '', headers: [], quiet: true, log: () => {}, fetchFn: fakeLoki(all, seededRandom(1), 20) });
    await expect(
      pageRange(
        client,
        { query: '{s="a"}', startNs: 0n, endNs: 10n, limit: 0, batch: 10, forward: true, stepNs: 0n, quiet: true, includeLabels: [], excludeLabels: [], includeCommonLabels: true, fixedLabelsLen: 0 },
        { onEntries: () => {}, onMetric: () => {} },
      ),
    ).rejects.toThrow(/more than 20 entries share the timestamp 5; the server returns at most 20 per query/);
  });
});
