/**
 * The hand-written codecs against protobufjs over proto/ingester.proto and proto/push.proto:
 * what we write, protobufjs reads the same; what protobufjs writes, we read the same.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { cutBlocksView, encodeCutBlocks, MemChunk } from '../../chunk/index.js';
import { blockEntries, chunkEntries } from '../../chunk/testing.js';
import { LabelsCache } from '../../distributor/index.js';
import { fingerprint, labelsToString, type Labels, type Matcher, type MatchType, type PushEntry, type ValidStream } from '../../model/index.js';
import type { MemStream } from '../client.js';
import {
  decodeCount,
  decodeLabelRequest,
  decodePushRequest,
  decodeRangeRequest,
  decodeSelectStreamsResponse,
  decodeSeriesResponse,
  decodeStoredKeysRequest,
  decodeStoredKeysResponse,
  decodeStrings,
  decodeTailRequest,
  decodeTailResponse,
  encodeCount,
  encodeLabelRequest,
  encodePushRequest,
  encodeRangeRequest,
  encodeSeriesResponse,
  encodeStoredKeysRequest,
  encodeStoredKeysResponse,
  encodeStrings,
  encodeTailRequest,
  encodeTailResponse,
  MemStreamEncoder,
} from './wire.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../../../proto/ingester.proto', import.meta.url)));
const type = (name: string): protobuf.Type => root.lookupType(name);
/** protobufjs decode to a plain object: int64 as decimal strings, bytes as Buffers, defaults filled. */
function theirs(name: string, b: Buffer): Record<string, unknown> {
  const t = type(name);
  return t.toObject(t.decode(b), { longs: String, bytes: Buffer, defaults: true, enums: Number }) as Record<string, unknown>;
}
function ours(name: string, o: Record<string, unknown>): Buffer {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(o)).finish());
}

const MAX_I64 = 2n ** 63n - 1n;
const MIN_I64 = -(2n ** 63n);
const T0 = 1_700_000_000_987_654_321n;

const mk = (name: string, t: MatchType, value: string): Matcher => ({ name, type: t, value, matches: () => true });
const MATCHERS: Matcher[] = [mk('app', '=', 'api'), mk('env', '!=', ''), mk('pod', '=~', 'web-.*'), mk('zone', '!~', 'a|b'), mk('ü', '=', '✓ "q"')];
const TYPES: Record<MatchType, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };
const plainMatchers = (ms: readonly Matcher[]): [string, string, string][] => ms.map((m) => [m.type, m.name, m.value]);

describe('request codecs match protobufjs', () => {
  it('SelectStreamsRequest and SeriesRequest, including times beyond 2^53 and negative ones', () => {
    for (const [from, through] of [
      [T0, T0 + 1n],
      [MIN_I64, MAX_I64],
      [-5n, 0n],
    ] as const) {
      for (const name of ['silt.ingester.SelectStreamsRequest', 'silt.ingester.SeriesRequest']) {
        const b = encodeRangeRequest(MATCHERS, from, through);
        const o = theirs(name, b) as { start: string; end: string; matchers: { type: number; name: string; value: string }[] };
        expect([BigInt(o.start), BigInt(o.end)]).toEqual([from, through]);
        expect(o.matchers.map((m) => [m.type, m.name, m.value])).toEqual(MATCHERS.map((m) => [TYPES[m.type], m.name, m.value]));
        const back = decodeRangeRequest(ours(name, { start: from.toString(), end: through.toString(), matchers: o.matchers }), 'x');
        expect([back.fromNs, back.throughNs, plainMatchers(back.matchers)]).toEqual([from, through, plainMatchers(MATCHERS)]);
        // The decoded matchers are compiled: they match.
        expect(back.matchers[2]!.matches('web-1')).toBe(true);
        expect(back.matchers[2]!.matches('api-1')).toBe(false);
        expect(back.matchers[3]!.matches('a')).toBe(false);
      }
    }
    // A SelectStreamsRequest may name a shard (field 4, Loki's `<index>_of_<count>` text).
    const sharded = encodeRangeRequest(MATCHERS, T0, T0 + 1n, { index: 2, of: 5 });
    expect((theirs('silt.ingester.SelectStreamsRequest', sharded) as { shard: string }).shard).toBe('2_of_5');
    expect(decodeRangeRequest(sharded, 'x').shard).toEqual({ index: 2, of: 5 });
    expect(decodeRangeRequest(encodeRangeRequest(MATCHERS, T0, T0 + 1n), 'x').shard ?? null).toBeNull();
    expect(() => decodeRangeRequest(ours('silt.ingester.SelectStreamsRequest', { start: '0', end: '1', shard: '5_of_5' }), 'SelectStreamsRequest')).toThrow(/invalid shard/);
  });

  it('LabelRequest for names and for values', () => {
    const names = theirs('silt.ingester.LabelRequest', encodeLabelRequest(null, T0, T0 + 9n, MATCHERS.slice(0, 1)));
    expect(names).toMatchObject({ name: '', values: false, start: T0.toString(), end: (T0 + 9n).toString() });
    const values = theirs('silt.ingester.LabelRequest', encodeLabelRequest('pod', 1n, 2n, []));
    expect(values).toMatchObject({ name: 'pod', values: true, start: '1', end: '2', matchers: [] });
    const d = decodeLabelRequest(ours('silt.ingester.LabelRequest', { name: 'pod', values: true, start: '-3', end: MAX_I64.toString(), matchers: [{ type: 2, name: 'a', value: 'b.*' }] }));
    expect([d.name, d.fromNs, d.throughNs, plainMatchers(d.matchers)]).toEqual(['pod', -3n, MAX_I64, [['=~', 'a', 'b.*']]]);
    expect(decodeLabelRequest(ours('silt.ingester.LabelRequest', { name: 'ignored', values: false })).name).toBe(null);
  });

  it('TailRequest and StoredKeysRequest', () => {
    expect((theirs('silt.ingester.TailRequest', encodeTailRequest(MATCHERS)) as { matchers: unknown[] }).matchers.length).toBe(MATCHERS.length);
    expect(plainMatchers(decodeTailRequest(ours('silt.ingester.TailRequest', { matchers: [{ type: 3, name: 'x', value: 'y' }] })))).toEqual([['!~', 'x', 'y']]);
    const ids = ['ing-1/1', 'ing-2/99999', 'ü/✓'];
    expect(theirs('silt.ingester.StoredKeysRequest', encodeStoredKeysRequest(ids))).toEqual({ ids });
    expect(decodeStoredKeysRequest(ours('silt.ingester.StoredKeysRequest', { ids }))).toEqual(ids);
  });
});

describe('response codecs match protobufjs', () => {
  it('StoredKeysResponse, LabelResponse, SeriesResponse, counts', () => {
    const keys = new Map([
      ['ing-1/1', 't/chunks/abc/1-2-3'],
      ['ing-1/2', 't/chunks/def/4-5-6'],
    ]);
    expect(theirs('silt.ingester.StoredKeysResponse', encodeStoredKeysResponse(keys))).toEqual({ keys: Object.fromEntries(keys) });
    expect(decodeStoredKeysResponse(ours('silt.ingester.StoredKeysResponse', { keys: Object.fromEntries(keys) }))).toEqual(keys);
    const values = ['a', '', 'zoë ✓'];
    expect(theirs('silt.ingester.LabelResponse', encodeStrings(values))).toEqual({ values });
    expect(decodeStrings(ours('silt.ingester.LabelResponse', { values }), 'x')).toEqual(values);
    const series: Labels[] = [[{ name: 'a', value: '1' }, { name: 'b', value: 'ü' }], [], [{ name: 'c', value: '' }]];
    expect((theirs('silt.ingester.SeriesResponse', encodeSeriesResponse(series)) as { series: { labels: unknown[] }[] }).series.map((s) => s.labels)).toEqual(series);
    expect(decodeSeriesResponse(ours('silt.ingester.SeriesResponse', { series: series.map((labels) => ({ labels })) }))).toEqual(series);
    for (const n of [0, 1, 300, 0xffffffff]) {
      expect(theirs('silt.ingester.FlushResponse', encodeCount(n))).toEqual({ notFlushed: n });
      expect(decodeCount(ours('silt.ingester.TailersCountResponse', { count: n }), 'x')).toBe(n);
    }
  });

  it('PushRequest and TailResponse are Loki’s StreamAdapter, exact to the nanosecond', () => {
    const entries: PushEntry[] = [
      { tsNs: T0, line: Buffer.from('first ✓'), metadata: [{ name: 'trace_id', value: 'abc' }] },
      { tsNs: T0 + 1n, line: Buffer.from(''), metadata: [] },
      { tsNs: 0n, line: Buffer.from('epoch'), metadata: [] },
      { tsNs: -1n, line: Buffer.from('just before the epoch'), metadata: [{ name: 'a', value: '' }] },
      { tsNs: -1_500_000_001n, line: Buffer.from('negative'), metadata: [] },
      { tsNs: 253_402_300_799_999_999_999n, line: Buffer.from('year 9999'), metadata: [] },
    ];
    const labels: Labels = [{ name: 'app', value: 'x' }];
    const vs: ValidStream = { labels, labelsString: labelsToString(labels), fingerprint: fingerprint(labels), entries };
    const check = (streams: { labels: string; entries: { timestamp: { seconds: string; nanos: number }; line: string; structuredMetadata: { name: string; value: string }[] }[] }[]): void => {
      expect(streams.length).toBe(1);
      expect(streams[0]!.labels).toBe('{app="x"}');
      expect(streams[0]!.entries.map((e) => [BigInt(e.timestamp.seconds) * 1_000_000_000n + BigInt(e.timestamp.nanos), e.line, e.structuredMetadata])).toEqual(entries.map((e) => [e.tsNs, e.line.toString(), e.metadata]));
      for (const e of streams[0]!.entries) expect(e.timestamp.nanos >= 0 && e.timestamp.nanos < 1e9).toBe(true);
    };
    const pushT = protobuf.loadSync(fileURLToPath(new URL('../../../proto/push.proto', import.meta.url))).lookupType('logproto.PushRequest');
    const push = encodePushRequest([vs, vs]);
    const o = pushT.toObject(pushT.decode(push), { longs: String, defaults: true }) as { streams: Parameters<typeof check>[0] };
    check(o.streams.slice(0, 1));
    check(o.streams.slice(1));
    const tail = theirs('silt.ingester.TailResponse', encodeTailResponse(vs.labelsString, entries)) as { stream: Parameters<typeof check>[0][number] };
    check([tail.stream]);
    // And back through the decoders the services use.
    const cache = new LabelsCache(10);
    const back = decodePushRequest(push, cache);
    expect(back.map((s) => [s.labelsString, s.fingerprint, s.entries.map((e) => [e.tsNs, e.line.toString(), e.metadata])])).toEqual([vs, vs].map((s) => [s.labelsString, s.fingerprint, entries.map((e) => [e.tsNs, e.line.toString(), e.metadata])]));
    const t = decodeTailResponse(encodeTailResponse(vs.labelsString, entries), cache);
    expect([t.labels, t.entries.map((e) => e.tsNs)]).toEqual([labels, entries.map((e) => e.tsNs)]);
  });

  it('SelectStreamsResponse: cut blocks in the stored chunk format, heads as payloads with symbols', () => {
    const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 512, targetSizeBytes: 1 << 20 });
    for (let i = 0; i < 80; i++) c.append(T0 + BigInt(i * 7), Buffer.from(`line ${i} ${'y'.repeat(i % 17)}`), i % 4 === 0 ? [{ name: 'user', value: `u${i % 3}` }] : []);
    const head = c.headBlock()!;
    const k = c.blockMetas().length;
    const labels: Labels = [{ name: 'app', value: 'z' }];
    const s: MemStream = { labels, fingerprint: fingerprint(labels), chunks: [{ id: 'ing-1/7', fromNs: T0, throughNs: T0 + 79n * 7n, cut: cutBlocksView(c, k), head }] };
    for (const headCodec of ['none', 'snappy'] as const) {
      const msgs: Buffer[] = [];
      new MemStreamEncoder({ headCodec, batchBytes: 1 << 20 }).encode([s], (m) => msgs.push(m));
      expect(msgs.length).toBe(1);
      const o = theirs('silt.ingester.SelectStreamsResponse', msgs[0]!) as {
        streams: { labels: unknown; fingerprint: string; chunks: { id: string; from: string; through: string; cut: Buffer; head: { base: string; entries: number; span: string; codec: number; uncompressedSize: number; payload: Buffer; symbols: string[] } }[] }[];
      };
      const ch = o.streams[0]!.chunks[0]!;
      expect([o.streams[0]!.labels, o.streams[0]!.fingerprint, ch.id, BigInt(ch.from), BigInt(ch.through)]).toEqual([labels, s.fingerprint, 'ing-1/7', T0, T0 + 553n]);
      expect(ch.cut.equals(encodeCutBlocks(cutBlocksView(c, k)))).toBe(true);
      expect([BigInt(ch.head.base), ch.head.entries, Number(ch.head.span), ch.head.codec]).toEqual([head.baseNs, head.n, head.tsRel[head.n - 1], headCodec === 'none' ? 0 : 2]);
      // Only the head's own strings, in first-use order.
      const used = new Set<string>();
      for (let i = 0; i < head.n; i++) for (const l of head.metadata(i)) used.add(l.name).add(l.value);
      expect(used.size).toBeGreaterThan(1);
      expect(ch.head.symbols).toEqual([...used]);
      // protobufjs' encoding of the same reads back to the same entries.
      const [back] = decodeSelectStreamsResponse(ours('silt.ingester.SelectStreamsResponse', o));
      expect(chunkEntries(back!.chunks[0]!.cut!)).toEqual(chunkEntries(c).slice(0, k));
      expect(blockEntries(back!.chunks[0]!.head!)).toEqual(blockEntries(head));
      const [mine] = decodeSelectStreamsResponse(msgs[0]!);
      expect(blockEntries(mine!.chunks[0]!.head!)).toEqual(blockEntries(head));
    }
  });
});
