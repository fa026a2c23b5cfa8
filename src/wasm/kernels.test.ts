import { readFileSync } from 'node:fs';
import * as lz4 from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { bloomFromSet, buildBlockBloom, buildBlockBloomJs, TokenHashSet } from '../chunk/bloom.js';
import { BLOOM_BITS_PER_TOKEN, BLOOM_HASHES, GRAM_BITS_PER_GRAM, GRAM_HASHES, MAX_GRAM_FILTER_GRAMS } from '../chunk/consts.js';
import { buildNeedleFilter, buildNeedleFilterJs } from '../chunk/needle.js';
import { defaultLimits } from '../distributor/limits.js';
import { LevelDetector, scanLevelWords } from '../distributor/field-detection.js';
import { payloadLineSpan } from '../chunk/block.js';
import { seededRandom } from '../util/random.js';
import { genEntries } from '../../test/support/genlogs.js';
import { generate } from './gen.mjs';
import { BlockBlooms, BlockSearch, LevelWords, Lz4Blocks } from './kernels.js';

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
    const want = buildNeedleFilterJs(b, offsets, n, limit);
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

  /** `n` characters drawn from `alphabet`. */
  function randomText(rand: () => number, alphabet: string, n: number): string {
    let text = '';
    for (let j = 0; j < n; j++) text += alphabet[Math.floor(rand() * alphabet.length)]!;
    return text;
  }

  it('finds every occurrence in random blocks, at every alignment and up to the end', () => {
    const rand = seededRandom(7);
    const alphabet = 'ab" 5=s\n';
    let found = 0;
    for (let k = 0; k < 400; k++) {
      const len = Math.floor(rand() * 200);
      const text = randomText(rand, alphabet, len);
      const lines = Buffer.from(text, 'latin1');
      const needles = [1, 2, 3, 5, 17].map((n) => {
        // Needles from the text itself (so they occur), and random ones.
        const at = Math.floor(rand() * Math.max(1, len - n));
        return rand() < 0.6 && len >= n ? lines.subarray(at, at + n) : Buffer.from(randomText(rand, alphabet, n), 'latin1');
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
      const text = randomText(rand, alphabet, len);
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

describe('Lz4Blocks (WebAssembly) decodes as lz4-napi', () => {
  const dec = Lz4Blocks.create()!;
  it('is available on this runtime', () => expect(dec).not.toBeNull());

  /** lz4-napi's block (its 4-byte size prefix removed) decoded by the kernel; checks it against lz4-napi. */
  function roundTrip(plain: Buffer): Buffer {
    const framed = lz4.compressSync(plain);
    const got = dec.decode(framed.subarray(4), plain.length)!;
    expect(Buffer.compare(got, lz4.uncompressSync(framed))).toBe(0);
    return got;
  }

  /** An LZ4 block written sequence by sequence (literals, then a match `off` back of `len` bytes), with a literal tail. */
  function handBlock(seqs: readonly (readonly [string, number, number])[], tail: string): Buffer {
    const out: number[] = [];
    const lenBytes = (n: number): void => {
      for (; n >= 255; n -= 255) out.push(255);
      out.push(n);
    };
    const seq = (lit: Buffer, match?: readonly [number, number]): void => {
      const m = match === undefined ? 0 : match[1] - 4;
      out.push((Math.min(lit.length, 15) << 4) | Math.min(m, 15));
      if (lit.length >= 15) lenBytes(lit.length - 15);
      out.push(...lit);
      if (match === undefined) return;
      out.push(match[0] & 0xff, match[0] >> 8);
      if (m >= 15) lenBytes(m - 15);
    };
    for (const [lit, off, len] of seqs) seq(Buffer.from(lit, 'latin1'), [off, len]);
    seq(Buffer.from(tail, 'latin1'));
    return Buffer.from(out);
  }

  /** The block's text by the definition of an LZ4 match: byte by byte from `off` back (overlaps repeat). */
  function expand(seqs: readonly (readonly [string, number, number])[], tail: string): Buffer {
    const out: number[] = [];
    for (const [lit, off, len] of seqs) {
      out.push(...Buffer.from(lit, 'latin1'));
      for (let i = 0; i < len; i++) out.push(out[out.length - off]!);
    }
    out.push(...Buffer.from(tail, 'latin1'));
    return Buffer.from(out);
  }

  it('decodes blocks of generator text, of random bytes and of long runs', () => {
    const text = Buffer.from(genEntries({ lines: 1500, seed: 5 }).map((e) => e.line).join('\n'), 'utf8');
    expect(roundTrip(text).equals(text)).toBe(true);
    const rand = seededRandom(11);
    const noise = Buffer.from(Array.from({ length: 70_000 }, () => Math.floor(rand() * 256)));
    expect(roundTrip(noise).equals(noise)).toBe(true);
    const runs = Buffer.concat([Buffer.alloc(5000, 32), Buffer.from('abc'.repeat(900)), noise.subarray(0, 40), Buffer.alloc(300, 7)]);
    expect(roundTrip(runs).equals(runs)).toBe(true);
    for (let n = 0; n < 40; n++) expect(roundTrip(text.subarray(0, n)).equals(text.subarray(0, n))).toBe(true);
  });

  it('copies matches that overlap their own output byte by byte, for every offset 1..40 and lengths across 16-byte steps', () => {
    let cases = 0;
    for (let off = 1; off <= 40; off++) {
      for (const len of [4, 5, 15, 16, 17, 18, 19, 31, 32, 33, 47, 64, 65, 300, 600]) {
        const lit = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'.slice(0, off);
        const seqs = [[lit, off, len], ['-', off + 1, len + 3]] as const;
        const block = handBlock(seqs, 'end of block');
        const want = expand(seqs, 'end of block');
        expect(lz4.uncompressSync(Buffer.concat([Buffer.from(Uint32Array.of(want.length).buffer), block])).equals(want)).toBe(true);
        expect(dec.decode(block, want.length)!.equals(want), `offset ${off}, length ${len}`).toBe(true);
        cases++;
      }
    }
    expect(cases).toBe(600);
  });

  it('refuses malformed blocks with an Error, never a trap or a wrong length', () => {
    const seqs = [['hello world, ', 13, 40]] as const;
    const good = handBlock(seqs, 'tail');
    const size = expand(seqs, 'tail').length;
    for (let n = 0; n < good.length; n++) expect(() => dec.decode(good.subarray(0, n), size), `first ${n} bytes`).toThrow(/malformed lz4 block|decodes to/);
    expect(() => dec.decode(handBlock([['ab', 0, 10]], 'x'), 13)).toThrow(/malformed/); // offset 0
    expect(() => dec.decode(handBlock([['ab', 3, 10]], 'x'), 13)).toThrow(/malformed/); // before the output
    expect(() => dec.decode(good, size - 1)).toThrow(/malformed/); // output too small
    expect(() => dec.decode(good, size + 1)).toThrow(/decodes to \d+ bytes, expected/);
    expect(dec.decode(handBlock([['ab', 2, 10]], ''), 12)!.toString()).toBe('abababababab'); // an empty last literal run
    expect(() => dec.decode(handBlock([['ab', 2, 10]], '').subarray(0, -1), 12)).toThrow(/malformed/); // no last literal run
    const rand = seededRandom(12);
    for (let k = 0; k < 2000; k++) {
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      const size = Math.floor(rand() * 600);
      let napi: Buffer | null = null;
      try {
        napi = lz4.uncompressSync(Buffer.concat([Buffer.from(Uint32Array.of(size).buffer), junk]));
      } catch {
        napi = null;
      }
      let got: Buffer | null = null;
      try {
        got = dec.decode(junk, size);
      } catch (e) {
        expect((e as Error).message).toMatch(/malformed lz4 block|decodes to/);
      }
      // Whatever the kernel accepts, lz4-napi decodes to the same bytes.
      if (got !== null) expect(napi !== null && napi.equals(got)).toBe(true);
    }
  });

  it('answers null past 16 MiB (decompress then uses lz4-napi)', () => {
    expect(dec.decode(Buffer.alloc(10), Lz4Blocks.MAX_BLOCK + 1)).toBeNull();
  });
});

describe('Lz4Blocks.lineSpan (WebAssembly) answers as payloadLineSpan', () => {
  const dec = Lz4Blocks.create()!;
  const rand = seededRandom(20261206);
  const int = (n: number): number => Math.floor(rand() * n);
  const varint = (out: number[], v: number): void => {
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  /** A payload's columns as FORMAT.md lays them (metadata: none), then maybe broken. */
  function payload(): { bytes: Buffer; n: number; span: number } {
    const n = 1 + int(40);
    const out: number[] = [];
    varint(out, n);
    const deltas = [0, ...Array.from({ length: n - 1 }, () => [0, 1, 127, 128, 999_999, 2 ** 40][int(6)]!)];
    for (const d of deltas) varint(out, d);
    const lens = Array.from({ length: n }, () => [0, 1, 5, 127, 128, 300][int(6)]!);
    // Breaks: a flipped byte, a cut, a varint run long, a count that lies, a span that lies, a
    // length in 9 bytes (its value small; varints stop at 8).
    const k = int(7);
    for (const [i, l] of lens.entries()) {
      if (k === 6 && i === 0) out.push(0x80 | (l & 0x7f), 0x80 | (l >> 7), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0);
      else varint(out, l);
    }
    for (const l of lens) for (let i = 0; i < l; i++) out.push(97 + int(26));
    out.push(0);
    const bytes = Buffer.from(out);
    if (k === 1) bytes[int(bytes.length)]! ^= 1 << int(8);
    const cut = k === 2 ? bytes.subarray(0, int(bytes.length)) : bytes;
    if (k === 3) for (let i = 1; i < Math.min(12, cut.length); i++) cut[i] = 0xff;
    return { bytes: cut, n: k === 4 ? n + 1 : n, span: deltas.reduce((a, d) => a + d, 0) + (k === 5 ? 1 : 0) };
  }

  it('the same spans on random and broken payloads, over random ranges', () => {
    let nulls = 0;
    let spans = 0;
    for (let round = 0; round < 3000; round++) {
      const p = payload();
      if (p.bytes.length === 0) continue;
      const view = dec.decodeInPlace(lz4.compressSync(p.bytes).subarray(4), p.bytes.length)!;
      const startRel = [0, int(p.span + 2), -5][int(3)]!;
      const endRel = [Infinity, startRel + int(p.span + 2), 0][int(3)]!;
      const want = payloadLineSpan(Buffer.from(p.bytes), p.n, p.span, startRel, endRel);
      const got = payloadLineSpan(view, p.n, p.span, startRel, endRel, dec);
      expect(got).toEqual(want);
      if (want === null) nulls++;
      else spans++;
    }
    expect(nulls).toBeGreaterThan(300);
    expect(spans).toBeGreaterThan(300);
  });
});
