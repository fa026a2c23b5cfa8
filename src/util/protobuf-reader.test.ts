/**
 * The explicit-end reads of ProtoReader (what the push and OTLP decoders use), against values
 * written by an independent encoder (protobufjs' Writer), and the doubleField of ProtoWriter.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { InvalidError } from '../errors.js';
import { ProtoLengthError, ProtoReader, ProtoWriter, WIRE_END_GROUP, WIRE_LEN, WIRE_START_GROUP, WIRE_VARINT } from './protobuf.js';
import { seededRandom } from './random.js';

const written = (fill: (w: protobuf.Writer) => protobuf.Writer): Buffer => Buffer.from(fill(protobuf.Writer.create()).finish());

/** Reads `buf` with `read`, checking the read consumed it all. */
function readAll<T>(buf: Buffer, read: (r: ProtoReader) => T): T {
  const r = new ProtoReader(buf);
  const v = read(r);
  expect(r.pos).toBe(buf.length);
  return v;
}

describe('ProtoReader explicit-end reads', () => {
  it('read varints of every width as protobufjs writes them', () => {
    const rnd = seededRandom(7);
    const edges = [0n, 1n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 63n - 1n, -1n, -(2n ** 31n), -(2n ** 63n)];
    const values = [...edges, ...Array.from({ length: 500 }, () => BigInt.asIntN(64, BigInt(Math.floor(rnd() * 2 ** 32)) * BigInt(Math.floor(rnd() * 2 ** 32)) >> BigInt(Math.floor(rnd() * 64))))];
    for (const v of values) {
      const buf = written((w) => w.int64(v.toString()));
      expect(readAll(buf, (r) => r.int64(buf.length))).toBe(v);
      expect(readAll(buf, (r) => r.uint64(buf.length))).toBe(BigInt.asUintN(64, v));
      expect(readAll(buf, (r) => r.int32(buf.length))).toBe(Number(BigInt.asIntN(32, v)));
      expect(readAll(buf, (r) => r.bool(buf.length))).toBe(v !== 0n);
      const u = BigInt.asUintN(64, v);
      if (u < 2n ** 32n) expect(readAll(buf, (r) => r.u32(buf.length))).toBe(Number(u));
      else expect(() => new ProtoReader(buf).u32(buf.length)).toThrow(new InvalidError('proto: integer overflow'));
      if (u <= BigInt(Number.MAX_SAFE_INTEGER)) expect(readAll(buf, (r) => r.uint(buf.length))).toBe(Number(u));
      else expect(() => new ProtoReader(buf).uint(buf.length)).toThrow(new InvalidError('proto: integer overflow'));
    }
  });

  it('read fixed-width values and doubles', () => {
    const buf = written((w) => w.fixed32(0xdeadbeef).fixed64('18446744073709551615').double(-1.5e-300));
    const r = new ProtoReader(buf);
    expect([r.fixed32(buf.length), r.fixed64(buf.length), r.double(buf.length)]).toEqual([0xdeadbeef, 2n ** 64n - 1n, -1.5e-300]);
    expect(() => new ProtoReader(buf.subarray(0, 3)).fixed32(3)).toThrow(RangeError);
  });

  it('stop at the end they are given, not at the end of the buffer', () => {
    const buf = Buffer.from([0x96, 0x01, 0x05]);
    expect(() => new ProtoReader(buf).u32(1)).toThrow(RangeError);
    expect(() => new ProtoReader(buf).uint(1)).toThrow(RangeError);
    expect(() => new ProtoReader(buf).u64(1)).toThrow(RangeError);
    expect(() => new ProtoReader(buf).int32(1)).toThrow(RangeError);
    expect(readAll(buf.subarray(0, 2), (r) => r.u32(2))).toBe(150);
  });

  it('refuse varints longer than 10 bytes, and 32-bit ones longer than 5', () => {
    const eleven = Buffer.from([...Array<number>(10).fill(0xff), 0x01]);
    for (const read of [(r: ProtoReader) => r.u64(11), (r: ProtoReader) => r.int32(11), (r: ProtoReader) => r.uint(11)]) expect(() => read(new ProtoReader(eleven))).toThrow('proto: integer overflow');
    expect(() => new ProtoReader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10])).u32(5)).toThrow('proto: integer overflow');
  });

  it('find the end of length-delimited fields, with ProtoLengthError past the end', () => {
    const buf = written((w) => w.bytes(Buffer.alloc(300, 1)));
    expect(readAll(buf, (r) => (r.pos = r.lenEnd32(buf.length)))).toBe(buf.length);
    expect(readAll(buf, (r) => (r.pos = r.lenEnd(buf.length)))).toBe(buf.length);
    for (const read of [(r: ProtoReader) => r.lenEnd32(buf.length - 1), (r: ProtoReader) => r.lenEnd(buf.length - 1)]) {
      const r = new ProtoReader(buf);
      expect(() => read(r)).toThrow(ProtoLengthError);
      expect(() => read(new ProtoReader(buf))).toThrow('proto: length 300 runs past the end of the message');
    }
  });

  it('skip groups, nested, only with skipWithGroups', () => {
    // Field 5 group { field 1 varint, field 6 group { field 2 bytes } }, then field 7 varint.
    const w = new ProtoWriter();
    w.tag(5, WIRE_START_GROUP);
    w.uintField(1, 300);
    w.tag(6, WIRE_START_GROUP);
    w.bytesField(2, Buffer.from('abc'));
    w.tag(6, WIRE_END_GROUP);
    w.tag(5, WIRE_END_GROUP);
    w.uintField(7, 9);
    const buf = w.finish();
    const r = new ProtoReader(buf);
    expect(r.u32(buf.length)).toBe(5 * 8 + WIRE_START_GROUP);
    r.skipWithGroups(WIRE_START_GROUP, 5, buf.length);
    expect([r.u32(buf.length), r.u32(buf.length)]).toEqual([7 * 8 + WIRE_VARINT, 9]);
    const r2 = new ProtoReader(buf);
    r2.u32(buf.length);
    expect(() => r2.skip(WIRE_START_GROUP, buf.length)).toThrow('proto: illegal wireType 3');
    const bad = Buffer.from([5 * 8 + WIRE_START_GROUP, 4 * 8 + WIRE_END_GROUP]);
    const r3 = new ProtoReader(bad);
    r3.u32(2);
    expect(() => r3.skipWithGroups(WIRE_START_GROUP, 5, 2)).toThrow('proto: mismatched end group: field 4, expected 5');
    expect(() => new ProtoReader(Buffer.from([WIRE_LEN])).skipWithGroups(WIRE_END_GROUP, 1, 1)).toThrow('proto: unexpected end group');
  });
});

describe('ProtoWriter.doubleField', () => {
  it('writes doubles as protobufjs does', () => {
    for (const v of [0, -0, 1.5, -1e-300, Number.MAX_VALUE, Infinity, NaN]) {
      const w = new ProtoWriter(4);
      w.doubleField(3, v);
      expect(w.finish().toString('hex')).toBe(written((x) => x.uint32((3 << 3) | 1).double(v)).toString('hex'));
    }
  });
});
