import { describe, expect, it } from 'vitest';
import { compileLineFilters, requiredBlockProbe } from '../logql/log/line-filter.js';
import { parseExpr } from '../logql/syntax/index.js';
import { cutBlocksView } from './cut-view.js';
import { decodeChunkTail } from './layout.js';
import { decodeChunk, MemChunk } from './mem-chunk.js';
import { BlockProbe, selectBlockGrams, buildNeedleFilter, filtersMayMatch, NEEDLE_MIN_BYTES, needleGramHashes } from './needle.js';
import { Rng } from './testing.js';
import type { DecodedBlock, ReadableChunk } from './types.js';

const T0 = 1_700_000_000_000_000_000n;
const HEX = '0123456789abcdef';

function hexId(rng: Rng, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += HEX[rng.int(16)];
  return s;
}

/** Generator-like lines: ids, error codes, JSON and logfmt punctuation, non-ASCII text. */
function randomLine(rng: Rng, i: number): string {
  switch (rng.int(6)) {
    case 0:
      return `{"ts":"2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z","level":"info","trace_id":"${hexId(rng, 32)}","span_id":"${hexId(rng, 16)}"}`;
    case 1:
      return `ts=${i} level=error msg="upstream failed" error_code=ERR_${['BITFLIP', 'DEADLOCK', 'SEGFAULT'][rng.int(3)]}_${hexId(rng, 4).toUpperCase()} trace_id=${hexId(rng, 32)}`;
    case 2:
      return `10.0.${rng.int(256)}.${rng.int(256)} - - "GET /api/v1/items/${rng.int(1000)} HTTP/1.1" 200 ${rng.int(99999)} ${hexId(rng, 32)}`;
    case 3:
      return `héllo wörld ✓ ${hexId(rng, rng.int(12))} — ünïcödé ${rng.int(100)}`;
    case 4:
      return hexId(rng, rng.int(12)); // short lines, some below the needle minimum
    default:
      return `task_id=${hexId(rng, 8)}-${hexId(rng, 4)} attempt=${rng.int(5)}`;
  }
}

/** Needles of every shape drawn from `lines`: lengths 1..40, at line start and end, across separators, plus absent ones. */
function needlesFrom(rng: Rng, lines: readonly string[], count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const l = Buffer.from(lines[rng.int(lines.length)]!);
    const len = 1 + rng.int(40);
    let b: Buffer;
    switch (rng.int(5)) {
      case 0:
        b = l.subarray(0, len); // at line start
        break;
      case 1:
        b = l.subarray(Math.max(0, l.length - len)); // at line end
        break;
      case 2: {
        // absent: a mutated substring or random hex
        const s = rng.int(Math.max(1, l.length - len));
        b = Buffer.from(l.subarray(s, s + len));
        if (b.length > 0) b[rng.int(b.length)] = 0x51; // 'Q' never occurs in the lines
        else b = Buffer.from(hexId(rng, 8 + rng.int(9)));
        break;
      }
      default: {
        const s = rng.int(Math.max(1, l.length - len));
        b = l.subarray(s, s + len);
      }
    }
    // Cut bytes of a UTF-8 sequence make the needle invalid UTF-8: keep whole characters only.
    const str = b.toString('utf8');
    if (!str.includes('\ufffd') && str.length > 0) out.push(str);
  }
  return out;
}

/** The gram set a block's needle filter is built from (for exact checks). */
function selectedGrams(lines: readonly Buffer[]): Set<number> {
  const out = new Set<number>();
  for (const l of lines) {
    const list = new Uint32Array(l.length);
    const count = selectBlockGrams(l, Int32Array.of(0, l.length), 1, list);
    for (const h of list.subarray(0, count)) out.add(h);
  }
  return out;
}

describe('needle grams', () => {
  it('every substring of ≥ 8 bytes of a line has all its grams among the line grams (differential, random bytes)', () => {
    const rng = new Rng(7);
    const pool = Buffer.from('ab01_ -="é€\u00ff');
    for (let iter = 0; iter < 60; iter++) {
      const len = rng.int(50);
      const line = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) line[i] = rng.int(3) === 0 ? rng.int(256) : pool[rng.int(pool.length)]!;
      const have = selectedGrams([line]);
      for (let s = 0; s < len; s++) {
        for (let e = s + 1; e <= len; e++) {
          const g = needleGramHashes(line.subarray(s, e));
          if (e - s < NEEDLE_MIN_BYTES) expect(g.length).toBe(0);
          else expect(g.length).toBeGreaterThan(0);
          for (const h of g) expect(have.has(h)).toBe(true);
        }
      }
    }
  });

  it('never crosses a line boundary and yields about 0.4 grams per extra needle byte', () => {
    const a = Buffer.from('abcdefgh');
    const b = Buffer.from('ijklmnop');
    const joined = Buffer.concat([a, b]);
    // The block's lines are a and b: the needle spanning them is ruled out, each line is not.
    const filter = buildNeedleFilter(joined, Int32Array.of(0, 8, 16), 2)!;
    const probe = (s: string): BlockProbe => new BlockProbe(new Uint32Array(0), needleGramHashes(Buffer.from(s)));
    expect(filtersMayMatch(null, 0, filter, 2, probe('abcdefgh'))).toBe(true);
    expect(filtersMayMatch(null, 0, filter, 2, probe('ijklmnop'))).toBe(true);
    expect(needleGramHashes(Buffer.from('4bf92f3577b34da6')).length).toBeGreaterThan(1);
    expect(needleGramHashes(Buffer.from('4bf92f35')).length).toBe(1);
    expect(needleGramHashes(Buffer.from('4bf92f3')).length).toBe(0);
  });

  it('a block with only short lines gets a 1-byte empty filter that rules out every needle', () => {
    const f = buildNeedleFilter(Buffer.from('shortabc'), Int32Array.of(0, 5, 8), 2)!;
    expect(f.length).toBe(1);
    expect(f[0]).toBe(0);
    expect(filtersMayMatch(null, 0, f, 2, new BlockProbe(new Uint32Array(0), needleGramHashes(Buffer.from('shortabc'))))).toBe(false);
  });

  it('sizes the filter by the distinct selections (estimated): 3.5 bits each, within 2 %', () => {
    const rng = new Rng(11);
    for (const count of [1, 5, 40, 300, 3000, 12_000]) {
      const lines: Buffer[] = [];
      for (let i = 0; i < count; i++) lines.push(Buffer.from(randomLine(rng, i)));
      const offs = new Int32Array(lines.length + 1);
      for (let i = 0; i < lines.length; i++) offs[i + 1] = offs[i]! + lines[i]!.length;
      const f = buildNeedleFilter(Buffer.concat(lines), offs, lines.length)!;
      const exact = selectedGrams(lines).size;
      const want = Math.max(1, Math.ceil((exact * 3.5) / 8));
      // Linear counting may miss an element whose bit another already set: a little under, never far.
      expect(Math.abs(f.length - want), `${count} lines: ${f.length} bytes, ${exact} distinct`).toBeLessThanOrEqual(1 + 0.02 * want);
    }
  });

  it('false positives per 8-byte needle stay near the configured rate; longer needles multiply it down', () => {
    const rng = new Rng(3);
    const lines: Buffer[] = [];
    for (let i = 0; i < 1200; i++) lines.push(Buffer.from(randomLine(rng, i)));
    const offs = new Int32Array(lines.length + 1);
    for (let i = 0; i < lines.length; i++) offs[i + 1] = offs[i]! + lines[i]!.length;
    const buf = Buffer.concat(lines);
    const f = buildNeedleFilter(buf, offs, lines.length)!;
    const text = buf.toString('latin1');
    const rate = (len: number): number => {
      let fp = 0;
      let tries = 0;
      while (tries < 3000) {
        const n = hexId(rng, len);
        if (text.includes(n)) continue;
        tries++;
        if (filtersMayMatch(null, 0, f, 2, new BlockProbe(new Uint32Array(0), needleGramHashes(Buffer.from(n))))) fp++;
      }
      return fp / tries;
    };
    const r8 = rate(8);
    const r16 = rate(16);
    expect(r8).toBeLessThan(0.3);
    expect(r16).toBeLessThan(0.02);
  });
});

/** Every line of a chunk the querier would read for `query`: cut blocks its probe keeps, then the head. */
function queryLines(chunk: ReadableChunk, head: DecodedBlock | null, query: string, useFilters = true): { lines: string[]; skipped: number } {
  const expr = parseExpr(query);
  const filter = compileLineFilters(expr);
  const probe = useFilters ? requiredBlockProbe(expr) : BlockProbe.EMPTY;
  const out: string[] = [];
  let skipped = 0;
  const scan = (blk: DecodedBlock): void => {
    const sel = new Uint8Array(blk.n).fill(1);
    filter?.apply(blk.lines, blk.lineOffsets, blk.n, sel);
    for (let i = 0; i < blk.n; i++) if (sel[i] === 1) out.push(blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!).toString('utf8'));
  };
  for (let b = 0; b < chunk.blockMetas().length; b++) {
    if (probe.length > 0 && !chunk.blockMayContainAll(b, probe)) {
      skipped++;
      continue;
    }
    scan(chunk.readBlock(b));
  }
  if (head !== null) scan(head);
  return { lines: out.sort(), skipped };
}

describe('needle queries equal a brute-force scan (cut blocks, head block, stored chunk, chunk tail)', () => {
  const rng = new Rng(20);
  const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 4096, targetSizeBytes: 1 << 30 });
  const all: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const l = randomLine(rng, i);
    if (c.append(T0 + BigInt(i), Buffer.from(l), [])) all.push(l);
  }
  const head = c.headBlock();
  expect(head).not.toBeNull(); // the last lines stay in the head: needles found there must not be lost
  // The live chunk as a querier sees it: its cut blocks (filtered) and the head (always scanned).
  const live = cutBlocksView(c, c.blockMetas().length);
  const d = decodeChunk(c.encode());
  const bytes = c.encodeCutBlocks(c.blockMetas().length);
  const tail = decodeChunkTail(bytes.subarray(bytes.length - Math.min(bytes.length, 1 << 20)), bytes.length);
  if ('needFromOffset' in tail) throw new Error('tail too short');
  const cutOnly = d.blockMetas().length;
  const needles = needlesFrom(rng, all, 400);
  needles.push(all[all.length - 1]!.slice(-12)); // a needle from the head block
  needles.push('ERR_BITFLIP', 'ITFLIP_9', 'wörld ✓', '—', 'é', 'not there at all', 'QQQQQQQQ');

  it('|= needle: exact lines, and the filter never skips a block holding the needle', () => {
    let skipped = 0;
    let tested = 0;
    for (const needle of needles) {
      const q = `{a="b"} |= ${JSON.stringify(needle)}`;
      const want = all.filter((l) => l.includes(needle)).sort();
      expect(queryLines(live, head, q).lines).toEqual(want);
      // The stored chunk holds the head as its last block: compare with every line.
      const got = queryLines(d, null, q);
      expect(got.lines).toEqual(want);
      // The chunk tail (what queriers read first) rules out exactly what the chunk does.
      const probe = requiredBlockProbe(parseExpr(q));
      for (let b = 0; b < cutOnly - 1; b++) expect(tail.blockMayContainAll(b, probe)).toBe(d.blockMayContainAll(b, probe));
      if (Buffer.byteLength(needle) >= NEEDLE_MIN_BYTES && want.length === 0) {
        skipped += got.skipped;
        tested += cutOnly;
      }
    }
    // Absent needles of ≥ 8 bytes skip most blocks.
    expect(skipped / tested).toBeGreaterThan(0.8);
  });

  it('|~ literal, (?i), or, != and several stages: skipping blocks never changes the result', () => {
    let upper = 0;
    for (const needle of needles.slice(0, 80)) {
      const lit = needle.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
      // An upper-cased needle finds lower-case text only case-insensitively.
      const up = lit.toUpperCase();
      if (up !== lit) upper++;
      const queries = [
        `{a="b"} |~ ${JSON.stringify(lit)}`,
        `{a="b"} |~ ${JSON.stringify('(?i)' + up)}`,
        `{a="b"} |= ${JSON.stringify(needle)} or "trace_id"`,
        `{a="b"} != ${JSON.stringify(needle)}`,
        `{a="b"} |= "level" |= ${JSON.stringify(needle)}`,
        // Regexes requiring the needle (requiredLiterals): probed by its grams too.
        `{a="b"} |~ ${JSON.stringify(lit + '.*')}`,
        `{a="b"} |~ ${JSON.stringify('[ -~]' + lit + '[0-9a-f]?')}`,
      ];
      for (const q of queries) expect(queryLines(d, null, q).lines, q).toEqual(queryLines(d, null, q, false).lines);
      expect(queryLines(d, null, queries[0]!).lines).toEqual(all.filter((l) => l.includes(needle)).sort());
      expect(queryLines(d, null, queries[5]!).lines).toEqual(all.filter((l) => l.includes(needle)).sort());
    }
    expect(upper).toBeGreaterThan(20);
  });

  it('case-insensitive and negative filters do not probe grams', () => {
    expect(requiredBlockProbe(parseExpr('{a="b"} |~ "(?i)4bf92f3577b34da6"')).length).toBe(0);
    expect(requiredBlockProbe(parseExpr('{a="b"} != "4bf92f3577b34da6"')).length).toBe(0);
    expect(requiredBlockProbe(parseExpr('{a="b"} |= "4bf92f3577b34da6" or "x"')).length).toBe(0);
    expect(requiredBlockProbe(parseExpr('{a="b"} |= "4bf92f3577b34da6"')).grams.length).toBeGreaterThan(1);
  });
});
