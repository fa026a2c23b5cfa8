import { describe, expect, it } from 'vitest';
import { EMPTY_METADATA } from './block.js';
import { HeadBlock } from './head-block.js';
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
});
