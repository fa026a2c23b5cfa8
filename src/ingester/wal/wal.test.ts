import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FILE_HEADER_BYTES } from './consts.js';
import { normalize, prng, randomRecord, testSeqs, type TestRecord } from './testdata/random-records.js';
import { newStreamRef } from './record.js';
import { Wal, type FlushMark, type WalConfig, type WalSnapshotTenant, type WalStream } from './wal.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-wal-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cfg(over: Partial<WalConfig> = {}): WalConfig {
  return { enabled: true, dir, fsync: 'never', fsyncIntervalMs: 50, segmentSizeBytes: 128 * 1024 * 1024, ...over };
}

async function replayAll(c: WalConfig = cfg()): Promise<{ recs: unknown[]; res: Awaited<ReturnType<Wal['replay']>> }> {
  const wal = await Wal.open(c);
  const recs: unknown[] = [];
  const res = await wal.replay((t, s) => recs.push(normalize(t, s)));
  await wal.close();
  return { recs, res };
}

function files(): string[] {
  return fs.readdirSync(dir).sort();
}

function segments(): string[] {
  return files().filter((f) => /^\d+$/.test(f));
}

function rec(tenant: string, line: string, ts = 1n): TestRecord {
  return { tenant, streams: [{ labels: '{app="a"}', fingerprint: 'fp', firstSeq: testSeqs(1), entries: [{ tsNs: ts, line: Buffer.from(line), metadata: [] }] }] };
}

/** A checkpoint snapshot holding each stream as one open chunk, the stream applied up to `appliedSeq`. */
function ckpt(tenant: string, streams: readonly WalStream[], appliedSeq: number, marks: FlushMark[] = []): WalSnapshotTenant[] {
  return [
    {
      tenant,
      marks,
      streams: streams.map((s) => {
        const first = s.firstSeq ?? 1;
        return { labels: s.labels, fingerprint: s.fingerprint, appliedSeq, chunks: [{ firstSeq: first, lastSeq: first + Math.max(0, s.entries.length - 1), closed: false, continues: false, entries: s.entries }] };
      }),
    },
  ];
}

describe('Wal', () => {
  it.each(['always', 'interval', 'never'] as const)('round-trips random records in order (fsync=%s, small segments)', async (fsync) => {
    const rnd = prng(42);
    const wal = await Wal.open(cfg({ fsync, segmentSizeBytes: 64 * 1024 }));
    expect((await wal.replay(() => undefined)).records).toBe(0);
    const want: unknown[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const r = randomRecord(rnd);
      want.push(normalize(r.tenant, r.streams));
      pending.push(wal.append(r.tenant, r.streams));
      if (i % 37 === 0) await Promise.all(pending); // mix concurrent and sequential appends
    }
    await Promise.all(pending);
    const st = wal.stats();
    expect(st.records).toBe(400);
    await wal.close();
    expect(segments().length).toBeGreaterThan(3);
    const { recs, res } = await replayAll();
    expect(res.corruptions).toEqual([]);
    expect(res.truncatedBytes).toBe(0);
    expect(res.records).toBe(400);
    expect(recs).toEqual(want);
    const onDisk = files().reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(st.diskBytes).toBe(onDisk);
  });

  it('group-commits concurrent appends into few fdatasyncs', async () => {
    const wal = await Wal.open(cfg({ fsync: 'always' }));
    await wal.replay(() => undefined);
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      ps.push(wal.append('t', rec('t', `line ${i}`).streams));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // let some writes start mid-stream
    }
    await Promise.all(ps);
    const st = wal.stats();
    expect(st.records).toBe(200);
    expect(st.fsyncs).toBeGreaterThan(0);
    expect(st.fsyncs).toBeLessThan(20);
    await wal.close();
    expect((await replayAll()).recs).toHaveLength(200);
  });

  it('checkpoint: replay gives the snapshot then later records; old segments are deleted', async () => {
    const wal = await Wal.open(cfg({ fsync: 'always' }));
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'A1').streams);
    await wal.append('t', rec('t', 'A2').streams);
    const oldSegs = segments();
    expect(oldSegs).toHaveLength(1);
    // Queued but not yet written when the checkpoint starts: must stay below the boundary.
    const late = wal.append('t', rec('t', 'A3').streams);
    let calls = 0;
    // Taken once A3 is written: memory holds all three (the ingester applies a record once durable).
    const applied = testSeqs(0) - 1;
    const snapshot = (): Iterable<WalSnapshotTenant> => {
      calls++;
      const entries = [1, 2, 3].map((i) => ({ tsNs: BigInt(i), line: Buffer.from(`A'${i}`), metadata: [] }));
      return ckpt('t', [{ labels: '{app="a"}', fingerprint: 'fp', firstSeq: applied - 2, entries }], applied);
    };
    const cp = wal.checkpoint(snapshot);
    expect(wal.checkpoint(snapshot)).toBe(cp); // only one at a time
    const b1 = wal.append('t', rec('t', 'B1').streams);
    await Promise.all([cp, late, b1]);
    await wal.append('t', rec('u', 'B2').streams);
    expect(calls).toBe(1);
    await wal.close();
    const names = files();
    expect(names.filter((f) => f.startsWith('checkpoint.'))).toHaveLength(1);
    for (const s of oldSegs) expect(names).not.toContain(s);
    const { recs, res } = await replayAll();
    const texts = (recs as { streams: { entries: { line: string }[] }[] }[]).flatMap((r) => r.streams.flatMap((s) => s.entries.map((e) => Buffer.from(e.line, 'base64').toString())));
    expect(texts).toEqual(["A'1", "A'2", "A'3", 'B1', 'B2']);
    expect(res.checkpointEntries).toBe(3);
    expect(res.entries).toBe(5);
    expect(res.corruptions).toEqual([]);
  });

  it('replay leaves out entries a flush mark covers, in segments and in the checkpoint, and returns the marks', async () => {
    const wal = await Wal.open(cfg({ fsync: 'always' }));
    await wal.replay(() => undefined);
    const entry = (i: number) => ({ tsNs: BigInt(i), line: Buffer.from(`e${i}`), metadata: [] });
    const stream = (first: number, n: number): WalStream[] => [{ labels: '{app="a"}', fingerprint: 'fp', firstSeq: first, entries: Array.from({ length: n }, (_, k) => entry(first + k)) }];
    const mark = (first: number, last: number, tenant = 't'): FlushMark => ({ tenant, labels: '{app="a"}', fingerprint: 'fp', firstSeq: first, lastSeq: last, fromNs: 1n, throughNs: 2n, checksum: first, sizeBytes: 10, entries: last - first + 1, uncompressedBytes: 10 });
    // Entries 1..10; the chunk holding 1..4 is flushed; the checkpoint holds 5..10 as an open chunk.
    await wal.append('t', stream(1, 10));
    await wal.appendFlushed(mark(1, 4));
    await wal.checkpoint(() => ckpt('t', stream(5, 6), 10, [mark(1, 4)]));
    // Then 11..14 arrive, the chunk 5..12 is flushed and marked, another tenant's same fingerprint is not.
    await wal.append('t', stream(11, 4));
    await wal.append('u', stream(15, 2));
    await wal.appendFlushed(mark(5, 12));
    await wal.close();
    const got: string[] = [];
    const w2 = await Wal.open(cfg());
    const res = await w2.replay((tenant, streams) => {
      for (const st of streams) for (const e of st.entries) got.push(`${tenant}:${Buffer.from(e.line).toString()}`);
    });
    await w2.close();
    expect(got).toEqual(['t:e13', 't:e14', 'u:e15', 'u:e16']);
    expect(res.skippedEntries).toBe(6 + 2);
    expect(res.marks.map((m) => [m.firstSeq, m.lastSeq]).sort()).toEqual([
      [1, 4],
      [5, 12],
    ]);
    expect(res.nextSeq).toBe(17);
    expect(res.corruptions).toEqual([]);
  });

  it('checkpoint splits big snapshots into frames and survives a restart before deletion', async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    const entries = Array.from({ length: 3000 }, (_, i) => ({ tsNs: BigInt(i), line: Buffer.alloc(1000, i % 251), metadata: [{ name: 'k', value: String(i) }] }));
    await wal.checkpoint(() => ckpt('big', [{ labels: '{a="1"}', fingerprint: 'f', firstSeq: 1, entries }], 3000));
    await wal.close();
    const { recs, res } = await replayAll();
    expect(res.records).toBeGreaterThan(2); // ~3 MB cut into ~1 MiB frames
    expect(res.checkpointEntries).toBe(3000);
    const got = (recs as { streams: { entries: unknown[] }[] }[]).flatMap((r) => r.streams.flatMap((s) => s.entries));
    expect(got).toEqual(entries.map((e) => ({ ts: e.tsNs.toString(), line: e.line.toString('base64'), md: [['k', e.metadata[0]!.value]] })));
  });

  it('ignores a leftover temp checkpoint and older files a crash left behind', async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'one').streams);
    const one = rec('t', 'one').streams;
    await wal.checkpoint(() => ckpt('t', one, one[0]!.firstSeq!));
    await wal.append('t', rec('t', 'two').streams);
    await wal.close();
    fs.writeFileSync(path.join(dir, 'checkpoint.00000099.tmp'), 'half written');
    fs.writeFileSync(path.join(dir, '00000000'), 'covered by the checkpoint, never read');
    const { recs, res } = await replayAll();
    expect(recs).toHaveLength(2);
    expect(res.corruptions).toEqual([]);
    expect(files().some((f) => f.endsWith('.tmp') || f === '00000000')).toBe(false);
  });

  it('a failed checkpoint keeps the old segments and loses nothing', async () => {
    const wal = await Wal.open(cfg({ fsync: 'always' }));
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'one').streams);
    const spy = vi.spyOn(fs.promises, 'rename').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' }));
    const one = rec('t', 'one').streams;
    await expect(wal.checkpoint(() => ckpt('t', one, one[0]!.firstSeq!))).rejects.toThrow(/checkpoint\.00000002\.tmp.*EIO/);
    spy.mockRestore();
    await wal.append('t', rec('t', 'two').streams);
    await wal.close();
    expect(files().some((f) => f.startsWith('checkpoint.'))).toBe(false);
    const { recs, res } = await replayAll();
    expect(recs).toHaveLength(2);
    expect(res.corruptions).toEqual([]);
  });

  it('truncates a torn tail at every offset inside the last record', async () => {
    const rnd = prng(9);
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    const want: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const r = randomRecord(rnd);
      want.push(normalize(r.tenant, r.streams));
      await wal.append(r.tenant, r.streams);
    }
    const beforeLast = fs.statSync(path.join(dir, segments()[0]!)).size;
    const last = rec('t', 'the last record, which gets torn', 123n);
    await wal.append(last.tenant, last.streams);
    await wal.close();
    const seg = path.join(dir, segments()[0]!);
    const full = fs.readFileSync(seg);
    expect(full.length).toBeGreaterThan(beforeLast + 20);
    for (let cut = beforeLast; cut < full.length; cut++) {
      fs.writeFileSync(seg, full.subarray(0, cut));
      const { recs, res } = await replayAll();
      expect(recs).toEqual(want);
      expect(res.corruptions).toEqual([]);
      expect(res.truncatedBytes).toBe(cut - beforeLast);
      expect(fs.statSync(seg).size).toBe(beforeLast);
    }
    // After truncation the WAL keeps working and a second restart sees no damage.
    const wal2 = await Wal.open(cfg());
    await wal2.replay(() => undefined);
    await wal2.append('t', rec('t', 'after').streams);
    await wal2.close();
    const { recs, res } = await replayAll();
    expect(recs).toHaveLength(21);
    expect(res.corruptions).toEqual([]);
    expect(res.truncatedBytes).toBe(0);
  });

  it('treats a zero-filled tail and an empty new segment as torn', async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'kept').streams);
    await wal.close();
    const seg = path.join(dir, segments()[0]!);
    fs.appendFileSync(seg, Buffer.alloc(4096));
    fs.writeFileSync(path.join(dir, '00000999'), Buffer.alloc(3));
    const { recs, res } = await replayAll();
    expect(recs).toHaveLength(1);
    expect(res.corruptions.length).toBe(1); // the zero tail is not in the LAST segment any more
    expect(res.corruptions[0]).toMatch(/00000001: offset \d+: bad frame length 0; no valid record after it; skipped to the next segment/);
    expect(res.truncatedBytes).toBe(3);
    expect(segments()).not.toContain('00000999');
  });

  it('reports a corrupted byte in a middle record with file and offset, and keeps the rest', async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) {
      offsets.push(wal.stats().bytesWritten + FILE_HEADER_BYTES);
      await wal.append('t', rec('t', `record number ${i} with some payload`).streams);
    }
    await wal.close();
    const seg = path.join(dir, segments()[0]!);
    const buf = fs.readFileSync(seg);
    buf[offsets[4]! + 20]! ^= 0x40;
    fs.writeFileSync(seg, buf);
    const { recs, res } = await replayAll();
    expect(recs).toHaveLength(9);
    expect(res.corruptions).toEqual([`${seg}: offset ${offsets[4]}: crc mismatch; skipped ${offsets[5]! - offsets[4]!} bytes, resumed at offset ${offsets[5]}`]);
    expect(res.truncatedBytes).toBe(0);
  });

  it('rejects pending appends naming the file on ENOSPC/EIO, then recovers', async () => {
    const wal = await Wal.open(cfg({ fsync: 'always' }));
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'before').streams);
    const seg = path.join(dir, segments()[0]!);
    const realWrite = fs.write;
    let calls = 0;
    const spy = vi.spyOn(fs, 'write').mockImplementation(((fd: number, buf: Buffer, off: number, len: number, pos: number, cb: (e: NodeJS.ErrnoException | null, n: number) => void) => {
      // A short write first (half the bytes really land), then ENOSPC, as a filling disk does.
      if (calls++ === 0) return realWrite(fd, buf, off, Math.max(1, len >> 1), pos, cb);
      const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      process.nextTick(() => cb(err, 0));
    }) as unknown as typeof fs.write);
    const failed = [wal.append('t', rec('t', 'lost 1').streams), wal.append('t', rec('t', 'lost 2').streams)];
    for (const p of failed) await expect(p).rejects.toThrow(seg);
    await expect(failed[0]).rejects.toThrow(/ENOSPC/);
    expect(calls).toBe(2);
    spy.mockRestore();
    expect(fs.write).toBe(realWrite);

    // A failed batch may have held dictionary definitions: appends move on to a new segment.
    const seg2 = path.join(dir, '00000002');
    expect(seg).toBe(path.join(dir, '00000001'));
    // Under 'always' segments are written with O_DSYNC: a failed sync is reported by the write.
    let failedRecords = 0;
    const sync = vi.spyOn(fs, 'write').mockImplementation(((fd: number, buf: Buffer, off: number, len: number, pos: number, cb: (e: NodeJS.ErrnoException | null, n: number) => void) => {
      // The new segment's header (at 0) lands; its first records do not.
      if (pos === 0 || failedRecords++ > 0) return realWrite(fd, buf, off, len, pos, cb);
      process.nextTick(() => cb(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }), 0));
    }) as unknown as typeof fs.write);
    await expect(wal.append('t', rec('t', 'lost 3').streams)).rejects.toThrow(new RegExp(`${seg2}.*EIO`));
    expect(failedRecords).toBe(1);
    sync.mockRestore();

    await wal.append('t', rec('t', 'after').streams);
    expect(wal.stats().writeErrors).toBe(2);
    await wal.close();
    const { recs, res } = await replayAll();
    const texts = (recs as { streams: { entries: { line: string }[] }[] }[]).map((r) => Buffer.from(r.streams[0]!.entries[0]!.line, 'base64').toString());
    expect(texts).toEqual(['before', 'after']);
    expect(res.corruptions).toEqual([]);
  });

  it('fails queued batches that may refer to definitions in a failed one, and replays cleanly', async () => {
    const wal = await Wal.open(cfg({ fsync: 'always' }));
    await wal.replay(() => undefined);
    // One live stream: its first record defines it, later ones refer to it by id.
    const ref = newStreamRef();
    const one = (line: string): WalStream[] => [{ labels: '{app="a"}', fingerprint: 'fp', ref, entries: [{ tsNs: 1n, line: Buffer.from(line), metadata: [{ name: 'detected_level', value: 'info' }] }] }];
    await wal.append('t', one('before'));
    const realWrite = fs.write;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    vi.spyOn(fs, 'write').mockImplementation(((fd: number, buf: Buffer, off: number, len: number, pos: number, cb: (e: NodeJS.ErrnoException | null, n: number) => void) => {
      if (calls++ > 0) return realWrite(fd, buf, off, len, pos, cb);
      // The first write fails, but only once the next batch has been queued behind it.
      void held.then(() => cb(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }), 0));
    }) as unknown as typeof fs.write);
    // A new segment: the stream is defined again in this batch, and only there.
    ref.walEpoch = 0;
    const first = wal.append('t', one('lost 1'));
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    const queued = wal.append('t', one('lost 2'));
    release();
    await expect(first).rejects.toThrow(/EIO/);
    await expect(queued).rejects.toThrow(/EIO/);
    vi.mocked(fs.write).mockRestore();
    await wal.append('t', one('after'));
    await wal.close();
    const { recs, res } = await replayAll();
    const texts = (recs as { streams: { entries: { line: string }[] }[] }[]).map((r) => Buffer.from(r.streams[0]!.entries[0]!.line, 'base64').toString());
    expect(texts).toEqual(['before', 'after']);
    expect(res.corruptions).toEqual([]);
  });

  it("writes a live stream's labels once per segment", async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    const labels = `{app="${'x'.repeat(500)}"}`;
    const ref = newStreamRef();
    const md = Object.freeze([Object.freeze({ name: 'detected_level', value: 'info' })]);
    for (let i = 0; i < 100; i++) await wal.append('t', [{ labels, fingerprint: 'fp', ref, entries: [{ tsNs: BigInt(i), line: Buffer.from(`line ${i}`), metadata: md }] }]);
    await wal.close();
    const size = fs.statSync(path.join(dir, segments()[0]!)).size;
    // 100 records of ~30 bytes each plus one definition of the 500-byte label string.
    expect(size).toBeLessThan(500 + 100 * 40);
    const { recs, res } = await replayAll();
    expect(res.corruptions).toEqual([]);
    expect(recs).toEqual(Array.from({ length: 100 }, (_, i) => normalize('t', [{ labels, fingerprint: 'fp', entries: [{ tsNs: BigInt(i), line: Buffer.from(`line ${i}`), metadata: md }] }])));
  });

  it('rejects a record that cannot be encoded without poisoning the batch', async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    const ok1 = wal.append('t', rec('t', 'ok1').streams);
    const bad = wal.append('t', rec('t', 'bad', 2n ** 64n).streams);
    const ok2 = wal.append('t', rec('t', 'ok2').streams);
    await expect(bad).rejects.toThrow(/cannot encode/);
    await Promise.all([ok1, ok2]);
    await wal.close();
    expect((await replayAll()).recs).toHaveLength(2);
  });

  it("'interval' fsyncs within the interval after a write", async () => {
    const wal = await Wal.open(cfg({ fsync: 'interval', fsyncIntervalMs: 30 }));
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'x').streams);
    expect(wal.stats().fsyncs).toBe(0);
    await vi.waitFor(() => expect(wal.stats().fsyncs).toBe(1), { timeout: 2000, interval: 10 });
    await wal.close();
  });

  it('enabled: false touches nothing', async () => {
    const sub = path.join(dir, 'nope');
    const wal = await Wal.open(cfg({ enabled: false, dir: sub }));
    await wal.append('t', rec('t', 'x').streams);
    await wal.checkpoint(() => {
      throw new Error('not called');
    });
    expect(await wal.replay(() => undefined)).toEqual({ records: 0, entries: 0, segments: 0, checkpointEntries: 0, truncatedBytes: 0, corruptions: [], skippedEntries: 0, marks: [], nextSeq: 1 });
    await wal.close();
    expect(fs.existsSync(sub)).toBe(false);
  });

  it('refuses files from a newer format version', async () => {
    const wal = await Wal.open(cfg());
    await wal.replay(() => undefined);
    await wal.append('t', rec('t', 'x').streams);
    await wal.close();
    const seg = path.join(dir, segments()[0]!);
    const buf = fs.readFileSync(seg);
    buf[4] = 99;
    fs.writeFileSync(seg, buf);
    await expect(replayAll()).rejects.toThrow(/format version 99/);
  });

  it('rejects appends after close and replay after append', async () => {
    const wal = await Wal.open(cfg());
    await wal.append('t', rec('t', 'x').streams);
    await expect(wal.replay(() => undefined)).rejects.toThrow(/before the first append/);
    await wal.close();
    await expect(wal.append('t', rec('t', 'y').streams)).rejects.toThrow(/closed/);
  });
});
