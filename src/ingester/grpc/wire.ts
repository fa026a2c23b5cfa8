/**
 * Hand-written codecs of proto/ingester.proto and of Loki's PushRequest (proto/push.proto) for
 * the ingester's gRPC services, on the shared primitives of util/protobuf.ts. No generated code:
 * lines stay views into the message, timestamps stay exact bigints, chunks stay compressed.
 *
 * Decoders of requests (server side) throw InvalidError naming the message, or ParseError for a
 * bad regex; decoders of responses (client side) throw the same, and the client reports them as
 * the server's fault. Lengths and counts are checked against consts.ts before use.
 */
import {
  CODECS,
  compress,
  decodeBlock,
  decodeChunk,
  decompress,
  encodeBlock,
  encodeCutBlocks,
  MAX_BLOCK_SPAN_NS,
  MAX_BLOCK_UNCOMPRESSED_BYTES,
  MAX_ENTRIES_PER_BLOCK,
  type Codec,
  type DecodedBlock,
} from '../../chunk/index.js';
import { decodePushRequestProto, type LabelsCache } from '../../distributor/index.js';
import { InvalidError, ParseError } from '../../errors.js';
import { compileMatcher } from '../../logql/log/matcher.js';
import { formatShard, parseShard, type Label, type Labels, type Matcher, type MatchType, type PushEntry, type Shard, type ValidStream } from '../../model/index.js';
import { ByteWriter } from '../../util/bytes.js';
import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from '../../util/protobuf.js';
import type { MemChunkData, MemStream } from '../client.js';
import { MAX_CHUNK_ID_BYTES, MAX_LABEL_NAME_BYTES, MAX_MATCHER_VALUE_BYTES, MAX_MATCHERS, MAX_STORED_KEY_IDS } from './consts.js';

/** Any length a field may have inside one message (the message size bounds it anyway). */
const ANY_LENGTH = Number.MAX_SAFE_INTEGER;

const MATCH_TYPES: readonly MatchType[] = ['=', '!=', '=~', '!~'];

/** Runs a decoder, naming the message in every error it raises about the bytes. */
function decoding<T>(message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ParseError) throw e;
    if (e instanceof RangeError) throw new InvalidError(`${message}: truncated: ${e.message}`, { cause: e });
    if (e instanceof InvalidError) throw new InvalidError(`${message}: ${e.message}`, { cause: e });
    throw e;
  }
}

// ---- Matchers, labels, times ------------------------------------------------------------

function writeMatchers(w: ProtoWriter, field: number, matchers: readonly Matcher[]): void {
  for (const m of matchers) {
    w.begin(field, m.name.length + m.value.length + 6);
    w.uintFieldIfSet(1, MATCH_TYPES.indexOf(m.type));
    w.stringField(2, m.name);
    w.stringField(3, m.value);
    w.end();
  }
}

/** One LabelMatcher, compiled. */
function readMatcher(r: ProtoReader): Matcher {
  let type = 0;
  let name = '';
  let value = '';
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_VARINT, 'LabelMatcher.type');
      type = r.uint();
    } else if (r.field === 2) {
      r.expect(WIRE_LEN, 'LabelMatcher.name');
      name = r.str(MAX_LABEL_NAME_BYTES, 'LabelMatcher.name');
    } else if (r.field === 3) {
      r.expect(WIRE_LEN, 'LabelMatcher.value');
      value = r.str(MAX_MATCHER_VALUE_BYTES, 'LabelMatcher.value');
    } else r.skip();
  }
  const t = MATCH_TYPES[type];
  if (t === undefined) throw new InvalidError(`unknown matcher type ${type}`);
  if (name === '') throw new InvalidError('matcher without a label name');
  return compileMatcher(name, t, value);
}

function pushMatcher(r: ProtoReader, out: Matcher[]): void {
  if (out.length >= MAX_MATCHERS) throw new InvalidError(`more than ${MAX_MATCHERS} matchers`);
  const outer = r.sub();
  out.push(readMatcher(r));
  r.leave(outer);
}

function writeLabels(w: ProtoWriter, field: number, labels: Labels): void {
  for (const l of labels) {
    w.begin(field, l.name.length + l.value.length + 4);
    w.stringField(1, l.name);
    w.stringField(2, l.value);
    w.end();
  }
}

function readLabel(r: ProtoReader): Label {
  const outer = r.sub();
  let name = '';
  let value = '';
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_LEN, 'LabelPair.name');
      name = r.str(ANY_LENGTH, 'LabelPair.name');
    } else if (r.field === 2) {
      r.expect(WIRE_LEN, 'LabelPair.value');
      value = r.str(ANY_LENGTH, 'LabelPair.value');
    } else r.skip();
  }
  r.leave(outer);
  return { name, value };
}

function readTime(r: ProtoReader, name: string): bigint {
  r.expect(WIRE_VARINT, name);
  return r.int64();
}

// ---- Requests ------------------------------------------------------------------------------

/** A read over [fromNs, throughNs] of the streams matching every matcher. */
export interface RangeRequest {
  matchers: Matcher[];
  fromNs: bigint;
  throughNs: bigint;
  /** SelectStreamsRequest only: the streams of this shard; null or absent: all. */
  shard?: Shard | null;
}

/** Longest shard text (`<index>_of_<count>`) a request may carry. */
const MAX_SHARD_BYTES = 32;

/** SelectStreamsRequest and SeriesRequest share their layout: start 1, end 2, matchers 3; a SelectStreamsRequest may name a shard (4). */
export function encodeRangeRequest(matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint, shard: Shard | null = null): Buffer {
  const w = new ProtoWriter(256);
  w.int64Field(1, fromNs);
  w.int64Field(2, throughNs);
  writeMatchers(w, 3, matchers);
  if (shard !== null && shard.of > 1) w.stringField(4, formatShard(shard));
  return w.view();
}

/** A SelectStreamsRequest or SeriesRequest (`message` names it in errors), matchers compiled. */
export function decodeRangeRequest(buf: Buffer, message: string): RangeRequest {
  return decoding(message, () => {
    const r = new ProtoReader(buf);
    const out: RangeRequest = { matchers: [], fromNs: 0n, throughNs: 0n, shard: null };
    while (r.next()) {
      if (r.field === 1) out.fromNs = readTime(r, 'start');
      else if (r.field === 2) out.throughNs = readTime(r, 'end');
      else if (r.field === 3) {
        r.expect(WIRE_LEN, 'matchers');
        pushMatcher(r, out.matchers);
      } else if (r.field === 4) {
        r.expect(WIRE_LEN, 'shard');
        out.shard = parseShard(r.str(MAX_SHARD_BYTES, 'SelectStreamsRequest.shard'));
      } else r.skip();
    }
    return out;
  });
}

/** LabelRequest: names (`name` null) or the values of `name`. */
export interface LabelRequest extends RangeRequest {
  name: string | null;
}

/** LabelRequest for label names (`name` null) or the values of `name`. */
export function encodeLabelRequest(name: string | null, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Buffer {
  const w = new ProtoWriter(256);
  if (name !== null) {
    w.stringField(1, name);
    w.uintField(2, 1);
  }
  w.int64Field(3, fromNs);
  w.int64Field(4, throughNs);
  writeMatchers(w, 5, matchers);
  return w.view();
}

/** A LabelRequest; InvalidError when values are asked without a name. */
export function decodeLabelRequest(buf: Buffer): LabelRequest {
  return decoding('LabelRequest', () => {
    const r = new ProtoReader(buf);
    const out: LabelRequest = { name: null, matchers: [], fromNs: 0n, throughNs: 0n };
    let name = '';
    let values = false;
    while (r.next()) {
      if (r.field === 1) {
        r.expect(WIRE_LEN, 'name');
        name = r.str(MAX_LABEL_NAME_BYTES, 'name');
      } else if (r.field === 2) {
        r.expect(WIRE_VARINT, 'values');
        values = r.bool();
      } else if (r.field === 3) out.fromNs = readTime(r, 'start');
      else if (r.field === 4) out.throughNs = readTime(r, 'end');
      else if (r.field === 5) {
        r.expect(WIRE_LEN, 'matchers');
        pushMatcher(r, out.matchers);
      } else r.skip();
    }
    if (values) {
      if (name === '') throw new InvalidError('label values asked without a label name');
      out.name = name;
    }
    return out;
  });
}

/** TailRequest: the stream matchers. */
export function encodeTailRequest(matchers: readonly Matcher[]): Buffer {
  const w = new ProtoWriter(128);
  writeMatchers(w, 1, matchers);
  return w.view();
}

/** The compiled matchers of a TailRequest. */
export function decodeTailRequest(buf: Buffer): Matcher[] {
  return decoding('TailRequest', () => {
    const r = new ProtoReader(buf);
    const out: Matcher[] = [];
    while (r.next()) {
      if (r.field === 1) {
        r.expect(WIRE_LEN, 'matchers');
        pushMatcher(r, out);
      } else r.skip();
    }
    return out;
  });
}

/** StoredKeysRequest: chunk ids from SelectStreams. */
export function encodeStoredKeysRequest(ids: readonly string[]): Buffer {
  const w = new ProtoWriter(16 + ids.length * 24);
  for (const id of ids) w.stringField(1, id);
  return w.view();
}

/** The chunk ids of a StoredKeysRequest, at most MAX_STORED_KEY_IDS of MAX_CHUNK_ID_BYTES each. */
export function decodeStoredKeysRequest(buf: Buffer): string[] {
  return decoding('StoredKeysRequest', () => {
    const r = new ProtoReader(buf);
    const ids: string[] = [];
    while (r.next()) {
      if (r.field === 1) {
        r.expect(WIRE_LEN, 'ids');
        if (ids.length >= MAX_STORED_KEY_IDS) throw new InvalidError(`more than ${MAX_STORED_KEY_IDS} chunk ids`);
        ids.push(r.str(MAX_CHUNK_ID_BYTES, 'ids'));
      } else r.skip();
    }
    return ids;
  });
}

/** An empty request (TailersCount, Flush): any bytes must at least be well-formed protobuf. */
export function decodeEmptyRequest(buf: Buffer, message: string): void {
  decoding(message, () => {
    const r = new ProtoReader(buf);
    while (r.next()) r.skip();
  });
}

// ---- Small responses -----------------------------------------------------------------------

/** StoredKeysResponse: chunk id to object key, as a protobuf map. */
export function encodeStoredKeysResponse(keys: ReadonlyMap<string, string>): Buffer {
  const w = new ProtoWriter(16 + keys.size * 96);
  for (const [id, key] of keys) {
    w.begin(1, id.length + key.length + 4);
    w.stringField(1, id);
    w.stringField(2, key);
    w.end();
  }
  return w.view();
}

/** The id-to-key map of a StoredKeysResponse. */
export function decodeStoredKeysResponse(buf: Buffer): Map<string, string> {
  return decoding('StoredKeysResponse', () => {
    const r = new ProtoReader(buf);
    const out = new Map<string, string>();
    while (r.next()) {
      if (r.field !== 1) {
        r.skip();
        continue;
      }
      r.expect(WIRE_LEN, 'keys');
      const l = readLabel(r); // a map entry is key 1, value 2: LabelPair's layout
      out.set(l.name, l.value);
    }
    return out;
  });
}

/** LabelResponse: repeated string values = 1. */
export function encodeStrings(values: readonly string[]): Buffer {
  const w = new ProtoWriter(16 + values.length * 16);
  for (const v of values) w.stringField(1, v);
  return w.view();
}

/** The values of a LabelResponse (`message` names it in errors). */
export function decodeStrings(buf: Buffer, message: string): string[] {
  return decoding(message, () => {
    const r = new ProtoReader(buf);
    const out: string[] = [];
    while (r.next()) {
      if (r.field === 1) {
        r.expect(WIRE_LEN, 'values');
        out.push(r.str(ANY_LENGTH, 'values'));
      } else r.skip();
    }
    return out;
  });
}

/** SeriesResponse: one SeriesIdentifier per label set. */
export function encodeSeriesResponse(series: readonly Labels[]): Buffer {
  const w = new ProtoWriter(16 + series.length * 64);
  for (const s of series) {
    w.begin(1, 64);
    writeLabels(w, 1, s);
    w.end();
  }
  return w.view();
}

/** The label sets of a SeriesResponse, in the order sent. */
export function decodeSeriesResponse(buf: Buffer): Labels[] {
  return decoding('SeriesResponse', () => {
    const r = new ProtoReader(buf);
    const out: Labels[] = [];
    while (r.next()) {
      if (r.field !== 1) {
        r.skip();
        continue;
      }
      r.expect(WIRE_LEN, 'series');
      const outer = r.sub();
      const labels: Label[] = [];
      while (r.next()) {
        if (r.field === 1) {
          r.expect(WIRE_LEN, 'labels');
          labels.push(readLabel(r));
        } else r.skip();
      }
      r.leave(outer);
      out.push(labels);
    }
    return out;
  });
}

/** TailersCountResponse and FlushResponse: one uint32 in field 1. */
export function encodeCount(n: number): Buffer {
  const w = new ProtoWriter(8);
  w.uintFieldIfSet(1, n);
  return w.view();
}

/** The uint32 of a TailersCountResponse or FlushResponse. */
export function decodeCount(buf: Buffer, message: string): number {
  return decoding(message, () => {
    const r = new ProtoReader(buf);
    let n = 0;
    while (r.next()) {
      if (r.field === 1) {
        r.expect(WIRE_VARINT, 'count');
        n = r.uint32();
      } else r.skip();
    }
    return n;
  });
}

// ---- Push (Loki's PushRequest) and Tail (Loki's TailResponse) ------------------------------

const NS_PER_S = 1_000_000_000n;

/**
 * Writes a StreamAdapter: the label text, then each entry with its google.protobuf.Timestamp
 * (seconds floor-divided, nanos in [0, 1e9), so negative times are exact too), line and
 * structured metadata.
 */
function writeStream(w: ProtoWriter, field: number, labels: string, entries: readonly PushEntry[]): void {
  let hint = labels.length + 4;
  for (let i = 0; i < entries.length; i++) hint += entries[i]!.line.length + 24;
  w.begin(field, hint);
  w.stringField(1, labels);
  // Consecutive entries usually share their second: one bigint division per second, not per entry.
  let secNs = 0n;
  let sec = 0n;
  let have = false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const ts = e.tsNs;
    if (!have || ts < secNs || ts - secNs >= NS_PER_S) {
      sec = ts / NS_PER_S;
      if (sec * NS_PER_S > ts) sec -= 1n;
      secNs = sec * NS_PER_S;
      have = true;
    }
    const nanos = Number(ts - secNs);
    const md = e.metadata;
    w.begin(2, e.line.length + 20);
    w.begin(1, 16);
    if (sec !== 0n) w.int64Field(1, sec);
    w.uintFieldIfSet(2, nanos);
    w.end();
    w.bytesField(2, e.line);
    for (let k = 0; k < md.length; k++) {
      const p = md[k]!;
      w.begin(3, p.name.length + p.value.length + 4);
      w.stringField(1, p.name);
      w.stringField(2, p.value);
      w.end();
    }
    w.end();
  }
  w.end();
}

/** Loki's PushRequest of validated streams (each labelled with its canonical label text). */
export function encodePushRequest(streams: readonly ValidStream[]): Buffer {
  let size = 64;
  for (const s of streams) for (const e of s.entries) size += e.line.length + 24;
  const w = new ProtoWriter(size);
  for (const s of streams) writeStream(w, 1, s.labelsString, s.entries);
  return w.view();
}

/**
 * The streams of a PushRequest as the ingester takes them. The distributor sent canonical
 * label texts, so a text's parse (cached in `labels`) is its ValidStream's identity; a text that
 * does not parse, repeats a name or has no labels is refused (InvalidError), as are malformed
 * bytes. Lines are views into `body`.
 */
export function decodePushRequest(body: Buffer, labels: LabelsCache): ValidStream[] {
  const req = decodePushRequestProto(body);
  const out: ValidStream[] = [];
  for (const s of req.streams) {
    const p = labels.get(s.labels);
    if (p.error !== null) throw new InvalidError(`error parsing labels '${s.labels}': ${p.error}`);
    if (p.hasDuplicate) throw new InvalidError(`stream '${s.labels}' has duplicate label name`);
    if (p.labels.length === 0) throw new InvalidError(`stream '${s.labels}' has no labels`);
    if (s.entries.length === 0) continue;
    out.push({ labels: p.labels, labelsString: p.labelsString, fingerprint: p.fingerprint, entries: s.entries });
  }
  return out;
}

/** TailResponse: one stream's entries, in Loki's StreamAdapter form. */
export function encodeTailResponse(labels: string, entries: readonly PushEntry[]): Buffer {
  const w = new ProtoWriter(64);
  writeStream(w, 1, labels, entries);
  return w.view();
}

/**
 * The stream of a TailResponse. The layout is a PushRequest holding one stream (field 1), so
 * the distributor's push decoder reads it; lines are views into `buf`.
 */
export function decodeTailResponse(buf: Buffer, labels: LabelsCache): { labels: Labels; entries: PushEntry[] } {
  const req = decoding('TailResponse', () => decodePushRequestProto(buf));
  const s = req.streams[0];
  if (s === undefined || req.streams.length !== 1) throw new InvalidError(`TailResponse: ${req.streams.length} streams, expected 1`);
  const p = labels.get(s.labels);
  if (p.error !== null) throw new InvalidError(`TailResponse: error parsing labels '${s.labels}': ${p.error}`);
  return { labels: p.labels, entries: s.entries };
}

// ---- SelectStreams -------------------------------------------------------------------------

/**
 * First buffer of a SelectStreams message; it doubles as needed. Small, because a message is
 * sent as a view of its buffer: a small answer must not hold a batch-sized allocation.
 */
const INITIAL_MESSAGE_BYTES = 64 * 1024;

/** How SelectStreams encodes head blocks. */
export interface MemStreamEncoding {
  /** Codec of head block payloads ('none' sends them as they are). */
  headCodec: Codec;
  /** Target message size; a message closes once it reaches this (whole chunks only). */
  batchBytes: number;
}

/**
 * Encodes MemStreams into SelectStreamsResponse messages of about `batchBytes`, handing each to
 * `emit` (a fresh buffer each, never reused). A stream whose chunks do not fit one message
 * continues in the next under the same fingerprint. Cut blocks are copied compressed
 * (encodeCutBlocks); heads are encoded as block payloads with their own symbols.
 */
export class MemStreamEncoder {
  readonly #opts: MemStreamEncoding;
  #w: ProtoWriter;
  /** Scratch for compressed head payloads. */
  readonly #scratch = new ByteWriter(64 * 1024);

  constructor(opts: MemStreamEncoding) {
    this.#opts = opts;
    this.#w = new ProtoWriter(INITIAL_MESSAGE_BYTES);
  }

  /** Adds one stream, calling `emit` for each message it fills. */
  add(s: MemStream, emit: (message: Buffer) => void): void {
    const batch = this.#opts.batchBytes;
    this.#openStream(s);
    let inMessage = 0;
    for (const c of s.chunks) {
      if (inMessage > 0 && this.#w.length >= batch) {
        this.#w.end();
        this.#flush(emit);
        this.#openStream(s);
        inMessage = 0;
      }
      this.#writeChunk(c);
      inMessage++;
    }
    this.#w.end();
    if (this.#w.length >= batch) this.#flush(emit);
  }

  /** Emits the last, partly filled message, if any. */
  finish(emit: (message: Buffer) => void): void {
    if (this.#w.length > 0) this.#flush(emit);
  }

  /** All of `streams` in messages (add each, then finish). */
  encode(streams: readonly MemStream[], emit: (message: Buffer) => void): void {
    for (const s of streams) this.add(s, emit);
    this.finish(emit);
  }

  #flush(emit: (message: Buffer) => void): void {
    const out = this.#w.view();
    this.#w = new ProtoWriter(INITIAL_MESSAGE_BYTES);
    emit(out);
  }

  #openStream(s: MemStream): void {
    const w = this.#w;
    w.begin(1, this.#opts.batchBytes);
    writeLabels(w, 1, s.labels);
    w.stringField(2, s.fingerprint);
  }

  #writeChunk(c: MemChunkData): void {
    const w = this.#w;
    const cut = c.cut === null ? null : encodeCutBlocks(c.cut);
    const head = c.head;
    w.begin(3, (cut === null ? 0 : cut.length) + (head === null ? 0 : head.lines.length + head.n * 4) + 64);
    w.stringField(1, c.id);
    w.int64Field(2, c.fromNs);
    w.int64Field(3, c.throughNs);
    if (cut !== null) w.bytesField(4, cut);
    if (head !== null) this.#writeHead(head);
    w.end();
  }

  #writeHead(h: DecodedBlock): void {
    const w = this.#w;
    const e = encodeBlock(h, this.#scratch);
    const codec = this.#opts.headCodec;
    w.begin(5, e.payload.length + 32);
    w.int64Field(1, e.baseNs);
    w.uintField(2, e.entries);
    w.uintFieldIfSet(3, e.spanNs);
    w.uintFieldIfSet(4, CODECS.indexOf(codec));
    w.uintField(5, e.payload.length);
    w.bytesField(6, codec === 'none' ? e.payload : compress(codec, e.payload));
    for (const sym of e.symbols) w.stringField(7, sym);
    w.end();
  }
}

/**
 * The streams of one SelectStreamsResponse. Cut blocks are decoded as stored chunks
 * (decodeChunk: footer, metas and crcs checked) and heads as blocks, both as views into `buf`.
 */
export function decodeSelectStreamsResponse(buf: Buffer): MemStream[] {
  return decoding('SelectStreamsResponse', () => {
    const r = new ProtoReader(buf);
    const out: MemStream[] = [];
    while (r.next()) {
      if (r.field !== 1) {
        r.skip();
        continue;
      }
      r.expect(WIRE_LEN, 'streams');
      const outer = r.sub();
      const labels: Label[] = [];
      let fingerprint = '';
      const chunks: MemChunkData[] = [];
      while (r.next()) {
        if (r.field === 1) {
          r.expect(WIRE_LEN, 'MemStream.labels');
          labels.push(readLabel(r));
        } else if (r.field === 2) {
          r.expect(WIRE_LEN, 'MemStream.fingerprint');
          fingerprint = r.str(64, 'MemStream.fingerprint');
        } else if (r.field === 3) {
          r.expect(WIRE_LEN, 'MemStream.chunks');
          chunks.push(readChunk(r));
        } else r.skip();
      }
      r.leave(outer);
      out.push({ labels, fingerprint, chunks });
    }
    return out;
  });
}

function readChunk(r: ProtoReader): MemChunkData {
  const outer = r.sub();
  let id = '';
  let fromNs = 0n;
  let throughNs = 0n;
  let cut: Buffer | null = null;
  let head: DecodedBlock | null = null;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expect(WIRE_LEN, 'MemChunk.id');
        id = r.str(MAX_CHUNK_ID_BYTES, 'MemChunk.id');
        break;
      case 2:
        fromNs = readTime(r, 'MemChunk.from');
        break;
      case 3:
        throughNs = readTime(r, 'MemChunk.through');
        break;
      case 4:
        r.expect(WIRE_LEN, 'MemChunk.cut');
        cut = r.lenView(ANY_LENGTH, 'MemChunk.cut');
        break;
      case 5:
        r.expect(WIRE_LEN, 'MemChunk.head');
        head = readHead(r);
        break;
      default:
        r.skip();
    }
  }
  r.leave(outer);
  return { id, fromNs, throughNs, cut: cut === null || cut.length === 0 ? null : decodeChunk(cut), head };
}

function readHead(r: ProtoReader): DecodedBlock {
  const outer = r.sub();
  let baseNs = 0n;
  let entries = 0;
  let span = 0;
  let codecId = 0;
  let size = -1;
  let payload: Buffer | null = null;
  const symbols: string[] = [];
  while (r.next()) {
    switch (r.field) {
      case 1:
        baseNs = readTime(r, 'HeadBlock.base');
        break;
      case 2:
        r.expect(WIRE_VARINT, 'HeadBlock.entries');
        entries = r.uint32();
        break;
      case 3:
        r.expect(WIRE_VARINT, 'HeadBlock.span');
        span = r.uint();
        break;
      case 4:
        r.expect(WIRE_VARINT, 'HeadBlock.codec');
        codecId = r.uint32();
        break;
      case 5:
        r.expect(WIRE_VARINT, 'HeadBlock.uncompressed_size');
        size = r.uint32();
        break;
      case 6:
        r.expect(WIRE_LEN, 'HeadBlock.payload');
        payload = r.lenView(MAX_BLOCK_UNCOMPRESSED_BYTES, 'HeadBlock.payload');
        break;
      case 7:
        r.expect(WIRE_LEN, 'HeadBlock.symbols');
        symbols.push(r.str(ANY_LENGTH, 'HeadBlock.symbols'));
        break;
      default:
        r.skip();
    }
  }
  r.leave(outer);
  if (payload === null) throw new InvalidError('HeadBlock without a payload');
  if (entries < 1 || entries > MAX_ENTRIES_PER_BLOCK) throw new InvalidError(`HeadBlock with ${entries} entries`);
  if (span > MAX_BLOCK_SPAN_NS) throw new InvalidError(`HeadBlock span ${span} exceeds ${MAX_BLOCK_SPAN_NS}`);
  const codec = CODECS[codecId];
  if (codec === undefined) throw new InvalidError(`HeadBlock with unknown codec id ${codecId}`);
  if (size < 0 || size > MAX_BLOCK_UNCOMPRESSED_BYTES) throw new InvalidError(`HeadBlock with bad uncompressed size ${size}`);
  if (codec !== 'none') {
    try {
      payload = decompress(codec, payload, size);
    } catch (e) {
      throw new InvalidError(`HeadBlock: ${codec} payload does not decompress: ${(e as Error).message}`);
    }
  } else if (payload.length !== size) throw new InvalidError(`HeadBlock payload of ${payload.length} bytes, uncompressed_size says ${size}`);
  return decodeBlock({ entries, baseNs, spanNs: span, payload, symbols });
}
