/**
 * Encoding and decoding of index segments: the immutable objects holding one writer's
 * series, postings and chunk refs for one (tenant, day). Byte layout in FORMAT.md.
 */
import { crc32 } from '../../util/crc32.js';
import { labelsToString, type Labels } from '../../model/labels.js';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { KeptAnswers } from '../../util/kept-answers.js';
import { ascending } from '../../util/sorted.js';
import type { ChunkRef } from '../chunk-ref.js';
import { compareKeys } from '../object-client.js';
import {
  MAX_LABELS_PER_SERIES,
  MAX_REPLACED_SEGMENTS,
  MAX_SEGMENT_BYTES,
  MAX_SYMBOL_BYTES,
  SEGMENT_FOOTER_BYTES,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  MAX_RECOMPRESSED_BYTES,
  SEGMENT_VERSION,
  SEGMENT_VERSION_RECOMPRESSED,
  SEGMENT_VERSION_REPLACES,
} from './consts.js';
import { IndexCorruptError } from './errors.js';
import { dayStartNs } from './keys.js';

/** One series and its chunks, as handed to `encodeSegment`. */
export interface SegmentSeriesInput {
  fingerprint: string;
  labels: Labels;
  /** At least one; the tenant and fingerprint fields are not stored (implied by the segment). */
  refs: readonly ChunkRef[];
}

/** What a segment holds before encoding. */
export interface SegmentInput {
  tenant: string;
  day: number;
  series: readonly SegmentSeriesInput[];
  /**
   * File names (last key segment) of segments of the same table that this one supersedes:
   * readers ignore them while this segment exists. Written by the compactor so that swapping
   * many segments for one is a single atomic put. Absent or empty: a version 1 segment.
   */
  replaces?: readonly string[];
  /**
   * The chunk settings (`chunkSettingsTag`) every chunk lying wholly in this day was rewritten
   * with by the compactor's recompression (ADR 0038); written only with `replaces` (a version
   * 3 segment). Absent or empty: not recompressed.
   */
  recompressed?: string;
}

const EMPTY_POSTINGS = new Uint32Array(0);
/** Answers a segment keeps at most (`answer`). */
const KEPT_ANSWERS = 4;

/**
 * A decoded segment. Series are numbered 0..n-1 in fingerprint order; chunk `j` of series `i`
 * lies in `[chunkStart[i], chunkStart[i+1])` of the column arrays. Immutable and shared
 * between queries through the reader's cache.
 */
export class Segment {
  /** Object key it was read from ('' when decoded from bare bytes). */
  readonly key: string;
  readonly tenant: string;
  readonly day: number;
  /** Encoded size in bytes. */
  readonly sizeBytes: number;
  /** Per series. */
  readonly fingerprints: string[];
  /** Per series; names ascending. */
  readonly labels: Labels[];
  /** Per series + 1: offsets into the chunk columns. */
  readonly chunkStart: Uint32Array;
  /** Chunk columns. */
  readonly fromNs: BigInt64Array;
  readonly throughNs: BigInt64Array;
  readonly checksum: Uint32Array;
  readonly chunkSizeBytes: Float64Array;
  readonly entries: Float64Array;
  readonly uncompressedBytes: Float64Array;
  /** Label name → value → ascending series numbers. */
  readonly postings: Map<string, Map<string, Uint32Array>>;
  /** Smallest chunk from and largest chunk through in the segment. */
  readonly minFromNs: bigint;
  readonly maxThroughNs: bigint;
  /** File names of the segments of this table that this one supersedes (empty for version 1). */
  readonly replaces: readonly string[];
  /** SegmentInput.recompressed ('' when none: versions 1 and 2). */
  readonly recompressed: string;
  #sortedNames: readonly string[] | null = null;
  readonly #sortedValues = new Map<string, readonly string[]>();
  /** Series indices in label-string order (made on first use), see `inKeyOrder`. */
  #keyOrder: Uint32Array | null = null;
  /** See `answer`. */
  readonly #answers = new KeptAnswers(KEPT_ANSWERS);

  constructor(fields: {
    key: string;
    tenant: string;
    day: number;
    sizeBytes: number;
    fingerprints: string[];
    labels: Labels[];
    chunkStart: Uint32Array;
    fromNs: BigInt64Array;
    throughNs: BigInt64Array;
    checksum: Uint32Array;
    chunkSizeBytes: Float64Array;
    entries: Float64Array;
    uncompressedBytes: Float64Array;
    postings: Map<string, Map<string, Uint32Array>>;
    replaces?: readonly string[];
    recompressed?: string;
  }) {
    this.key = fields.key;
    this.replaces = fields.replaces ?? [];
    this.recompressed = fields.recompressed ?? '';
    this.tenant = fields.tenant;
    this.day = fields.day;
    this.sizeBytes = fields.sizeBytes;
    this.fingerprints = fields.fingerprints;
    this.labels = fields.labels;
    this.chunkStart = fields.chunkStart;
    this.fromNs = fields.fromNs;
    this.throughNs = fields.throughNs;
    this.checksum = fields.checksum;
    this.chunkSizeBytes = fields.chunkSizeBytes;
    this.entries = fields.entries;
    this.uncompressedBytes = fields.uncompressedBytes;
    this.postings = fields.postings;
    let min = 0n;
    let max = 0n;
    for (let j = 0; j < fields.fromNs.length; j++) {
      const f = fields.fromNs[j]!;
      const t = fields.throughNs[j]!;
      if (j === 0 || f < min) min = f;
      if (j === 0 || t > max) max = t;
    }
    this.minFromNs = min;
    this.maxThroughNs = max;
  }

  /** Number of series. */
  get seriesCount(): number {
    return this.fingerprints.length;
  }

  /** Posting list of `name=value` (empty when absent). */
  postingsOf(name: string, value: string): Uint32Array {
    return this.postings.get(name)?.get(value) ?? EMPTY_POSTINGS;
  }

  /**
   * The label sets of series `indices` (distinct) in label-string order, the order of a series
   * answer. The segment puts its series in that order once (a sort of its label strings, kept as
   * 4 bytes per series); a request marks the series it selected and walks that order.
   */
  inKeyOrder(indices: ArrayLike<number>): Labels[] {
    const labels = this.labels;
    const order = (this.#keyOrder ??= orderByKey(labels));
    const out = new Array<Labels>(indices.length);
    if (indices.length === order.length) {
      for (let k = 0; k < order.length; k++) out[k] = labels[order[k]!]!;
      return out;
    }
    const picked = new Uint8Array(labels.length);
    for (let k = 0; k < indices.length; k++) picked[indices[k]!] = 1;
    let o = 0;
    for (let k = 0; k < order.length && o < out.length; k++) {
      const i = order[k]!;
      if (picked[i] === 1) out[o++] = labels[i]!;
    }
    return out;
  }

  /**
   * The answer to a question about the segment's series (`key`: `metadataKey`), made by `make`
   * on first use and kept, frozen: a segment never changes, so the same question over a range
   * holding the whole segment gets the same list (and the answer's bytes kept with it). At most KEPT_ANSWERS answers, holding at most as many items
   * as the segment has series and label names, the least recently used dropped first
   * (util/kept-answers.ts).
   */
  answer<T>(key: string, make: () => readonly T[]): readonly T[] {
    return this.#answers.get<T>(key, 0) ?? this.#answers.keep(key, 0, make(), this.labels.length + this.postings.size);
  }

  /** Label names of the segment's series, ascending; made on first use (a segment never changes). Shared: do not modify. */
  sortedNames(): readonly string[] {
    return (this.#sortedNames ??= ascending([...this.postings.keys()].sort()));
  }

  /**
   * Values of label `name` in the segment, ascending (empty when no series carries it); made on
   * first use and kept, so a cached segment answers `label/<name>/values` without a Set and a
   * sort of its 100k values per request. Shared: do not modify.
   */
  sortedValues(name: string): readonly string[] {
    let v = this.#sortedValues.get(name);
    if (v === undefined) {
      const byValue = this.postings.get(name);
      v = ascending(byValue === undefined ? [] : [...byValue.keys()].sort());
      this.#sortedValues.set(name, v);
    }
    return v;
  }

  /** Rough heap cost, for the reader's byte-bounded cache. */
  approxHeapBytes(): number {
    // The series order of `inKeyOrder` adds 4 bytes per series once made.
    return this.sizeBytes * 3 + this.fromNs.length * 48 + this.fingerprints.length * 100;
  }

  /** The chunk at column index `j` as a ChunkRef. */
  refAt(series: number, j: number): ChunkRef {
    return {
      tenant: this.tenant,
      fingerprint: this.fingerprints[series]!,
      fromNs: this.fromNs[j]!,
      throughNs: this.throughNs[j]!,
      checksum: this.checksum[j]!,
      sizeBytes: this.chunkSizeBytes[j]!,
      entries: this.entries[j]!,
      uncompressedBytes: this.uncompressedBytes[j]!,
    };
  }
}

const SURROGATE_RE = /[\uD800-\uDFFF]/;

/**
 * The string as it will read back from UTF-8: lone surrogates become U+FFFD. Without this, two
 * distinct strings could encode to equal bytes and the reader would reject the symbol table.
 */
function wellFormed(s: string): string {
  return SURROGATE_RE.test(s) ? Buffer.from(s, 'utf8').toString('utf8') : s;
}

function zigzagBig(v: bigint): bigint {
  return v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
}

function unzigzagBig(u: bigint): bigint {
  return (u & 1n) === 0n ? u >> 1n : -((u + 1n) >> 1n);
}

function compareRefs(a: ChunkRef, b: ChunkRef): number {
  if (a.fromNs !== b.fromNs) return a.fromNs < b.fromNs ? -1 : 1;
  if (a.throughNs !== b.throughNs) return a.throughNs < b.throughNs ? -1 : 1;
  return a.checksum - b.checksum;
}

/**
 * Encodes a segment. Series are sorted by fingerprint, chunks by (from, through, checksum),
 * labels by name. The caller guarantees valid refs, unique fingerprints and unique label
 * names (IndexWriter checks them).
 */
export function encodeSegment(input: SegmentInput): Buffer {
  // Symbol table: every label name and value, sorted by UTF-8 bytes, prefix-compressed.
  const symbolSet = new Set<string>();
  for (const s of input.series) {
    for (const l of s.labels) {
      symbolSet.add(wellFormed(l.name));
      symbolSet.add(wellFormed(l.value));
    }
  }
  const symbols = [...symbolSet].sort(compareKeys);
  const symbolId = new Map<string, number>();
  for (let i = 0; i < symbols.length; i++) symbolId.set(symbols[i]!, i);

  const series = [...input.series].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));

  const w = new ByteWriter(64 * 1024);
  w.bytes(SEGMENT_MAGIC);
  const replaces = input.replaces ?? [];
  const recompressed = input.recompressed ?? '';
  if (recompressed !== '' && replaces.length === 0) throw new RangeError('a recompressed segment must name the segments it replaces');
  if (Buffer.byteLength(recompressed) > MAX_RECOMPRESSED_BYTES) throw new RangeError(`recompression settings longer than ${MAX_RECOMPRESSED_BYTES} bytes`);
  w.u8(recompressed !== '' ? SEGMENT_VERSION_RECOMPRESSED : replaces.length > 0 ? SEGMENT_VERSION_REPLACES : SEGMENT_VERSION);
  w.string(input.tenant);
  w.uvarint(input.day);

  w.uvarint(symbols.length);
  let prev: Buffer = Buffer.alloc(0);
  for (const sym of symbols) {
    const cur = Buffer.from(sym, 'utf8');
    const max = Math.min(prev.length, cur.length);
    let shared = 0;
    while (shared < max && prev[shared] === cur[shared]) shared++;
    w.uvarint(shared);
    w.lenBytes(cur.subarray(shared));
    prev = cur;
  }

  // name symbol → value symbol → series numbers (ascending because series are visited in order)
  const postings = new Map<number, Map<number, number[]>>();
  const base = dayStartNs(input.day);
  w.uvarint(series.length);
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    // Readers rely on it: a series whose segment lies wholly in a range has a chunk there.
    if (s.refs.length === 0) throw new RangeError(`series ${s.fingerprint} has no chunk`);
    w.u64be(BigInt('0x' + s.fingerprint));
    const ids = s.labels.map((l) => [symbolId.get(wellFormed(l.name))!, symbolId.get(wellFormed(l.value))!] as const).sort((a, b) => a[0] - b[0]);
    w.uvarint(ids.length);
    for (const [n, v] of ids) {
      w.uvarint(n);
      w.uvarint(v);
      let byValue = postings.get(n);
      if (byValue === undefined) postings.set(n, (byValue = new Map()));
      let list = byValue.get(v);
      if (list === undefined) byValue.set(v, (list = []));
      list.push(i);
    }
    const refs = [...s.refs].sort(compareRefs);
    w.uvarint(refs.length);
    let prevFrom = base;
    for (const r of refs) {
      w.uvarintBig(zigzagBig(r.fromNs - prevFrom));
      w.uvarintBig(r.throughNs - r.fromNs);
      w.u32be(r.checksum);
      w.uvarint(r.sizeBytes);
      w.uvarint(r.entries);
      w.uvarint(r.uncompressedBytes);
      prevFrom = r.fromNs;
    }
  }

  const names = [...postings.keys()].sort((a, b) => a - b);
  w.uvarint(names.length);
  for (const n of names) {
    const byValue = postings.get(n)!;
    const values = [...byValue.keys()].sort((a, b) => a - b);
    w.uvarint(n);
    w.uvarint(values.length);
    for (const v of values) {
      const list = byValue.get(v)!;
      w.uvarint(v);
      w.uvarint(list.length);
      let last = -1;
      for (const x of list) {
        w.uvarint(x - last - 1);
        last = x;
      }
    }
  }

  if (replaces.length > 0) {
    const sorted = [...new Set(replaces)].sort(compareKeys);
    w.uvarint(sorted.length);
    for (const name of sorted) w.string(name);
  }
  if (recompressed !== '') w.string(recompressed);

  w.u32be(crc32(w.view()));
  return w.finish();
}

/**
 * Decodes and fully checks a segment. Throws IndexCorruptError (never anything else) for a
 * wrong magic, unknown version, bad crc32, overrun, trailing bytes, out-of-range symbol or
 * series numbers, or unsorted sections. Every count is checked against the bytes left
 * before anything is allocated for it.
 */
export function decodeSegment(buf: Buffer, key = ''): Segment {
  const corrupt = (why: string, cause?: unknown): IndexCorruptError =>
    new IndexCorruptError(key, why, cause === undefined ? undefined : { cause });
  if (buf.length > MAX_SEGMENT_BYTES) throw corrupt(`size ${buf.length} exceeds limit ${MAX_SEGMENT_BYTES}`);
  if (buf.length < SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES) throw corrupt(`too short (${buf.length} bytes)`);
  if (!buf.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) throw corrupt('bad magic');
  const version = buf[SEGMENT_MAGIC.length]!;
  if (version !== SEGMENT_VERSION && version !== SEGMENT_VERSION_REPLACES && version !== SEGMENT_VERSION_RECOMPRESSED) throw corrupt(`unsupported version ${version}`);
  const bodyEnd = buf.length - SEGMENT_FOOTER_BYTES;
  const want = buf.readUInt32BE(bodyEnd);
  const got = crc32(buf.subarray(0, bodyEnd));
  if (want !== got) throw corrupt(`crc32 mismatch: stored ${want.toString(16)}, computed ${got.toString(16)}`);
  try {
    return decodeBody(new ByteReader(buf, SEGMENT_HEADER_BYTES, bodyEnd), key, buf.length, version);
  } catch (err) {
    if (err instanceof IndexCorruptError) throw err;
    throw corrupt(err instanceof Error ? err.message : String(err), err);
  }
}

/** Throws RangeError unless `n` items of at least `minBytes` each fit in what is left. */
function checkCount(r: ByteReader, n: number, minBytes: number, what: string): void {
  if (n * minBytes > r.remaining()) throw new RangeError(`${what} count ${n} exceeds the ${r.remaining()} bytes left`);
}

function decodeBody(r: ByteReader, key: string, sizeBytes: number, version: number): Segment {
  const tenant = r.string(MAX_SYMBOL_BYTES);
  const day = r.uvarint();

  const nSymbols = r.uvarint();
  checkCount(r, nSymbols, 2, 'symbol');
  const symbols = new Array<string>(nSymbols);
  let prev: Buffer = Buffer.alloc(0);
  for (let i = 0; i < nSymbols; i++) {
    const shared = r.uvarint();
    if (shared > prev.length) throw new RangeError(`symbol ${i} shares ${shared} bytes of a ${prev.length}-byte predecessor`);
    const suffix = r.lenBytes(MAX_SYMBOL_BYTES);
    const cur = shared === 0 ? suffix : Buffer.concat([prev.subarray(0, shared), suffix]);
    if (cur.length > MAX_SYMBOL_BYTES) throw new RangeError(`symbol ${i} longer than ${MAX_SYMBOL_BYTES} bytes`);
    if (i > 0 && Buffer.compare(prev, cur) >= 0) throw new RangeError(`symbol ${i} out of order`);
    symbols[i] = cur.toString('utf8');
    prev = cur;
  }
  const sym = (id: number): string => {
    if (id >= nSymbols) throw new RangeError(`symbol id ${id} out of range (${nSymbols} symbols)`);
    return symbols[id]!;
  };

  const nSeries = r.uvarint();
  checkCount(r, nSeries, 10, 'series'); // fingerprint 8 + label count 1 + chunk count 1
  const fingerprints = new Array<string>(nSeries);
  const labels = new Array<Labels>(nSeries);
  const chunkStart = new Uint32Array(nSeries + 1);
  const fromNs: bigint[] = [];
  const throughNs: bigint[] = [];
  const checksum: number[] = [];
  const sizes: number[] = [];
  const entries: number[] = [];
  const uncompressed: number[] = [];
  const base = dayStartNs(day);
  let prevFp = -1n;
  for (let i = 0; i < nSeries; i++) {
    const fp = r.u64be();
    if (fp <= prevFp) throw new RangeError(`series ${i} fingerprint out of order`);
    prevFp = fp;
    fingerprints[i] = fp.toString(16).padStart(16, '0');
    const nLabels = r.uvarint();
    if (nLabels > MAX_LABELS_PER_SERIES) throw new RangeError(`series ${i} has ${nLabels} labels`);
    checkCount(r, nLabels, 2, 'label');
    const ls = new Array<{ name: string; value: string }>(nLabels);
    let prevName = -1;
    for (let k = 0; k < nLabels; k++) {
      const n = r.uvarint();
      if (n <= prevName) throw new RangeError(`series ${i} label names out of order`);
      prevName = n;
      ls[k] = { name: sym(n), value: sym(r.uvarint()) };
    }
    labels[i] = ls;
    const nChunks = r.uvarint();
    if (nChunks === 0) throw new RangeError(`series ${i} has no chunk`);
    checkCount(r, nChunks, 9, 'chunk'); // 1 + 1 + 4 + 1 + 1 + 1
    let prevFrom = base;
    for (let j = 0; j < nChunks; j++) {
      const from = prevFrom + unzigzagBig(r.uvarintBig());
      const through = from + r.uvarintBig();
      if (from < 0n || through >= 2n ** 63n) throw new RangeError(`series ${i} chunk ${j} time out of range`);
      fromNs.push(from);
      throughNs.push(through);
      checksum.push(r.u32be());
      sizes.push(r.uvarint());
      entries.push(r.uvarint());
      uncompressed.push(r.uvarint());
      prevFrom = from;
    }
    chunkStart[i + 1] = chunkStart[i]! + nChunks;
  }

  const nNames = r.uvarint();
  checkCount(r, nNames, 2, 'posting name');
  const postings = new Map<string, Map<string, Uint32Array>>();
  let prevName = -1;
  for (let a = 0; a < nNames; a++) {
    const n = r.uvarint();
    if (n <= prevName) throw new RangeError('posting names out of order');
    prevName = n;
    const nValues = r.uvarint();
    checkCount(r, nValues, 2, 'posting value');
    const byValue = new Map<string, Uint32Array>();
    let prevValue = -1;
    for (let b = 0; b < nValues; b++) {
      const v = r.uvarint();
      if (v <= prevValue) throw new RangeError('posting values out of order');
      prevValue = v;
      const len = r.uvarint();
      checkCount(r, len, 1, 'posting');
      if (len > nSeries) throw new RangeError(`posting list of ${len} exceeds ${nSeries} series`);
      const list = new Uint32Array(len);
      let x = -1;
      for (let k = 0; k < len; k++) {
        x += r.uvarint() + 1;
        if (x >= nSeries) throw new RangeError(`posting ${x} out of range (${nSeries} series)`);
        list[k] = x;
      }
      byValue.set(sym(v), list);
    }
    postings.set(sym(n), byValue);
  }
  const replaces: string[] = [];
  if (version === SEGMENT_VERSION_REPLACES || version === SEGMENT_VERSION_RECOMPRESSED) {
    const n = r.uvarint();
    if (n === 0 || n > MAX_REPLACED_SEGMENTS) throw new RangeError(`replaces count ${n} outside [1, ${MAX_REPLACED_SEGMENTS}]`);
    checkCount(r, n, 2, 'replaced segment');
    for (let i = 0; i < n; i++) {
      const name = r.string(MAX_SYMBOL_BYTES);
      if (name === '' || name.includes('/')) throw new RangeError(`replaced segment name ${JSON.stringify(name)} is not a file name`);
      if (i > 0 && compareKeys(replaces[i - 1]!, name) >= 0) throw new RangeError('replaced segment names out of order');
      replaces.push(name);
    }
  }
  let recompressed = '';
  if (version === SEGMENT_VERSION_RECOMPRESSED) {
    recompressed = r.string(MAX_RECOMPRESSED_BYTES);
    if (recompressed === '') throw new RangeError('empty recompression settings in a version 3 segment');
  }
  if (r.remaining() !== 0) throw new RangeError(`${r.remaining()} trailing bytes`);

  return new Segment({
    replaces,
    recompressed,
    key,
    tenant,
    day,
    sizeBytes,
    fingerprints,
    labels,
    chunkStart,
    fromNs: BigInt64Array.from(fromNs),
    throughNs: BigInt64Array.from(throughNs),
    checksum: Uint32Array.from(checksum),
    chunkSizeBytes: Float64Array.from(sizes),
    entries: Float64Array.from(entries),
    uncompressedBytes: Float64Array.from(uncompressed),
    postings,
  });
}

/**
 * Indices of `labels` ordered by their label strings. The strings are made for the sort and
 * dropped: cached per series (`seriesKey`) they would cost ~100 bytes per series of every cached
 * segment that a series request read, most of them never answered.
 */
function orderByKey(labels: readonly Labels[]): Uint32Array {
  const keys = labels.map(labelsToString);
  const order = new Uint32Array(labels.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
}
