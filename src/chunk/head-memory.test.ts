import { describe, expect, it } from 'vitest';
import { EMPTY_METADATA } from './block.js';
import { ColumnArena } from './column-arena.js';
import { HeadBlock } from './head-block.js';
import type { DecodedBlock } from './types.js';
import { defaultChunkOptions, MemChunk } from './mem-chunk.js';
import { SymbolTable } from './symbols.js';
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
      const c = h as unknown as { lines: Buffer; ts: Float64Array; ints: Int32Array };
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
      } else if (op < 94) {
        h.snapshot(symbols.strings);
      } else if (op < 98) {
        h.reset();
      } else {
        h.reset();
        h.release();
      }
      expect(h.allocatedBytes(), `step ${step}`).toBe(columns());
    }
  });

  it('keeps heads in a shared arena apart: every snapshot (a view, not a copy) stays as taken while heads grow, reset, move and release in the same slabs', () => {
    const arena = new ColumnArena();
    const symbols = new SymbolTable();
    const r = seededRandom(24);
    const rnd = (n: number): number => Math.floor(r() * n);
    const heads = Array.from({ length: 40 }, () => new HeadBlock(arena));
    // What each head holds (line and metadata text per entry, in push order; rels ascend except where noted).
    const want: { rel: number; text: string }[][] = heads.map(() => []);
    const rels = heads.map(() => 0);
    heads.forEach((h) => h.start(5_000_000n));
    const held: { block: DecodedBlock; text: string[] }[] = [];
    const texts = (b: DecodedBlock): string[] =>
      Array.from({ length: b.n }, (_, i) => `${b.lines.subarray(b.lineOffsets[i]!, b.lineOffsets[i + 1]!).toString()}|${b.metadata(i).map((p) => `${p.name}=${p.value}`).join(',')}`);
    // Sorted by rel, stable: what a snapshot of a head holding `entries` must show.
    const sorted = (entries: { rel: number; text: string }[]): string[] =>
      entries
        .map((e, i) => ({ ...e, i }))
        .sort((a, b) => a.rel - b.rel || a.i - b.i)
        .map((e) => e.text);
    for (let step = 0; step < 6000; step++) {
      const k = rnd(heads.length);
      const h = heads[k]!;
      const op = rnd(100);
      if (op < 85) {
        // Some lines go past the largest region, so heads leave the arena and come back after a reset.
        const len = rnd(20) === 0 ? rnd(30_000) : rnd(400);
        const line = Buffer.alloc(len, 97 + (step % 26));
        line.write(String(step), 0);
        const md = rnd(2) === 0 ? [{ name: 'detected_level', value: ['info', 'warn'][rnd(2)]! }] : EMPTY_METADATA;
        // One in ten out of order (the head sorts its snapshot).
        const rel = rnd(10) === 0 ? Math.max(0, rels[k]! - rnd(50)) : ++rels[k]!;
        if (h.isDuplicate(rel, line)) continue;
        h.push(rel, line, md, symbols);
        want[k]!.push({ rel, text: `${line.subarray(0, len).toString()}|${md.map((p) => `${p.name}=${p.value}`).join(',')}` });
      } else if (op < 93) {
        const b = h.snapshot(symbols.strings);
        if (b !== null) held.push({ block: b, text: texts(b) });
        expect(b === null ? [] : texts(b)).toEqual(sorted(want[k]!));
      } else if (op < 95) {
        // As the ingester's flush cycle asks open heads to.
        h.leaveLentSlab();
      } else if (op < 97) {
        h.reset();
        want[k] = [];
        rels[k] = 0;
        h.start(5_000_000n);
      } else {
        h.reset();
        h.release();
        want[k] = [];
        rels[k] = 0;
        h.start(5_000_000n);
      }
      if (step % 500 === 0) for (const x of held) expect(texts(x.block)).toEqual(x.text);
    }
    for (const x of held) expect(texts(x.block)).toEqual(x.text);
    // In-order snapshots viewed the columns: slabs were lent, and heads moved out of them.
    expect(held.filter((x) => (x.block.lines.buffer as ArrayBuffer).byteLength === 256 * 1024).length).toBeGreaterThan(50);
    heads.forEach((h, k) => expect(texts(h.snapshot(symbols.strings) ?? ({ n: 0 } as DecodedBlock))).toEqual(sorted(want[k]!)));
    // Every region comes back once every head is released.
    expect(arena.takenBytes).toBeGreaterThan(0);
    for (const h of heads) {
      h.reset();
      h.release();
    }
    expect(arena.takenBytes).toBe(0);
  });

  it('moves heads out of a slab lent to a query, so the slab goes', () => {
    const arena = new ColumnArena();
    const symbols = new SymbolTable();
    const heads = Array.from({ length: 10 }, () => new HeadBlock(arena));
    heads.forEach((h, i) => {
      h.start(1000n);
      h.push(0, Buffer.from(`first line of head ${i}`), EMPTY_METADATA, symbols);
    });
    const views = heads.map((h) => h.snapshot(symbols.strings)!);
    expect(arena.carvedBytes).toBe(arena.takenBytes);
    // One head outgrows its region while a query views it: the region is lent, and its slab with it.
    heads[0]!.push(1, Buffer.alloc(2000, 120), EMPTY_METADATA, symbols);
    expect(arena.carvedBytes).toBeGreaterThan(arena.takenBytes);
    expect(heads.slice(1).every((h) => h.leaveLentSlab())).toBe(true);
    expect(heads[0]!.leaveLentSlab()).toBe(false);
    // The lent slab was let go; what is carved is what the heads hold.
    expect(arena.carvedBytes).toBe(arena.takenBytes);
    views.forEach((v, i) => expect(v.lines.toString()).toBe(`first line of head ${i}`));
    heads.forEach((h, i) => {
      const b = h.snapshot(symbols.strings)!;
      expect(b.lines.subarray(0, b.lineOffsets[1]!).toString()).toBe(`first line of head ${i}`);
    });
  });
});
