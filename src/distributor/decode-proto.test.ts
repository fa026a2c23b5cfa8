import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { InvalidError, SiltError } from '../errors.js';
import type { PushRequest } from '../model/stream.js';
import {
  encodeRef,
  prng,
  PushRequestType,
  randInt,
  randString,
  type RefRequest,
} from '../../test/golden/push/push-ref.js';
import { decodePushRequestProto } from './decode-proto.js';

/** Our decode, flattened to comparable plain data. */
function ours(buf: Buffer): unknown {
  return flatten(decodePushRequestProto(buf));
}

function flatten(req: PushRequest): unknown {
  return req.streams.map((s) => ({
    labels: s.labels,
    entries: s.entries.map((e) => ({
      ts: e.tsNs.toString(),
      line: e.line.toString('utf8'),
      md: e.metadata.map((l) => [l.name, l.value]),
    })),
  }));
}

interface RefDecoded {
  streams?: {
    labels?: string;
    entries?: { timestamp?: { seconds?: string; nanos?: number }; line?: string; structuredMetadata?: { name?: string; value?: string }[] }[];
  }[];
}

/** The protobufjs reference decode of the same bytes, in the same shape. */
function reference(buf: Buffer, type: protobuf.Type = PushRequestType): unknown {
  const o = type.toObject(type.decode(buf), { longs: String, defaults: false }) as RefDecoded;
  return (o.streams ?? []).map((s) => ({
    labels: s.labels ?? '',
    entries: (s.entries ?? []).map((e) => ({
      ts: (BigInt(e.timestamp?.seconds ?? '0') * 1_000_000_000n + BigInt(e.timestamp?.nanos ?? 0)).toString(),
      line: e.line ?? '',
      md: (e.structuredMetadata ?? []).map((l) => [l.name ?? '', l.value ?? '']),
    })),
  }));
}

/** A random request; timestamps span the whole valid Timestamp range including negatives. */
function randomRequest(rnd: () => number): RefRequest {
  const streams: RefRequest['streams'] = [];
  const ns = randInt(rnd, 5);
  for (let i = 0; i < ns; i++) {
    const entries: RefRequest['streams'][number]['entries'] = [];
    const ne = randInt(rnd, 6);
    for (let j = 0; j < ne; j++) {
      const kind = randInt(rnd, 4);
      const seconds =
        kind === 0 ? 0 : kind === 1 ? -randInt(rnd, 62135596800) : kind === 2 ? 1_700_000_000 + randInt(rnd, 1e6) : randInt(rnd, 253402300799);
      const e: RefRequest['streams'][number]['entries'][number] = {};
      if (rnd() < 0.95) e.timestamp = { seconds, nanos: randInt(rnd, 1e9) };
      if (rnd() < 0.95) e.line = randString(rnd, 40);
      if (rnd() < 0.3) {
        e.structuredMetadata = [];
        const nm = 1 + randInt(rnd, 3);
        for (let k = 0; k < nm; k++) e.structuredMetadata.push({ name: randString(rnd, 6), value: randString(rnd, 10) });
      }
      entries.push(e);
    }
    const s: RefRequest['streams'][number] = { entries };
    if (rnd() < 0.95) s.labels = `{app="${randString(rnd, 8).replace(/["\\\n]/g, '')}"}`;
    if (rnd() < 0.3) s.hash = randInt(rnd, 2 ** 52);
    streams.push(s);
  }
  return { streams };
}

/** The same messages with extra fields of every wire type interleaved (must be skipped). */
const extended = protobuf.parse(`
  syntax = "proto3";
  package ext;
  message Ts { int64 seconds = 1; int32 nanos = 2; fixed64 x1 = 7; string x2 = 8; }
  message Pair { string name = 1; string value = 2; sfixed32 x = 9; }
  message Entry { Ts timestamp = 1; string line = 2; repeated Pair structuredMetadata = 3;
    repeated Pair parsed = 4; fixed32 f32 = 5; fixed64 f64 = 6; sint64 v = 7; bytes b = 1000; }
  message Stream { string labels = 1; repeated Entry entries = 2; uint64 hash = 3; double d = 4; Pair nested = 5; }
  message Req { repeated Stream streams = 1; string format = 2; int32 neg = 3; bytes big = 536870911; }
`).root.lookupType('ext.Req');

describe('decodePushRequestProto', () => {
  it('decodes a known request exactly', () => {
    // Encoded by protobufjs from proto/push.proto: one stream, one entry at -5s+3ns, metadata x=y, hash 123.
    const hex = '0a280a077b613d2262227d121b0a0d08fbffffffffffffffff011003120268691a060a0178120179187b';
    const req = decodePushRequestProto(Buffer.from(hex, 'hex'));
    expect(req.streams).toHaveLength(1);
    const s = req.streams[0]!;
    expect(s.labels).toBe('{a="b"}');
    expect(s.labelsObject).toBeNull();
    expect(s.entries[0]!.tsNs).toBe(-4_999_999_997n);
    expect(s.entries[0]!.line.toString()).toBe('hi');
    expect(s.entries[0]!.metadata).toEqual([{ name: 'x', value: 'y' }]);
  });

  it('keeps nanosecond precision beyond 2^53', () => {
    const buf = encodeRef({ streams: [{ labels: '{a="b"}', entries: [{ timestamp: { seconds: 1_700_000_000, nanos: 123_456_789 }, line: 'x' }] }] });
    expect(decodePushRequestProto(buf).streams[0]!.entries[0]!.tsNs).toBe(1_700_000_000_123_456_789n);
  });

  it('returns lines as views into the body, not copies', () => {
    const buf = encodeRef({ streams: [{ labels: '{a="b"}', entries: [{ timestamp: { seconds: 1, nanos: 0 }, line: 'hello' }] }] });
    const line = decodePushRequestProto(buf).streams[0]!.entries[0]!.line;
    expect(line.buffer).toBe(buf.buffer);
    buf[buf.indexOf('hello')] = 0x4a; // 'J'
    expect(line.toString()).toBe('Jello');
  });

  it('decodes an empty body as an empty request', () => {
    expect(decodePushRequestProto(Buffer.alloc(0))).toEqual({ streams: [] });
  });

  it('matches protobufjs on 2000 random requests', () => {
    const rnd = prng(42);
    for (let i = 0; i < 2000; i++) {
      const buf = encodeRef(randomRequest(rnd));
      expect(ours(buf)).toEqual(reference(buf));
    }
  });

  it('skips unknown fields of every wire type', () => {
    const rnd = prng(7);
    for (let i = 0; i < 300; i++) {
      const base = randomRequest(rnd);
      const noisy = {
        format: 'loki',
        neg: -1,
        big: Buffer.from('zz'),
        streams: base.streams.map((s) => ({
          ...s,
          d: 1.5,
          nested: { name: 'n', value: 'v', x: -3 },
          entries: s.entries.map((e) => ({
            ...e,
            timestamp: e.timestamp ? { ...e.timestamp, x1: 99, x2: 'junk' } : undefined,
            structuredMetadata: e.structuredMetadata?.map((p) => ({ ...p, x: 5 })),
            parsed: [{ name: 'p', value: 'q' }],
            f32: 0xdeadbeef,
            f64: 12345,
            v: -77,
            b: Buffer.from([1, 2, 3]),
          })),
        })),
      };
      const buf = Buffer.from(extended.encode(extended.fromObject(noisy)).finish());
      expect(ours(buf)).toEqual(reference(buf));
      expect(ours(buf)).toEqual(reference(encodeRef(base)));
    }
  });

  it('skips unknown groups (wire types 3/4)', () => {
    // field 9 start-group, inside it field 1 varint 5, field 9 end-group; then the stream.
    const stream = encodeRef({ streams: [{ labels: '{a="b"}', entries: [] }] });
    const buf = Buffer.concat([Buffer.from([0x4b, 0x08, 0x05, 0x4c]), stream]);
    expect(ours(buf)).toEqual([{ labels: '{a="b"}', entries: [] }]);
  });

  const bad: [string, string, string][] = [
    ['truncated length', '0a05', 'unexpected EOF'],
    ['truncated varint', '0a', 'unexpected EOF'],
    ['field number 0', '00', 'proto: PushRequest: illegal tag 0 (wire type 0)'],
    ['wrong wire type for streams', '0805', 'proto: wrong wireType = 0 for field Streams'],
    ['wrong wire type for labels', '0a020805', 'proto: wrong wireType = 0 for field Labels'],
    ['wrong wire type for hash', '0a021a00', 'proto: wrong wireType = 2 for field Hash'],
    ['illegal wire type 7', '17', 'proto: illegal wireType 7'],
    ['stray end group', '14', 'proto: unexpected end group'],
    ['mismatched end group', '4b54', 'proto: mismatched end group: field 10, expected 9'],
    ['overlong varint', '10ffffffffffffffffffff01', 'proto: integer overflow'],
    ['length past the end of an entry', '0a04120212ff', 'unexpected EOF'],
  ];
  const ts = (seconds: number, nanos: number) =>
    encodeRef({ streams: [{ labels: '{a="b"}', entries: [{ timestamp: { seconds, nanos }, line: 'x' }] }] }).toString('hex');
  bad.push(
    ['negative nanos', ts(1, -100000), 'timestamp: seconds:1 nanos:-100000: nanos not in range [0, 1e9)'],
    ['nanos of a whole second', ts(1, 1e9), 'timestamp: seconds:1 nanos:1000000000: nanos not in range [0, 1e9)'],
    ['seconds before year 1', ts(-62135596801, 0), 'timestamp: seconds:-62135596801 nanos:0 before 0001-01-01'],
    ['seconds after year 9999', ts(253402300800, 0), 'timestamp: seconds:253402300800 nanos:0 after 10000-01-01'],
  );
  it.each(bad)('rejects %s', (_name, hex, msg) => {
    let err: unknown;
    try {
      decodePushRequestProto(Buffer.from(hex, 'hex'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidError);
    expect((err as Error).message).toBe(msg);
  });

  it('throws only SiltErrors on fuzzed input (random bytes, truncations, bit flips)', () => {
    const rnd = prng(1234);
    const check = (buf: Buffer) => {
      try {
        decodePushRequestProto(buf);
      } catch (e) {
        if (!(e instanceof SiltError)) throw e;
      }
    };
    for (let i = 0; i < 3000; i++) {
      const rand = Buffer.alloc(randInt(rnd, 64));
      for (let k = 0; k < rand.length; k++) rand[k] = randInt(rnd, 256);
      check(rand);
    }
    for (let i = 0; i < 300; i++) {
      const good = encodeRef(randomRequest(rnd));
      for (let k = 0; k < 10; k++) check(good.subarray(0, randInt(rnd, good.length + 1)));
      for (let k = 0; k < 10; k++) {
        const flipped = Buffer.from(good);
        if (flipped.length === 0) break;
        const at = randInt(rnd, flipped.length);
        flipped[at] = flipped[at]! ^ (1 << randInt(rnd, 8));
        check(flipped);
      }
    }
  });
});
