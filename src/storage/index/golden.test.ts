import { describe, expect, it } from 'vitest';
import { DAY_NS } from './consts.js';
import { decodeSegment, encodeSegment, type SegmentInput } from './segment.js';

const DAY = 20_429;
const T = BigInt(DAY) * DAY_NS;

/** A small fixed table: two series sharing a label, three chunks, one crossing into the next day. */
const input: SegmentInput = {
  tenant: 'team-a',
  day: DAY,
  series: [
    {
      fingerprint: '0123456789abcdef',
      labels: [{ name: 'app', value: 'checkout' }, { name: 'env', value: 'prod' }],
      refs: [
        { tenant: 'team-a', fingerprint: '0123456789abcdef', fromNs: T + 1_000n, throughNs: T + 3_600_000_000_000n, checksum: 0xdeadbeef, sizeBytes: 1_572_864, entries: 41_000, uncompressedBytes: 8_100_000 },
        { tenant: 'team-a', fingerprint: '0123456789abcdef', fromNs: T + 80_000_000_000_000n, throughNs: T + DAY_NS + 5n, checksum: 7, sizeBytes: 900, entries: 3, uncompressedBytes: 2_000 },
      ],
    },
    {
      fingerprint: 'fedcba9876543210',
      labels: [{ name: 'app', value: 'cart' }, { name: 'env', value: 'prod' }, { name: 'pod', value: 'cart-7d9f-ü' }],
      refs: [{ tenant: 'team-a', fingerprint: 'fedcba9876543210', fromNs: T + 42n, throughNs: T + 43n, checksum: 1, sizeBytes: 300, entries: 2, uncompressedBytes: 120 }],
    },
  ],
};

function hexDump(b: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 32) lines.push(b.subarray(i, i + 32).toString('hex'));
  return lines.join('\n') + '\n';
}

// Segments stay in object storage for months: every version's bytes are pinned (FORMAT.md).
describe('golden index segment bytes', () => {
  const cases: [string, SegmentInput, number][] = [
    ['v1', input, 1],
    ['v2', { ...input, replaces: ['ing-1-0000001733500000000001.idx', 'ing-2-0000001733500000000002.idx'] }, 2],
    ['v3', { ...input, replaces: ['compactor-ab12-0000001733500000000003.idx'], recompressed: 'zstd-6/1048576/1572864' }, 3],
  ];
  for (const [name, segInput, version] of cases) {
    it(`version ${version} encoding is stable and decodes to its input`, async () => {
      const bytes = encodeSegment(segInput);
      expect(bytes[4]).toBe(version);
      await expect(hexDump(bytes)).toMatchFileSnapshot(`../../../test/golden/index/segment-${name}.hex`);
      const seg = decodeSegment(bytes);
      expect(seg.fingerprints).toEqual(['0123456789abcdef', 'fedcba9876543210']);
      expect(seg.labels[1]).toEqual(input.series[1]!.labels);
      expect([...seg.fromNs]).toEqual([T + 1_000n, T + 80_000_000_000_000n, T + 42n]);
      expect(seg.refAt(0, 1)).toEqual(input.series[0]!.refs[1]);
      expect(seg.replaces).toEqual(segInput.replaces ?? []);
      expect(seg.recompressed).toBe(segInput.recompressed ?? '');
    });
  }
});
