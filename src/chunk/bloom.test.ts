import { describe, expect, it } from 'vitest';
import { compileLineFilters, requiredBlockProbe } from '../logql/log/line-filter.js';
import { parseExpr } from '../logql/syntax/index.js';
import { bloomMayContainAll, buildBlockBloom, forEachToken, tokenHash, TokenHashSet } from './bloom.js';
import { decodeChunk, MemChunk } from './mem-chunk.js';
import { Rng, tokenProbe } from './testing.js';
import type { ReadableChunk } from './types.js';

const T0 = 1_700_000_000_000_000_000n;

/** Reference tokenizer: a regex over the bytes read as latin1 (one char per byte). */
function refTokens(b: Buffer): string[] {
  return b.toString('latin1').match(/[0-9A-Za-z]+/g) ?? [];
}

/** Random bytes biased towards token bytes, separators and UTF-8 lead/continuation bytes. */
function randomLine(rng: Rng, maxLen: number): Buffer {
  const pool = Buffer.from('abcXYZ019_ -.:="/\t\n\u00e9\u20ac');
  const len = rng.int(maxLen + 1);
  const out = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) out[i] = rng.int(4) === 0 ? rng.int(256) : pool[rng.int(pool.length)]!;
  return out;
}

function lineOffsets(lines: readonly Buffer[]): { buf: Buffer; offs: Int32Array } {
  const offs = new Int32Array(lines.length + 1);
  for (let i = 0; i < lines.length; i++) offs[i + 1] = offs[i]! + lines[i]!.length;
  return { buf: Buffer.concat(lines), offs };
}

describe('tokenizer', () => {
  it('matches a regex split on random bytes (differential)', () => {
    const rng = new Rng(1);
    for (let iter = 0; iter < 2000; iter++) {
      const b = randomLine(rng, 60);
      const got: string[] = [];
      const hashes: number[] = [];
      forEachToken(b, 0, b.length, (s, e, h) => {
        got.push(b.subarray(s, e).toString('latin1'));
        hashes.push(h);
      });
      const want = refTokens(b);
      expect(got).toEqual(want);
      expect(hashes).toEqual(want.map((t) => tokenHash(Buffer.from(t, 'latin1'), 0, t.length)));
      // The block tokenizer finds the same distinct hashes.
      const set = new TokenHashSet(1 << 20);
      set.addRange(b, 0, b.length);
      const setHashes = Array.from(set.slots.filter((x) => x !== 0), (x) => x >>> 0).sort();
      expect(setHashes).toEqual([...new Set(hashes)].sort());
    }
  });

  it('is case-sensitive, splits on _ and non-ASCII bytes, and never crosses a line boundary', () => {
    const toks = (s: string): string[] => {
      const b = Buffer.from(s);
      const out: string[] = [];
      forEachToken(b, 0, b.length, (x, y) => out.push(b.subarray(x, y).toString()));
      return out;
    };
    expect(toks('ERR_BITFLIP_99A6')).toEqual(['ERR', 'BITFLIP', '99A6']);
    expect(toks('héllo wörld')).toEqual(['h', 'llo', 'w', 'rld']);
    expect(toks('  ')).toEqual([]);
    expect(tokenHash(Buffer.from('Error'), 0, 5)).not.toBe(tokenHash(Buffer.from('error'), 0, 5));
    const { buf, offs } = lineOffsets([Buffer.from('ab'), Buffer.from('cd')]);
    const bloom = buildBlockBloom(buf, offs, 2)!;
    const h = (s: string): number => tokenHash(Buffer.from(s), 0, s.length);
    expect(bloomMayContainAll(bloom, 3, Uint32Array.of(h('ab'), h('cd')))).toBe(true);
    expect(bloomMayContainAll(bloom, 3, Uint32Array.of(h('abcd')))).toBe(false);
  });

  it('a block without tokens rules out every token', () => {
    const { buf, offs } = lineOffsets([Buffer.from('--- ...'), Buffer.from('')]);
    const bloom = buildBlockBloom(buf, offs, 2)!;
    expect(bloom.length).toBe(1);
    expect(bloomMayContainAll(bloom, 3, Uint32Array.of(tokenHash(Buffer.from('a'), 0, 1)))).toBe(false);
  });
});

describe('block bloom filter', () => {
  it('never gives a false negative (seeded random blocks, stored and in memory)', () => {
    const rng = new Rng(2);
    for (let iter = 0; iter < 20; iter++) {
      const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 512 + rng.int(8192), targetSizeBytes: 1 << 30 });
      for (let i = 0; i < 400; i++) c.append(T0 + BigInt(rng.int(1e6)), randomLine(rng, 80), []);
      const d = decodeChunk(c.encode());
      for (const chunk of [c, d] as ReadableChunk[]) {
        for (let b = 0; b < chunk.blockMetas().length; b++) {
          const blk = chunk.readBlock(b);
          const all: number[] = [];
          for (let i = 0; i < blk.n; i++) {
            forEachToken(blk.lines, blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!, (_s, _e, h) => {
              all.push(h);
              expect(chunk.blockMayContainAll(b, tokenProbe(Uint32Array.of(h)))).toBe(true);
            });
          }
          expect(chunk.blockMayContainAll(b, tokenProbe(Uint32Array.from(all.slice(0, 50))))).toBe(true);
        }
      }
    }
  });

  it('false-positive rate on absent random tokens is below 5%', () => {
    const rng = new Rng(3);
    const word = (): string => {
      let s = '';
      const len = 3 + rng.int(10);
      for (let i = 0; i < len; i++) s += 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[rng.int(62)];
      return s;
    };
    const present = new Set<string>();
    const lines: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const ws = [word(), word(), word(), String(rng.int(1000))];
      for (const w of ws) present.add(w);
      lines.push(Buffer.from(`level=info msg="${ws.join(' ')}" trace_id=${ws[0]}`));
    }
    for (const w of ['level', 'info', 'msg', 'trace', 'id']) present.add(w);
    const { buf, offs } = lineOffsets(lines);
    const bloom = buildBlockBloom(buf, offs, lines.length)!;
    expect(bloom.length).toBeLessThanOrEqual(present.size + 1); // 8 bits per distinct token
    let fp = 0;
    let tries = 0;
    while (tries < 20_000) {
      const w = word();
      if (present.has(w)) continue;
      tries++;
      if (bloomMayContainAll(bloom, 3, Uint32Array.of(tokenHash(Buffer.from(w), 0, w.length)))) fp++;
    }
    expect(fp / tries).toBeLessThan(0.05);
  });

  it('blocks with too many distinct tokens get no filter and always answer true', () => {
    const set = new TokenHashSet(3);
    set.addRange(Buffer.from('a b c d'), 0, 7);
    expect(set.overflow).toBe(true);
    expect(set.size).toBe(3);
  });
});

/**
 * The querier's block loop (querier.ts scanChunk): skip blocks whose filter lacks a required
 * token, read and filter the rest. Must equal a naive scan of every line.
 */
function loopMatches(chunk: ReadableChunk, query: string): { lines: string[]; skipped: number } {
  const expr = parseExpr(query);
  const filter = compileLineFilters(expr);
  const required = requiredBlockProbe(expr);
  const out: string[] = [];
  let skipped = 0;
  for (let b = 0; b < chunk.blockMetas().length; b++) {
    if (required.length > 0 && !chunk.blockMayContainAll(b, required)) {
      skipped++;
      continue;
    }
    const blk = chunk.readBlock(b);
    const sel = new Uint8Array(blk.n).fill(1);
    filter?.apply(blk.lines, blk.lineOffsets, blk.n, sel);
    for (let i = 0; i < blk.n; i++) if (sel[i] === 1) out.push(blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!).toString('latin1'));
  }
  return { lines: out.sort(), skipped };
}

describe('block skipping equals a naive scan', () => {
  const rng = new Rng(4);
  const vocab = ['error', 'timeout', 'conn', 'reset', 'ERR', 'BITFLIP', '99A6', 'user', 'id', '42', 'x1', 'hé', 'wörld', 'a'];
  const seps = [' ', '_', '=', '.', ': ', '"', '/', 'é'];
  const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 2048, targetSizeBytes: 1 << 30 });
  const all: string[] = [];
  for (let i = 0; i < 3000; i++) {
    let l = '';
    const n = 1 + rng.int(8);
    // Each block sees a small window of the vocabulary, so absent tokens are common.
    const base = Math.floor(i / 300) % (vocab.length - 3);
    for (let j = 0; j < n; j++) l += vocab[base + rng.int(4)]! + seps[rng.int(seps.length)]!;
    if (c.append(T0 + BigInt(i), Buffer.from(l), [])) all.push(Buffer.from(l).toString('latin1'));
  }
  const d = decodeChunk(c.encode());
  const needles = [
    'no such token anywhere',
    'ERR_BITFLIP_99A6',
    'timeout conn',
    ' conn ',
    'rror timeo', // straddles tokens: nothing is required
    'conn_reset_',
    'x1=user',
    'wörld hé',
    'id.42.error',
    'a',
    '',
  ];
  for (const needle of needles) {
    it(`|= ${JSON.stringify(needle)}`, () => {
      const lit = Buffer.from(needle).toString('latin1');
      const want = all.filter((l) => l.includes(lit)).sort();
      const q = `{a="b"} |= ${JSON.stringify(needle)}`;
      for (const chunk of [c, d] as ReadableChunk[]) expect(loopMatches(chunk, q).lines).toEqual(want);
      if (needle === 'no such token anywhere') expect(loopMatches(d, q).skipped).toBe(d.blockMetas().length);
    });
  }

  it('skips most blocks for absent tokens and some for rare ones', () => {
    const blocks = d.blockMetas().length;
    expect(loopMatches(d, '{a="b"} |= "x nosuchtoken y"').skipped).toBe(blocks);
    const rare = loopMatches(d, '{a="b"} |= "x BITFLIP y"').skipped;
    expect(rare).toBeGreaterThan(blocks / 2);
    expect(rare).toBeLessThan(blocks);
    expect(loopMatches(d, '{a="b"} |~ "x conn y" |= "user"').lines).toEqual(all.filter((l) => l.includes('x conn y') && l.includes('user')).sort());
  });
});
