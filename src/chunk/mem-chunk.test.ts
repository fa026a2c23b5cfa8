import { describe, expect, it } from 'vitest';
import { InvalidError, TooLargeError } from '../errors.js';
import type { StructuredMetadata } from '../model/stream.js';
import { CODECS, type Codec } from './codec.js';
import { MAX_BLOCK_SPAN_NS, MAX_ENTRIES_PER_BLOCK, MAX_TS_NS, MIN_TS_NS } from './consts.js';
import { blockEntryTs, decodeChunk, EMPTY_METADATA, MemChunk } from './mem-chunk.js';
import { blockEntries, chunkEntries, Rng, type TestEntry } from './testing.js';

const BIG = 16 * 1024 * 1024;

function chunk(codec: Codec = 'none', blockSizeBytes = BIG, targetSizeBytes = BIG): MemChunk {
  return new MemChunk({ codec, blockSizeBytes, targetSizeBytes });
}

function e(tsNs: bigint, line: string, metadata: StructuredMetadata = []): TestEntry {
  return { tsNs, line: Buffer.from(line), metadata };
}

function add(c: MemChunk, x: TestEntry): boolean {
  return c.append(x.tsNs, x.line, x.metadata);
}

/** Compact comparable form: deep-equality over Buffers is slow in vitest. */
function fmt(xs: readonly TestEntry[]): string[] {
  return xs.map((x) => `${x.tsNs}|${x.line.toString('hex')}|${x.metadata.map((m) => `${m.name}=${m.value}`).join(',')}`);
}

/** Stable sort by ts. */
function sortedByTs(xs: readonly TestEntry[]): TestEntry[] {
  return xs
    .map((x, i) => ({ x, i }))
    .sort((a, b) => (a.x.tsNs < b.x.tsNs ? -1 : a.x.tsNs > b.x.tsNs ? 1 : a.i - b.i))
    .map((p) => p.x);
}

const T0 = 1_700_000_000_000_000_000n;

describe('MemChunk round trip', () => {
  for (const codec of CODECS) {
    it(`${codec}: encode → decodeChunk → readBlock returns what was appended`, () => {
      const c = chunk(codec, 2048);
      const want: TestEntry[] = [];
      for (let i = 0; i < 300; i++) {
        const md: StructuredMetadata = i % 3 === 0 ? [] : [{ name: 'trace_id', value: `t${i % 17}` }, { name: 'pod', value: 'p-1' }];
        const x = e(T0 + BigInt(i) * 1_000_123n, `line ${i} ${'x'.repeat(i % 50)} é`, md);
        want.push(x);
        expect(add(c, x)).toBe(true);
      }
      expect(c.blockMetas().length).toBeGreaterThan(3);
      expect(c.entries()).toBe(300);
      const bytes = c.encode();
      expect(c.headBlock()).toBeNull();
      const d = decodeChunk(bytes);
      expect(d.codec).toBe(codec);
      expect(d.entries()).toBe(300);
      expect(d.minTsNs()).toBe(T0);
      expect(d.maxTsNs()).toBe(T0 + 299n * 1_000_123n);
      expect(d.blockMetas()).toEqual(c.blockMetas());
      expect(d.uncompressedBytes()).toBe(c.uncompressedBytes());
      expect(fmt(chunkEntries(d).flat())).toEqual(fmt(want));
      expect(fmt(chunkEntries(c).flat())).toEqual(fmt(want));
      // Entries without metadata share the frozen empty array.
      const b0 = d.readBlock(0);
      expect(b0.metadata(0)).toBe(EMPTY_METADATA);
      expect(Object.isFrozen(b0.metadata(0))).toBe(true);
    });
  }

  it('metas describe the blocks', () => {
    const c = chunk('snappy', 1000);
    for (let i = 0; i < 50; i++) add(c, e(T0 + BigInt(i), 'y'.repeat(100)));
    const metas = c.blockMetas();
    let entries = 0;
    for (let i = 0; i < metas.length; i++) {
      const m = metas[i]!;
      const b = c.readBlock(i);
      expect(b.n).toBe(m.entries);
      expect(b.baseNs).toBe(m.minTsNs);
      expect(blockEntryTs(b, b.n - 1)).toBe(m.maxTsNs);
      expect(b.lineOffsets.length).toBe(b.n + 1);
      expect(b.lines.length).toBe(b.lineOffsets[b.n]);
      if (i > 0) expect(m.offset).toBe(metas[i - 1]!.offset + metas[i - 1]!.compressedBytes + 4);
      entries += m.entries;
    }
    expect(entries + (c.headBlock()?.n ?? 0)).toBe(50);
    expect(Object.isFrozen(metas[0])).toBe(true);
  });

  it('an empty chunk encodes and decodes', () => {
    const c = chunk('zstd');
    expect(c.entries()).toBe(0);
    expect(c.minTsNs()).toBe(0n);
    expect(c.maxTsNs()).toBe(0n);
    expect(c.headBlock()).toBeNull();
    c.cutBlock();
    expect(c.blockMetas()).toEqual([]);
    const d = decodeChunk(c.encode());
    expect(d.entries()).toBe(0);
    expect(d.blockMetas()).toEqual([]);
    expect(d.minTsNs()).toBe(0n);
    expect(() => d.readBlock(0)).toThrow(RangeError);
  });

  it('stores all line bytes of a block contiguously (one indexOf finds every hit)', () => {
    const c = chunk('zstd');
    const lines = ['GET /a 200', 'POST /b 500 error', 'GET /c 200', 'PUT /d error 503'];
    lines.forEach((l, i) => c.append(T0 + BigInt(i), Buffer.from(l), []));
    const b = decodeChunk(c.encode()).readBlock(0);
    expect(b.lines.toString()).toBe(lines.join(''));
    const needle = Buffer.from('error');
    const hits: number[] = [];
    for (let p = b.lines.indexOf(needle); p >= 0; p = b.lines.indexOf(needle, p + 1)) {
      let i = 0;
      while (b.lineOffsets[i + 1]! <= p) i++;
      if (p + needle.length <= b.lineOffsets[i + 1]!) hits.push(i);
    }
    expect(hits).toEqual([1, 3]);
  });

  it('keeps empty lines and arbitrary bytes', () => {
    const c = chunk('lz4');
    const lines = [Buffer.alloc(0), Buffer.from([0, 255, 10, 13]), Buffer.alloc(0), Buffer.from('\u{1F600}')];
    lines.forEach((l, i) => c.append(T0 + BigInt(i), l, []));
    const got = blockEntries(decodeChunk(c.encode()).readBlock(0));
    expect(got.map((x) => x.line)).toEqual(lines);
  });

  it('copies the appended line', () => {
    const c = chunk();
    const body = Buffer.from('abcdef');
    c.append(T0, body.subarray(1, 4), []);
    body.fill(0);
    expect(blockEntries(c.headBlock()!)[0]!.line.toString()).toBe('bcd');
  });

  it('a chunk stays appendable after encode', () => {
    const c = chunk('gzip');
    add(c, e(T0, 'a'));
    const first = c.encode();
    add(c, e(T0 + 1n, 'b'));
    const d = decodeChunk(c.encode());
    expect(decodeChunk(first).entries()).toBe(1);
    expect(chunkEntries(d).flat().map((x) => x.line.toString())).toEqual(['a', 'b']);
  });
});

describe('out-of-order appends', () => {
  it('sorts the head on cut, stable for equal timestamps', () => {
    const c = chunk('snappy');
    const xs = [e(T0 + 5n, 'a'), e(T0 + 1n, 'b'), e(T0 + 5n, 'c'), e(T0 + 3n, 'd', [{ name: 'k', value: 'v' }]), e(T0 + 1n, 'e'), e(T0 - 10n, 'f')];
    for (const x of xs) expect(add(c, x)).toBe(true);
    expect(c.minTsNs()).toBe(T0 - 10n);
    expect(c.maxTsNs()).toBe(T0 + 5n);
    const head = c.headBlock()!;
    expect(head.baseNs).toBe(T0 - 10n);
    expect(Array.from(head.tsRel)).toEqual([0, 11, 11, 13, 15, 15]);
    expect(blockEntries(head)).toEqual(sortedByTs(xs));
    c.cutBlock();
    const m = c.blockMetas()[0]!;
    expect(m.minTsNs).toBe(T0 - 10n);
    expect(m.maxTsNs).toBe(T0 + 5n);
    expect(chunkEntries(decodeChunk(c.encode()))).toEqual([sortedByTs(xs)]);
  });

  it('cut blocks may overlap in time', () => {
    const c = chunk('none');
    add(c, e(T0 + 100n, 'late'));
    c.cutBlock();
    add(c, e(T0, 'early'));
    add(c, e(T0 + 200n, 'later'));
    const d = decodeChunk(c.encode());
    expect(d.blockMetas().map((m) => [m.minTsNs, m.maxTsNs])).toEqual([
      [T0 + 100n, T0 + 100n],
      [T0, T0 + 200n],
    ]);
    expect(d.minTsNs()).toBe(T0);
    expect(d.maxTsNs()).toBe(T0 + 200n);
  });
});

describe('duplicates', () => {
  it('drops an exact duplicate in the head, in and out of order', () => {
    const c = chunk();
    expect(add(c, e(T0, 'a'))).toBe(true);
    expect(add(c, e(T0, 'a'))).toBe(false);
    expect(add(c, e(T0, 'b'))).toBe(true);
    expect(add(c, e(T0, 'a', [{ name: 'x', value: 'y' }]))).toBe(false); // metadata does not count
    expect(add(c, e(T0 + 1n, 'a'))).toBe(true);
    expect(add(c, e(T0, 'b'))).toBe(false); // out of order now, through the ts index
    expect(add(c, e(T0 - 1n, 'a'))).toBe(true);
    expect(add(c, e(T0 - 1n, 'a'))).toBe(false);
    expect(add(c, e(T0, 'ab'))).toBe(true);
    expect(add(c, e(T0 + 1n, 'a'))).toBe(false);
    expect(add(c, e(T0 + 2n, ''))).toBe(true);
    expect(add(c, e(T0 + 2n, ''))).toBe(false);
    expect(c.entries()).toBe(6);
    expect(blockEntries(c.headBlock()!).map((x) => `${x.tsNs - T0}:${x.line}`)).toEqual(['-1:a', '0:a', '0:b', '0:ab', '1:a', '2:']);
  });

  it('only checks the head block', () => {
    const c = chunk();
    add(c, e(T0, 'a'));
    c.cutBlock();
    expect(add(c, e(T0, 'a'))).toBe(true);
    expect(c.entries()).toBe(2);
  });

  it('stores nothing for a duplicate (sizes unchanged)', () => {
    const c = chunk();
    add(c, e(T0, 'abc', [{ name: 'n', value: 'v' }]));
    const before = c.uncompressedBytes();
    add(c, e(T0, 'abc', [{ name: 'n', value: 'v' }]));
    expect(c.uncompressedBytes()).toBe(before);
  });
});

describe('timestamps', () => {
  it('are exact near 2^63, around 2^53 and below zero', () => {
    const near63 = [MAX_TS_NS, MAX_TS_NS - 1n, MAX_TS_NS - 1000n, MAX_TS_NS - 2n ** 40n];
    const around53 = [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 53n + 3n, 2n ** 53n - 7n];
    const negative = [MIN_TS_NS, MIN_TS_NS + 1n, MIN_TS_NS + 12345n];
    for (const group of [near63, around53, negative, [-1n, 0n, 1n]]) {
      for (const codec of ['none', 'zstd'] as const) {
        const c = chunk(codec);
        const xs = group.map((ts, i) => e(ts, `l${i}`));
        for (const x of xs) expect(add(c, x)).toBe(true);
        expect(blockEntries(c.headBlock()!)).toEqual(sortedByTs(xs));
        const d = decodeChunk(c.encode());
        expect(chunkEntries(d).flat()).toEqual(sortedByTs(xs));
        const min = group.reduce((a, b) => (b < a ? b : a));
        const max = group.reduce((a, b) => (b > a ? b : a));
        expect(d.minTsNs()).toBe(min);
        expect(d.maxTsNs()).toBe(max);
      }
    }
  });

  it('cuts before a block would span more than MAX_BLOCK_SPAN_NS', () => {
    const c = chunk('snappy');
    const span = BigInt(MAX_BLOCK_SPAN_NS);
    add(c, e(0n, 'a'));
    add(c, e(span, 'b')); // exactly the max span: same block
    expect(c.blockMetas().length).toBe(0);
    add(c, e(-1n, 'c')); // would stretch past it: cut first
    expect(c.blockMetas().length).toBe(1);
    add(c, e(2n ** 62n, 'd'));
    add(c, e(-(2n ** 62n), 'e'));
    const d = decodeChunk(c.encode());
    expect(d.blockMetas().length).toBe(4);
    expect(chunkEntries(d).map((b) => b.map((x) => x.line.toString()))).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
    expect(d.minTsNs()).toBe(-(2n ** 62n));
    expect(d.maxTsNs()).toBe(2n ** 62n);
  });

  it('rejects timestamps outside int64 and stores nothing', () => {
    const c = chunk();
    expect(() => c.append(2n ** 63n, Buffer.from('x'), [])).toThrow(InvalidError);
    expect(() => c.append(MIN_TS_NS - 1n, Buffer.from('x'), [])).toThrow(InvalidError);
    add(c, e(MAX_TS_NS - 5n, 'ok'));
    expect(() => c.append(MAX_TS_NS + 1n, Buffer.from('x'), [])).toThrow(InvalidError);
    expect(c.entries()).toBe(1);
    expect(c.blockMetas().length).toBe(0); // the rejected entry did not cut the head
    expect(chunkEntries(decodeChunk(c.encode())).flat().map((x) => x.tsNs)).toEqual([MAX_TS_NS - 5n]);
  });
});

describe('block cutting and sizes', () => {
  it('cuts the head automatically at blockSizeBytes', () => {
    const c = chunk('none', 1000);
    // Each entry estimates 100 line bytes + 8 overhead: the 10th reaches 1080 ≥ 1000.
    for (let i = 0; i < 25; i++) add(c, e(T0 + BigInt(i), String(i).padStart(100, '-')));
    expect(c.blockMetas().map((m) => m.entries)).toEqual([10, 10]);
    expect(c.headBlock()!.n).toBe(5);
    for (const m of c.blockMetas()) {
      expect(m.uncompressedBytes).toBeGreaterThanOrEqual(1000);
      expect(m.compressedBytes).toBe(m.uncompressedBytes);
    }
    expect(c.compressedBytes()).toBe(c.blockMetas()[0]!.compressedBytes * 2);
    expect(c.uncompressedBytes()).toBe(c.compressedBytes() + 5 * 108);
  });

  it('cuts at MAX_ENTRIES_PER_BLOCK even when lines are tiny', () => {
    const c = chunk('snappy');
    for (let i = 0; i < MAX_ENTRIES_PER_BLOCK + 3; i++) c.append(T0 + BigInt(i), Buffer.alloc(0), []);
    expect(c.blockMetas().map((m) => m.entries)).toEqual([MAX_ENTRIES_PER_BLOCK]);
    const d = decodeChunk(c.encode());
    expect(d.readBlock(0).n).toBe(MAX_ENTRIES_PER_BLOCK);
    expect(d.readBlock(1).n).toBe(3);
  });

  it('isFull uses compressed cut blocks and their token filters plus the head scaled by the compression ratio', () => {
    const c = chunk('gzip', 4096, 20_000);
    let i = 0;
    while (!c.isFull()) {
      add(c, e(T0 + BigInt(i), `request ${i % 10} served in ${i % 7}ms by handler /api/v1/push`));
      i++;
      expect(i).toBeLessThan(100_000);
    }
    const cutUncompressed = c.uncompressedBytes() - headEstimate(c);
    const ratio = c.compressedBytes() / cutUncompressed;
    expect(ratio).toBeLessThan(0.5); // gzip compresses this text well: far more raw bytes fit
    const bloomBytes = c.blockMetas().reduce((a, m) => a + m.bloomBytes + m.gramBytes, 0);
    expect(bloomBytes).toBeGreaterThan(0);
    expect(c.compressedBytes() + bloomBytes + headEstimate(c) * ratio).toBeGreaterThanOrEqual(20_000);
    expect(cutUncompressed).toBeGreaterThan(40_000);
    const encoded = c.encode().length;
    expect(encoded).toBeGreaterThan(15_000);
    expect(encoded).toBeLessThan(26_000);
  });

  it('isFull is false for an empty chunk and counts the head before any cut', () => {
    const c = chunk('none', BIG, 1000);
    expect(c.isFull()).toBe(false);
    add(c, e(T0, 'x'.repeat(500)));
    expect(c.isFull()).toBe(false);
    add(c, e(T0 + 1n, 'x'.repeat(500)));
    expect(c.isFull()).toBe(true);
  });

  it('validates options and input limits', () => {
    expect(() => new MemChunk({ codec: 'none', blockSizeBytes: 0, targetSizeBytes: 1 })).toThrow(InvalidError);
    expect(() => new MemChunk({ codec: 'none', blockSizeBytes: 2 ** 30, targetSizeBytes: 1 })).toThrow(InvalidError);
    expect(() => new MemChunk({ codec: 'none', blockSizeBytes: 1.5, targetSizeBytes: 1 })).toThrow(InvalidError);
    expect(() => new MemChunk({ codec: 'none', blockSizeBytes: 10, targetSizeBytes: 0 })).toThrow(InvalidError);
    const c = chunk();
    expect(() => c.append(T0, Buffer.alloc(16 * 1024 * 1024 + 1), [])).toThrow(TooLargeError);
    const md = Array.from({ length: 4097 }, (_, i) => ({ name: `n${i}`, value: 'v' }));
    expect(() => c.append(T0, Buffer.from('x'), md)).toThrow(TooLargeError);
    expect(() => c.append(T0, Buffer.from('x'), [{ name: 'big', value: 'v'.repeat(1024 * 1024 + 1) }])).toThrow(TooLargeError);
    expect(c.entries()).toBe(0);
  });
});

/** The head's size estimate: uncompressedBytes minus the exact cut-block sizes. */
function headEstimate(c: MemChunk): number {
  let cut = 0;
  for (const m of c.blockMetas()) cut += m.uncompressedBytes;
  return c.uncompressedBytes() - cut;
}

describe('headBlock snapshots', () => {
  it('stay unchanged after later appends and cuts (in-order, shared columns)', () => {
    const c = chunk('none');
    const xs = [e(T0, 'a', [{ name: 'k', value: '1' }]), e(T0 + 1n, 'b'), e(T0 + 2n, 'c')];
    xs.forEach((x) => add(c, x));
    const snap = c.headBlock()!;
    const before = blockEntries(snap);
    expect(before).toEqual(xs);
    for (let i = 0; i < 200; i++) add(c, e(T0 + 3n + BigInt(i), 'z'.repeat(i)));
    c.cutBlock();
    for (let i = 0; i < 10; i++) add(c, e(T0 + BigInt(i), 'overwrite?', [{ name: 'q', value: 'w' }]));
    expect(blockEntries(snap)).toEqual(before);
  });

  it('stay unchanged after later appends (out of order, sorted copy)', () => {
    const c = chunk('none');
    add(c, e(T0 + 5n, 'a'));
    add(c, e(T0, 'b'));
    const snap = c.headBlock()!;
    add(c, e(T0 - 5n, 'c'));
    c.cutBlock();
    add(c, e(T0 + 100n, 'd'));
    expect(blockEntries(snap).map((x) => x.line.toString())).toEqual(['b', 'a']);
    expect(snap.baseNs).toBe(T0);
  });
});

describe('randomized round trip (seeded)', () => {
  it('matches a simple model', () => {
    const rng = new Rng(0x5eed);
    const names = ['trace_id', 'span_id', 'user', 'é'];
    for (let iter = 0; iter < 40; iter++) {
      const codec = CODECS[rng.int(CODECS.length)]!;
      const c = chunk(codec, 200 + rng.int(3000), BIG);
      const base = T0 + BigInt(rng.int(1 << 30));
      const blocks: TestEntry[][] = [];
      let head: TestEntry[] = [];
      const count = rng.int(400);
      for (let k = 0; k < count; k++) {
        const ts = base + BigInt(rng.int(50)) * BigInt(1 + rng.int(3));
        const line = rng.int(4) === 0 ? Buffer.from(`dup${rng.int(3)}`) : rng.bytes(rng.int(120));
        const md: StructuredMetadata = rng.int(3) === 0 ? [] : Array.from({ length: 1 + rng.int(3) }, () => ({ name: names[rng.int(names.length)]!, value: String(rng.int(20)) }));
        const x: TestEntry = { tsNs: ts, line, metadata: md };
        const dup = head.some((h) => h.tsNs === ts && h.line.equals(line));
        const metasBefore = c.blockMetas().length;
        expect(add(c, x)).toBe(!dup);
        if (!dup) head.push(x);
        if (c.blockMetas().length > metasBefore) {
          blocks.push(sortedByTs(head));
          head = [];
        }
        if (rng.int(200) === 0) {
          c.cutBlock();
          if (head.length > 0) blocks.push(sortedByTs(head));
          head = [];
        }
      }
      expect(fmt(blockEntries(c.headBlock() ?? emptyBlock()))).toEqual(fmt(sortedByTs(head)));
      if (head.length > 0) blocks.push(sortedByTs(head));
      const d = decodeChunk(c.encode());
      expect(chunkEntries(d).map(fmt)).toEqual(blocks.map(fmt));
      expect(d.entries()).toBe(blocks.reduce((a, b) => a + b.length, 0));
    }
  });
});

function emptyBlock() {
  return { n: 0, baseNs: 0n, tsRel: new Float64Array(0), lineOffsets: new Int32Array(1), lines: Buffer.alloc(0), metadata: () => EMPTY_METADATA };
}

describe('MemChunk shared metadata arrays', () => {
  it('reads back entries that share frozen metadata arrays, interleaved with others', () => {
    const info = Object.freeze([Object.freeze({ name: 'detected_level', value: 'info' })]);
    const warn = Object.freeze([Object.freeze({ name: 'detected_level', value: 'warn' }), Object.freeze({ name: 'trace_id', value: 't1' })]);
    // More frozen arrays than a head remembers (8): remembered ones are replaced round robin.
    const many = Array.from({ length: 11 }, (_, k) => Object.freeze([Object.freeze({ name: k % 2 === 0 ? 'detected_level' : 'kind', value: `v${k}` })]));
    const c = chunk('snappy', 2048);
    const want: TestEntry[] = [];
    for (let i = 0; i < 500; i++) {
      const md = i % 7 === 0 ? warn : i % 11 === 0 ? [{ name: 'user', value: `u${i}` }] : i % 13 === 0 ? [] : i % 3 === 0 ? many[(i * 5) % many.length]! : info;
      const x = e(T0 + BigInt(i), `line ${i}`, md);
      expect(add(c, x)).toBe(true);
      want.push(x);
    }
    const got = chunkEntries(decodeChunk(c.encode())).flat();
    expect(fmt(got)).toEqual(fmt(want));
  });
});
