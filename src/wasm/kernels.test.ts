import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bloomFromSet, buildBlockBloom, buildBlockBloomJs, TokenHashSet } from '../chunk/bloom.js';
import { BLOOM_BITS_PER_TOKEN, BLOOM_HASHES, GRAM_BITS_PER_GRAM, GRAM_HASHES, MAX_GRAM_FILTER_GRAMS } from '../chunk/consts.js';
import { addBlockGrams, buildNeedleFilter, buildNeedleFilterJs } from '../chunk/needle.js';
import { defaultLimits } from '../distributor/limits.js';
import { LevelDetector, scanLevelWords } from '../distributor/field-detection.js';
import { seededRandom } from '../util/random.js';
import { genEntries } from '../../test/support/genlogs.js';
import { generate } from './gen.mjs';
import { BlockBlooms, BlockSearch, LevelWords } from './kernels.js';

const here = new URL('.', import.meta.url);

it('kernels.gen.ts is kernels.wat assembled (run `npm run wasm` after editing kernels.wat)', async () => {
  const wat = readFileSync(new URL('kernels.wat', here), 'utf8');
  expect(readFileSync(new URL('kernels.gen.ts', here), 'utf8')).toBe(await generate(wat));
});

/** Lines back to back in one body, each with its [start, end). */
function body(lines: readonly string[]): { b: Buffer; spans: [number, number][] } {
  const parts = lines.map((l) => Buffer.from(l, 'latin1'));
  const spans: [number, number][] = [];
  let at = 0;
  for (const p of parts) {
    spans.push([at, at + p.length]);
    at += p.length;
  }
  return { b: Buffer.concat(parts), spans };
}

const gen = genEntries({ lines: 6000, streams: 60, seed: 3 }).map((e) => e.line);

/** Random lines of level words, near misses, boundaries and filler, at every alignment. */
function randomLines(seed: number, count: number): string[] {
  const rnd = seededRandom(seed);
  const parts = ['ERROR', 'err', 'Warn', 'warning', 'WARNINGS', 'info', 'INFO:', 'Inf', 'debug', 'trace', 'TRACEs', 'fatal', 'critical', 'CRIT', 'x', 'errors', 'information', ' ', '\t', '\n', '[', ']', '(', ')', '{', '}', '=', '"', "'", ':', ',', '!', '|', 'terr', 'deBUG|', 'aaaaaaaaaaaaaaa', 'é', '\u00ff', '0123456789'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let line = '';
    const n = Math.floor(rnd() * 12);
    for (let j = 0; j < n; j++) line += parts[Math.floor(rnd() * parts.length)]!;
    out.push(line);
  }
  return out;
}

describe('LevelWords (WebAssembly) answers as scanLevelWords', () => {
  const words = LevelWords.create(1 << 24)!;

  it('is available on this runtime', () => expect(words).not.toBeNull());

  it.each([
    ['generator lines', gen],
    ['random lines', randomLines(5, 30_000)],
  ])('%s', (_name, lines) => {
    const { b, spans } = body(lines);
    expect(words.load(b)).toBe(true);
    let mismatches = 0;
    for (const [s, e] of spans) {
      const want = scanLevelWords(b, s, e);
      const got = words.scan(b, s, e);
      if (got !== want && mismatches++ < 5) expect({ line: b.toString('latin1', s, e), got }).toEqual({ line: b.toString('latin1', s, e), got: want });
    }
    expect(mismatches).toBe(0);
  });

  it('never reads past the end of a line, at every offset in a 16-byte chunk', () => {
    // "info" cut short by the line end, or followed by a byte that is no boundary, in the next line.
    for (const tail of ['inf', 'info', 'infox', 'WARN', 'warnin', 'x=', 'error']) {
      for (let pad = 0; pad < 40; pad++) {
        const line = ' '.repeat(pad) + tail;
        const { b, spans } = body([line, 'o', '= level info', line + 'x']);
        expect(words.load(b)).toBe(true);
        for (const [s, e] of spans) expect(words.scan(b, s, e), JSON.stringify(b.toString('latin1', s, e))).toBe(scanLevelWords(b, s, e));
      }
    }
  });

  it('gives LevelDetector the same levels as the TypeScript scan', () => {
    const d = new LevelDetector(defaultLimits.logLevelFields, defaultLimits.logLevelFromJsonMaxDepth);
    const { b, spans } = body(gen);
    words.load(b);
    const seen = new Set<string>();
    for (const [s, e] of spans) {
      const want = d.fromLineAt(b, s, e);
      seen.add(want);
      expect(d.fromLineAt(b, s, e, words.scan)).toBe(want);
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });

  it('refuses bodies over its size and lines of any other buffer', () => {
    const small = LevelWords.create(10)!;
    expect(small.load(Buffer.from('12345678901'))).toBe(false);
    const b = Buffer.from('error here');
    expect(small.load(b)).toBe(true);
    expect(small.scan(b, 0, b.length)).toBe(scanLevelWords(b, 0, b.length));
    expect(() => small.scan(Buffer.from('error here'), 0, 5)).toThrow(/loaded body/);
    expect(() => small.scan(b, 0, 11)).toThrow(/loaded body/);
  });
});

/** A block of lines: concatenated bytes and offsets, as a head block holds them. */
function block(lines: readonly string[]): { lines: Buffer; offsets: Int32Array; n: number } {
  const { b, spans } = body(lines);
  const offsets = new Int32Array(lines.length + 1);
  spans.forEach(([s], i) => (offsets[i] = s));
  offsets[lines.length] = b.length;
  return { lines: b, offsets, n: lines.length };
}

function jsBloom(lines: Buffer, offsets: Int32Array, n: number, limit: number): Buffer | null {
  const set = new TokenHashSet(limit);
  set.addLines(lines, offsets, n);
  return bloomFromSet(set);
}

describe('BlockBlooms (WebAssembly) builds the filters of bloom.ts', () => {
  const rnd = seededRandom(9);
  const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  /** `count` lines of random tokens (about `distinct` different ones) and separators. */
  function tokenLines(count: number, distinct: number): string[] {
    const vocab = Array.from({ length: distinct }, () => Array.from({ length: 1 + Math.floor(rnd() * 9) }, () => alnum[Math.floor(rnd() * alnum.length)]).join(''));
    const seps = [' ', '_', '-', '.', '"', '=', '\u00e9', '/', ''];
    return Array.from({ length: count }, () => {
      let l = '';
      const k = Math.floor(rnd() * 14);
      for (let j = 0; j < k; j++) l += vocab[Math.floor(rnd() * vocab.length)]! + seps[Math.floor(rnd() * seps.length)]!;
      return l;
    });
  }

  it.each([
    ['generator lines', gen, 262_144],
    ['empty block', [], 262_144],
    ['empty lines', ['', '', '...'], 262_144],
    ['a set that grows several times', tokenLines(20_000, 30_000), 262_144],
    ['a set that overflows its limit', tokenLines(3000, 5000), 1000],
    ['exactly at the limit', ['a b c d', 'e'], 5],
    ['one over the limit', ['a b c d', 'e f'], 5],
  ])('%s', (_name, lines, limit) => {
    const blooms = BlockBlooms.create(limit, 256 * 1024, 1 << 24)!;
    const { lines: b, offsets, n } = block(lines);
    const want = jsBloom(b, offsets, n, limit);
    // Twice: the second build starts from the set the first one left.
    for (let round = 0; round < 2; round++) expect(blooms.build(b, offsets, n, BLOOM_BITS_PER_TOKEN, BLOOM_HASHES)).toEqual(want);
  });

  it('keeps building right after a token-rich block (its set starts small again)', () => {
    const blooms = BlockBlooms.create(262_144, 256 * 1024, 1 << 24)!;
    const rich = block(tokenLines(40_000, 120_000));
    const plain = block(gen.slice(0, 500));
    for (const x of [rich, plain, rich, plain]) expect(blooms.build(x.lines, x.offsets, x.n, BLOOM_BITS_PER_TOKEN, BLOOM_HASHES)).toEqual(jsBloom(x.lines, x.offsets, x.n, 262_144));
  });

  it('declines blocks over its size; buildBlockBloom then builds in TypeScript', () => {
    const blooms = BlockBlooms.create(262_144, 256 * 1024, 100)!;
    const x = block(gen.slice(0, 50));
    expect(blooms.build(x.lines, x.offsets, x.n, BLOOM_BITS_PER_TOKEN, BLOOM_HASHES)).toBeUndefined();
    expect(buildBlockBloom(x.lines, x.offsets, x.n)).toEqual(buildBlockBloomJs(x.lines, x.offsets, x.n));
  });
});

function jsGrams(lines: Buffer, offsets: Int32Array, n: number, limit: number): Buffer | null {
  const set = new TokenHashSet(limit);
  addBlockGrams(lines, offsets, n, set);
  return bloomFromSet(set, GRAM_BITS_PER_GRAM, GRAM_HASHES);
}

describe('BlockBlooms (WebAssembly) builds the needle filters of needle.ts', () => {
  const rnd = seededRandom(23);
  const bytes = Buffer.from('0123456789abcdef_ -="\u00e9\u20ac');
  /** Lines of random bytes from a small alphabet (some below 8 bytes), as latin1 strings. */
  function randomLines(count: number, maxLen: number): string[] {
    return Array.from({ length: count }, () => {
      const len = Math.floor(rnd() * maxLen);
      let l = '';
      for (let i = 0; i < len; i++) l += String.fromCharCode(rnd() < 0.1 ? Math.floor(rnd() * 256) : bytes[Math.floor(rnd() * bytes.length)]!);
      return l;
    });
  }
  it.each([
    ['generator lines', gen, MAX_GRAM_FILTER_GRAMS],
    ['empty block', [], MAX_GRAM_FILTER_GRAMS],
    ['short lines only', ['', 'abc', '1234567'], MAX_GRAM_FILTER_GRAMS],
    ['exactly 8 bytes', ['12345678', 'abcdefgh'], MAX_GRAM_FILTER_GRAMS],
    ['random bytes, a set that grows', randomLines(20_000, 60), MAX_GRAM_FILTER_GRAMS],
    ['a set that overflows its limit', randomLines(3000, 60), 1000],
  ])('%s', (_name, lines, limit) => {
    const blooms = BlockBlooms.create(limit, 256 * 1024, 1 << 24)!;
    const { lines: b, offsets, n } = block(lines.map((l) => Buffer.from(l, 'latin1').toString('latin1')));
    const want = jsGrams(b, offsets, n, limit);
    for (let round = 0; round < 2; round++) expect(blooms.buildGrams(b, offsets, n, GRAM_BITS_PER_GRAM, GRAM_HASHES)).toEqual(want);
  });

  it('buildNeedleFilter (WebAssembly) equals buildNeedleFilterJs', () => {
    const x = block(gen.slice(0, 2000));
    expect(buildNeedleFilter(x.lines, x.offsets, x.n)).toEqual(buildNeedleFilterJs(x.lines, x.offsets, x.n));
  });
});

describe('BlockSearch (WebAssembly) answers as Buffer.indexOf', () => {
  /** Every hit of needle `i` in lines[start, end), by the kernel and by indexOf on the same range of `reference` (the lines, or their folded copy). */
  function hits(search: BlockSearch, i: number, needle: Buffer, lines: Buffer, start: number, end: number, reference = lines): [number[], number[]] {
    // The kernel's memory past `end` then holds the text that follows: no hit may reach into it.
    search.load(lines, start, lines.length);
    search.load(lines, start, end);
    const got: number[] = [];
    for (let p = search.find(i, start); p >= 0; p = search.find(i, p + 1)) got.push(p);
    const want: number[] = [];
    const range = reference.subarray(start, end);
    for (let p = range.indexOf(needle); p >= 0; p = range.indexOf(needle, p + 1)) want.push(p + start);
    return [got, want];
  }

  it('finds every occurrence in random blocks, at every alignment and up to the end', () => {
    const rand = seededRandom(7);
    const alphabet = 'ab" 5=s\n';
    let found = 0;
    for (let k = 0; k < 400; k++) {
      const len = Math.floor(rand() * 200);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)]!;
      const lines = Buffer.from(text, 'latin1');
      const needles = [1, 2, 3, 5, 17].map((n) => {
        // Needles from the text itself (so they occur), and random ones.
        const at = Math.floor(rand() * Math.max(1, len - n));
        return rand() < 0.6 && len >= n ? lines.subarray(at, at + n) : Buffer.from(Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]!).join(''), 'latin1');
      });
      const search = BlockSearch.create(needles)!;
      expect(search).not.toBeNull();
      const start = Math.floor(rand() * Math.min(20, len + 1));
      const end = start + Math.floor(rand() * (len - start + 1));
      needles.forEach((needle, i) => {
        const [got, want] = hits(search, i, needle, lines, start, end);
        expect(got, `${JSON.stringify(needle.toString('latin1'))} in ${JSON.stringify(text.slice(start, end))}`).toEqual(want);
        found += want.length;
      });
    }
    expect(found).toBeGreaterThan(2000);
  });

  it('finds generator needles in a block of generator text as indexOf does', () => {
    const text = Buffer.from(genEntries({ lines: 2000 }).map((e) => e.line).join('\n'), 'utf8');
    const needles = ['" 5', 'status=5', 'ERR_', 'level=error', 'qzxq', '"', 'a'].map((n) => Buffer.from(n, 'latin1'));
    const search = BlockSearch.create(needles)!;
    needles.forEach((needle, i) => {
      const [got, want] = hits(search, i, needle, text, 0, text.length);
      expect(got).toEqual(want);
    });
  });

  it('with fold, finds lower-case needles in text of either case as indexOf on the lower-cased text', () => {
    const rand = seededRandom(8);
    const alphabet = 'aAbBzZ@[`{ 5';
    let found = 0;
    for (let k = 0; k < 300; k++) {
      const len = Math.floor(rand() * 120);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)]!;
      const lines = Buffer.from(text, 'latin1');
      const lower = Buffer.from(text.replace(/[A-Z]/g, (c) => c.toLowerCase()), 'latin1');
      const needles = [1, 2, 4].map((n) => {
        const at = Math.floor(rand() * Math.max(1, len - n));
        return len >= n ? Buffer.from(lower.subarray(at, at + n)) : Buffer.from('ab'.slice(0, n).padEnd(n, 'z'));
      });
      const search = BlockSearch.create(needles, true)!;
      needles.forEach((needle, i) => {
        const [got, want] = hits(search, i, needle, lines, 0, lines.length, lower);
        expect(got, `${JSON.stringify(needle.toString('latin1'))} in ${JSON.stringify(text)}`).toEqual(want);
        found += want.length;
      });
    }
    expect(found).toBeGreaterThan(500);
  });

  it('answers null for an empty needle or needles past 4 KiB (callers keep indexOf)', () => {
    expect(BlockSearch.create([Buffer.alloc(0)])).toBeNull();
    expect(BlockSearch.create([Buffer.alloc(4097, 97)])).toBeNull();
  });
});
