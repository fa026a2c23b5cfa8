import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkCorruptError } from '../errors.js';
import { ByteWriter } from '../util/bytes.js';
import { CODECS, type Codec } from './codec.js';
import { FOOTER_BYTES, HEADER_BYTES, MAGIC } from './consts.js';
import { decodeChunk, MemChunk, type ReadableChunk } from './mem-chunk.js';
import type { DecodedBlock } from './types.js';
import { blockEntries, chunkEntries, Rng, tokenProbe } from './testing.js';
import { BlockProbe } from './needle.js';

const T0 = 1_700_000_000_000_000_000n;

function sample(codec: Codec, entries = 60, blockSizeBytes = 600): MemChunk {
  const c = new MemChunk({ codec, blockSizeBytes, targetSizeBytes: 1 << 20 });
  for (let i = 0; i < entries; i++) {
    c.append(T0 + BigInt(i * 1000), Buffer.from(`msg=${i} level=${i % 3 === 0 ? 'warn' : 'info'} path=/x/${i % 5}`), i % 2 === 0 ? [{ name: 'trace', value: `t${i % 4}` }] : []);
  }
  return c;
}

/** Reads everything a query could touch: every block, every line, every metadata entry. */
function readAll(d: ReadableChunk): void {
  for (const b of chunkEntries(d)) for (const x of b) void x.metadata.length;
}

/** Expects `fn` to throw ChunkCorruptError (and nothing else). */
function expectCorrupt(fn: () => unknown, message?: RegExp): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a ChunkCorruptError').toBeInstanceOf(ChunkCorruptError);
  if (message !== undefined) expect((err as Error).message).toMatch(message);
}

interface RawBlock {
  payload: Buffer;
  entries: number;
  minTsNs: bigint;
  spanNs: number;
  /** Overrides of meta fields, written as-is. */
  uncompressedBytes?: number;
  /** The block's lines: its token filter is built from them by refBloom. Without them the block has no filter. */
  lines?: string[];
  /** Raw filter field bytes written after uncompressedBytes instead (bloomBytes, k, bits). */
  bloomField?: number[];
  /** Version 2: raw needle filter field bytes written after the token filter instead (gramBytes, length, window, k, bits). */
  gramField?: number[];
}

/** FNV-1a + fmix32 of a token, as FORMAT.md defines it (independent of bloom.ts). */
function refHash(tok: Buffer): number {
  let h = 0x811c9dc5;
  for (const c of tok) h = Math.imul(h ^ c, 16777619) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h === 0 ? 1 : h;
}

/** The token filter of FORMAT.md: 8 bits per distinct token, k = 3, built naively. */
function refBloom(lines: string[]): Buffer {
  const hashes = new Set<number>();
  for (const l of lines) for (const t of Buffer.from(l).toString('latin1').match(/[0-9A-Za-z]+/g) ?? []) hashes.add(refHash(Buffer.from(t, 'latin1')));
  const bytes = Math.max(1, hashes.size);
  const bits = Buffer.alloc(bytes);
  const m = BigInt(bytes * 8);
  for (const h of hashes) {
    let x = BigInt(h);
    const delta = BigInt(((h >>> 17) | (h << 15)) >>> 0);
    for (let j = 0; j < 3; j++) {
      const b = Number((x * m) >> 32n);
      bits[b >> 3]! |= 1 << (b & 7);
      x = (x + delta) & 0xffffffffn;
    }
  }
  return bits;
}

/** The order key of the gram at b[i, i+5) (FORMAT.md "Needle filter"), an int32 (independent of needle.ts). */
function refGramKey(b: Buffer, i: number): number {
  const x = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
  return Math.imul(x ^ Math.imul(b[i + 4]! + 1, 0x9e3779b1), 0x85ebca6b);
}

/** murmur3 fmix32 as an unsigned number, 0 → 1. */
function refFmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h === 0 ? 1 : h;
}

/**
 * The needle filter of FORMAT.md, built naively: fmix32 of the smallest gram key of every 8-byte
 * window, k = 2, 3.5 bits per element counted as FORMAT.md says writers count them (linear
 * counting over a bitmap sized by the selections that differ from the window before).
 */
function refNeedleFilter(lines: string[]): Buffer {
  const hashes = new Set<number>();
  let selections = 0;
  for (const l of lines) {
    const b = Buffer.from(l);
    let before: number | null = null;
    for (let i = 0; i + 8 <= b.length; i++) {
      const key = Math.min(refGramKey(b, i), refGramKey(b, i + 1), refGramKey(b, i + 2), refGramKey(b, i + 3));
      if (key !== before) selections++;
      before = key;
      hashes.add(refFmix(key));
    }
  }
  let mapBits = 8192;
  while (mapBits < 2 * selections) mapBits *= 2;
  const marked = new Set(Array.from(hashes, (h) => Math.floor((h * mapBits) / 2 ** 32)));
  const estimate = marked.size === 0 ? 0 : Math.max(marked.size, Math.round(-mapBits * Math.log1p(-marked.size / mapBits)));
  const bytes = Math.max(1, Math.ceil((estimate * 3.5) / 8));
  const bits = Buffer.alloc(bytes);
  const m = BigInt(bytes * 8);
  for (const h of hashes) {
    let x = BigInt(h);
    const delta = BigInt(((h >>> 17) | (h << 15)) >>> 0);
    for (let j = 0; j < 2; j++) {
      const b = Number((x * m) >> 32n);
      bits[b >> 3]! |= 1 << (b & 7);
      x = (x + delta) & 0xffffffffn;
    }
  }
  return bits;
}

/**
 * An independent writer of FORMAT.md for codec 'none', used to build chunks whose crcs are right
 * but whose contents are hostile. Format version 2 unless `opts.version` is 1.
 */
function layout(blocks: RawBlock[], symbols: string[] = [], opts: { blockCount?: number; symbolCount?: number; version?: 1 | 2 } = {}): Buffer {
  const version = opts.version ?? 2;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header[4] = version;
  header[5] = 0;
  parts.push(header);
  const metas = new ByteWriter();
  metas.uvarint(opts.blockCount ?? blocks.length);
  let offset = HEADER_BYTES;
  for (const b of blocks) {
    metas.uvarint(b.entries);
    metas.i64be(b.minTsNs);
    metas.uvarint(b.spanNs);
    metas.uvarint(offset);
    metas.uvarint(b.payload.length);
    metas.uvarint(b.uncompressedBytes ?? b.payload.length);
    if (b.bloomField !== undefined) {
      for (const x of b.bloomField) metas.u8(x);
    } else if (b.lines === undefined) {
      metas.uvarint(0);
    } else {
      const bloom = refBloom(b.lines);
      metas.uvarint(bloom.length);
      metas.u8(3);
      metas.bytes(bloom);
    }
    if (version === 2) {
      if (b.gramField !== undefined) {
        for (const x of b.gramField) metas.u8(x);
      } else if (b.lines === undefined) {
        metas.uvarint(0);
      } else {
        const grams = refNeedleFilter(b.lines);
        metas.uvarint(grams.length);
        metas.u8(5);
        metas.u8(4);
        metas.u8(2);
        metas.bytes(grams);
      }
    }
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(b.payload));
    parts.push(b.payload, crc);
    offset += b.payload.length + 4;
  }
  const metasOffset = offset;
  const metasBytes = metas.finish();
  parts.push(metasBytes);
  const symbolsOffset = metasOffset + metasBytes.length;
  let symbolsBytes = 0;
  if (symbols.length > 0) {
    const sw = new ByteWriter();
    for (const s of symbols) sw.string(s);
    const sb = sw.finish();
    symbolsBytes = sb.length;
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(sb));
    parts.push(sb, crc);
  }
  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.writeUInt32BE(metasOffset, 0);
  footer.writeUInt32BE(metasBytes.length, 4);
  footer.writeUInt32BE(symbolsOffset, 8);
  footer.writeUInt32BE(symbolsBytes, 12);
  footer.writeUInt32BE(symbolsBytes, 16);
  footer.writeUInt32BE(((version === 2 ? 2 << 24 : 0) | (opts.symbolCount ?? symbols.length)) >>> 0, 20);
  footer.writeUInt32BE(zlib.crc32(footer.subarray(0, 24), zlib.crc32(metasBytes)), 24);
  parts.push(footer);
  return Buffer.concat(parts);
}

/** A block payload from raw varints: n, ts deltas, lengths, line bytes, then the metadata section. */
function payload(n: number, deltas: number[], lens: number[], lines: string, md: number[] = [0]): Buffer {
  const w = new ByteWriter();
  w.uvarint(n);
  for (const d of deltas) w.uvarint(d);
  for (const l of lens) w.uvarint(l);
  w.bytes(Buffer.from(lines));
  for (const v of md) w.uvarint(v);
  return w.finish();
}

describe('independent layout writer', () => {
  it('matches FORMAT.md: MemChunk bytes equal a hand-built chunk', () => {
    const c = new MemChunk({ codec: 'none', blockSizeBytes: 1 << 20, targetSizeBytes: 1 << 20 });
    c.append(T0 + 5n, Buffer.from('bb'), [{ name: 'k', value: 'v' }]);
    c.append(T0, Buffer.from('a'), []);
    const p = payload(2, [0, 5], [1, 2], 'abb', [1, 0, 1, 0, 1]);
    expect(c.encode().toString('hex')).toBe(layout([{ payload: p, entries: 2, minTsNs: T0, spanNs: 5, lines: ['a', 'bb'] }], ['k', 'v']).toString('hex'));
  });

  it('matches FORMAT.md token filters on varied lines', () => {
    const rng = new Rng(11);
    const alphabet = 'aZ09_ -.é\u00ff\n"=:/';
    const lines: string[] = [];
    const c = new MemChunk({ codec: 'none', blockSizeBytes: 1 << 20, targetSizeBytes: 1 << 20 });
    for (let i = 0; i < 200; i++) {
      let l = '';
      const len = rng.int(40);
      for (let j = 0; j < len; j++) l += alphabet[rng.int(alphabet.length)]!;
      if (c.append(T0 + BigInt(i), Buffer.from(l), [])) lines.push(l);
    }
    const bytes = c.encode();
    const d = decodeChunk(bytes);
    const m = d.blockMetas()[0]!;
    const want = refBloom(lines);
    const wantGrams = refNeedleFilter(lines);
    expect(m.bloomBytes).toBe(want.length);
    expect(m.gramBytes).toBe(wantGrams.length);
    // The needle filter ends the only meta, right before the (absent) symbols and the footer;
    // its gram length, window and k precede it, the token filter precedes those.
    const end = bytes.length - FOOTER_BYTES;
    expect(bytes.subarray(end - wantGrams.length, end).toString('hex')).toBe(wantGrams.toString('hex'));
    const gramsAt = end - wantGrams.length;
    expect([...bytes.subarray(gramsAt - 3, gramsAt)]).toEqual([5, 4, 2]);
    const tokenEnd = gramsAt - 3 - (wantGrams.length < 128 ? 1 : 2);
    expect(bytes.subarray(tokenEnd - want.length, tokenEnd).toString('hex')).toBe(want.toString('hex'));
    expect(bytes[tokenEnd - want.length - 1]).toBe(3);
  });

  it('hand-built chunks decode', () => {
    const p = payload(3, [0, 1, 0], [0, 2, 1], 'xyz', [2, 1, 1, 0, 0, 1, 0, 1]);
    const d = decodeChunk(layout([{ payload: p, entries: 3, minTsNs: -5n, spanNs: 1 }], ['a', 'b']));
    const b = d.readBlock(0);
    expect(Array.from(b.tsRel)).toEqual([0, 1, 1]);
    expect(b.metadata(0)).toEqual([{ name: 'b', value: 'a' }]);
    expect(b.metadata(1)).toEqual([]);
    expect(b.metadata(2)).toEqual([{ name: 'a', value: 'b' }]);
  });
});

describe('corrupt chunks', () => {
  for (const codec of CODECS) {
    it(`${codec}: a flipped byte in a block fails that block's crc, other blocks still read`, () => {
      const bytes = sample(codec).encode();
      const metas = decodeChunk(bytes).blockMetas();
      expect(metas.length).toBeGreaterThan(2);
      for (let i = 0; i < metas.length; i++) {
        const bad = Buffer.from(bytes);
        bad[metas[i]!.offset + (metas[i]!.compressedBytes >> 1)]! ^= 0x20;
        const d = decodeChunk(bad); // blocks are checked lazily
        expectCorrupt(() => d.readBlock(i), new RegExp(`^chunk block ${i}: crc32 mismatch`));
        for (let j = 0; j < metas.length; j++) if (j !== i) expect(d.readBlock(j).n).toBe(metas[j]!.entries);
      }
    });

    it(`${codec}: every truncation is rejected`, () => {
      const bytes = sample(codec, 12, 200).encode();
      for (let n = 0; n < bytes.length; n++) expectCorrupt(() => decodeChunk(bytes.subarray(0, n)));
    });

    it(`${codec}: single-byte flips anywhere either read back or raise ChunkCorruptError`, () => {
      const bytes = sample(codec, 8, 120).encode();
      for (let pos = 0; pos < bytes.length; pos++) {
        for (const mask of [0x01, 0x80]) {
          const bad = Buffer.from(bytes);
          bad[pos]! ^= mask;
          // The only flip that may go unnoticed is none: every byte is covered by a check.
          expectCorrupt(() => readAll(decodeChunk(bad)));
        }
      }
    });
  }

  it('random garbage never crashes', () => {
    const rng = new Rng(7);
    const good = sample('snappy', 10, 150).encode();
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(good);
      const flips = 1 + rng.int(8);
      for (let k = 0; k < flips; k++) {
        const p = rng.int(bad.length);
        bad[p] = (bad[p]! + 1 + rng.int(255)) & 0xff; // always a different byte
      }
      expectCorrupt(() => readAll(decodeChunk(bad)));
      expectCorrupt(() => readAll(decodeChunk(rng.bytes(rng.int(200)))));
    }
  });

  it('bad magic, version and codec id', () => {
    const bytes = sample('none').encode();
    const m = Buffer.from(bytes);
    m[0] = 0x00;
    expectCorrupt(() => decodeChunk(m), /bad chunk magic 0x004c5443/);
    const v = Buffer.from(bytes);
    v[4] = 3;
    expectCorrupt(() => decodeChunk(v), /unsupported chunk format version 3/);
    // The header and the footer's version byte must agree.
    const v1 = Buffer.from(bytes);
    v1[4] = 1;
    expectCorrupt(() => decodeChunk(v1), /header says format version 1, footer 2/);
    const v2 = layout([{ payload: payload(1, [0], [1], 'a'), entries: 1, minTsNs: T0, spanNs: 0 }], [], { version: 1 });
    v2[4] = 2;
    expectCorrupt(() => decodeChunk(v2), /header says format version 2, footer 1/);
    const c = Buffer.from(bytes);
    c[5] = 9;
    expectCorrupt(() => decodeChunk(c), /unknown chunk codec id 9/);
  });

  it('absurd meta lengths are rejected before allocating', () => {
    const p = payload(1, [0], [1], 'x');
    const ok = { payload: p, entries: 1, minTsNs: T0, spanNs: 0 };
    expect(decodeChunk(layout([ok])).readBlock(0).n).toBe(1);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, uncompressedBytes: 2 ** 40 }])), /bad uncompressed size/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, uncompressedBytes: 2 ** 31 }])), /bad uncompressed size/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, entries: 2 ** 31 }])), /bad entry count/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, entries: 0 }])), /bad entry count/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, spanNs: 2 ** 53 }])), /bad time span/);
    expectCorrupt(() => decodeChunk(layout([ok], [], { blockCount: 2 ** 31 })), /bad block count/);
    expectCorrupt(() => decodeChunk(layout([ok], [], { blockCount: 2 })), /chunk metas/);
    expectCorrupt(() => decodeChunk(layout([ok], [], { blockCount: 0 })), /chunk metas/);
    expectCorrupt(() => decodeChunk(layout([ok], ['a'], { symbolCount: 2 ** 31 })), /symbols/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, minTsNs: 2n ** 63n - 1n, spanNs: 1 }])), /bad time span/);
    // Token filter: size limit, size beyond the metas, probe count.
    expect(decodeChunk(layout([{ ...ok, bloomField: [1, 3, 0xff] }])).blockMayContainAll(0, tokenProbe(Uint32Array.of(1, 2, 3)))).toBe(true);
    expect(decodeChunk(layout([{ ...ok, bloomField: [1, 3, 0x00] }])).blockMayContainAll(0, tokenProbe(Uint32Array.of(1)))).toBe(false);
    expect(decodeChunk(layout([{ ...ok, bloomField: [1, 3, 0x00] }])).blockMayContainAll(0, tokenProbe(new Uint32Array(0)))).toBe(true);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, bloomField: [0x81, 0x80, 0x10, 3] }])), /bad token filter size 262145/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, bloomField: [5, 3, 0] }])), /bad token filter size 5/);
    // Needle filter (version 2): all-zero bits rule a gram out, all-one bits do not, unknown
    // gram parameters make the filter unusable (scan), and sizes and k are checked.
    const gramProbe = new BlockProbe(new Uint32Array(0), Uint32Array.of(7));
    expect(decodeChunk(layout([{ ...ok, gramField: [1, 5, 4, 2, 0x00] }])).blockMayContainAll(0, gramProbe)).toBe(false);
    expect(decodeChunk(layout([{ ...ok, gramField: [1, 5, 4, 2, 0xff] }])).blockMayContainAll(0, gramProbe)).toBe(true);
    expect(decodeChunk(layout([{ ...ok, gramField: [1, 6, 3, 2, 0x00] }])).blockMayContainAll(0, gramProbe)).toBe(true);
    expect(decodeChunk(layout([{ ...ok, gramField: [1, 5, 4, 2, 0x00] }])).blockMetas()[0]!.gramBytes).toBe(1);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, gramField: [1, 5, 4, 9, 0] }])), /bad needle filter parameters 5\/4\/9/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, gramField: [1, 0, 4, 2, 0] }])), /bad needle filter parameters/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, gramField: [5, 5, 4, 2, 0] }])), /bad needle filter size 5/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, gramField: [0x81, 0x80, 0x10, 5, 4, 2] }])), /bad needle filter size 262145/);
    // Version 1 chunks have no needle filter: gram probes never rule their blocks out.
    const v1 = decodeChunk(layout([{ ...ok, bloomField: [1, 3, 0x00] }], [], { version: 1 }));
    expect(v1.blockMetas()[0]!.gramBytes).toBe(0);
    expect(v1.blockMayContainAll(0, gramProbe)).toBe(true);
    expect(v1.blockMayContainAll(0, tokenProbe(Uint32Array.of(1)))).toBe(false);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, bloomField: [1, 0, 0] }])), /bad token filter probe count 0/);
    expectCorrupt(() => decodeChunk(layout([{ ...ok, bloomField: [1, 9, 0] }])), /bad token filter probe count 9/);
  });

  it('absurd payload lengths are rejected (crcs valid)', () => {
    const one = (p: Buffer, spanNs = 0, entries = 1, symbols: string[] = []) => {
      const d = decodeChunk(layout([{ payload: p, entries, minTsNs: T0, spanNs }], symbols));
      return () => readAll(d);
    };
    expectCorrupt(one(payload(2 ** 30, [0], [1], 'x')), /chunk block 0: payload has 1073741824 entries/);
    expectCorrupt(one(payload(1, [0], [2 ** 31], 'x')), /chunk block 0: entry 0 line length 2147483648 exceeds/);
    expectCorrupt(one(payload(1, [0], [1000], 'x')), /only 2 left/);
    expectCorrupt(one(payload(1, [0], [1], 'x', [2 ** 40])), /metadata pair count/);
    expectCorrupt(one(payload(1, [0], [1], 'x', [1, 1, 0, 1])), /symbol id 0 not below symbol count 0/);
    expectCorrupt(one(payload(1, [0], [1], 'x', [1, 1, 5, 0]), 0, 1, ['a']), /symbol id 5/);
    expectCorrupt(one(payload(1, [0], [1], 'x', [1, 9999, 0, 0]), 0, 1, ['a']), /bad metadata pair count/);
    expectCorrupt(one(payload(1, [0], [1], 'x', [0, 7])), /trailing bytes/);
    expectCorrupt(one(payload(1, [3], [1], 'x'), 3), /ts column spans/);
    expectCorrupt(one(payload(2, [0, 9], [1, 0], 'x'), 3, 2), /beyond block span/);
    expectCorrupt(one(payload(2, [0, 2], [1, 0], 'x'), 3, 2), /ts column spans \[0, 2\], meta says \[0, 3\]/);
    expectCorrupt(one(Buffer.from([1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), /chunk block 0/);
    // A corrupt symbols section shows up when metadata is first needed.
    const good = layout([{ payload: payload(1, [0], [1], 'x', [1, 1, 0, 0]), entries: 1, minTsNs: T0, spanNs: 0 }], ['abc']);
    const badSym = Buffer.from(good);
    badSym[badSym.length - FOOTER_BYTES - 5]! ^= 1;
    expectCorrupt(() => readAll(decodeChunk(badSym)), /chunk symbols: crc32 mismatch/);
  });
});

describe('readBlockUnlessLacking', () => {
  /** Line text built from a small alphabet, so that literals cross line boundaries and recur. */
  function chunkOf(codec: Codec, rng: Rng): { chunk: ReadableChunk; blocks: { ts: bigint; line: string }[][] } {
    const c = new MemChunk({ codec, blockSizeBytes: 700, targetSizeBytes: 1 << 20 });
    const words = ['GET', ' ', 'get', 'zq#x', 'ab', 'ba', 'é', 'status=5', '0', 'x', '\n'];
    for (let i = 0; i < 300; i++) {
      let line = '';
      const n = 1 + rng.int(12);
      for (let k = 0; k < n; k++) line += words[rng.int(words.length)]!;
      c.append(T0 + BigInt(i * 1000 + rng.int(900)), Buffer.from(line), i % 3 === 0 ? [{ name: 'level', value: 'info' }] : []);
    }
    const chunk = decodeChunk(c.encode());
    const blocks = chunkEntries(chunk).map((b) => b.map((e) => ({ ts: e.tsNs, line: e.line.toString('utf8') })));
    return { chunk, blocks };
  }

  for (const codec of CODECS) {
    it(`${codec}: lacking exactly when a literal is missing from the block's lines in range, else readBlock's block`, () => {
      const rng = new Rng(codec.length * 7919 + 11);
      const { chunk, blocks } = chunkOf(codec, rng);
      expect(blocks.length).toBeGreaterThan(5);
      const pick = (lines: string[]): string => {
        // A piece of the block's text: often inside one line, sometimes across a line end.
        const text = lines.join('');
        const at = rng.int(text.length);
        return text.slice(at, at + 1 + rng.int(6));
      };
      let lacking = 0;
      let blocksRead = 0;
      let partial = 0;
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < blocks.length; i++) {
          const entries = blocks[i]!;
          const lines = entries.map((e) => e.line);
          // The whole block, or a range cutting it (or missing it) at random timestamps.
          const first = entries[0]!.ts;
          const last = entries.at(-1)!.ts;
          const span = Number(last - first) + 2;
          const startNs = round % 2 === 0 ? first : first - 1n + BigInt(rng.int(span));
          const endNs = round % 2 === 0 ? last + 1n : startNs + BigInt(rng.int(span));
          const inRange = entries.filter((e) => e.ts >= startNs && e.ts < endNs).map((e) => e.line);
          if (inRange.length > 0 && inRange.length < lines.length) partial++;
          const lits = [pick(lines), round % 3 === 0 ? pick(blocks[rng.int(blocks.length)]!.map((e) => e.line)) : pick(lines), ['zq#x', 'ezq#x', 'ab ba', 'qq'][round % 4]!].slice(0, 1 + (round % 3));
          const want = lits.some((l) => l !== '' && !inRange.join('').includes(l));
          const got = chunk.readBlockUnlessLacking!(i, lits.filter((l) => l !== '').map((l) => Buffer.from(l)), startNs, endNs);
          if (want) {
            expect(got).toEqual({ lacking: true, entries: inRange.length, bytes: inRange.reduce((a, l) => a + Buffer.byteLength(l), 0) });
            lacking++;
          } else {
            expect('lacking' in got).toBe(false);
            expect(blockEntries(got as DecodedBlock)).toEqual(blockEntries(chunk.readBlock(i)));
            blocksRead++;
          }
        }
      }
      // Every answer was exercised, over ranges cutting blocks too.
      expect(lacking).toBeGreaterThan(20);
      expect(blocksRead).toBeGreaterThan(20);
      expect(partial).toBeGreaterThan(20);
    });
  }

  it('a block read after a transient decode keeps its own bytes', () => {
    const { chunk, blocks } = chunkOf('lz4', new Rng(5));
    const all = [0n, 1n << 62n] as const;
    const kept = chunk.readBlockUnlessLacking!(0, [Buffer.from(blocks[0]![0]!.line)], ...all) as DecodedBlock;
    const before = blockEntries(kept);
    // Later decodes reuse the decoder's memory; the block kept must not change with them.
    for (let i = 1; i < blocks.length; i++) chunk.readBlockUnlessLacking!(i, [Buffer.from('zq#x#zq')], ...all);
    expect(blockEntries(kept)).toEqual(before);
    expect(before.map((e) => e.line.toString())).toEqual(blocks[0]!.map((e) => e.line));
  });

  it('malformed columns are corrupt as with readBlock (crcs valid)', () => {
    const lacking = (p: Buffer, spanNs = 0, entries = 1) => {
      const d = decodeChunk(layout([{ payload: p, entries, minTsNs: T0, spanNs }]));
      return () => d.readBlockUnlessLacking!(0, [Buffer.from('zz')], T0, T0 + 10n);
    };
    expectCorrupt(lacking(payload(2 ** 30, [0], [1], 'x')), /chunk block 0: payload has 1073741824 entries/);
    expectCorrupt(lacking(payload(1, [0], [2 ** 31], 'x')), /line length 2147483648 exceeds/);
    expectCorrupt(lacking(payload(1, [0], [1000], 'x')), /only 2 left/);
    expectCorrupt(lacking(payload(1, [3], [1], 'x'), 3), /ts column spans/);
    expectCorrupt(lacking(payload(2, [0, 9], [1, 0], 'x'), 3, 2), /beyond block span/);
    expectCorrupt(lacking(payload(2, [0, 2], [1, 0], 'x'), 3, 2), /ts column spans \[0, 2\], meta says \[0, 3\]/);
    expectCorrupt(lacking(Buffer.from([1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), /chunk block 0/);
    // Sound columns, lines without the literal: their count (the metadata column is not read).
    expect(lacking(payload(2, [0, 3], [1, 2], 'xyz'), 3, 2)()).toEqual({ lacking: true, entries: 2, bytes: 3 });
  });
});
