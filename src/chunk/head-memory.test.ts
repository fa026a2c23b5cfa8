import { describe, expect, it } from 'vitest';
import { EMPTY_METADATA } from './block.js';
import { ColumnPool } from './column-pool.js';
import { HeadBlock } from './head-block.js';
import { defaultChunkOptions, MemChunk } from './mem-chunk.js';
import { SymbolTable } from './symbols.js';
import type { DecodedBlock } from './types.js';
import { seededRandom } from '../util/random.js';

const line = (i: number): Buffer => Buffer.from(`entry ${i} ${'y'.repeat(i % 90)}`);

/** All entries of a chunk, in block order. */
function lines(c: MemChunk): string[] {
  const out: string[] = [];
  const n = c.blockMetas().length;
  for (let b = 0; b <= n; b++) {
    const blk = b < n ? c.readBlock(b) : c.headBlock();
    if (!blk) continue;
    for (let i = 0; i < blk.n; i++) out.push(blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!).toString());
  }
  return out;
}

/** Each entry of a block as "ts line metadata" (none for null). */
function entries(blk: DecodedBlock | null): string[] {
  const out: string[] = [];
  for (let i = 0; blk !== null && i < blk.n; i++) {
    const md = blk.metadata(i).map((p) => `${p.name}=${p.value}`).join(',');
    out.push(`${blk.baseNs + BigInt(blk.tsRel[i]!)} ${blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!).toString()} ${md}`);
  }
  return out;
}

/** `entries` of every cut block and the head of a chunk, in block order. */
function all(c: MemChunk): string[] {
  const out: string[] = [];
  const n = c.blockMetas().length;
  for (let b = 0; b < n; b++) out.push(...entries(c.readBlock(b)));
  return [...out, ...entries(c.headBlock())];
}

describe('head block memory (ADR 0024)', () => {
  it('starts small and grows with the text', () => {
    const c = new MemChunk(defaultChunkOptions());
    const empty = c.memoryBytes();
    expect(empty).toBeLessThan(1600);
    let text = 0;
    for (let i = 0; i < 200; i++) {
      c.append(BigInt(i), line(i), EMPTY_METADATA);
      text += line(i).length;
    }
    // Columns hold the text plus growth slack (factor 1.5) and the ts/offset columns.
    expect(c.memoryBytes()).toBeLessThan(text * 1.5 + 200 * 24 + 1024);
  });

  it('frees the head on cutAndRelease and still takes appends afterwards', () => {
    const c = new MemChunk(defaultChunkOptions());
    for (let i = 0; i < 500; i++) c.append(BigInt(i), line(i), EMPTY_METADATA);
    c.cutAndRelease();
    const blockBytes = c.memoryBytes();
    // Only the cut block (compressed) and its filter are left.
    expect(blockBytes).toBeLessThan(20_000);
    for (let i = 500; i < 520; i++) c.append(BigInt(i), line(i), EMPTY_METADATA);
    expect(c.memoryBytes()).toBeGreaterThan(blockBytes);
    expect(lines(c)).toEqual(Array.from({ length: 520 }, (_, i) => line(i).toString()));
  });

  it('keeps shared metadata arrays right across cutAndRelease (the released head forgets their ids)', () => {
    const c = new MemChunk(defaultChunkOptions());
    const levels = ['info', 'warn', 'error'].map((v) => Object.freeze([Object.freeze({ name: 'detected_level', value: v })]));
    const want: string[] = [];
    const got: string[] = [];
    for (let i = 0; i < 60; i++) {
      // Released twice: after 20 and after 40 entries.
      if (i === 20 || i === 40) c.cutAndRelease();
      // A new symbol after the first release shifts nothing: ids stay per chunk.
      const md = i === 30 ? [{ name: 'trace_id', value: 't30' }] : levels[(i * 7) % 3]!;
      c.append(BigInt(i), line(i), md);
      want.push(`${line(i).toString()} ${md.map((p) => `${p.name}=${p.value}`).join(',')}`);
    }
    const n = c.blockMetas().length;
    expect(n).toBe(2);
    for (let b = 0; b <= n; b++) {
      const blk = b < n ? c.readBlock(b) : c.headBlock()!;
      for (let i = 0; i < blk.n; i++) {
        got.push(`${blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!).toString()} ${blk.metadata(i).map((p) => `${p.name}=${p.value}`).join(',')}`);
      }
    }
    expect(got).toEqual(want);
  });

  it('gives big head columns back when a block is cut', () => {
    const c = new MemChunk({ ...defaultChunkOptions(), blockSizeBytes: 256 * 1024 });
    let i = 0;
    while (c.blockMetas().length === 0) c.append(BigInt(i), Buffer.alloc(1000, 97 + (i++ % 26)), EMPTY_METADATA);
    // The head was reset after the cut: its columns are back to their first size.
    expect(c.memoryBytes() - c.blockMetas().reduce((a, m) => a + m.compressedBytes + m.bloomBytes, 0)).toBeLessThan(4096);
  });

  it('keeps its count of column bytes equal to its one allocation through pushes, growth, snapshots, resets and releases', () => {
    const h = new HeadBlock();
    const symbols = new SymbolTable();
    // The columns are three views of one ArrayBuffer (none before the first push and after a release).
    const columns = (): number => {
      const c = h as unknown as { lines: Buffer; ts: Float64Array; ints: Int32Array; sleepBuf: ArrayBuffer | null };
      // Asleep: no views, the buffer is remembered (every buffer here is the head's own).
      if (c.sleepBuf !== null) return c.sleepBuf.byteLength;
      if (c.ts.length === 0) return c.lines.byteLength + c.ts.byteLength;
      expect(c.ints.buffer).toBe(c.ts.buffer);
      expect(c.lines.buffer).toBe(c.ts.buffer);
      return c.ts.buffer.byteLength;
    };
    const r = seededRandom(11);
    const rnd = (n: number): number => Math.floor(r() * n);
    h.start(1_000_000n);
    let rel = 0;
    for (let step = 0; step < 3000; step++) {
      const op = rnd(100);
      if (op < 90) {
        // Lines of up to 40 KiB grow the line buffer past what a reset keeps; metadata grows its ids.
        const md = rnd(3) === 0 ? [{ name: `k${rnd(4)}`, value: `v${rnd(50)}` }, { name: 'x', value: String(step) }] : EMPTY_METADATA;
        h.push(rel++, Buffer.alloc(rnd(8) === 0 ? rnd(40_000) : rnd(300), 97), md, symbols);
      } else if (op < 92) {
        h.snapshot(symbols.strings);
      } else if (op < 94) {
        // Laid out at its size, alone in a buffer of exactly that size, and maybe put to sleep.
        const fit = h.fittedBytes();
        if (fit > 0) h.fitInto(new ArrayBuffer(fit), 0);
        if (rnd(2) === 0) h.sleep();
      } else if (op < 98) {
        h.reset();
      } else {
        h.reset();
        h.release();
      }
      expect(h.allocatedBytes(), `step ${step}`).toBe(columns());
    }
  });

  it('lays quiet heads out at their size side by side in one buffer, and keeps every entry, earlier snapshot and later append right', () => {
    const r = seededRandom(5);
    const rnd = (n: number): number => Math.floor(r() * n);
    const levels = ['info', 'warn'].map((v) => Object.freeze([Object.freeze({ name: 'detected_level', value: v })]));
    // Four chunks packed together at random points, four never: each pair must hold the same entries.
    const opts = { ...defaultChunkOptions(), blockSizeBytes: 64 * 1024 };
    const packed = Array.from({ length: 4 }, () => new MemChunk(opts));
    const plain = Array.from({ length: 4 }, () => new MemChunk(opts));
    const views: [DecodedBlock, string[]][] = [];
    let given = 0;
    let packs = 0;
    for (let i = 0; i < 6000; i++) {
      const k = rnd(4);
      // Mostly in order, some behind (the head sorts its snapshot), a few repeats (dropped by both).
      const ts = 1_000_000_000n + BigInt(rnd(12) === 0 ? i * 1000 - rnd(40_000) : i * 1000);
      const md = rnd(4) === 0 ? [{ name: 'trace_id', value: `t${rnd(30)}` }] : rnd(2) === 0 ? levels[rnd(2)]! : EMPTY_METADATA;
      const text = rnd(30) === 0 ? Buffer.alloc(0) : Buffer.alloc(1 + rnd(300), 97 + rnd(26));
      expect(packed[k]!.append(ts, text, md)).toBe(plain[k]!.append(ts, text, md));
      if (rnd(40) === 0) {
        for (const c of packed) {
          const snap = c.headBlock();
          if (snap !== null) views.push([snap, entries(snap)]);
        }
        const before = packed.map((c) => c.memoryBytes());
        const fits = packed.map((c) => c.fittedHeadBytes());
        const into = new ArrayBuffer(fits.reduce((a, b) => a + b, 0));
        let at = 0;
        packed.forEach((c, j) => {
          if (fits[j] === 0) return;
          expect(at % 8).toBe(0);
          c.fitHeadInto(into, at);
          at += fits[j]!;
          given += before[j]! - c.memoryBytes();
          // At its size now: nothing more to give.
          expect(c.fittedHeadBytes()).toBe(0);
          // Most go to sleep as quiet heads do; the next append, read or cut wakes them.
          if (rnd(4) !== 0) c.sleepHead();
        });
        if (at > 0) packs++;
      }
      if (rnd(30) === 0) packed[rnd(4)]!.sleepHead();
    }
    expect(packs).toBeGreaterThan(20);
    expect(given).toBeGreaterThan(0);
    for (let k = 0; k < 4; k++) {
      expect(packed[k]!.blockMetas().length).toBeGreaterThan(2);
      expect(all(packed[k]!)).toEqual(all(plain[k]!));
    }
    // Snapshots taken before a move still read what they saw.
    expect(views.length).toBeGreaterThan(80);
    for (const [snap, want] of views) expect(entries(snap)).toEqual(want);
  });

  it('reuses the columns heads grew out of (ADR 0040) without changing an entry, a snapshot or a sleeping head', () => {
    const r = seededRandom(17);
    const rnd = (n: number): number => Math.floor(r() * n);
    const pool = new ColumnPool(1 << 20);
    const base = { ...defaultChunkOptions(), blockSizeBytes: 32 * 1024 };
    // Twenty chunks share the pool; their twins have none and get the same calls.
    const pooled = Array.from({ length: 20 }, () => new MemChunk({ ...base, columnPool: pool }));
    const plain = Array.from({ length: 20 }, () => new MemChunk(base));
    const views: [DecodedBlock, string[]][] = [];
    const ts = new Array<bigint>(20).fill(1_000_000_000n);
    for (let i = 0; i < 20_000; i++) {
      const k = rnd(20);
      ts[k]! += BigInt(rnd(12) === 0 ? -rnd(5000) : 1000);
      const md = rnd(5) === 0 ? [{ name: 'trace_id', value: `t${rnd(9)}` }] : EMPTY_METADATA;
      // Every byte of a line differs from the last one's: stale bytes of a reused buffer would show.
      const text = Buffer.alloc(rnd(25) === 0 ? rnd(6000) : 1 + rnd(200), 97 + (i % 26));
      expect(pooled[k]!.append(ts[k]!, text, md)).toBe(plain[k]!.append(ts[k]!, text, md));
      const op = rnd(200);
      if (op < 4) {
        // A query's view of the head: growth or a cut after it must not hand its buffer to another head.
        const snap = pooled[k]!.headBlock();
        if (snap !== null) views.push([snap, entries(snap)]);
      } else if (op < 6) {
        pooled[k]!.cutAndRelease();
        plain[k]!.cutAndRelease();
      } else if (op < 7) {
        const fit = pooled[k]!.fittedHeadBytes();
        if (fit > 0) pooled[k]!.fitHeadInto(new ArrayBuffer(fit), 0);
        pooled[k]!.sleepHead();
      } else if (op < 8) {
        pooled[k]!.sleepHead();
      }
      expect(pool.bytes).toBeLessThanOrEqual(1 << 20);
    }
    expect(pool.reused).toBeGreaterThan(500);
    expect(views.length).toBeGreaterThan(100);
    for (let k = 0; k < 20; k++) {
      expect(pooled[k]!.blockMetas().length).toBeGreaterThan(2);
      expect(all(pooled[k]!)).toEqual(all(plain[k]!));
      expect(pooled[k]!.encode().equals(plain[k]!.encode())).toBe(true);
    }
    for (const [snap, want] of views) expect(entries(snap)).toEqual(want);
  });
});
