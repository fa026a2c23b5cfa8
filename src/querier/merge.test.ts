import { describe, expect, it } from 'vitest';
import { EMPTY_METADATA, type DecodedBlock } from '../chunk/index.js';
import type { StructuredMetadata } from '../model/index.js';
import { mergeDedup } from './merge.js';

interface E {
  ts: bigint;
  line: string;
  md: StructuredMetadata;
}

/** A DecodedBlock over sorted entries, built independently of merge.ts. */
function block(entries: readonly E[]): DecodedBlock {
  const base = entries[0]!.ts;
  const offsets = new Int32Array(entries.length + 1);
  const bufs = entries.map((e) => Buffer.from(e.line));
  bufs.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
  return {
    n: entries.length,
    baseNs: base,
    tsRel: Float64Array.from(entries.map((e) => Number(e.ts - base))),
    lineOffsets: offsets,
    lines: Buffer.concat(bufs),
    metadata: (i) => (entries[i]!.md.length === 0 ? EMPTY_METADATA : entries[i]!.md.map((l) => ({ ...l }))),
  };
}

const key = (e: E): string => `${e.ts}|${e.line}|${JSON.stringify(e.md)}`;

/** Brute force: per (ts, line, metadata), the largest count any one source holds. */
function expected(sources: E[][]): Map<string, number> {
  const out = new Map<string, number>();
  for (const src of sources) {
    const counts = new Map<string, number>();
    for (const e of src) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
    for (const [k, n] of counts) out.set(k, Math.max(out.get(k) ?? 0, n));
  }
  return out;
}

function entriesOf(blocks: readonly DecodedBlock[]): E[] {
  const out: E[] = [];
  for (const b of blocks) for (let i = 0; i < b.n; i++) out.push({ ts: b.baseNs + BigInt(b.tsRel[i]!), line: b.lines.toString('utf8', b.lineOffsets[i]!, b.lineOffsets[i + 1]!), md: [...b.metadata(i)] });
  return out;
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mergeDedup', () => {
  it('keeps each entry as often as the source holding it most often, in time order (random replicas)', () => {
    const r = rng(7);
    for (let round = 0; round < 200; round++) {
      // A "true" stream, and replicas that each miss some entries (a replica that was down).
      const base = (1n << 62n) + BigInt(round) * 1_000_000_000n; // beyond 2^53
      const truth: E[] = [];
      for (let i = 0; i < 1 + Math.floor(r() * 60); i++) {
        const ts = base + BigInt(Math.floor(r() * 20));
        truth.push({ ts, line: `l${Math.floor(r() * 5)}`, md: r() < 0.3 ? [{ name: 'k', value: String(Math.floor(r() * 2)) }] : [] });
      }
      truth.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      const sources = Array.from({ length: 1 + Math.floor(r() * 3) }, () => truth.filter(() => r() < 0.8)).filter((s) => s.length > 0);
      if (sources.length === 0) continue;
      // Each source split into 1-3 blocks.
      const inputs = sources.map((s) => {
        const cut = Math.floor(r() * s.length);
        return cut > 0 && cut < s.length ? [block(s.slice(0, cut)), block(s.slice(cut))] : [block(s)];
      });
      const got = mergeDedup(inputs);
      const out = entriesOf(got.blocks);
      const want = expected(sources);
      const counts = new Map<string, number>();
      for (const e of out) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
      expect(counts).toEqual(want);
      for (let i = 1; i < out.length; i++) expect(out[i]!.ts >= out[i - 1]!.ts).toBe(true);
      const total = sources.reduce((n, s) => n + s.length, 0);
      expect(got.duplicates).toBe(total - out.length);
    }
  });

  it('three identical replicas give one copy; a line pushed twice on purpose stays twice', () => {
    const t = 1_700_000_000_000_000_000n;
    const s: E[] = [
      { ts: t, line: 'a', md: [] },
      { ts: t, line: 'a', md: [] },
      { ts: t + 1n, line: 'b', md: [] },
    ];
    const got = mergeDedup([[block(s)], [block(s)], [block(s)]]);
    expect(entriesOf(got.blocks).map((e) => e.line)).toEqual(['a', 'a', 'b']);
    expect(got.duplicates).toBe(6);
  });

  it('merges sources spanning more than 2^52 ns exactly (timestamps ranked as bigints)', () => {
    const t = 1n << 62n;
    const far = t + (1n << 53n) + 1n;
    const a: E[] = [
      { ts: t, line: 'x', md: [] },
      { ts: t + 1n, line: 'y', md: [] },
      { ts: far, line: 'z', md: [] },
    ];
    const b: E[] = [
      { ts: t + 1n, line: 'y', md: [] },
      { ts: far, line: 'z', md: [] },
      { ts: far + 1n, line: 'w', md: [{ name: 'k', value: 'v' }] },
    ];
    const got = mergeDedup([[block(a.slice(0, 2)), block(a.slice(2))], [block(b.slice(0, 1)), block(b.slice(1))]]);
    const out = entriesOf(got.blocks);
    expect(out).toEqual([a[0], a[1], a[2], b[2]]);
    expect(got.duplicates).toBe(2);
  });

  it('groups many entries of one timestamp by key (more than the pairwise limit)', () => {
    const t = 1_700_000_000_000_000_000n;
    const src = (copies: number): E[] => Array.from({ length: 40 }, (_, i) => ({ ts: t, line: `l${i % 20}`, md: i % 3 === 0 ? [{ name: 'a', value: 'b' }] : [] })).slice(0, copies);
    const sources = [src(40), src(30), src(40)];
    const got = mergeDedup(sources.map((s) => [block(s)]));
    const counts = new Map<string, number>();
    for (const e of entriesOf(got.blocks)) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
    expect(counts).toEqual(expected(sources));
  });
});
