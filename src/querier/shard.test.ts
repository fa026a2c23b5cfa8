import { describe, expect, it } from 'vitest';
import { fingerprint, labelsFromObject } from '../model/index.js';
import { formatShard, inShard, parseShard } from './shard.js';

describe('shard', () => {
  it('parses and formats Loki shard annotations', () => {
    expect(parseShard('3_of_16')).toEqual({ index: 3, of: 16 });
    expect(formatShard({ index: 0, of: 1 })).toBe('0_of_1');
    for (const bad of ['16_of_16', '1_of_0', 'x', '1of2', '-1_of_2']) expect(() => parseShard(bad)).toThrow(/invalid shard/);
  });

  it('is the 64-bit fingerprint modulo the shard count, each stream in exactly one shard', () => {
    for (let i = 0; i < 500; i++) {
      const fp = fingerprint(labelsFromObject({ app: `a${i}`, pod: `p${i % 7}` }));
      for (const of of [1, 2, 3, 7, 16, 1000]) {
        const want = Number(BigInt('0x' + fp) % BigInt(of));
        const hits = [];
        for (let s = 0; s < of; s++) if (inShard(fp, { index: s, of })) hits.push(s);
        expect(hits).toEqual([want]);
      }
    }
  });
});
