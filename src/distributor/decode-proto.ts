/**
 * Hand-written decoder of a Loki `logproto.PushRequest` (proto/push.proto) from its
 * uncompressed protobuf bytes straight into our `PushRequest` model, with no generated
 * code and no intermediate objects: each line becomes a zero-copy `Buffer` view into the
 * body and each timestamp an exact bigint of nanoseconds.
 *
 * Malformed input of any kind (truncation, bad lengths, bad wire types, overlong varints,
 * out-of-range timestamps) raises `InvalidError` with a message in the style of the gogo
 * protobuf decoder Loki uses. Unknown fields are skipped by wire type, as protobuf requires.
 */
import { InvalidError } from '../errors.js';
import type { PushEntry, PushRequest, PushStream, StructuredMetadata } from '../model/stream.js';
import type { Label } from '../model/labels.js';
import { LINE_LEVEL_NONE } from '../model/log-level.js';
import { illegalTag, ProtoLengthError, ProtoReader, WIRE_LEN, WIRE_VARINT, wrongWireType } from '../util/protobuf.js';

/** Shared empty metadata; entries without structured metadata all point at it. */
const NO_METADATA: StructuredMetadata = Object.freeze([]) as StructuredMetadata;

/** google.protobuf.Timestamp range that Go's time package accepts (0001-01-01 to 9999-12-31). */
const MIN_VALID_SECONDS = -62135596800;
const MAX_VALID_SECONDS = 253402300800;
const NS_PER_SECOND = 1_000_000_000n;
let lastSeconds = NaN;
let lastSecondsNs = 0n;

const TWO_32 = 4294967296;

/**
 * What one decode carries besides the cursor: a plain `ProtoReader` (util/protobuf.ts), the
 * class every protobuf codec reads with, so its methods see one shape. Message decoders pass the
 * end of the message they are in to each read; the reader's truncation errors (RangeError, and
 * ProtoLengthError for a length past the end) become 'unexpected EOF' in `decodePushRequestProto`.
 */
interface PushState {
  /** Line levels computed by a decode worker, one per entry in body order (see decodePushRequestProto). */
  readonly levels: Uint8Array | null;
  /** Entries decoded so far. */
  entryIndex: number;
  /** Label strings given by a decode worker (see decodePushRequestProto), and streams decoded so far. */
  readonly labels: InternedLabels | null;
  streamIndex: number;
  /** Some stream's interned label string was missing: the decode is done again without them. */
  labelsMissing: boolean;
}

/**
 * Decodes an uncompressed protobuf `PushRequest`. The returned lines are views into
 * `body`: the caller must keep `body` alive (and unmodified) as long as the entries are
 * used, and copy lines it wants to retain beyond that.
 *
 * `levels`, when given, holds each entry's line level (`PushEntry.lineLevel`) in body order,
 * as a decode worker computed them from the same bytes; if their count does not match the
 * entries decoded, none is used.
 *
 * `labels`, when given, names each stream's label string in body order, as a decode worker
 * read it from the same bytes (see `InternedLabels`): the strings are then not decoded again
 * and every push of a stream carries the same string object. If the count of streams does
 * not match, the body is decoded again without them.
 */
export function decodePushRequestProto(body: Buffer, levels: Uint8Array | null = null, labels: InternedLabels | null = null): PushRequest {
  try {
    const req = decodeRequest(body, levels, labels);
    return req !== null ? req : decodeRequest(body, levels, null)!;
  } catch (e) {
    // The body ends inside a field (gogo's io.ErrUnexpectedEOF).
    throw e instanceof RangeError || e instanceof ProtoLengthError ? new InvalidError('unexpected EOF') : e;
  }
}

/**
 * Label strings of a body's streams given by a decode worker: `ids[k]` is the index in
 * `table` of stream k's label string.
 */
export interface InternedLabels {
  ids: Int32Array;
  table: readonly string[];
}

/** The decode; null when `labels` does not fit the body's streams. */
function decodeRequest(body: Buffer, levels: Uint8Array | null, labels: InternedLabels | null): PushRequest | null {
  const c = new ProtoReader(body);
  const st: PushState = { levels, entryIndex: 0, labels, streamIndex: 0, labelsMissing: false };
  const end = body.length;
  const streams: PushStream[] = [];
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw illegalTag('PushRequest', tag);
    if (field === 1) {
      if (wire !== WIRE_LEN) throw wrongWireType('Streams', wire);
      const e = c.lenEnd32(end);
      streams.push(decodeStream(c, st, e));
    } else {
      c.skipWithGroups(wire, field, end);
    }
  }
  // The worker's walk and this decode disagree (cannot happen for a body this decode accepts,
  // but never trust it): the labels are decoded again, every line is read again.
  if (labels !== null && (st.streamIndex !== labels.ids.length || st.labelsMissing)) return null;
  if (levels !== null && st.entryIndex !== levels.length) {
    for (const s of streams) for (const e of s.entries) e.lineLevel = LINE_LEVEL_NONE;
  }
  return { streams };
}

function decodeStream(c: ProtoReader, st: PushState, end: number): PushStream {
  let labels = '';
  const entries: PushEntry[] = [];
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1: {
        if (wire !== WIRE_LEN) throw wrongWireType('Labels', wire);
        const e = c.lenEnd32(end);
        if (st.labels === null) labels = c.buf.toString('utf8', c.pos, e);
        c.pos = e;
        break;
      }
      case 2: {
        if (wire !== WIRE_LEN) throw wrongWireType('Entries', wire);
        const e = c.lenEnd32(end);
        entries.push(decodeEntry(c, st, e));
        break;
      }
      case 3:
        // The hash is Loki-internal; read it only to stay in step.
        if (wire !== WIRE_VARINT) throw wrongWireType('Hash', wire);
        c.u64(end);
        break;
      case 0:
        throw illegalTag('StreamAdapter', tag);
      default:
        c.skipWithGroups(wire, field, end);
    }
  }
  c.pos = end;
  const interned = st.labels;
  if (interned !== null) {
    const k = st.streamIndex;
    const id = k < interned.ids.length ? interned.ids[k]! : -1;
    const s = id >= 0 ? interned.table[id] : undefined;
    if (s === undefined) st.labelsMissing = true;
    else labels = s;
  }
  st.streamIndex++;
  return { labels, labelsObject: null, entries };
}

function decodeEntry(c: ProtoReader, st: PushState, end: number): PushEntry {
  // Proto3 defaults: a missing timestamp is the Unix epoch, a missing line is empty.
  let seconds = 0;
  let nanos = 0;
  let line: Buffer | null = null;
  let metadata: Label[] | null = null;
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1: {
        if (wire !== WIRE_LEN) throw wrongWireType('Timestamp', wire);
        const e = c.lenEnd32(end);
        // Repeated occurrences of a message field merge, so start from the values so far.
        while (c.pos < e) {
          const t = c.u32(e);
          const f = t >>> 3;
          const w = t & 7;
          if (f === 1 && w === WIRE_VARINT) {
            c.u64(e);
            // int64: hi is two's complement; exact while |seconds| < 2^53.
            seconds = (c.hi | 0) * TWO_32 + c.lo;
          } else if (f === 2 && w === WIRE_VARINT) {
            c.u64(e);
            nanos = c.lo | 0; // int32 is sign-extended to 64 bits on the wire
          } else if (f === 0) {
            throw illegalTag('Timestamp', t);
          } else if (f === 1 || f === 2) {
            throw wrongWireType(f === 1 ? 'Seconds' : 'Nanos', w);
          } else {
            c.skipWithGroups(w, f, e);
          }
        }
        break;
      }
      case 2: {
        if (wire !== WIRE_LEN) throw wrongWireType('Line', wire);
        const e = c.lenEnd32(end);
        line = c.buf.subarray(c.pos, e);
        c.pos = e;
        break;
      }
      case 3: {
        if (wire !== WIRE_LEN) throw wrongWireType('StructuredMetadata', wire);
        const e = c.lenEnd32(end);
        (metadata ??= []).push(decodeLabelPair(c, e));
        break;
      }
      case 0:
        throw illegalTag('EntryAdapter', tag);
      default:
        // Includes field 4 (`parsed`), which only query responses carry.
        c.skipWithGroups(wire, field, end);
    }
  }
  c.pos = end;
  if (seconds < MIN_VALID_SECONDS) {
    throw new InvalidError(`timestamp: seconds:${seconds} nanos:${nanos} before 0001-01-01`);
  }
  if (seconds >= MAX_VALID_SECONDS) {
    throw new InvalidError(`timestamp: seconds:${seconds} nanos:${nanos} after 10000-01-01`);
  }
  if (nanos < 0 || nanos >= 1e9) {
    throw new InvalidError(`timestamp: seconds:${seconds} nanos:${nanos}: nanos not in range [0, 1e9)`);
  }
  // Consecutive entries often share their second: reuse its bigint (fewer allocations).
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    lastSecondsNs = BigInt(seconds) * NS_PER_SECOND;
  }
  const levels = st.levels;
  const i = st.entryIndex++;
  return {
    tsNs: nanos === 0 ? lastSecondsNs : lastSecondsNs + BigInt(nanos),
    line: line ?? c.buf.subarray(0, 0),
    metadata: metadata ?? NO_METADATA,
    lineLevel: levels === null || i >= levels.length ? LINE_LEVEL_NONE : levels[i]!,
  };
}

function decodeLabelPair(c: ProtoReader, end: number): Label {
  let name = '';
  let value = '';
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 || field === 2) {
      if (wire !== WIRE_LEN) throw wrongWireType(field === 1 ? 'Name' : 'Value', wire);
      const e = c.lenEnd32(end);
      const s = c.buf.toString('utf8', c.pos, e);
      c.pos = e;
      if (field === 1) name = s;
      else value = s;
    } else if (field === 0) {
      throw illegalTag('LabelPairAdapter', tag);
    } else {
      c.skipWithGroups(wire, field, end);
    }
  }
  c.pos = end;
  return { name, value };
}

/** What `scanPushLines` reports; called in body order. Offsets index the scanned body. */
export interface PushLineVisitor {
  /** A stream starts; its label string is body[start, end) (both 0 when absent). */
  stream(labelsStart: number, labelsEnd: number): void;
  /** One entry: its line is body[start, end); `hasMetadata` when it carries structured metadata. */
  entry(lineStart: number, lineEnd: number, hasMetadata: boolean): void;
}

/**
 * Walks a `PushRequest` reporting only where streams' labels and entries' lines are, with no
 * objects made per entry: what a decode worker needs to read lines. Entries are reported in
 * the order `decodePushRequestProto` returns them. Returns false at the first malformed byte
 * (the full decode reports why); a stream's labels may come after its entries on the wire, so
 * `stream` is called once the stream is fully scanned, before its entries are replayed.
 */
export function scanPushLines(body: Buffer, v: PushLineVisitor): boolean {
  const c = new ProtoReader(body);
  const end = body.length;
  try {
    while (c.pos < end) {
      const tag = c.u32(end);
      const field = tag >>> 3;
      if (field === 0) return false;
      if (field === 1 && (tag & 7) === WIRE_LEN) {
        const e = c.lenEnd32(end);
        scanStream(c, e, v);
      } else {
        c.skipWithGroups(tag & 7, field, end);
      }
    }
  } catch {
    return false;
  }
  return true;
}

/** Entry spans of the stream being scanned: line start, line end, has-metadata flag (reused). */
let scanEntries = new Int32Array(3 * 1024);

function scanStream(c: ProtoReader, end: number, v: PushLineVisitor): void {
  let labelsStart = 0;
  let labelsEnd = 0;
  let n = 0;
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) {
      const e = c.lenEnd32(end);
      labelsStart = c.pos;
      labelsEnd = e;
      c.pos = e;
    } else if (field === 2 && wire === WIRE_LEN) {
      const e = c.lenEnd32(end);
      if (3 * (n + 1) > scanEntries.length) {
        const next = new Int32Array(scanEntries.length * 2);
        next.set(scanEntries);
        scanEntries = next;
      }
      scanEntry(c, e, n++);
    } else if (field === 0) {
      throw illegalTag('StreamAdapter', tag);
    } else {
      c.skipWithGroups(wire, field, end);
    }
  }
  c.pos = end;
  v.stream(labelsStart, labelsEnd);
  const s = scanEntries;
  for (let i = 0; i < n; i++) v.entry(s[3 * i]!, s[3 * i + 1]!, s[3 * i + 2] === 1);
}

function scanEntry(c: ProtoReader, end: number, i: number): void {
  let lineStart = 0;
  let lineEnd = 0;
  let md = 0;
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 2 && wire === WIRE_LEN) {
      const e = c.lenEnd32(end);
      lineStart = c.pos;
      lineEnd = e;
      c.pos = e;
    } else if (field === 3 && wire === WIRE_LEN) {
      c.pos = c.lenEnd32(end);
      md = 1;
    } else if (field === 0) {
      throw illegalTag('EntryAdapter', tag);
    } else {
      c.skipWithGroups(wire, field, end);
    }
  }
  c.pos = end;
  scanEntries[3 * i] = lineStart;
  scanEntries[3 * i + 1] = lineEnd;
  scanEntries[3 * i + 2] = md;
}
