import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { FILE_HEADER_BYTES, FRAME_HEADER_BYTES, RECORD_CHECKPOINT_CHUNKS, RECORD_ENTRIES, RECORD_ENTRIES_DICT, RECORD_ENTRIES_SEQ, RECORD_FLUSHED } from './consts.js';
import {
  addCheckpointStream,
  beginCheckpointChunks,
  decodeCheckpointChunks,
  decodeEntriesPayload,
  decodeFlushed,
  DictTables,
  encodeEntriesDictRecord,
  encodeEntriesRecord,
  encodeFlushedRecord,
  encodeStreamHeader,
  endCheckpointChunks,
  newStreamRef,
  WalDict,
} from './record.js';
import { scanFrames } from './scan.js';
import { normalize, prng, randomRecord, type TestRecord } from './testdata/random-records.js';

function decodeAll(buf: Buffer, start = 0): { recs: unknown[]; problems: ReturnType<typeof scanFrames> } {
  const recs: unknown[] = [];
  const r = new ByteReader(buf);
  const problems = scanFrames(buf, start, buf.length, (type, ps, pe) => {
    if (type !== RECORD_ENTRIES) return `type ${type}`;
    r.reset(buf, ps, pe);
    try {
      const d = decodeEntriesPayload(r);
      recs.push(normalize(d.tenant, d.streams));
      return null;
    } catch (e) {
      return String(e);
    }
  });
  return { recs, problems };
}

describe('record codec', () => {
  it('writes the same bytes when entries share one frozen metadata array as when each has its own', () => {
    const shared = Object.freeze([Object.freeze({ name: 'detected_level', value: 'info' }), Object.freeze({ name: 'trace_id', value: 'abc' })]);
    const other = Object.freeze([Object.freeze({ name: 'detected_level', value: 'warn' })]);
    const mk = (md: (i: number) => readonly { name: string; value: string }[]) => [
      { labels: '{app="a"}', fingerprint: 'f1', entries: Array.from({ length: 20 }, (_, i) => ({ tsNs: BigInt(i), line: Buffer.from(`line ${i}`), metadata: md(i) })) },
      { labels: '{app="b"}', fingerprint: 'f2', entries: Array.from({ length: 5 }, (_, i) => ({ tsNs: BigInt(i), line: Buffer.from(`b ${i}`), metadata: md(i + 1) })) },
    ];
    const sharedRec = mk((i) => (i % 3 === 0 ? other : i % 5 === 0 ? [] : shared));
    const ownRec = mk((i) => (i % 3 === 0 ? other : i % 5 === 0 ? [] : shared).map((l) => ({ ...l })));
    const a = new ByteWriter(64);
    const b = new ByteWriter(64);
    encodeEntriesRecord(a, 't', sharedRec);
    encodeEntriesRecord(b, 't', ownRec);
    expect(a.view().equals(b.view())).toBe(true);
  });

  it('writes the same bytes with a pre-encoded stream header as without', () => {
    const rnd = prng(77);
    for (let i = 0; i < 200; i++) {
      const rec = randomRecord(rnd);
      const plain = new ByteWriter(1024);
      const withHeader = new ByteWriter(1024);
      encodeEntriesRecord(plain, rec.tenant, rec.streams);
      encodeEntriesRecord(withHeader, rec.tenant, rec.streams.map((s) => ({ ...s, header: encodeStreamHeader(s.labels, s.fingerprint) })));
      expect(withHeader.view().equals(plain.view())).toBe(true);
    }
  });

  it('round-trips random records through one reused writer', () => {
    const rnd = prng(7);
    const w = new ByteWriter(16);
    const want: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const rec: TestRecord = randomRecord(rnd);
      encodeEntriesRecord(w, rec.tenant, rec.streams);
      want.push(normalize(rec.tenant, rec.streams));
    }
    const { recs, problems } = decodeAll(w.finish());
    expect(problems).toEqual([]);
    expect(recs).toEqual(want);
  });

  it('rejects timestamps outside signed 64-bit', () => {
    const w = new ByteWriter();
    expect(() => encodeEntriesRecord(w, 't', [{ labels: '{}', fingerprint: '1', entries: [{ tsNs: 2n ** 63n, line: Buffer.from('x'), metadata: [] }] }])).toThrow(RangeError);
  });

  it('distrusts counts read from disk', () => {
    const w = new ByteWriter();
    w.string('t');
    w.uvarint(2 ** 40); // absurd stream count
    expect(() => decodeEntriesPayload(new ByteReader(w.finish()))).toThrow(/stream count/);
  });

  it('resyncs past a damaged frame and reports where', () => {
    const rnd = prng(3);
    const w = new ByteWriter();
    const offsets: number[] = [];
    const want: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const rec = randomRecord(rnd);
      offsets.push(w.length);
      encodeEntriesRecord(w, 'tenant', rec.streams);
      want.push(normalize('tenant', rec.streams));
    }
    const buf = w.finish();
    // Damage the length field of record 2: framing is lost, resync must find record 3.
    buf[offsets[2]!] = 0xff;
    const { recs, problems } = decodeAll(buf);
    expect(recs).toEqual([want[0], want[1], want[3], want[4]]);
    expect(problems).toEqual([{ offset: offsets[2], reason: expect.stringMatching(/bad frame length/), resumeAt: offsets[3] }]);
  });

  it('reports garbage to the end with resumeAt -1', () => {
    const w = new ByteWriter();
    w.bytes(Buffer.alloc(FILE_HEADER_BYTES));
    encodeEntriesRecord(w, 't', [{ labels: '{a="1"}', fingerprint: 'f', entries: [{ tsNs: 1n, line: Buffer.from('hello'), metadata: [] }] }]);
    const good = w.length;
    w.bytes(Buffer.alloc(100)); // zero-filled tail, as after power loss
    const { recs, problems } = decodeAll(w.finish(), FILE_HEADER_BYTES);
    expect(recs).toHaveLength(1);
    expect(problems).toEqual([{ offset: good, reason: 'bad frame length 0', resumeAt: -1 }]);
    expect(good - FILE_HEADER_BYTES).toBeGreaterThan(FRAME_HEADER_BYTES);
  });

  it('dictionary frames round-trip random records, defining each live stream once per dictionary', () => {
    const rnd = prng(11);
    const w = new ByteWriter(16);
    const want: unknown[] = [];
    const wantSeqs: unknown[] = [];
    let dict = new WalDict();
    for (let i = 0; i < 400; i++) {
      // A new dictionary now and then, as a new segment starts one (the decoder's tables go with it).
      if (i === 200) dict = new WalDict();
      const rec = randomRecord(rnd);
      encodeEntriesDictRecord(w, rec.tenant, rec.streams, dict);
      want.push(normalize(rec.tenant, rec.streams));
      wantSeqs.push(rec.streams.map((x) => x.firstSeq));
    }
    const buf = w.finish();
    const recs: unknown[] = [];
    const seqs: unknown[] = [];
    const r = new ByteReader(buf);
    let tables = new DictTables();
    let n = 0;
    const problems = scanFrames(buf, 0, buf.length, (type, ps, pe) => {
      if (type !== RECORD_ENTRIES_SEQ) return `type ${type}`;
      if (n++ === 200) tables = new DictTables();
      r.reset(buf, ps, pe);
      const d = decodeEntriesPayload(r, tables, true);
      seqs.push(d.streams.map((x) => x.firstSeq));
      recs.push(normalize(d.tenant, d.streams));
      return null;
    });
    expect(problems).toEqual([]);
    expect(recs).toEqual(want);
    expect(seqs).toEqual(wantSeqs);
    // Six live streams, each defined once per dictionary: far fewer definitions than uses.
    expect(tables.streams.filter((x) => x?.labels.startsWith('{app="live-')).length).toBeLessThanOrEqual(6);
  });

  it('a reference to a definition the decoder never saw is an error, not another stream', () => {
    const ref = newStreamRef();
    const dict = new WalDict();
    const s = (line: string) => [{ labels: '{app="a"}', fingerprint: 'fa', ref, entries: [{ tsNs: 1n, line: Buffer.from(line), metadata: [] }] }];
    const first = new ByteWriter();
    encodeEntriesDictRecord(first, 't', s('one'), dict);
    const second = new ByteWriter();
    encodeEntriesDictRecord(second, 't', s('two'), dict);
    const body = second.finish().subarray(FRAME_HEADER_BYTES + 1);
    expect(() => decodeEntriesPayload(new ByteReader(body), new DictTables(), true)).toThrow(/undefined stream 0/);
    const tables = new DictTables();
    decodeEntriesPayload(new ByteReader(first.finish().subarray(FRAME_HEADER_BYTES + 1)), tables, true);
    expect(decodeEntriesPayload(new ByteReader(body), tables, true).streams[0]!.labels).toBe('{app="a"}');
  });

  it('version 2 dictionary frames still decode (golden bytes written by the version 2 encoder)', () => {
    const hex = readFileSync(new URL('../../../test/golden/wal/v2-dict-frames.hex', import.meta.url), 'utf8').replace(/\s+/g, '');
    const buf = Buffer.from(hex, 'hex');
    const tables = new DictTables();
    const r = new ByteReader(buf);
    const recs: unknown[] = [];
    const problems = scanFrames(buf, 0, buf.length, (type, ps, pe) => {
      if (type !== RECORD_ENTRIES_DICT) return `type ${type}`;
      r.reset(buf, ps, pe);
      const d = decodeEntriesPayload(r, tables);
      recs.push(normalize(d.tenant, d.streams));
      return null;
    });
    expect(problems).toEqual([]);
    expect(recs).toHaveLength(2);
    const lines = (recs as { streams: { entries: { line: string }[] }[] }[]).flatMap((x) => x.streams.flatMap((st) => st.entries.map((e) => Buffer.from(e.line, 'base64').toString())));
    expect(lines).toEqual(['level=info msg="started"', 'ok', 'GET /', '']);
  });

  it('version 3 frame bytes are stable (golden): sequence numbers, a flush mark, checkpoint chunks', async () => {
    const ref = newStreamRef();
    const dict = new WalDict();
    const info = Object.freeze([Object.freeze({ name: 'detected_level', value: 'info' })]);
    const t = 1_700_000_000_123_456_789n;
    const w = new ByteWriter();
    const stream = (firstSeq: number, entries: { tsNs: bigint; line: Buffer; metadata: readonly { name: string; value: string }[] }[]) => [{ labels: '{app="api", env="prod"}', fingerprint: '9f1c2e', ref, entries, firstSeq }];
    encodeEntriesDictRecord(w, 'fake', stream(1, [{ tsNs: t, line: Buffer.from('level=info msg="started"'), metadata: info }, { tsNs: t + 1n, line: Buffer.from('ok'), metadata: info }]), dict);
    encodeEntriesDictRecord(w, 'fake', [...stream(3, [{ tsNs: t + 2n, line: Buffer.from('GET /'), metadata: [{ name: 'trace_id', value: 'abc' }, ...info] }]), { labels: '{app="db"}', fingerprint: '77', firstSeq: 2 ** 40, entries: [{ tsNs: -1n, line: Buffer.from(''), metadata: [] }] }], dict);
    const mark = { tenant: 'fake', labels: '{app="api", env="prod"}', fingerprint: '9f1c2e', firstSeq: 1, lastSeq: 3, fromNs: t, throughNs: t + 2n, checksum: 0xdeadbeef, sizeBytes: 321, entries: 3, uncompressedBytes: 31 };
    encodeFlushedRecord(w, mark);
    const frame = beginCheckpointChunks(w, 'fake');
    addCheckpointStream(w, { labels: '{app="db"}', fingerprint: '77', appliedSeq: 2 ** 40, chunks: [{ firstSeq: 2 ** 40, lastSeq: 2 ** 40, closed: true, continues: false, entries: [{ tsNs: 5n, line: Buffer.from('x'), metadata: [] }] }] });
    endCheckpointChunks(w, frame, 1);
    const bytes = w.finish();
    // Decodes back to what was written.
    const tables = new DictTables();
    const r = new ByteReader(bytes);
    const got: unknown[] = [];
    expect(
      scanFrames(bytes, 0, bytes.length, (type, ps, pe) => {
        r.reset(bytes, ps, pe);
        if (type === RECORD_ENTRIES_SEQ) got.push(decodeEntriesPayload(r, tables, true).streams.map((x) => [x.firstSeq, x.entries.length]));
        else if (type === RECORD_FLUSHED) got.push(decodeFlushed(r));
        else if (type === RECORD_CHECKPOINT_CHUNKS) got.push(decodeCheckpointChunks(r).streams.map((x) => [x.appliedSeq, x.chunks.map((c) => [c.firstSeq, c.lastSeq, c.closed, c.continues, c.entries.length])]));
        else return `type ${type}`;
        return null;
      }),
    ).toEqual([]);
    expect(got).toEqual([[[1, 2]], [[3, 1], [2 ** 40, 1]], mark, [[2 ** 40, [[2 ** 40, 2 ** 40, true, false, 1]]]]]);
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 32) lines.push(bytes.subarray(i, i + 32).toString('hex'));
    await expect(lines.join('\n') + '\n').toMatchFileSnapshot('../../../test/golden/wal/v3-frames.hex');
  });
});
