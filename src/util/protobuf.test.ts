import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { InvalidError } from '../errors.js';
import { ProtoReader, ProtoWriter, uvarintBytes, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { seededRandom } from './random.js';

// An independent codec for the same shapes: protobufjs from a schema written here.
const root = protobuf.parse(`
syntax = "proto3";
message Inner { int64 t = 1; string s = 2; bytes b = 3; }
message Outer { repeated Inner inner = 1; uint32 n = 2; int32 i = 3; bool f = 4; }
`).root;
const Outer = root.lookupType('Outer');

interface Inner {
  t: bigint;
  s: string;
  b: Buffer;
}

function writeOuter(w: ProtoWriter, inner: Inner[], n: number, i: number, f: boolean, hint: (k: number) => number): void {
  inner.forEach((x, k) => {
    w.begin(1, hint(k));
    w.int64Field(1, x.t);
    w.stringField(2, x.s);
    w.bytesField(3, x.b);
    w.end();
  });
  w.uintFieldIfSet(2, n);
  w.int32Field(3, i);
  w.uintFieldIfSet(4, f ? 1 : 0);
}

function readOuter(buf: Buffer): { inner: Inner[]; n: number; i: bigint; f: boolean } {
  const r = new ProtoReader(buf);
  const out = { inner: [] as Inner[], n: 0, i: 0n, f: false };
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_LEN, 'inner');
      const outer = r.sub();
      const x: Inner = { t: 0n, s: '', b: Buffer.alloc(0) };
      while (r.next()) {
        if (r.field === 1) x.t = r.int64();
        else if (r.field === 2) x.s = r.str(1 << 20, 's');
        else if (r.field === 3) x.b = Buffer.from(r.lenView(1 << 20, 'b'));
        else r.skip();
      }
      r.leave(outer);
      out.inner.push(x);
    } else if (r.field === 2) out.n = r.uint32();
    else if (r.field === 3) out.i = r.int64();
    else if (r.field === 4) out.f = r.bool();
    else r.skip();
  }
  return out;
}

describe('ProtoWriter and ProtoReader', () => {
  it('match protobufjs on random messages, whatever the length hints', () => {
    const rnd = seededRandom(42);
    const int = (n: number): number => Math.floor(rnd() * n);
    // Sizes around the varint length boundaries, so `end` has to move bodies both ways.
    const sizes = [0, 1, 120, 127, 128, 129, 16_370, 16_383, 16_384, 70_000];
    for (let round = 0; round < 60; round++) {
      const inner: Inner[] = Array.from({ length: int(4) }, () => ({
        t: [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(int(1e9)) * 1_000_000_007n][int(5)]!,
        s: 'é✓'.repeat(int(3)) + 'x'.repeat(int(40)),
        b: Buffer.alloc(sizes[int(sizes.length)]!, int(256)),
      }));
      const n = [0, 1, 127, 128, 0xffffffff][int(5)]!;
      const i = [0, -1, 5, -(2 ** 31), 2 ** 31 - 1][int(5)]!;
      const f = rnd() < 0.5;
      const w = new ProtoWriter(8);
      writeOuter(w, inner, n, i, f, () => sizes[int(sizes.length)]!);
      const bytes = w.finish();
      const ref = Outer.toObject(Outer.decode(bytes), { longs: String, bytes: Buffer }) as { inner?: { t?: string; s?: string; b?: Buffer }[]; n?: number; i?: number; f?: boolean };
      // Buffers compared as hex: deep equality of big Buffers is slow.
      const plain = (xs: Inner[]): [bigint, string, string][] => xs.map((x) => [x.t, x.s, x.b.toString('hex')]);
      expect((ref.inner ?? []).map((x) => [BigInt(x.t ?? '0'), x.s ?? '', Buffer.from(x.b ?? []).toString('hex')])).toEqual(plain(inner));
      expect([ref.n ?? 0, ref.i ?? 0, ref.f ?? false]).toEqual([n, i, f]);
      // protobufjs' own encoding reads back the same with ours.
      const theirs = Buffer.from(Outer.encode(Outer.fromObject({ inner: inner.map((x) => ({ t: x.t.toString(), s: x.s, b: x.b })), n, i, f })).finish());
      const mine = readOuter(theirs);
      expect(plain(mine.inner)).toEqual(plain(inner));
      expect([mine.n, Number(BigInt.asIntN(32, mine.i)), mine.f]).toEqual([n, i, f]);
      const again = readOuter(bytes);
      expect(plain(again.inner)).toEqual(plain(inner));
      expect([again.n, again.i, again.f]).toEqual([mine.n, mine.i, mine.f]);
    }
  });

  it('sizes varints', () => {
    for (const [v, n] of [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [2 ** 32, 5], [2 ** 53 - 1, 8]] as const) expect(uvarintBytes(v)).toBe(n);
  });

  it('skips unknown fields of every wire type', () => {
    const w = new ProtoWriter();
    w.uintField(9, 300);
    w.tag(10, 1);
    w.bytes(Buffer.alloc(8, 1));
    w.stringField(11, 'skip me');
    w.tag(12, 5);
    w.bytes(Buffer.alloc(4, 2));
    w.uintField(2, 7);
    expect(readOuter(w.finish())).toEqual({ inner: [], n: 7, i: 0n, f: false });
  });

  const bad: [string, number[], RegExp][] = [
    ['tag 0', [0x00, 0x01], /illegal tag 0/],
    ['a start group', [0x0b], /illegal wireType 3/],
    ['an end group', [0x0c], /illegal wireType 4/],
    ['wire type 7', [0x0f], /illegal wireType 7/],
    ['a length past the end', [0x0a, 0x05, 0x01], /length 5 runs past the end/],
    ['a length past the end of a sub-message', [0x0a, 0x02, 0x1a, 0x09], /length 9 runs past the end/],
  ];
  for (const [name, bytes, msg] of bad) {
    it(`refuses ${name} with InvalidError`, () => {
      expect(() => readOuter(Buffer.from(bytes))).toThrow(InvalidError);
      expect(() => readOuter(Buffer.from(bytes))).toThrow(msg);
    });
  }

  it('throws RangeError on truncation, for the codec to name the message', () => {
    for (const bytes of [[0x10], [0x10, 0x80], [0x49, 1, 2, 3]]) expect(() => readOuter(Buffer.from(bytes))).toThrow(RangeError);
  });

  it('checks the wire type and limits it is told', () => {
    const w = new ProtoWriter();
    w.stringField(1, 'abcdef');
    const r = new ProtoReader(w.finish());
    r.next();
    expect(() => r.expect(WIRE_VARINT, 'x')).toThrow('proto: wrong wireType = 2 for field x');
    expect(() => r.str(3, 'x')).toThrow('proto: field x of 6 bytes exceeds the limit of 3');
    const u = new ProtoWriter();
    u.uintField(1, 2 ** 32);
    const r2 = new ProtoReader(u.finish());
    r2.next();
    expect(() => r2.uint32()).toThrow(InvalidError);
  });
});
