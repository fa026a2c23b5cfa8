import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../util/bytes.js';
import type { ChunkRef } from '../chunk-ref.js';
import { seededRandom } from '../testing.js';
import { DAY_NS, SEGMENT_MAGIC } from './consts.js';
import { IndexCorruptError } from './errors.js';
import { decodeSegment, encodeSegment } from './segment.js';
import type { SegmentInput } from './segment.js';

const DAY = 19_700;
const BASE = BigInt(DAY) * DAY_NS;

function ref(fp: string, from: bigint, through: bigint, checksum: number): ChunkRef {
  return { tenant: 't', fingerprint: fp, fromNs: from, throughNs: through, checksum, sizeBytes: 1_500_000, entries: 12_345, uncompressedBytes: 9_000_000 };
}

const sample: SegmentInput = {
  tenant: 'tenant-1',
  day: DAY,
  series: [
    {
      fingerprint: 'ffffffffffffffff',
      labels: [
        { name: 'app', value: 'api' },
        { name: 'pod', value: 'api-7f9c-\u00e9\u{1F600}' },
      ],
      refs: [ref('ffffffffffffffff', BASE + 10n, BASE + 20n, 0xffffffff), ref('ffffffffffffffff', BASE - 5n * DAY_NS, BASE + 1n, 0)],
    },
    { fingerprint: '0000000000000001', labels: [{ name: 'app', value: 'web' }], refs: [ref('0000000000000001', BASE + DAY_NS - 1n, BASE + 3n * DAY_NS, 7)] },
    { fingerprint: '00000000000000a0', labels: [], refs: [ref('00000000000000a0', BASE, BASE, 1)] },
  ],
};

describe('segment codec', () => {
  it('round-trips series, labels, postings and refs', () => {
    const bytes = encodeSegment(sample);
    expect(bytes.subarray(0, 4).equals(SEGMENT_MAGIC)).toBe(true);
    const seg = decodeSegment(bytes, 'k');
    expect([seg.key, seg.tenant, seg.day, seg.sizeBytes]).toEqual(['k', 'tenant-1', DAY, bytes.length]);
    expect(seg.fingerprints).toEqual(['0000000000000001', '00000000000000a0', 'ffffffffffffffff']);
    expect(seg.labels[2]).toEqual(sample.series[0]!.labels);
    expect(seg.labels[1]).toEqual([]);
    expect([...seg.postingsOf('app', 'api')]).toEqual([2]);
    expect([...seg.postingsOf('app', 'web')]).toEqual([0]);
    expect([...seg.postingsOf('app', 'nope')]).toEqual([]);
    expect([...seg.postings.keys()]).toEqual(['app', 'pod']);
    const refs = (i: number): ChunkRef[] => {
      const out: ChunkRef[] = [];
      for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) out.push(seg.refAt(i, j));
      return out;
    };
    expect(refs(2)).toEqual([{ ...sample.series[0]!.refs[1]!, tenant: 'tenant-1' }, { ...sample.series[0]!.refs[0]!, tenant: 'tenant-1' }]);
    expect(refs(0)).toEqual([{ ...sample.series[1]!.refs[0]!, tenant: 'tenant-1' }]);
    expect(seg.minFromNs).toBe(BASE - 5n * DAY_NS);
    expect(seg.maxThroughNs).toBe(BASE + 3n * DAY_NS);
  });

  it('stores lone surrogates as U+FFFD instead of writing an unreadable symbol table', () => {
    const seg = decodeSegment(
      encodeSegment({
        tenant: 't',
        day: DAY,
        series: [
          { fingerprint: '0000000000000001', labels: [{ name: 'a', value: '\uD800' }], refs: [ref('0000000000000001', BASE, BASE, 1)] },
          { fingerprint: '0000000000000002', labels: [{ name: 'a', value: '\uDC00' }], refs: [ref('0000000000000002', BASE, BASE, 2)] },
        ],
      }),
    );
    expect(seg.labels.map((l) => l[0]!.value)).toEqual(['\uFFFD', '\uFFFD']);
    expect([...seg.postingsOf('a', '\uFFFD')]).toEqual([0, 1]);
  });

  it('is deterministic regardless of input order', () => {
    const shuffled: SegmentInput = { ...sample, series: [...sample.series].reverse().map((s) => ({ ...s, refs: [...s.refs].reverse() })) };
    expect(encodeSegment(shuffled).equals(encodeSegment(sample))).toBe(true);
  });

  it('keeps a chunk ref to a few tens of bytes', () => {
    const n = 1000;
    const refs: ChunkRef[] = [];
    for (let i = 0; i < n; i++) refs.push(ref('0123456789abcdef', BASE + BigInt(i) * 3_600_000_000_000n, BASE + BigInt(i) * 3_600_000_000_000n + 3_500_000_000_000n, (i * 2654435761) >>> 0));
    const one = encodeSegment({ tenant: 't', day: DAY, series: [{ fingerprint: '0123456789abcdef', labels: [{ name: 'a', value: 'b' }], refs }] });
    expect(one.length / n).toBeLessThan(32);
  });

  it('rejects every single-bit flip and every truncation with IndexCorruptError', () => {
    const bytes = encodeSegment(sample);
    for (let i = 0; i < bytes.length; i++) {
      const bad = Buffer.from(bytes);
      bad[i]! ^= 1 << (i % 8);
      expect(() => decodeSegment(bad), `flip at ${i}`).toThrow(IndexCorruptError);
    }
    for (let n = 0; n < bytes.length; n++) expect(() => decodeSegment(bytes.subarray(0, n)), `truncated to ${n}`).toThrow(IndexCorruptError);
  });

  it('refuses to write a series without a chunk', () => {
    expect(() => encodeSegment({ tenant: 't', day: DAY, series: [{ fingerprint: '0000000000000001', labels: [{ name: 'a', value: 'b' }], refs: [] }] })).toThrow(/has no chunk/);
  });

  it('rejects an unknown version even with a valid crc', () => {
    const bad = Buffer.from(encodeSegment(sample));
    bad[4] = 4;
    bad.writeUInt32BE(crc32(bad.subarray(0, bad.length - 4)), bad.length - 4);
    expect(() => decodeSegment(bad)).toThrow(/unsupported version 4/);
  });

  it('round-trips the replaces section of a version 2 (compacted) segment', () => {
    const plain = encodeSegment(sample);
    expect(plain[4]).toBe(1);
    const v2 = encodeSegment({ ...sample, replaces: ['w-0002.idx', 'w-0001.idx', 'w-0001.idx'] });
    expect(v2[4]).toBe(2);
    const seg = decodeSegment(v2);
    expect(seg.replaces).toEqual(['w-0001.idx', 'w-0002.idx']);
    expect(seg.fingerprints).toEqual(decodeSegment(plain).fingerprints);
    for (let i = 0; i < v2.length; i++) {
      const bad = Buffer.from(v2);
      bad[i]! ^= 1 << (i % 8);
      expect(() => decodeSegment(bad), `flip at ${i}`).toThrow(IndexCorruptError);
    }
  });

  it('round-trips the recompression settings of a version 3 segment, and refuses them without replaces', () => {
    const v3 = encodeSegment({ ...sample, replaces: ['w-0001.idx'], recompressed: 'zstd-6/1048576/8388608' });
    expect(v3[4]).toBe(3);
    const seg = decodeSegment(v3);
    expect(seg.recompressed).toBe('zstd-6/1048576/8388608');
    expect(seg.replaces).toEqual(['w-0001.idx']);
    expect(seg.fingerprints).toEqual(decodeSegment(encodeSegment(sample)).fingerprints);
    expect(decodeSegment(encodeSegment({ ...sample, replaces: ['w-0001.idx'] })).recompressed).toBe('');
    expect(() => encodeSegment({ ...sample, recompressed: 'zstd-6/1048576/8388608' })).toThrow(/replaces/);
    expect(() => encodeSegment({ ...sample, replaces: ['w-0001.idx'], recompressed: 'x'.repeat(257) })).toThrow(/longer than 256/);
    for (let i = 0; i < v3.length; i++) {
      const bad = Buffer.from(v3);
      bad[i]! ^= 1 << (i % 8);
      expect(() => decodeSegment(bad), `flip at ${i}`).toThrow(IndexCorruptError);
    }
    // Well formed but for empty settings: refused even with a recomputed crc.
    const empty = Buffer.concat([v3.subarray(0, v3.length - 4 - 1 - 'zstd-6/1048576/8388608'.length), Buffer.from([0]), Buffer.alloc(4)]);
    empty.writeUInt32BE(crc32(empty.subarray(0, empty.length - 4)), empty.length - 4);
    expect(() => decodeSegment(empty)).toThrow(/empty recompression settings/);
  });

  it('distrusts counts and references even when the crc matches', () => {
    const forge = (body: (w: ByteWriter) => void): Buffer => {
      const w = new ByteWriter();
      w.bytes(SEGMENT_MAGIC);
      w.u8(1);
      body(w);
      w.u32be(crc32(w.view()));
      return w.finish();
    };
    const cases: [string, (w: ByteWriter) => void][] = [
      ['huge symbol count', (w) => { w.string('t'); w.uvarint(1); w.uvarint(2 ** 40); }],
      ['huge series count', (w) => { w.string('t'); w.uvarint(1); w.uvarint(0); w.uvarint(2 ** 50); }],
      ['symbol id out of range', (w) => {
        w.string('t'); w.uvarint(1); w.uvarint(0);
        w.uvarint(1); w.u64be(1n); w.uvarint(1); w.uvarint(5); w.uvarint(0); w.uvarint(0); w.uvarint(0);
      }],
      ['posting out of range', (w) => {
        w.string('t'); w.uvarint(1); w.uvarint(2); w.uvarint(0); w.lenBytes(Buffer.from('a')); w.uvarint(0); w.lenBytes(Buffer.from('b'));
        w.uvarint(0); w.uvarint(1); w.uvarint(0); w.uvarint(1); w.uvarint(1); w.uvarint(1); w.uvarint(3);
      }],
      ['trailing bytes', (w) => { w.string('t'); w.uvarint(1); w.uvarint(0); w.uvarint(0); w.uvarint(0); w.u8(9); }],
      ['symbols out of order', (w) => { w.string('t'); w.uvarint(1); w.uvarint(2); w.uvarint(0); w.lenBytes(Buffer.from('b')); w.uvarint(0); w.lenBytes(Buffer.from('a')); }],
      ['shared prefix longer than predecessor', (w) => { w.string('t'); w.uvarint(1); w.uvarint(2); w.uvarint(0); w.lenBytes(Buffer.from('b')); w.uvarint(4); w.lenBytes(Buffer.from('a')); }],
      // Well formed but for a series without a chunk, which no writer makes (FORMAT.md).
      ['series without a chunk', (w) => { w.string('t'); w.uvarint(1); w.uvarint(0); w.uvarint(1); w.u64be(1n); w.uvarint(0); w.uvarint(0); w.uvarint(0); }],
    ];
    for (const [name, body] of cases) expect(() => decodeSegment(forge(body)), name).toThrow(IndexCorruptError);
    // A well-formed empty segment decodes.
    expect(decodeSegment(forge((w) => { w.string('t'); w.uvarint(1); w.uvarint(0); w.uvarint(0); w.uvarint(0); })).seriesCount).toBe(0);
  });

  it('never throws anything but IndexCorruptError on mutated bodies with a recomputed crc', () => {
    const rnd = seededRandom(42);
    const bytes = encodeSegment(sample);
    let decoded = 0;
    for (let round = 0; round < 3000; round++) {
      const bad = Buffer.from(bytes);
      const flips = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < flips; k++) bad[5 + Math.floor(rnd() * (bad.length - 9))] = Math.floor(rnd() * 256);
      bad.writeUInt32BE(crc32(bad.subarray(0, bad.length - 4)), bad.length - 4);
      try {
        decodeSegment(bad);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(IndexCorruptError);
      }
    }
    expect(decoded).toBeLessThan(3000);
  });
});
