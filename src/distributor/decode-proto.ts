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

/** Shared empty metadata; entries without structured metadata all point at it. */
const NO_METADATA: StructuredMetadata = Object.freeze([]) as StructuredMetadata;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** Groups nest; bound the depth so hostile input cannot blow the stack. */
const MAX_GROUP_DEPTH = 32;

/** google.protobuf.Timestamp range that Go's time package accepts (0001-01-01 to 9999-12-31). */
const MIN_VALID_SECONDS = -62135596800;
const MAX_VALID_SECONDS = 253402300800;
const NS_PER_SECOND = 1_000_000_000n;
let lastSeconds = NaN;
let lastSecondsNs = 0n;

const TWO_32 = 4294967296;

function eof(): InvalidError {
  return new InvalidError('unexpected EOF');
}

/**
 * A cursor over one protobuf body. Methods advance `pos` and throw InvalidError on
 * malformed input. Message decoders narrow `end` while inside a length-delimited field.
 */
class ProtoCursor {
  buf: Buffer;
  pos: number;
  /** Low and high 32 bits of the last 64-bit varint read (scratch, avoids a tuple per call). */
  lo = 0;
  hi = 0;
  /** Line levels computed by a decode worker, one per entry in body order (see decodePushRequestProto). */
  readonly levels: Uint8Array | null;
  /** Entries decoded so far. */
  entryIndex = 0;
  /** Label strings given by a decode worker (see decodePushRequestProto), and streams decoded so far. */
  labels: InternedLabels | null = null;
  streamIndex = 0;
  /** Some stream's interned label string was missing: the decode is done again without them. */
  labelsMissing = false;

  constructor(buf: Buffer, levels: Uint8Array | null) {
    this.buf = buf;
    this.pos = 0;
    this.levels = levels;
  }

  /** Reads a varint of up to 32 significant bits (tags, lengths). Larger values throw. */
  u32(end: number): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= end) throw eof();
    let c = b[p++]!;
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let v = c & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (p >= end) throw eof();
      c = b[p++]!;
      // The fifth byte may only carry 4 more bits for a uint32.
      if (shift === 28 && c > 0x0f) throw new InvalidError('proto: integer overflow');
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) {
        this.pos = p;
        return v;
      }
    }
    throw new InvalidError('proto: integer overflow');
  }

  /** Reads a full 64-bit varint into `lo`/`hi` (two's complement for negative int64). */
  u64(end: number): void {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let c = 0;
    // Bytes 0-3 fill bits 0-27.
    for (let i = 0; i < 4; i++) {
      if (p >= end) throw eof();
      c = b[p++]!;
      lo = (lo | ((c & 0x7f) << (i * 7))) >>> 0;
      if (c < 0x80) {
        this.pos = p;
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    // Byte 4 carries bits 28-34: 4 into lo, 3 into hi.
    if (p >= end) throw eof();
    c = b[p++]!;
    lo = (lo | ((c & 0x0f) << 28)) >>> 0;
    hi = (c & 0x7f) >>> 4;
    if (c >= 0x80) {
      // Bytes 5-9 fill bits 35-63 of hi (shift 3, 10, 17, 24, 31).
      for (let i = 0; i < 5; i++) {
        if (p >= end) throw eof();
        c = b[p++]!;
        hi = (hi | ((c & 0x7f) << (i * 7 + 3))) >>> 0;
        if (c < 0x80) break;
        if (i === 4) throw new InvalidError('proto: integer overflow');
      }
    }
    this.pos = p;
    this.lo = lo;
    this.hi = hi;
  }

  /** Returns the end offset of a length-delimited field starting at `pos`, checked against `end`. */
  lenEnd(end: number): number {
    const n = this.u32(end);
    const e = this.pos + n;
    if (e > end) throw eof();
    return e;
  }

  /** Skips one field value of wire type `wire` (the tag is already consumed). */
  skip(wire: number, field: number, end: number, depth: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.u64(end);
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > end) throw eof();
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd(end);
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > end) throw eof();
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new InvalidError('proto: exceeded maximum recursion depth');
        for (;;) {
          const tag = this.u32(end);
          const w = tag & 7;
          const f = tag >>> 3;
          if (w === WIRE_END_GROUP) {
            if (f !== field) throw new InvalidError(`proto: mismatched end group: field ${f}, expected ${field}`);
            return;
          }
          if (f === 0) throw new InvalidError(`proto: illegal tag 0 (wire type ${w})`);
          this.skip(w, f, end, depth + 1);
        }
      }
      case WIRE_END_GROUP:
        throw new InvalidError('proto: unexpected end group');
      default:
        throw new InvalidError(`proto: illegal wireType ${wire}`);
    }
  }
}

function illegalTag(msg: string, tag: number): InvalidError {
  return new InvalidError(`proto: ${msg}: illegal tag ${tag >>> 3} (wire type ${tag & 7})`);
}

function wrongWire(field: string, wire: number): InvalidError {
  return new InvalidError(`proto: wrong wireType = ${wire} for field ${field}`);
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
  const req = decodeRequest(body, levels, labels);
  return req !== null ? req : decodeRequest(body, levels, null)!;
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
  const c = new ProtoCursor(body, levels);
  c.labels = labels;
  const end = body.length;
  const streams: PushStream[] = [];
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw illegalTag('PushRequest', tag);
    if (field === 1) {
      if (wire !== WIRE_LEN) throw wrongWire('Streams', wire);
      const e = c.lenEnd(end);
      streams.push(decodeStream(c, e));
    } else {
      c.skip(wire, field, end, 0);
    }
  }
  // The worker's walk and this decode disagree (cannot happen for a body this decode accepts,
  // but never trust it): the labels are decoded again, every line is read again.
  if (labels !== null && (c.streamIndex !== labels.ids.length || c.labelsMissing)) return null;
  if (levels !== null && c.entryIndex !== levels.length) {
    for (const s of streams) for (const e of s.entries) e.lineLevel = LINE_LEVEL_NONE;
  }
  return { streams };
}

function decodeStream(c: ProtoCursor, end: number): PushStream {
  let labels = '';
  const entries: PushEntry[] = [];
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1: {
        if (wire !== WIRE_LEN) throw wrongWire('Labels', wire);
        const e = c.lenEnd(end);
        if (c.labels === null) labels = c.buf.toString('utf8', c.pos, e);
        c.pos = e;
        break;
      }
      case 2: {
        if (wire !== WIRE_LEN) throw wrongWire('Entries', wire);
        const e = c.lenEnd(end);
        entries.push(decodeEntry(c, e));
        break;
      }
      case 3:
        // The hash is Loki-internal; read it only to stay in step.
        if (wire !== WIRE_VARINT) throw wrongWire('Hash', wire);
        c.u64(end);
        break;
      case 0:
        throw illegalTag('StreamAdapter', tag);
      default:
        c.skip(wire, field, end, 0);
    }
  }
  c.pos = end;
  const interned = c.labels;
  if (interned !== null) {
    const k = c.streamIndex;
    const id = k < interned.ids.length ? interned.ids[k]! : -1;
    const s = id >= 0 ? interned.table[id] : undefined;
    if (s === undefined) c.labelsMissing = true;
    else labels = s;
  }
  c.streamIndex++;
  return { labels, labelsObject: null, entries };
}

function decodeEntry(c: ProtoCursor, end: number): PushEntry {
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
        if (wire !== WIRE_LEN) throw wrongWire('Timestamp', wire);
        const e = c.lenEnd(end);
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
            throw wrongWire(f === 1 ? 'Seconds' : 'Nanos', w);
          } else {
            c.skip(w, f, e, 0);
          }
        }
        break;
      }
      case 2: {
        if (wire !== WIRE_LEN) throw wrongWire('Line', wire);
        const e = c.lenEnd(end);
        line = c.buf.subarray(c.pos, e);
        c.pos = e;
        break;
      }
      case 3: {
        if (wire !== WIRE_LEN) throw wrongWire('StructuredMetadata', wire);
        const e = c.lenEnd(end);
        (metadata ??= []).push(decodeLabelPair(c, e));
        break;
      }
      case 0:
        throw illegalTag('EntryAdapter', tag);
      default:
        // Includes field 4 (`parsed`), which only query responses carry.
        c.skip(wire, field, end, 0);
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
  const levels = c.levels;
  const i = c.entryIndex++;
  return {
    tsNs: nanos === 0 ? lastSecondsNs : lastSecondsNs + BigInt(nanos),
    line: line ?? c.buf.subarray(0, 0),
    metadata: metadata ?? NO_METADATA,
    lineLevel: levels === null || i >= levels.length ? LINE_LEVEL_NONE : levels[i]!,
  };
}

function decodeLabelPair(c: ProtoCursor, end: number): Label {
  let name = '';
  let value = '';
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 || field === 2) {
      if (wire !== WIRE_LEN) throw wrongWire(field === 1 ? 'Name' : 'Value', wire);
      const e = c.lenEnd(end);
      const s = c.buf.toString('utf8', c.pos, e);
      c.pos = e;
      if (field === 1) name = s;
      else value = s;
    } else if (field === 0) {
      throw illegalTag('LabelPairAdapter', tag);
    } else {
      c.skip(wire, field, end, 0);
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
  const c = new ProtoCursor(body, null);
  const end = body.length;
  try {
    while (c.pos < end) {
      const tag = c.u32(end);
      const field = tag >>> 3;
      if (field === 0) return false;
      if (field === 1 && (tag & 7) === WIRE_LEN) {
        const e = c.lenEnd(end);
        scanStream(c, e, v);
      } else {
        c.skip(tag & 7, field, end, 0);
      }
    }
  } catch {
    return false;
  }
  return true;
}

/** Entry spans of the stream being scanned: line start, line end, has-metadata flag (reused). */
let scanEntries = new Int32Array(3 * 1024);

function scanStream(c: ProtoCursor, end: number, v: PushLineVisitor): void {
  let labelsStart = 0;
  let labelsEnd = 0;
  let n = 0;
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) {
      const e = c.lenEnd(end);
      labelsStart = c.pos;
      labelsEnd = e;
      c.pos = e;
    } else if (field === 2 && wire === WIRE_LEN) {
      const e = c.lenEnd(end);
      if (3 * (n + 1) > scanEntries.length) {
        const next = new Int32Array(scanEntries.length * 2);
        next.set(scanEntries);
        scanEntries = next;
      }
      scanEntry(c, e, n++);
    } else if (field === 0) {
      throw eof();
    } else {
      c.skip(wire, field, end, 0);
    }
  }
  c.pos = end;
  v.stream(labelsStart, labelsEnd);
  const s = scanEntries;
  for (let i = 0; i < n; i++) v.entry(s[3 * i]!, s[3 * i + 1]!, s[3 * i + 2] === 1);
}

function scanEntry(c: ProtoCursor, end: number, i: number): void {
  let lineStart = 0;
  let lineEnd = 0;
  let md = 0;
  while (c.pos < end) {
    const tag = c.u32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 2 && wire === WIRE_LEN) {
      const e = c.lenEnd(end);
      lineStart = c.pos;
      lineEnd = e;
      c.pos = e;
    } else if (field === 3 && wire === WIRE_LEN) {
      c.pos = c.lenEnd(end);
      md = 1;
    } else if (field === 0) {
      throw eof();
    } else {
      c.skip(wire, field, end, 0);
    }
  }
  c.pos = end;
  scanEntries[3 * i] = lineStart;
  scanEntries[3 * i + 1] = lineEnd;
  scanEntries[3 * i + 2] = md;
}
