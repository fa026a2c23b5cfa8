import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidError } from '../../errors.js';
import { fingerprint, labelsToString, labelValue } from '../../model/labels.js';
import type { Label, Labels } from '../../model/labels.js';
import type { Matcher, MatchType } from '../../model/matcher.js';
import type { ChunkRef } from '../chunk-ref.js';
import { FilesystemObjectClient } from '../fs-client.js';
import { MemoryObjectClient } from '../memory-client.js';
import { seededRandom, testMatcher as m } from '../testing.js';
import { DAY_NS } from './consts.js';
import { IndexCorruptError } from './errors.js';
import { parseSegmentKey } from './keys.js';
import { IndexReader } from './reader.js';
import { IndexWriter } from './writer.js';
import type { SeriesEntry } from './writer.js';

const DAY = 19_700;
const BASE = BigInt(DAY) * DAY_NS;
const HOUR = 3_600_000_000_000n;
const MIN = 60_000_000_000n;

function series(obj: Record<string, string>): SeriesEntry {
  const labels: Label[] = Object.entries(obj)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { fingerprint: fingerprint(labels), labels };
}

let checksumSeq = 1;
function chunk(tenant: string, s: SeriesEntry, from: bigint, through: bigint, over: Partial<ChunkRef> = {}): ChunkRef {
  return {
    tenant,
    fingerprint: s.fingerprint,
    fromNs: from,
    throughNs: through,
    checksum: checksumSeq++,
    sizeBytes: 1_500_000,
    entries: 1000,
    uncompressedBytes: 6_000_000,
    ...over,
  };
}

/** Brute-force reference: filter the raw list. */
function reference(all: { s: SeriesEntry; refs: ChunkRef[] }[], from: bigint, through: bigint, matchers: readonly Matcher[]) {
  const refs: ChunkRef[] = [];
  const fps = new Set<string>();
  if (through < from) return { refs, fps: [] };
  for (const { s, refs: rs } of all) {
    if (!matchers.every((x) => x.matches(labelValue(s.labels, x.name)))) continue;
    for (const r of rs) {
      if (r.fromNs <= through && r.throughNs >= from) {
        refs.push(r);
        fps.add(s.fingerprint);
      }
    }
  }
  const key = (r: ChunkRef): string => `${r.fingerprint}/${String(r.fromNs).padStart(20, '0')}/${String(r.throughNs).padStart(20, '0')}/${String(r.checksum).padStart(10, '0')}`;
  refs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { refs, fps: [...fps].sort() };
}

describe('label index: differential against a brute-force filter', () => {
  it('answers random queries exactly like filtering the raw data', async () => {
    const rnd = seededRandom(20240611);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const names = ['app', 'env', 'pod', 'region', 'team', 'level'];
    const values: Record<string, string[]> = {
      app: ['api', 'web', 'db', 'queue', 'api-gw'],
      env: ['prod', 'dev', 'staging'],
      pod: Array.from({ length: 40 }, (_, i) => `pod-${i}`),
      region: ['eu', 'us', 'ap'],
      team: ['a', 'b'],
      level: ['info', 'warn', 'error', 'debug'],
    };
    const client = new MemoryObjectClient();
    const writers = [new IndexWriter(client, 'ingester-0'), new IndexWriter(client, 'ingester-1'), new IndexWriter(client, 'ingester-2')];
    const all: { s: SeriesEntry; refs: ChunkRef[] }[] = [];
    const seen = new Set<string>();
    while (all.length < 300) {
      const obj: Record<string, string> = {};
      for (const n of names) if (n === 'app' || rnd() < 0.6) obj[n] = pick(values[n]!);
      const s = series(obj);
      if (seen.has(s.fingerprint)) continue;
      seen.add(s.fingerprint);
      const refs: ChunkRef[] = [];
      let t = BASE + BigInt(Math.floor(rnd() * 48)) * HOUR;
      const n = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < n; i++) {
        const len = BigInt(1 + Math.floor(rnd() * 30 * 60)) * MIN; // 1 min .. 30 h: some span days
        refs.push(chunk('t1', s, t, t + len, { entries: 1 + Math.floor(rnd() * 5000), uncompressedBytes: Math.floor(rnd() * 1e7) }));
        t += len / 2n + BigInt(Math.floor(rnd() * 5)) * HOUR;
      }
      all.push({ s, refs });
    }
    // Spread writes over writers and flushes; some refs written twice (replication) must dedupe.
    for (let i = 0; i < all.length; i += 25) {
      const batch = all.slice(i, i + 25);
      const w = writers[(i / 25) % writers.length]!;
      await w.writeSegments('t1', batch.map((b) => b.s), batch.flatMap((b) => b.refs));
      if (i % 50 === 0) await writers[(i / 25 + 1) % writers.length]!.writeSegments('t1', batch.map((b) => b.s), batch.flatMap((b) => b.refs).filter(() => rnd() < 0.5));
    }
    // Another tenant's data must never leak in.
    const other = series({ app: 'api', env: 'prod' });
    await writers[0]!.writeSegments('t2', [other], [chunk('t2', other, BASE, BASE + 100n * HOUR)]);

    const reader = new IndexReader(client, { cacheBytes: 64 << 20 });
    const randomMatcher = (): Matcher => {
      const name = rnd() < 0.1 ? 'absent' : pick(names);
      const vals = values[name] ?? ['x'];
      const type = pick<MatchType>(['=', '=', '!=', '=~', '!~']);
      if (type === '=' || type === '!=') return m(name, type, rnd() < 0.15 ? '' : rnd() < 0.1 ? 'missing' : pick(vals));
      const patterns = [`${pick(vals)}|${pick(vals)}`, '.*', '.+', `${pick(vals).slice(0, 2)}.*`, '', 'pod-1.*', '(?:api|web)', 'e.*'];
      return m(name, type, pick(patterns));
    };

    let compared = 0;
    let invalid = 0;
    for (let q = 0; q < 400; q++) {
      const matchers = Array.from({ length: 1 + Math.floor(rnd() * 3) }, randomMatcher);
      const from = BASE - 6n * HOUR + BigInt(Math.floor(rnd() * 110)) * HOUR + BigInt(Math.floor(rnd() * 3600)) * 1_000_000_000n;
      const through = rnd() < 0.05 ? from - 1n : from + BigInt(Math.floor(rnd() * 40)) * HOUR;
      const ctx = `q${q}: ${matchers.map((x) => `${x.name}${x.type}"${x.value}"`).join(',')} [${from - BASE}, ${through - BASE}]`;
      if (matchers.every((x) => x.matches(''))) {
        await expect(reader.chunkRefs('t1', from, through, matchers), ctx).rejects.toBeInstanceOf(InvalidError);
        invalid++;
        continue;
      }
      const want = reference(all, from, through, matchers);
      const got = await reader.chunkRefs('t1', from, through, matchers);
      expect(got.refs, ctx).toEqual(want.refs);
      expect([...got.series.keys()].sort(), ctx).toEqual(want.fps);
      for (const [fp, labels] of got.series) expect(labels, ctx).toEqual(all.find((a) => a.s.fingerprint === fp)!.s.labels);
      // In label-string order, each series once.
      const ser = await reader.series('t1', from, through, matchers);
      expect(ser.map(fingerprint).sort(), ctx).toEqual(want.fps);
      expect(ser.map(labelsToString), ctx).toEqual(ser.map(labelsToString).sort());
      const st = await reader.stats('t1', from, through, matchers);
      expect(st, ctx).toEqual({
        streams: want.fps.length,
        chunks: want.refs.length,
        bytes: want.refs.reduce((a, r) => a + r.uncompressedBytes, 0),
        entries: want.refs.reduce((a, r) => a + r.entries, 0),
      });
      const wantLabels = all.filter((a) => want.fps.includes(a.s.fingerprint)).map((a) => a.s.labels);
      expect(await reader.labelNames('t1', from, through, matchers), ctx).toEqual([...new Set(wantLabels.flatMap((ls) => ls.map((l) => l.name)))].sort());
      const name = pick(names);
      expect(await reader.labelValues('t1', name, from, through, matchers), ctx).toEqual(
        [...new Set(wantLabels.map((ls) => labelValue(ls, name)).filter((v) => v !== ''))].sort(),
      );
      if (q % 10 === 0) {
        // Without matchers: every series in range.
        const every = reference(all, from, through, []);
        const everyLabels = all.filter((a) => every.fps.includes(a.s.fingerprint)).map((a) => a.s.labels);
        expect(await reader.labelNames('t1', from, through), ctx).toEqual([...new Set(everyLabels.flatMap((ls) => ls.map((l) => l.name)))].sort());
        expect(await reader.labelValues('t1', 'pod', from, through, []), ctx).toEqual(
          [...new Set(everyLabels.map((ls) => labelValue(ls, 'pod')).filter((v) => v !== ''))].sort(),
        );
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(250);
    expect(invalid).toBeGreaterThan(0);
    expect(reader.cache.hits).toBeGreaterThan(0);

    // Ranges holding whole segments, with selectors asked again and again: the kept answers
    // (frozen, the same list while no segment comes or goes) against the brute-force filter,
    // before and after a new segment, one of whose series has no chunk (never in an answer).
    const pool = Array.from({ length: 6 }, () => Array.from({ length: 1 + Math.floor(rnd() * 2) }, randomMatcher)).filter((ms) => !ms.every((x) => x.matches('')));
    const [wideFrom, wideThrough] = [BASE - 10n * DAY_NS, BASE + 10n * DAY_NS];
    const checkWide = async (): Promise<void> => {
      for (let q = 0; q < 40; q++) {
        const matchers = pick(pool);
        const ctx = `wide q${q}: ${matchers.map((x) => `${x.name}${x.type}"${x.value}"`).join(',')}`;
        const ser = await reader.series('t1', wideFrom, wideThrough, matchers);
        expect(ser.map(fingerprint).sort(), ctx).toEqual(reference(all, wideFrom, wideThrough, matchers).fps);
        expect(ser.map(labelsToString), ctx).toEqual(ser.map(labelsToString).sort());
        expect(Object.isFrozen(ser), ctx).toBe(true);
        expect(await reader.series('t1', wideFrom, wideThrough, matchers), ctx).toBe(ser);
        // Label names and values of the selected series: kept with the segments as well.
        const wantLabels = all.filter((a) => ser.some((l) => fingerprint(l) === a.s.fingerprint)).map((a) => a.s.labels);
        const names = await reader.labelNames('t1', wideFrom, wideThrough, matchers);
        expect(names, ctx).toEqual([...new Set(wantLabels.flatMap((ls) => ls.map((l) => l.name)))].sort());
        expect(await reader.labelNames('t1', wideFrom, wideThrough, matchers), ctx).toBe(names);
        const pods = await reader.labelValues('t1', 'pod', wideFrom, wideThrough, matchers);
        expect(pods, ctx).toEqual([...new Set(wantLabels.map((ls) => labelValue(ls, 'pod')).filter((v) => v !== ''))].sort());
        expect(await reader.labelValues('t1', 'pod', wideFrom, wideThrough, matchers), ctx).toBe(pods);
        expect(await reader.labelValues('t1', 'app', wideFrom, wideThrough, matchers), ctx).toEqual([...new Set(wantLabels.map((ls) => labelValue(ls, 'app')))].sort());
      }
    };
    await checkWide();
    const late = [series({ app: 'api', env: 'prod', pod: 'pod-late' }), series({ app: 'web', env: 'dev', team: 'a' })];
    const lateRefs = [chunk('t1', late[0]!, BASE + 3n * HOUR, BASE + 4n * HOUR)];
    all.push({ s: late[0]!, refs: lateRefs });
    await writers[0]!.writeSegments('t1', late, lateRefs);
    await checkWide();

    // One segment per day (one write of everything): ranges inside one day read a single
    // segment, where matcher results are not memoised.
    const single = new MemoryObjectClient();
    await new IndexWriter(single, 'ingester-0').writeSegments('t1', all.map((a) => a.s), all.flatMap((a) => a.refs));
    const reader1 = new IndexReader(single);
    for (let q = 0; q < 150; q++) {
      const matchers = Array.from({ length: 1 + Math.floor(rnd() * 3) }, randomMatcher);
      if (matchers.every((x) => x.matches(''))) continue;
      const from = BASE + BigInt(Math.floor(rnd() * 48)) * HOUR;
      const through = from + BigInt(Math.floor(rnd() * 6)) * HOUR;
      const ctx = `single q${q}: ${matchers.map((x) => `${x.name}${x.type}"${x.value}"`).join(',')} [${from - BASE}, ${through - BASE}]`;
      const want = reference(all, from, through, matchers);
      const ser = await reader1.series('t1', from, through, matchers);
      expect(ser.map(fingerprint).sort(), ctx).toEqual(want.fps);
      expect(ser.map(labelsToString), ctx).toEqual(ser.map(labelsToString).sort());
      const wantLabels = all.filter((a) => want.fps.includes(a.s.fingerprint)).map((a) => a.s.labels);
      expect(await reader1.labelNames('t1', from, through, matchers), ctx).toEqual([...new Set(wantLabels.flatMap((ls) => ls.map((l) => l.name)))].sort());
      expect(await reader1.labelValues('t1', 'pod', from, through, matchers), ctx).toEqual([...new Set(wantLabels.map((ls) => labelValue(ls, 'pod')).filter((v) => v !== ''))].sort());
    }
  });
});

describe('IndexWriter / IndexReader', () => {
  const tenant = 'fake';
  const a = series({ app: 'api', env: 'prod' });
  const b = series({ app: 'web', env: 'prod' });
  const sel = [m('env', '=', 'prod')];

  it('writes a multi-day chunk into every day it spans and reports it once', async () => {
    const client = new MemoryObjectClient();
    const w = new IndexWriter(client, 'ing-1');
    const long = chunk(tenant, a, BASE + 20n * HOUR, BASE + 2n * DAY_NS + HOUR); // days DAY..DAY+2
    const short = chunk(tenant, b, BASE + HOUR, BASE + 2n * HOUR);
    const keys = await w.writeSegmentsWithKeys(tenant, [a, b], [long, short, long]);
    expect(keys.map((k) => parseSegmentKey(k)!.day)).toEqual([DAY, DAY + 1, DAY + 2]);
    expect(keys[0]).toMatch(new RegExp(`^index/${DAY}/fake/ing-1-\\d{16}\\.idx$`));
    const r = new IndexReader(client);
    // Only the middle day: still found through that day's table.
    const mid = await r.chunkRefs(tenant, BASE + DAY_NS + HOUR, BASE + DAY_NS + 2n * HOUR, sel);
    expect(mid.refs).toEqual([long]);
    // The whole range: deduplicated across the three days.
    const whole = await r.chunkRefs(tenant, BASE, BASE + 3n * DAY_NS, sel);
    expect(whole.refs).toHaveLength(2);
    expect(whole.series.size).toBe(2);
    expect(await r.stats(tenant, BASE, BASE + 3n * DAY_NS, sel)).toEqual({ streams: 2, chunks: 2, bytes: 12_000_000, entries: 2000 });
    // Inclusive bounds on both ends.
    expect((await r.chunkRefs(tenant, BASE + 2n * HOUR, BASE + 2n * HOUR, [m('app', '=', 'web')])).refs).toEqual([short]);
    expect((await r.chunkRefs(tenant, BASE + 2n * HOUR + 1n, BASE + 3n * HOUR, [m('app', '=', 'web')])).refs).toEqual([]);
  });

  it('merges segments from several writers and flushes, and keeps tenants apart', async () => {
    const client = new MemoryObjectClient();
    const c1 = chunk(tenant, a, BASE, BASE + HOUR);
    const c2 = chunk(tenant, a, BASE + 2n * HOUR, BASE + 3n * HOUR);
    const c3 = chunk(tenant, b, BASE, BASE + HOUR);
    const w1 = new IndexWriter(client, 'ing-1');
    const w2 = new IndexWriter(client, 'ing-2');
    await w1.writeSegments(tenant, [a], [c1]);
    await w1.writeSegments(tenant, [a], [c2]);
    await w2.writeSegments(tenant, [a, b], [c1, c3]); // c1 replicated by a second ingester
    await w2.writeSegments('other', [b], [{ ...c3, tenant: 'other' }]);
    const r = new IndexReader(client);
    expect((await r.chunkRefs(tenant, BASE, BASE + DAY_NS, sel)).refs).toHaveLength(3);
    expect((await r.chunkRefs('other', BASE, BASE + DAY_NS, sel)).refs).toEqual([{ ...c3, tenant: 'other' }]);
    expect(await r.labelValues(tenant, 'app', BASE, BASE + DAY_NS)).toEqual(['api', 'web']);
    expect(await r.labelValues('other', 'app', BASE, BASE + DAY_NS)).toEqual(['web']);
    expect(await r.labelNames(tenant, BASE, BASE + DAY_NS, [m('app', '=', 'api')])).toEqual(['app', 'env']);
    expect(await r.series(tenant, BASE + 2n * HOUR, BASE + DAY_NS, sel)).toEqual([a.labels]);
    expect((await client.list('index/')).objects).toHaveLength(4);
    const total = await r.indexBytes();
    expect(total).toBe(await r.indexBytes(tenant) + (await r.indexBytes('other')));
    expect(await r.indexBytes('nobody')).toBe(0);
  });

  it('answers label values of whole segments with one list per set of segments, new when the set differs', async () => {
    const client = new MemoryObjectClient();
    const z = series({ app: 'zeta', env: 'prod' });
    await new IndexWriter(client, 'ing-1').writeSegments(tenant, [a], [chunk(tenant, a, BASE, BASE + HOUR)]);
    await new IndexWriter(client, 'ing-2').writeSegments(tenant, [b], [chunk(tenant, b, BASE + HOUR, BASE + 2n * HOUR)]);
    await new IndexWriter(client, 'ing-3').writeSegments(tenant, [z], [chunk(tenant, z, BASE + 5n * HOUR, BASE + 6n * HOUR)]);
    const r = new IndexReader(client);
    const day = await r.labelValues(tenant, 'app', BASE, BASE + DAY_NS);
    expect(day).toEqual(['api', 'web', 'zeta']);
    expect(await r.labelValues(tenant, 'app', BASE, BASE + DAY_NS)).toBe(day);
    // The same first segment, not the same set: a new answer.
    expect(await r.labelValues(tenant, 'app', BASE, BASE + 3n * HOUR)).toEqual(['api', 'web']);
    expect(await r.labelValues(tenant, 'app', BASE, BASE + HOUR - 1n)).toEqual(['api']);
    // Only the last union per first segment is kept; an answer handed out is never changed.
    expect(await r.labelValues(tenant, 'app', BASE, BASE + DAY_NS)).toEqual(['api', 'web', 'zeta']);
    expect(day).toEqual(['api', 'web', 'zeta']);
  });

  it('applies empty-matching matchers to series lacking the label', async () => {
    const client = new MemoryObjectClient();
    const withTeam = series({ app: 'api', team: 'x' });
    const noTeam = series({ app: 'api' });
    await new IndexWriter(client, 'w').writeSegments(tenant, [withTeam, noTeam], [chunk(tenant, withTeam, BASE, BASE + 1n), chunk(tenant, noTeam, BASE, BASE + 1n)]);
    const r = new IndexReader(client);
    const fps = async (ms: Matcher[]): Promise<string[]> => (await r.series(tenant, BASE, BASE + 1n, ms)).map(fingerprint).sort();
    const both = [withTeam.fingerprint, noTeam.fingerprint].sort();
    expect(await fps([m('app', '=', 'api'), m('team', '=', '')])).toEqual([noTeam.fingerprint]);
    expect(await fps([m('app', '=', 'api'), m('team', '!=', 'x')])).toEqual([noTeam.fingerprint]);
    expect(await fps([m('app', '=', 'api'), m('team', '!=', '')])).toEqual([withTeam.fingerprint]);
    expect(await fps([m('app', '=', 'api'), m('team', '=~', 'x|')])).toEqual(both);
    expect(await fps([m('app', '=', 'api'), m('team', '!~', '.+')])).toEqual([noTeam.fingerprint]);
    expect(await fps([m('team', '=~', '.+')])).toEqual([withTeam.fingerprint]);
    expect(await fps([m('app', '=', 'nope')])).toEqual([]);
    for (const bad of [[], [m('team', '=~', '.*')], [m('team', '!=', 'x'), m('app', '=', '')]]) {
      await expect(r.series(tenant, BASE, BASE + 1n, bad)).rejects.toBeInstanceOf(InvalidError);
      await expect(r.stats(tenant, BASE, BASE + 1n, bad)).rejects.toBeInstanceOf(InvalidError);
    }
    await expect(r.labelNames(tenant, BASE, BASE + 1n, [m('team', '=~', '.*')])).rejects.toBeInstanceOf(InvalidError);
    await expect(r.series('a/b', BASE, BASE + 1n, [m('app', '=', 'api')])).rejects.toBeInstanceOf(InvalidError);
  });

  it('fails with IndexCorruptError on a corrupt or misplaced segment, and recovers once it is replaced', async () => {
    const client = new MemoryObjectClient();
    const [key] = await new IndexWriter(client, 'w').writeSegmentsWithKeys(tenant, [a], [chunk(tenant, a, BASE, BASE + HOUR)]);
    const good = await client.get(key!);
    const bad = Buffer.from(good);
    bad[bad.length >> 1]! ^= 0xff;
    await client.put(key!, bad);
    const r = new IndexReader(client);
    await expect(r.chunkRefs(tenant, BASE, BASE + HOUR, sel)).rejects.toBeInstanceOf(IndexCorruptError);
    await client.put(key!, good);
    expect((await r.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(1);
    // A valid segment stored under another tenant's or day's path.
    await client.put(`index/${DAY}/intruder/w-1.idx`, good);
    await expect(r.chunkRefs('intruder', BASE, BASE + HOUR, sel)).rejects.toThrow(/does not match its key/);
    await client.put(`index/${DAY + 1}/${tenant}/w-1.idx`, good);
    await expect(r.chunkRefs(tenant, BASE + DAY_NS, BASE + DAY_NS, sel)).rejects.toBeInstanceOf(IndexCorruptError);
    // Non-segment objects under index/ are ignored.
    await client.delete(`index/${DAY + 1}/${tenant}/w-1.idx`);
    await client.put(`index/${DAY}/${tenant}/notes.txt`, Buffer.from('x'));
    expect((await r.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(1);
  });

  it('caches parsed segments and, with a TTL, listings; re-lists when a listed segment vanished', async () => {
    const client = new MemoryObjectClient();
    const w = new IndexWriter(client, 'w');
    const [k1] = await w.writeSegmentsWithKeys(tenant, [a], [chunk(tenant, a, BASE, BASE + HOUR)]);
    const r = new IndexReader(client, { listCacheTtlMs: 60_000 });
    expect((await r.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(1);
    expect((await r.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(1);
    expect([r.cache.hits, r.cache.misses]).toEqual([1, 1]);
    // A new segment is invisible until the listing expires...
    const c2 = chunk(tenant, b, BASE, BASE + HOUR);
    const [k2] = await w.writeSegmentsWithKeys(tenant, [b], [c2]);
    expect((await r.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(1);
    expect((await new IndexReader(client).chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(2);
    // A compaction that replaces listed (but not cached) segments forces a fresh listing.
    const r2 = new IndexReader(client, { listCacheTtlMs: 60_000, cacheBytes: 0 });
    expect((await r2.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toHaveLength(2);
    const merged = await client.get(k2!);
    await client.delete(k1!);
    await client.delete(k2!);
    await client.put(`index/${DAY}/${tenant}/compacted-0000000000000001.idx`, merged);
    expect((await r2.chunkRefs(tenant, BASE, BASE + HOUR, sel)).refs).toEqual([c2]);
  });

  it('finds sparse days in a long range without probing each day', async () => {
    const client = new MemoryObjectClient();
    let lists = 0;
    const orig = client.list.bind(client);
    client.list = (p: string, d?: string) => {
      lists++;
      return orig(p, d);
    };
    const w = new IndexWriter(client, 'w');
    const c1 = chunk(tenant, a, BASE - 300n * DAY_NS, BASE - 300n * DAY_NS + HOUR);
    const c2 = chunk(tenant, a, BASE, BASE + HOUR);
    await w.writeSegments(tenant, [a], [c1, c2]);
    const r = new IndexReader(client);
    lists = 0;
    expect((await r.chunkRefs(tenant, 0n, BASE + DAY_NS, sel)).refs).toEqual([c1, c2]);
    expect(lists).toBe(3); // index/ once, then the two tables
  });

  it('validates writer input before writing anything', async () => {
    const client = new MemoryObjectClient();
    const w = new IndexWriter(client, 'w');
    const ok = chunk(tenant, a, BASE, BASE + HOUR);
    const cases: [string, () => Promise<unknown>][] = [
      ['bad tenant', () => w.writeSegments('a/b', [a], [{ ...ok, tenant: 'a/b' }])],
      ['tenant mismatch', () => w.writeSegments(tenant, [a], [{ ...ok, tenant: 'x' }])],
      ['unknown series', () => w.writeSegments(tenant, [b], [ok])],
      ['conflicting labels', () => w.writeSegments(tenant, [a, { fingerprint: a.fingerprint, labels: b.labels }], [ok])],
      ['unsorted labels', () => w.writeSegments(tenant, [{ fingerprint: a.fingerprint, labels: [...a.labels].reverse() }], [ok])],
      ['bad fingerprint', () => w.writeSegments(tenant, [{ fingerprint: 'ABC', labels: a.labels }], [])],
      ['through before from', () => w.writeSegments(tenant, [a], [{ ...ok, throughNs: ok.fromNs - 1n }])],
      ['absurd span', () => w.writeSegments(tenant, [a], [{ ...ok, fromNs: 0n }])],
    ];
    for (const [name, run] of cases) await expect(run(), name).rejects.toBeInstanceOf(InvalidError);
    expect(() => new IndexWriter(client, 'a/b')).toThrow(InvalidError);
    expect(() => new IndexWriter(client, '')).toThrow(InvalidError);
    expect(client.size).toBe(0);
    expect(await w.writeSegmentsWithKeys(tenant, [a], [])).toEqual([]);
  });

  it('never reuses a segment key, even across writer restarts', async () => {
    const client = new MemoryObjectClient();
    const keys = new Set<string>();
    for (let restart = 0; restart < 3; restart++) {
      const w = new IndexWriter(client, 'same-id');
      for (let i = 0; i < 20; i++) for (const k of await w.writeSegmentsWithKeys(tenant, [a], [chunk(tenant, a, BASE, BASE + 1n)])) keys.add(k);
    }
    expect(keys.size).toBe(60);
    expect((await client.list('index/')).objects).toHaveLength(60);
  });

  it('works over the filesystem backend', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'silt-index-'));
    try {
      const client = new FilesystemObjectClient(dir);
      const c1 = chunk(tenant, a, BASE + 23n * HOUR, BASE + 25n * HOUR);
      await new IndexWriter(client, 'w').writeSegments(tenant, [a, b], [c1]);
      const r = new IndexReader(new FilesystemObjectClient(dir));
      expect((await r.chunkRefs(tenant, BASE, BASE + 2n * DAY_NS, sel)).refs).toEqual([c1]);
      expect(await r.labelNames(tenant, BASE, BASE + 2n * DAY_NS)).toEqual(['app', 'env']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('index size budget', () => {
  it('stays within 1% of chunk bytes for 1000 series x 20 chunks of 1.5 MB', async () => {
    const client = new MemoryObjectClient();
    const rnd = seededRandom(7);
    const entries: SeriesEntry[] = [];
    const refs: ChunkRef[] = [];
    for (let i = 0; i < 1000; i++) {
      const labels: Labels = [
        { name: 'app', value: `service-${i % 37}` },
        { name: 'cluster', value: `prod-${i % 3}` },
        { name: 'container', value: `container-${i % 11}` },
        { name: 'filename', value: `/var/log/pods/ns-${i % 23}_pod-${i}/container/0.log` },
        { name: 'job', value: `ns-${i % 23}/service-${i % 37}` },
        { name: 'namespace', value: `ns-${i % 23}` },
        { name: 'pod', value: `service-${i % 37}-${(i * 2654435761 >>> 0).toString(36)}` },
      ];
      const s = { fingerprint: fingerprint(labels), labels };
      entries.push(s);
      let t = BASE + BigInt(Math.floor(rnd() * 3600)) * 1_000_000_000n;
      for (let j = 0; j < 20; j++) {
        const len = BigInt(Math.floor(30 + rnd() * 60)) * MIN;
        refs.push(chunk('t', s, t, t + len, { checksum: Math.floor(rnd() * 2 ** 32), sizeBytes: 1_400_000 + Math.floor(rnd() * 200_000), entries: 5000 + Math.floor(rnd() * 20_000), uncompressedBytes: 8_000_000 + Math.floor(rnd() * 4_000_000) }));
        t += len;
      }
    }
    // Several flushes from two ingesters, as in production (more segments, more overhead).
    const w1 = new IndexWriter(client, 'ingester-1');
    const w2 = new IndexWriter(client, 'ingester-2');
    for (let k = 0; k < 4; k++) {
      const part = refs.filter((_, i) => i % 4 === k);
      await (k % 2 === 0 ? w1 : w2).writeSegments('t', entries, part);
    }
    const reader = new IndexReader(client);
    const indexBytes = await reader.indexBytes('t');
    const chunkBytes = refs.reduce((acc, r) => acc + r.sizeBytes, 0);
    expect(chunkBytes).toBeGreaterThan(29e9);
    expect(indexBytes / chunkBytes).toBeLessThanOrEqual(0.01);
    expect(indexBytes / refs.length).toBeLessThan(64); // tens of bytes per ref, all overheads included
    const all = await reader.chunkRefs('t', BASE, BASE + 3n * DAY_NS, [m('cluster', '=~', 'prod-.*')]);
    expect(all.refs).toHaveLength(20_000);
    expect(all.series.size).toBe(1000);
  });
});
