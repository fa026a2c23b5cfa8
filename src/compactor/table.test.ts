import { describe, expect, it } from 'vitest';
import { chunkKey, IndexWriter, MemoryObjectClient, type ListResult, type ObjectClient } from '../storage/index.js';
import { DeleteRule, TenantDeleter } from './delete-filter.js';
import { loadTable, sweepMarkers } from './markers.js';
import { TenantRetention } from './retention.js';
import { chunkSettingsTag, compactTable, CrossDayChunks, type Recompression, type TableJob } from './table.js';
import { decodeChunk, type ChunkOptions } from '../chunk/index.js';
import { dayOf, type ChunkRef, type Segment } from '../storage/index.js';
import { flushChunks, testLabels, TEST_CHUNK_OPTIONS, visibleRows, type TEntry } from './testing.js';
import { MARKERS_PREFIX } from './consts.js';

const TENANT = 'team-a';
const DAY = 19_700;
const DAY_NS = 86_400_000_000_000n;
const T0 = BigInt(DAY) * DAY_NS + 3_600_000_000_000n;
const ALL_FROM = BigInt(DAY) * DAY_NS;
const ALL_THROUGH = BigInt(DAY + 2) * DAY_NS;
const NOW_MS = (DAY + 40) * 86_400_000;

/** Eight flushes by two writers; three streams; small chunks; one chunk crossing midnight. */
async function setup(): Promise<MemoryObjectClient> {
  const client = new MemoryObjectClient();
  const writers = [new IndexWriter(client, 'ing-1'), new IndexWriter(client, 'ing-2')];
  let t = T0;
  for (let f = 0; f < 8; f++) {
    const chunks: { labels: ReturnType<typeof testLabels>; entries: TEntry[] }[] = [];
    for (let s = 1; s <= 3; s++) {
      const entries: TEntry[] = [];
      for (let i = 0; i < 20; i++) {
        t += 1_000_000n;
        entries.push({ tsNs: t, line: `flush=${f} stream=${s} i=${i} level=${i % 4 === 0 ? 'error' : 'info'}` });
      }
      chunks.push({ labels: testLabels(s), entries });
    }
    await flushChunks(client, writers[f % 2]!, TENANT, chunks);
  }
  // A chunk crossing into the next day: never merged (it lives in two tables).
  const midnight = BigInt(DAY + 1) * DAY_NS;
  await flushChunks(client, writers[0]!, TENANT, [{ labels: testLabels(1), entries: [{ tsNs: midnight - 5n, line: 'before midnight' }, { tsNs: midnight + 5n, line: 'after midnight' }] }]);
  return client;
}

/** Delegates to `inner`, calling `hook` after every put/delete and failing the `crashAt`-th one. */
class CrashingClient implements ObjectClient {
  ops = 0;
  constructor(
    private readonly inner: ObjectClient,
    private readonly crashAt: number,
    private readonly hook: () => Promise<void>,
  ) {}
  get(key: string): Promise<Buffer> {
    return this.inner.get(key);
  }
  getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.getRange(key, offset, length);
  }
  list(prefix: string, delimiter?: string): Promise<ListResult> {
    return this.inner.list(prefix, delimiter);
  }
  async put(key: string, body: Buffer): Promise<void> {
    if (++this.ops === this.crashAt) throw new Error(`crash before op ${this.ops}`);
    await this.inner.put(key, body);
    await this.hook();
  }
  async delete(key: string): Promise<void> {
    if (++this.ops === this.crashAt) throw new Error(`crash before op ${this.ops}`);
    await this.inner.delete(key);
    await this.hook();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A compaction (`extra` on the default job) crashed before each of its writes and deletes in
 * turn, then run again: readers see the same entries after every write, the table ends as one
 * segment (`checkSegment`, if given, looks at it), and the sweep keeps everything visible.
 */
async function expectCrashSafe(extra: Partial<TableJob>, checkSegment?: (segment: Segment) => void): Promise<void> {
  // Count the writes of a clean run.
  const probe = await setup();
  const counting = new CrashingClient(probe, -1, async () => {});
  await compactTable(job(counting, extra));
  const total = counting.ops;
  expect(total).toBeGreaterThan(10);
  for (let crashAt = 1; crashAt <= total; crashAt++) {
    const client = await setup();
    const before = await view(client);
    const check = async (): Promise<void> => {
      expect(await view(client), `after a write, crash at ${crashAt}`).toEqual(before);
    };
    await expect(compactTable(job(new CrashingClient(client, crashAt, check), extra))).rejects.toThrow(/crash/);
    await check();
    await compactTable(job(new CrashingClient(client, -1, check), extra));
    const { all } = await loadTable(client, TENANT, DAY);
    expect(all, `crash at ${crashAt}`).toHaveLength(1);
    checkSegment?.(all[0]!);
    expect(await view(client)).toEqual(before);
    // Markers never name a chunk the index still uses: the sweep keeps everything visible.
    await sweepMarkers(client, NOW_MS + 7_200_000, 7_200_000);
    expect(await view(client)).toEqual(before);
  }
}

let seq = 0;
function job(client: ObjectClient, extra: Partial<TableJob> = {}): TableJob {
  return {
    client,
    tenant: TENANT,
    day: DAY,
    writerId: 'compactor-test',
    nextSeq: () => ++seq,
    nowMs: NOW_MS,
    chunkOptions: TEST_CHUNK_OPTIONS,
    merge: true,
    retention: null,
    deletes: null,
    ...extra,
  };
}

const view = (c: ObjectClient): Promise<string[]> => visibleRows(c, TENANT, ALL_FROM, ALL_THROUGH);

async function chunkObjects(c: ObjectClient): Promise<number> {
  return (await c.list(`${TENANT}/chunks/`)).objects.length;
}

describe('compactTable', () => {
  it('compacts a table into one segment with merged chunks and the same entries', async () => {
    const client = await setup();
    const before = await view(client);
    expect(new Set(before).size).toBe(before.length);
    const r = await compactTable(job(client));
    expect(r.segmentsIn).toBe(9);
    expect(r.merged).toBeGreaterThan(r.mergedInto);
    const { all } = await loadTable(client, TENANT, DAY);
    expect(all).toHaveLength(1);
    expect(await view(client)).toEqual(before);
    // The midnight chunk is still referenced as it was, by both days.
    expect((await loadTable(client, TENANT, DAY + 1)).all).toHaveLength(1);
    // Idempotent: a second run changes nothing.
    const again = await compactTable(job(client));
    expect(again.segmentOut).toBeNull();
    // The sweeper deletes merged originals only after the delay.
    const objectsBefore = await chunkObjects(client);
    expect((await sweepMarkers(client, NOW_MS, 7_200_000)).chunksDeleted).toBe(0);
    const swept = await sweepMarkers(client, NOW_MS + 7_200_000, 7_200_000);
    expect(swept.chunksDeleted).toBe(r.merged);
    expect(await chunkObjects(client)).toBe(objectsBefore - r.merged);
    expect((await client.list(MARKERS_PREFIX)).objects).toHaveLength(0);
    expect(await view(client)).toEqual(before);
  });

  it('removes entries stored twice in overlapping chunks of a stream (same ts, line and metadata), keeping distinct ones', async () => {
    const client = new MemoryObjectClient();
    const w = new IndexWriter(client, 'ing-1');
    // A chunk stored twice under different cut points: 0..59 once, then 30..89 again (a replayed
    // WAL flushed again), plus an entry that only differs in its line at a shared timestamp.
    const entry = (i: number): TEntry => ({ tsNs: T0 + BigInt(i) * 1_000_000n, line: `i=${i} level=info` });
    const all = Array.from({ length: 90 }, (_, i) => entry(i));
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: all.slice(0, 60) }]);
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: [...all.slice(30, 90), { tsNs: entry(40).tsNs, line: 'same ts, other line' }] }]);
    // An unrelated stream whose chunks do not overlap is left alone.
    await flushChunks(client, w, TENANT, [{ labels: testLabels(2), entries: all.slice(0, 10) }]);
    await flushChunks(client, w, TENANT, [{ labels: testLabels(2), entries: all.slice(10, 20) }]);
    const before = await view(client);
    // Brute force: the distinct rows are what should remain.
    const distinct = [...new Set(before)].sort();
    expect(before.length - distinct.length).toBe(30);
    const r = await compactTable(job(client, { merge: false }));
    expect(r.duplicatesDropped).toBe(30);
    expect(r.overlapsRewritten).toBe(2);
    expect((await view(client)).sort()).toEqual(distinct);
    // Rewritten chunks no longer overlap: a second run has nothing to do.
    const again = await compactTable(job(client, { merge: false }));
    expect(again.overlapsRewritten).toBe(0);
    expect(again.segmentOut).toBeNull();
  });

  it('a chunk rewritten for an overlap and then merged in the same run is never stored: after the sweep, the store holds exactly what the index references', async () => {
    const client = new MemoryObjectClient();
    const w = new IndexWriter(client, 'ing-1');
    const entry = (i: number): TEntry => ({ tsNs: T0 + BigInt(i) * 1_000_000n, line: `i=${i} level=info` });
    const all = Array.from({ length: 90 }, (_, i) => entry(i));
    // Two replicas' copies of 0..39 cut differently (overlap), then two small chunks after them:
    // the overlap rewrite's output is small too, so the merge step takes it with its neighbours.
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: all.slice(0, 40) }]);
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: all.slice(0, 25) }]);
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: all.slice(25, 40) }]);
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: all.slice(40, 65) }]);
    await flushChunks(client, w, TENANT, [{ labels: testLabels(1), entries: all.slice(65, 90) }]);
    const distinct = [...new Set(await view(client))].sort();
    const r = await compactTable(job(client));
    expect(r.overlapsRewritten).toBe(3);
    expect(r.merged).toBeGreaterThan(1);
    expect((await view(client)).sort()).toEqual(distinct);
    expect(distinct).toHaveLength(90);
    await sweepMarkers(client, NOW_MS + 7_200_000, 7_200_000);
    const { live } = await loadTable(client, TENANT, DAY);
    const referenced = new Set<string>();
    for (const seg of live) for (let i = 0; i < seg.seriesCount; i++) for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) referenced.add(chunkKey({ ...seg.refAt(i, j), tenant: TENANT }));
    const stored = new Set((await client.list(`${TENANT}/chunks/`)).objects.map((o) => o.key));
    expect(stored).toEqual(referenced);
    expect(r.marked).toBe(5);
  });

  it('survives a crash before any single write or delete: readers never see missing or doubled data', async () => {
    await expectCrashSafe({});
  });

  it('applies retention and delete requests atomically and crash-safely', async () => {
    const D = 86_400_000;
    const retention = new TenantRetention({ retention_period: 0, retention_stream: [{ selector: '{stream="s3"}', priority: 1, period: D }] });
    const deletes = new TenantDeleter([new DeleteRule({ query: '{stream="s2"} |= "level=error"', startNs: 0n, endNs: 2n ** 62n })]);
    const expected = (rows: string[]): string[] => rows.filter((r) => !r.startsWith('s3|') && !(r.startsWith('s2|') && r.includes('level=error')));
    const probe = await setup();
    const counting = new CrashingClient(probe, -1, async () => {});
    const clean = await compactTable(job(counting, { retention, deletes }));
    expect(clean.expired).toBe(8);
    expect(clean.rewritten).toBe(8);
    expect(clean.entriesDeleted).toBe(8 * 5);
    for (let crashAt = 1; crashAt <= counting.ops; crashAt += 3) {
      const client = await setup();
      const before = await view(client);
      const after = expected(before);
      const check = async (): Promise<void> => {
        // The old view or the new one, never a mix.
        expect([before, after], `crash at ${crashAt}`).toContainEqual(await view(client));
      };
      await expect(compactTable(job(new CrashingClient(client, crashAt, check), { retention, deletes }))).rejects.toThrow(/crash/);
      await compactTable(job(new CrashingClient(client, -1, check), { retention, deletes }));
      expect(await view(client)).toEqual(after);
      await sweepMarkers(client, NOW_MS + 7_200_000, 7_200_000);
      expect(await view(client)).toEqual(after);
      // Re-running with the same rules changes nothing more.
      const again = await compactTable(job(client, { retention, deletes }));
      expect(again.segmentOut).toBeNull();
    }
  });

  it('rewrites and counts a chunk crossing midnight once per run, though both days reference it', async () => {
    const deletes = new TenantDeleter([new DeleteRule({ query: '{stream="s1"} |= "before midnight"', startNs: 0n, endNs: 2n ** 62n })]);
    for (const shared of [true, false]) {
      const client = await setup();
      const before = await view(client);
      const after = before.filter((r) => !r.endsWith('|before midnight'));
      expect(after).toHaveLength(before.length - 1);
      const crossDay = shared ? new CrossDayChunks() : undefined;
      const jobs = [DAY, DAY + 1].map((day) => job(client, { day, deletes, merge: false, ...(crossDay ? { crossDay } : {}) }));
      const results = [await compactTable(jobs[0]!), await compactTable(jobs[1]!)];
      // Each day's index now points at the rewritten chunk, and only at it.
      expect(await view(client)).toEqual(after);
      expect(results.map((r) => r.segmentOut !== null)).toEqual([true, true]);
      const runDeleted = results[0]!.entriesDeleted + results[1]!.entriesDeleted;
      const runRewritten = results[0]!.rewritten + results[1]!.rewritten;
      // One run (one shared memo) counts the chunk once; separate runs each count what they did.
      expect([runDeleted, runRewritten]).toEqual(shared ? [1, 1] : [1, 1].map((n) => n * 2));
    }
  });

  it('counts an expired chunk crossing midnight once per run', async () => {
    const client = await setup();
    const retention = new TenantRetention({ retention_period: 0, retention_stream: [{ selector: '{stream="s1"}', priority: 1, period: 86_400_000 }] });
    const crossDay = new CrossDayChunks();
    let expired = 0;
    for (const day of [DAY, DAY + 1]) expired += (await compactTable(job(client, { day, retention, crossDay, merge: false }))).expired;
    // Eight flushed chunks of s1 in the first day, plus the midnight one, counted once.
    expect(expired).toBe(9);
    expect((await view(client)).filter((r) => r.startsWith('s1|'))).toEqual([]);
  });

  it('removes the table when retention empties it', async () => {
    const client = await setup();
    const retention = new TenantRetention({ retention_period: 86_400_000, retention_stream: [] });
    await compactTable(job(client, { retention }));
    expect(await visibleRows(client, TENANT, ALL_FROM, BigInt(DAY + 1) * DAY_NS - 1n)).toEqual([]);
    await compactTable(job(client, { retention }));
    expect((await loadTable(client, TENANT, DAY)).all).toHaveLength(0);
  });
});

describe('compactTable: recompression of an old day (ADR 0038)', () => {
  const cold = (o: Partial<ChunkOptions> = {}): Recompression => {
    const options: ChunkOptions = { codec: 'zstd', zstdLevel: 6, blockSizeBytes: 8192, targetSizeBytes: 32_768, ...o };
    return { options, tag: chunkSettingsTag(options) };
  };
  /** The day's refs (from its one live segment) and each chunk's codec and largest block. */
  async function dayChunks(client: ObjectClient): Promise<{ ref: ChunkRef; codec: string; maxBlock: number; inDay: boolean }[]> {
    const out = [];
    for (const ref of await dayChunksOf(client, DAY)) {
      const c = decodeChunk(await client.get(chunkKey(ref)));
      out.push({ ref, codec: c.codec, maxBlock: Math.max(...c.blockMetas().map((m) => m.uncompressedBytes)), inDay: dayOf(ref.fromNs) === DAY && dayOf(ref.throughNs) === DAY });
    }
    return out;
  }

  it('rewrites every chunk of the day once with the settings: same entries, a tagged segment, nothing on the next run', async () => {
    const client = await setup();
    const before = await view(client);
    const rc = cold();
    const inDayBefore = (await loadTable(client, TENANT, DAY)).live.reduce((n, seg) => n + seg.fromNs.length, 0) - 1; // all but the midnight chunk
    const r = await compactTable(job(client, { recompress: rc }));
    expect(r.recompressed).toBe(inDayBefore);
    expect(r.recompressedInto).toBeGreaterThan(0);
    expect(r.recompressedInto).toBeLessThan(r.recompressed);
    expect(r.merged).toBe(0);
    expect(r.recompressedBytesOut).toBeLessThan(r.recompressedBytesIn);
    expect(await view(client)).toEqual(before);
    const { all } = await loadTable(client, TENANT, DAY);
    expect(all).toHaveLength(1);
    expect(all[0]!.recompressed).toBe('zstd-6/8192/32768');
    const chunks = await dayChunks(client);
    for (const c of chunks) {
      if (c.inDay) {
        expect(c.codec).toBe('zstd');
        expect(c.maxBlock).toBeLessThanOrEqual(8192 + 200);
      } else expect(c.codec).toBe('snappy'); // the midnight chunk belongs to two days: left as it was
    }
    expect(chunks.filter((c) => c.inDay).some((c) => c.maxBlock > 2048)).toBe(true);
    expect((await compactTable(job(client, { recompress: rc }))).segmentOut).toBeNull();
    // After the sweep the store holds exactly the chunks the index references.
    await sweepMarkers(client, NOW_MS + 7_200_000, 7_200_000);
    const referenced = new Set(chunks.map((c) => chunkKey(c.ref)));
    referenced.add(chunkKey((await dayChunksOf(client, DAY + 1))[0]!));
    expect(new Set((await client.list(`${TENANT}/chunks/`)).objects.map((o) => o.key))).toEqual(referenced);
    expect(await view(client)).toEqual(before);
  });

  it('recompresses only what came late, and everything again when the settings change', async () => {
    const client = await setup();
    const rc = cold();
    await compactTable(job(client, { recompress: rc }));
    const first = new Set((await dayChunks(client)).map((c) => chunkKey(c.ref)));
    // Late entries for the old day (after every other entry of the stream, so no overlap
    // rewrite takes them), flushed by an ingester as a new segment.
    const late = [{ tsNs: T0 + 7_200_000_000_077n, line: 'late entry one' }, { tsNs: T0 + 7_210_000_000_123n, line: 'late entry two' }];
    await flushChunks(client, new IndexWriter(client, 'ing-3'), TENANT, [{ labels: testLabels(2), entries: late }]);
    const expected = [...(await view(client))].sort();
    const r = await compactTable(job(client, { recompress: rc }));
    expect(r.recompressed).toBe(1);
    const after = await dayChunks(client);
    const kept = after.filter((c) => first.has(chunkKey(c.ref)));
    expect(kept.length).toBe(first.size); // every earlier chunk untouched
    expect(after.filter((c) => c.inDay).every((c) => c.codec === 'zstd')).toBe(true);
    expect((await loadTable(client, TENANT, DAY)).all[0]!.recompressed).toBe(rc.tag);
    expect([...(await view(client))].sort()).toEqual(expected);
    // Other settings: every chunk of the day is rewritten again.
    const rc9 = cold({ zstdLevel: 9, blockSizeBytes: 16_384 });
    const again = await compactTable(job(client, { recompress: rc9 }));
    expect(again.recompressed).toBe(after.filter((c) => c.inDay).length);
    expect((await loadTable(client, TENANT, DAY)).all[0]!.recompressed).toBe('zstd-9/16384/32768');
    expect([...(await view(client))].sort()).toEqual(expected);
  });

  it('leaves a young chunk as it is and does not tag the segment until it was recompressed', async () => {
    const client = await setup();
    const before = await view(client);
    // Only the segments of the second writer are "young" (modified within the window): none is older.
    const r = await compactTable(job(client, { recompress: cold(), minChunkAgeMs: 1000, nowMs: Date.now() }));
    expect(r.recompressed).toBe(0);
    expect((await loadTable(client, TENANT, DAY)).all.every((seg) => seg.recompressed === '')).toBe(true);
    const r2 = await compactTable(job(client, { recompress: cold() }));
    expect(r2.recompressed).toBeGreaterThan(0);
    expect((await loadTable(client, TENANT, DAY)).all[0]!.recompressed).toBe(cold().tag);
    expect(await view(client)).toEqual(before);
  });

  it('waits while a late chunk is young: the day keeps its tag, and the next run recompresses only that chunk', async () => {
    const client = await setup();
    const rc = cold();
    await compactTable(job(client, { recompress: rc }));
    const first = new Set((await dayChunks(client)).map((c) => chunkKey(c.ref)));
    await flushChunks(client, new IndexWriter(client, 'ing-3'), TENANT, [{ labels: testLabels(3), entries: [{ tsNs: T0 + 7_200_000_000_000n, line: 'late and young' }] }]);
    const expected = [...(await view(client))].sort();
    // Its segment was written just now: young for a minute.
    const waiting = await compactTable(job(client, { recompress: rc, minChunkAgeMs: 60_000, nowMs: Date.now() }));
    expect(waiting.recompressed).toBe(0);
    expect(waiting.segmentOut).toBeNull();
    const { live } = await loadTable(client, TENANT, DAY);
    expect(live).toHaveLength(2);
    expect(live.map((seg) => seg.recompressed).sort()).toEqual(['', rc.tag]);
    // Two minutes later it is old enough: only it is recompressed, and the day is tagged again.
    const r = await compactTable(job(client, { recompress: rc, minChunkAgeMs: 60_000, nowMs: Date.now() + 120_000 }));
    expect(r.recompressed).toBe(1);
    const after = await loadTable(client, TENANT, DAY);
    expect(after.all).toHaveLength(1);
    expect(after.all[0]!.recompressed).toBe(rc.tag);
    const chunks = await dayChunks(client);
    expect(chunks.filter((c) => first.has(chunkKey(c.ref)))).toHaveLength(first.size);
    expect(chunks.filter((c) => c.inDay).every((c) => c.codec === 'zstd')).toBe(true);
    expect([...(await view(client))].sort()).toEqual(expected);
  });

  it('survives a crash before any single write or delete while recompressing', async () => {
    await expectCrashSafe({ recompress: cold() }, (segment) => expect(segment.recompressed).toBe(cold().tag));
  });
});

/** The refs of a day's live segments. */
async function dayChunksOf(client: ObjectClient, day: number): Promise<ChunkRef[]> {
  const { live } = await loadTable(client, TENANT, day);
  const out: ChunkRef[] = [];
  for (const seg of live) for (let i = 0; i < seg.seriesCount; i++) for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) out.push(seg.refAt(i, j));
  return out;
}

describe('sweepMarkers', () => {
  it('skips malformed marker entries and drops unparsable markers without failing', async () => {
    const client = await setup();
    const before = await view(client);
    await client.put(`${MARKERS_PREFIX}0000000000000001-0000000a.json`, Buffer.from('{"created_ms":1,"chunks":[["t","zz","x","1",1],[1,2],"no"]}'));
    await client.put(`${MARKERS_PREFIX}0000000000000002-0000000b.json`, Buffer.from('{not json'));
    const r = await sweepMarkers(client, NOW_MS, 0);
    expect(r).toEqual({ markersProcessed: 1, chunksDeleted: 0, chunksKept: 0 });
    expect((await client.list(MARKERS_PREFIX)).objects).toHaveLength(0);
    expect(await view(client)).toEqual(before);
  });
});
