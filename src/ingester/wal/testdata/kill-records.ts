/** Deterministic records for the kill -9 test: both processes derive record `seq` from its number. */
import type { WalEntry } from '../record.js';
import { prng } from './random-records.js';

/** Records spread over 4 streams. */
export function streamOf(seq: number): { labels: string; fingerprint: string } {
  const k = seq % 4;
  return { labels: `{job="kill", shard="${k}"}`, fingerprint: `fp${k}` };
}

/** 1–3 entries whose lines start with `seq=<seq> k=<j> ` followed by seeded filler bytes. */
export function expectedEntries(seq: number): WalEntry[] {
  const rnd = prng(seq + 1);
  const n = 1 + Math.floor(rnd() * 3);
  const out: WalEntry[] = [];
  for (let j = 0; j < n; j++) {
    const len = Math.floor(rnd() * 2000);
    const fill = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) fill[i] = Math.floor(rnd() * 256);
    out.push({
      tsNs: 1_700_000_000_000_000_000n + BigInt(seq) * 1000n + BigInt(j),
      line: Buffer.concat([Buffer.from(`seq=${seq} k=${j} `), fill]),
      metadata: j === 0 ? [{ name: 'seq', value: String(seq) }] : [],
    });
  }
  return out;
}
