/**
 * The behaviour every IngesterClient must show, run against each implementation:
 * `runIngesterClientContract(name, wrap)`. Each test starts a real Ingester (no WAL, chunks
 * flushed into memory, small blocks so chunks have cut blocks and a head) behind a
 * LocalIngesterClient; `wrap` puts the implementation under test in front of it (itself, or a
 * gRPC client talking to a gRPC server that answers from it).
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockEntryTs } from '../chunk/index.js';
import { defaultConfig, type LimitsConfig } from '../config/config.js';
import { RateLimitError, SiltError, UnavailableError, ValidationError } from '../errors.js';
import { fingerprint, inShard, labelsToString, sortLabels, type Label, type Labels, type PushEntry, type StructuredMetadata, type ValidStream } from '../model/index.js';
import { chunkKey, type ChunkRef } from '../storage/index.js';
import { testMatcher } from '../storage/testing.js';
import { seededRandom } from '../util/random.js';
import type { IngesterClient, MemStream } from './client.js';
import { Ingester, type ChunkSink, type IngesterConfig } from './ingester.js';
import { LocalIngesterClient } from './local-client.js';

/** The implementation under test in front of `local`, and what to stop after the test. */
export interface IngesterClientFixture {
  client: IngesterClient;
  cleanup(): Promise<void>;
}

/** Chunks and index writes of flushes, kept in memory. */
export class MemorySink implements ChunkSink {
  readonly chunks = new Map<string, Buffer>();
  putChunk(ref: ChunkRef, bytes: Buffer): Promise<void> {
    this.chunks.set(chunkKey(ref), bytes);
    return Promise.resolve();
  }
  writeIndex(): Promise<void> {
    return Promise.resolve();
  }
}

/** Tenants with tight limits, for the error cases. */
const SLOW = 'slow'; // per-stream rate limit of 100 B/s
const FEW = 'few'; // one stream at most

/** An Ingester as the contract runs it: small blocks, no WAL, limits per tenant above. */
export async function startTestIngester(blockSizeBytes = 2048): Promise<{ ingester: Ingester; local: LocalIngesterClient; sink: MemorySink }> {
  const base = defaultConfig();
  const cfg: IngesterConfig = {
    ...base.ingester,
    chunk_block_size: blockSizeBytes,
    block_sealer: 'inline',
    flush_check_period: 3_600_000,
    wal: { ...base.ingester.wal, enabled: false },
  };
  const limits = (tenant: string): LimitsConfig => {
    const l = { ...base.limits_config };
    if (tenant === SLOW) Object.assign(l, { per_stream_rate_limit: 100, per_stream_rate_limit_burst: 100 });
    if (tenant === FEW) Object.assign(l, { max_global_streams_per_user: 1 });
    return l;
  };
  const sink = new MemorySink();
  const ingester = new Ingester({ cfg, limits, sink, logger: pino({ level: 'silent' }), registry: new Registry() });
  await ingester.start();
  return { ingester, local: new LocalIngesterClient(ingester, 'ing-1'), sink };
}

/** Now in ns: well past 2^53, so a lost bit shows. */
const NOW_NS = BigInt(Date.now()) * 1_000_000n + 123_457n;

function validStream(labels: Record<string, string>, entries: PushEntry[]): ValidStream {
  const ls = sortLabels(Object.entries(labels).map(([name, value]) => ({ name, value })));
  return { labels: ls, labelsString: labelsToString(ls), fingerprint: fingerprint(ls), entries };
}

/** `n` entries from `startNs` on, partly out of order, some with structured metadata, some lines binary. */
function makeEntries(seed: number, n: number, startNs: bigint): PushEntry[] {
  const rnd = seededRandom(seed);
  const out: PushEntry[] = [];
  for (let i = 0; i < n; i++) {
    const ts = startNs + BigInt(i) * 1_000_003n - (i % 7 === 3 ? 2_500_000n : 0n);
    const md: Label[] = [];
    if (i % 3 === 0) md.push({ name: 'trace_id', value: `t${Math.floor(rnd() * 40)}` });
    if (i % 10 === 0) md.push({ name: 'user', value: 'zoë ✓' });
    const line = i % 13 === 0 ? Buffer.from([0xff, 0x00, 0xfe, i & 0xff, 0x0a]) : Buffer.from(`level=${['info', 'warn', 'error'][i % 3]} seq=${i} msg="request ${Math.floor(rnd() * 1e6)} done" took=${i % 97}ms`);
    out.push({ tsNs: ts, line, metadata: md });
  }
  return out;
}

interface Flat {
  ts: bigint;
  line: string;
  md: StructuredMetadata;
}

function flatten(entries: readonly PushEntry[]): Flat[] {
  return entries.map((e) => ({ ts: e.tsNs, line: e.line.toString('hex'), md: e.metadata.map((l) => ({ name: l.name, value: l.value })) }));
}

/** Every entry a snapshot of one stream holds: cut blocks, then head, of every chunk. */
function snapshotEntries(s: MemStream): Flat[] {
  const out: Flat[] = [];
  for (const c of s.chunks) {
    const blocks = [];
    if (c.cut !== null) for (let i = 0; i < c.cut.blockMetas().length; i++) blocks.push(c.cut.readBlock(i));
    if (c.head !== null) blocks.push(c.head);
    for (const b of blocks) {
      for (let i = 0; i < b.n; i++) out.push({ ts: blockEntryTs(b, i), line: b.lines.subarray(b.lineOffsets[i]!, b.lineOffsets[i + 1]!).toString('hex'), md: b.metadata(i).map((l) => ({ name: l.name, value: l.value })) });
    }
  }
  return out;
}

const byTsThenLine = (a: Flat, b: Flat): number => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.line < b.line ? -1 : a.line > b.line ? 1 : 0);

function sorted(f: Flat[]): Flat[] {
  return [...f].sort(byTsThenLine);
}

const m = testMatcher;

/** Polls `fn` until it holds or 5 s pass. */
async function eventually(fn: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 5000;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejection(p: Promise<unknown>): Promise<SiltError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SiltError);
    return e as SiltError;
  }
  throw new Error('expected a rejection');
}

export function runIngesterClientContract(name: string, wrap: (local: LocalIngesterClient) => Promise<IngesterClientFixture>): void {
  describe(`IngesterClient contract: ${name}`, () => {
    let ingester: Ingester;
    let sink: MemorySink;
    let fx: IngesterClientFixture;
    let c: IngesterClient;
    const api = validStream({ app: 'api', env: 'prod' }, makeEntries(1, 700, NOW_NS));
    const web = validStream({ app: 'web', env: 'prod' }, makeEntries(2, 300, NOW_NS + 50n));
    const dev = validStream({ app: 'api', env: 'dev', zone: 'b' }, makeEntries(3, 20, NOW_NS));

    beforeEach(async () => {
      const t = await startTestIngester();
      ingester = t.ingester;
      sink = t.sink;
      fx = await wrap(t.local);
      c = fx.client;
    });
    afterEach(async () => {
      await fx.cleanup();
      await ingester.stop(1000);
    });

    it('push then selectStreams returns exactly what was pushed, blocks cut and head, metadata and ns included', async () => {
      await c.push('t1', [api, web]);
      await c.push('t1', [dev]);
      const got = await c.selectStreams('t1', [], NOW_NS - 10_000_000_000n, NOW_NS + 10_000_000_000n);
      expect(got.map((s) => labelsToString(s.labels)).sort()).toEqual([api, web, dev].map((s) => s.labelsString).sort());
      let cut = 0;
      let heads = 0;
      const ids = new Set<string>();
      for (const s of got) {
        const sent = [api, web, dev].find((v) => v.labelsString === labelsToString(s.labels))!;
        expect(s.fingerprint).toBe(sent.fingerprint);
        expect(sorted(snapshotEntries(s))).toEqual(sorted(flatten(sent.entries)));
        for (const ch of s.chunks) {
          expect(ch.id.startsWith('ing-1/')).toBe(true);
          ids.add(ch.id);
          const all = snapshotEntries({ ...s, chunks: [ch] }).map((e) => e.ts);
          expect(ch.fromNs).toBe(all.reduce((a, b) => (b < a ? b : a)));
          expect(ch.throughNs).toBe(all.reduce((a, b) => (b > a ? b : a)));
          if (ch.cut !== null) cut += ch.cut.blockMetas().length;
          if (ch.head !== null) heads++;
        }
      }
      expect(ids.size).toBe(got.reduce((n, s) => n + s.chunks.length, 0));
      expect(cut).toBeGreaterThan(10);
      expect(heads).toBeGreaterThanOrEqual(2);
      // A later push never changes a snapshot already taken.
      const before = sorted(snapshotEntries(got.find((s) => labelsToString(s.labels) === api.labelsString)!));
      await c.push('t1', [validStream({ app: 'api', env: 'prod' }, makeEntries(9, 50, NOW_NS + 900_000_000n))]);
      expect(sorted(snapshotEntries(got.find((s) => labelsToString(s.labels) === api.labelsString)!))).toEqual(before);
    });

    it('selectStreams honours matchers, the time range and the tenant', async () => {
      await c.push('t1', [api, web, dev]);
      const names = async (ms: ReturnType<typeof m>[], from = NOW_NS - 10_000_000_000n, through = NOW_NS + 10_000_000_000n, tenant = 't1'): Promise<string[]> =>
        (await c.selectStreams(tenant, ms, from, through)).map((s) => labelsToString(s.labels)).sort();
      expect(await names([m('app', '=', 'api')])).toEqual([dev.labelsString, api.labelsString].sort());
      expect(await names([m('app', '=~', 'a.*'), m('env', '!=', 'dev')])).toEqual([api.labelsString]);
      expect(await names([m('zone', '!~', '.+')])).toEqual([api.labelsString, web.labelsString].sort());
      // dev's entries end 20 ms after NOW_NS; api's and web's run on for about 0.7 s.
      expect(await names([], NOW_NS + 100_000_000n, NOW_NS + 200_000_000n)).toEqual([api.labelsString, web.labelsString].sort());
      expect(await names([], NOW_NS + 60_000_000_000n, NOW_NS + 70_000_000_000n)).toEqual([]);
      expect(await names([], NOW_NS - 10_000_000_000n, NOW_NS + 10_000_000_000n, 'nobody')).toEqual([]);
    });

    it('selectStreams with a shard returns exactly the streams of that shard', async () => {
      const many = Array.from({ length: 24 }, (_, i) => validStream({ app: 'shard', pod: `p${i}` }, makeEntries(i, 3, NOW_NS + BigInt(i) * 1_000_000n)));
      await c.push('t1', many);
      const all = (await c.selectStreams('t1', [m('app', '=', 'shard')], 0n, NOW_NS * 2n)).map((s) => labelsToString(s.labels)).sort();
      expect(all).toEqual(many.map((s) => s.labelsString).sort());
      for (const of of [2, 3]) {
        const union: string[] = [];
        for (let index = 0; index < of; index++) {
          const shard = { index, of };
          const got = (await c.selectStreams('t1', [m('app', '=', 'shard')], 0n, NOW_NS * 2n, { shard })).map((s) => labelsToString(s.labels)).sort();
          expect(got).toEqual(many.filter((s) => inShard(s.fingerprint, shard)).map((s) => s.labelsString).sort());
          union.push(...got);
        }
        expect(union.sort()).toEqual(all);
      }
    });

    it('storedKeys knows no key before a flush and the stored copy of every chunk after', async () => {
      await c.push('t1', [api, web]);
      const snap = await c.selectStreams('t1', [], 0n, NOW_NS * 2n);
      const ids = snap.flatMap((s) => s.chunks.map((ch) => ch.id));
      expect(ids.length).toBeGreaterThanOrEqual(2);
      expect((await c.storedKeys('t1', ids)).size).toBe(0);
      expect(await c.flush()).toBe(0);
      const keys = await c.storedKeys('t1', [...ids, 'ing-1/999999', 'elsewhere/1']);
      expect([...keys.keys()].sort()).toEqual([...ids].sort());
      for (const k of keys.values()) {
        expect(k.startsWith('t1/chunks/')).toBe(true);
        expect(sink.chunks.has(k)).toBe(true);
      }
      expect((await c.storedKeys('t1', [])).size).toBe(0);
      // Flushed chunks stay readable until their retain period ends.
      expect((await c.selectStreams('t1', [], 0n, NOW_NS * 2n)).length).toBe(2);
    });

    it('answers label names, label values and series', async () => {
      await c.push('t1', [api, web, dev]);
      await c.push('t2', [validStream({ other: 'x' }, makeEntries(4, 3, NOW_NS))]);
      const from = NOW_NS - 10_000_000_000n;
      const to = NOW_NS + 10_000_000_000n;
      expect(await c.labelNames('t1', from, to, [])).toEqual(['app', 'env', 'zone']);
      expect(await c.labelNames('t1', from, to, [m('app', '=', 'web')])).toEqual(['app', 'env']);
      expect(await c.labelValues('t1', 'env', from, to, [])).toEqual(['dev', 'prod']);
      expect(await c.labelValues('t1', 'env', from, to, [m('zone', '=', 'b')])).toEqual(['dev']);
      expect(await c.labelValues('t1', 'nosuch', from, to, [])).toEqual([]);
      expect(await c.labelNames('t2', from, to, [])).toEqual(['other']);
      const series = (await c.series('t1', from, to, [m('env', '=', 'prod')])).map((ls: Labels) => labelsToString(ls)).sort();
      expect(series).toEqual([api.labelsString, web.labelsString].sort());
      expect(await c.series('t1', NOW_NS + 60_000_000_000n, NOW_NS + 70_000_000_000n, [])).toEqual([]);
      expect(await c.labelNames('nobody', from, to, [])).toEqual([]);
    });

    it('tail hands over pushed entries of matching streams and counts its tailers', async () => {
      const got: Flat[] = [];
      const seen: string[] = [];
      const closed: (Error | null)[] = [];
      expect(await c.tailersCount('t1')).toBe(0);
      const unsubscribe = await c.tail('t1', [m('app', '=', 'api'), m('env', '=', 'prod')], {
        onEntries(labels, entries) {
          seen.push(labelsToString(labels));
          got.push(...flatten(entries));
        },
        onClose(err) {
          closed.push(err);
        },
      });
      expect(await c.tailersCount('t1')).toBe(1);
      expect(await c.tailersCount('t2')).toBe(0);
      await c.push('t1', [api, web]);
      await c.push('t2', [api]);
      await eventually(() => Promise.resolve(got.length >= api.entries.length));
      expect(new Set(seen)).toEqual(new Set([api.labelsString]));
      expect(sorted(got)).toEqual(sorted(flatten(api.entries)));
      unsubscribe();
      await eventually(async () => (await c.tailersCount('t1')) === 0);
      await c.push('t1', [validStream({ app: 'api', env: 'prod' }, makeEntries(5, 5, NOW_NS + 2_000_000_000n))]);
      await new Promise((r) => setTimeout(r, 50));
      expect(got.length).toBe(api.entries.length);
      expect(closed).toEqual([]);
    });

    it('keeps the kind, class and text of the ingester errors', async () => {
      // Per-stream rate limit (429), Loki's text naming the stream.
      const big = validStream({ app: 'api' }, makeEntries(6, 20, NOW_NS));
      const rate = await rejection(c.push(SLOW, [big]));
      expect(rate).toBeInstanceOf(RateLimitError);
      expect(rate.kind).toBe('limited');
      expect((rate as RateLimitError).reason).toBe('per_stream_rate_limit');
      const bytes = big.entries.reduce((n, e) => n + e.line.length, 0);
      expect(bytes).toBeLessThan(1000);
      expect(rate.message).toBe(
        `Per stream rate limit exceeded (limit: 100 B/sec) while attempting to ingest for stream '{app="api"}' totaling ${bytes} B, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased`,
      );
      // Stream limit (429): the first stream is stored, the second refused.
      const limit = await rejection(c.push(FEW, [api, web]));
      expect(limit).toBeInstanceOf(RateLimitError);
      expect((limit as RateLimitError).reason).toBe('stream_limit');
      expect(limit.message).toContain(`Maximum active stream limit exceeded when trying to create stream ${web.labelsString}`);
      expect((await c.selectStreams(FEW, [], 0n, NOW_NS * 2n)).map((s) => labelsToString(s.labels))).toEqual([api.labelsString]);
      // Too far behind (400).
      await c.push('t1', [validStream({ app: 'late' }, [{ tsNs: NOW_NS, line: Buffer.from('now'), metadata: [] }])]);
      const old = await rejection(c.push('t1', [validStream({ app: 'late' }, [{ tsNs: NOW_NS - 7_200_000_000_000n, line: Buffer.from('old'), metadata: [] }])]));
      expect(old).toBeInstanceOf(ValidationError);
      expect(old.kind).toBe('invalid');
      expect((old as ValidationError).reason).toBe('too_far_behind');
      expect(old.message).toMatch(/^entry with timestamp .* ignored, reason: 'entry too far behind, entry timestamp is: .*, oldest acceptable timestamp is: .*',\nuser 't1', total ignored: 1 out of 1 for stream: \{app="late"\}$/);
      // A stopped ingester refuses writes (503).
      await ingester.stop(1000);
      const stopped = await rejection(c.push('t1', [dev]));
      expect(stopped).toBeInstanceOf(UnavailableError);
      expect(stopped.message).toBe('Ingester is not ready to accept writes');
    });
  });
}
