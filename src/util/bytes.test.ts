import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from './bytes.js';

describe('ByteWriter/ByteReader', () => {
  it('round-trips varints against a naive reference', () => {
    const values = [0, 1, 127, 128, 255, 300, 16383, 16384, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1];
    const w = new ByteWriter(4);
    for (const v of values) w.uvarint(v);
    const signed = values.filter((v) => v < 2 ** 52); // zig-zag doubles the magnitude
    for (const v of signed) w.varint(v === 0 ? 0 : -v);
    const r = new ByteReader(w.finish());
    for (const v of values) expect(r.uvarint()).toBe(v);
    for (const v of signed) expect(r.varint()).toBe(v === 0 ? 0 : -v);
    expect(r.remaining()).toBe(0);
  });
  it('encodes varints like protobuf (naive bigint reference)', () => {
    for (const v of [0n, 1n, 150n, 2n ** 40n + 3n, 2n ** 63n + 7n, 2n ** 64n - 1n]) {
      const w = new ByteWriter(1);
      w.uvarintBig(v);
      const ref: number[] = [];
      let x = v;
      do {
        const b = Number(x & 0x7fn);
        x >>= 7n;
        ref.push(x > 0n ? b | 0x80 : b);
      } while (x > 0n);
      expect([...w.finish()]).toEqual(ref);
      expect(new ByteReader(w.finish()).uvarintBig()).toBe(v);
    }
  });
  it('round-trips strings of every length class', () => {
    const w = new ByteWriter(1);
    const strs = ['', 'a', 'ü'.repeat(20), 'x'.repeat(42), 'y'.repeat(43), '日本'.repeat(100)];
    for (const s of strs) w.string(s);
    w.i64be(-5n);
    w.u64be(2n ** 63n + 1n);
    const r = new ByteReader(w.finish());
    for (const s of strs) expect(r.string()).toBe(s);
    expect(r.i64be()).toBe(-5n);
    expect(r.u64be()).toBe(2n ** 63n + 1n);
  });
  it('throws RangeError on truncated input', () => {
    const w = new ByteWriter();
    w.uvarint(2 ** 40);
    const b = w.finish().subarray(0, 2);
    expect(() => new ByteReader(b).uvarint()).toThrow(RangeError);
    expect(() => new ByteReader(Buffer.from([5, 1])).lenBytes()).toThrow(RangeError);
  });
});
