/**
 * Protobuf wire primitives over `ByteWriter`/`ByteReader` (whose varints are protobuf's
 * base-128): tags, length-delimited sub-messages, int64 as bigint, and skipping unknown fields.
 * Every hand-written codec builds on these instead of generated code, so bytes stay views and
 * timestamps stay exact bigints: the ingester's gRPC messages (ingester/grpc/wire.ts), Loki's
 * PushRequest and OTLP logs (distributor/decode-proto.ts, decode-otlp.ts) and Prometheus
 * remote write (ruler/remote-write.ts).
 *
 * Readers throw RangeError when the input ends inside a value (as ByteReader does),
 * ProtoLengthError (an InvalidError) for a length past the end of its message, and InvalidError
 * for other input no protobuf encoder writes (bad wire types, groups, oversized varints); a codec
 * catches RangeError once per message and reports it as an InvalidError naming the message.
 */
import { InvalidError } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes.js';

/** Wire types (the low 3 bits of a tag). Groups (3, 4) are proto2's: only `skipWithGroups` accepts them. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Bytes of the uvarint of `v` (a non-negative safe integer). */
export function uvarintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Nested sub-messages one writer can have open at once (deeper is a codec bug). */
const MAX_OPEN_MESSAGES = 16;

/**
 * Append-style protobuf writer. Sub-messages are written in place: `begin` reserves room for
 * the length (sized from a hint), `end` patches it, moving the body only when the hint was off
 * by a varint byte or more. Field helpers write nothing for proto3 defaults only where the
 * name says so (`…IfSet`); the others always write.
 */
export class ProtoWriter extends ByteWriter {
  /** Body start and reserved length bytes of each open sub-message. */
  readonly #starts = new Int32Array(MAX_OPEN_MESSAGES);
  readonly #reserved = new Uint8Array(MAX_OPEN_MESSAGES);
  #depth = 0;

  override reset(): void {
    super.reset();
    this.#depth = 0;
  }

  /** Writes the tag of `field` with wire type `wire`. */
  tag(field: number, wire: number): void {
    this.uvarint(field * 8 + wire);
  }

  /** A varint field of a non-negative safe integer (uint32/uint64/bool/enum). */
  uintField(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.uvarint(v);
  }

  /** A varint field, omitted when 0 (proto3 default). */
  uintFieldIfSet(field: number, v: number): void {
    if (v !== 0) this.uintField(field, v);
  }

  /** An int64 varint field from a bigint (two's complement for negatives, 10 bytes). */
  int64Field(field: number, v: bigint): void {
    this.tag(field, WIRE_VARINT);
    this.uvarintBig(v);
  }

  /** An int32 varint field (negatives are sign-extended to 10 bytes, as protobuf requires). */
  int32Field(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    if (v >= 0) this.uvarint(v);
    else this.uvarintBig(BigInt(v));
  }

  /** A double field (fixed64, little-endian IEEE 754), written even when 0. */
  doubleField(field: number, v: number): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }

  /** A string field (UTF-8). */
  stringField(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    this.string(s);
  }

  /** A bytes field; the bytes are copied. */
  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.lenBytes(b);
  }

  /**
   * Opens sub-message `field`; `sizeHintBytes` is the expected body size (a good guess saves
   * moving the body in `end`). Every `begin` needs its `end`.
   */
  begin(field: number, sizeHintBytes = 0): void {
    const d = this.#depth;
    if (d >= MAX_OPEN_MESSAGES) throw new Error(`protobuf writer: more than ${MAX_OPEN_MESSAGES} nested messages (bug)`);
    this.tag(field, WIRE_LEN);
    const reserve = uvarintBytes(sizeHintBytes);
    this.ensure(reserve);
    this.length += reserve;
    this.#starts[d] = this.length;
    this.#reserved[d] = reserve;
    this.#depth = d + 1;
  }

  /** Closes the innermost open sub-message, writing its length. */
  end(): void {
    const d = --this.#depth;
    if (d < 0) throw new Error('protobuf writer: end() without begin() (bug)');
    const start = this.#starts[d]!;
    const reserved = this.#reserved[d]!;
    const len = this.length - start;
    const need = uvarintBytes(len);
    let at = start - reserved;
    if (need !== reserved) {
      this.ensure(need - reserved);
      this.buf.copyWithin(at + need, start, this.length);
      this.length += need - reserved;
    }
    const b = this.buf;
    let v = len;
    while (v >= 0x80) {
      b[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[at] = v;
  }
}

// ---- Reading -----------------------------------------------------------------------------

/** Groups nest; bound the depth so hostile input cannot blow the stack. */
const MAX_GROUP_DEPTH = 32;

/** Input ends inside the varint starting at `at` (in ByteReader.uvarint's words). */
function varintTruncated(at: number): RangeError {
  return new RangeError(`unexpected end of data in varint at offset ${at}`);
}

/** Input ends at `at`, inside a 64-bit varint (in ByteReader.uvarintBig's words). */
function varintCut(at: number): RangeError {
  return new RangeError(`unexpected end of data: need 1 bytes at offset ${at}`);
}

/** Input ends before the `n` bytes starting at `at`. */
function dataTruncated(n: number, at: number): RangeError {
  return new RangeError(`unexpected end of data: need ${n} bytes at offset ${at}`);
}

/**
 * A length-delimited field longer than what is left of its message. An InvalidError for message
 * codecs; decoders that report every truncation alike (as gogo's io.ErrUnexpectedEOF) catch it
 * with RangeError.
 */
export class ProtoLengthError extends InvalidError {}

function lengthPastEnd(n: number): ProtoLengthError {
  return new ProtoLengthError(`proto: length ${n} runs past the end of the message`);
}

function overflow(): InvalidError {
  return new InvalidError('proto: integer overflow');
}

/** Field 0 (or another tag no encoder writes) in `message`, in the gogo decoder's words. */
export function illegalTag(message: string, tag: number): InvalidError {
  return new InvalidError(`proto: ${message}: illegal tag ${tag >>> 3} (wire type ${tag & 7})`);
}

/** A known field `name` with the wrong wire type, in the gogo decoder's words. */
export function wrongWireType(name: string, wire: number): InvalidError {
  return new InvalidError(`proto: wrong wireType = ${wire} for field ${name}`);
}

/**
 * A protobuf cursor: the one reader of the protobuf codecs. It has two styles over the same
 * primitives:
 *
 * - Hot decoders (distributor/decode-proto.ts, decode-otlp.ts) keep the end of the message
 *   they are in as a local and pass it to each read (`u32(end)`, `lenEnd32(end)`, ...), with no
 *   per-field state.
 * - Message codecs (ingester/grpc/wire.ts) use `next()`/`field`/`wire` and `sub()`/`leave()`,
 *   which narrow `end`; the reads they use default `end` to it.
 *
 * Varints come in three widths, each refusing what does not fit with InvalidError
 * 'proto: integer overflow': `u32` (tags and lengths as Loki's push decoder reads them),
 * `uint` (up to 2^53 - 1: tags, counts and lengths elsewhere) and `u64` (any 64-bit varint,
 * into `lo`/`hi`; `uint64`/`int64`/`bool` convert it, `int32` keeps its low 32 bits).
 *
 * The hot decoders' primitives stay small and call nothing but their error constructors (`u32`,
 * `u64` and `lenEnd32` do not even default `end`): V8 inlines them into the per-entry loops only
 * within a budget of bytecode, and a call left in a loop costs more than a repeated check.
 */
export class ProtoReader extends ByteReader {
  /** Field number of the last `next()`. */
  field = 0;
  /** Wire type of the last `next()`. */
  wire = 0;
  /** Low and high 32 bits of the last `u64()` (scratch, saves a tuple per call). */
  lo = 0;
  hi = 0;

  /** A varint of up to 32 significant bits (tags, lengths); larger values throw. */
  u32(end: number): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= end) throw varintTruncated(this.pos);
    let c = b[p++]!;
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let v = c & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (p >= end) throw varintTruncated(this.pos);
      c = b[p++]!;
      // The fifth byte may only carry 4 more bits for a uint32.
      if (shift === 28 && c > 0x0f) throw overflow();
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) {
        this.pos = p;
        return v;
      }
    }
    throw overflow();
  }

  /** A varint as a non-negative safe integer: at most 10 bytes, at most 2^53 - 1. */
  uint(end: number = this.end): number {
    const b = this.buf;
    let p = this.pos;
    if (p < end) {
      const c = b[p]!;
      if (c < 0x80) {
        this.pos = p + 1;
        return c;
      }
    }
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= end) throw varintTruncated(this.pos);
      const c = b[p++]!;
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) throw overflow();
        this.pos = p;
        return v;
      }
      mul *= 128;
    }
    throw overflow();
  }

  /** A full 64-bit varint into `lo`/`hi` (two's complement for a negative int64). */
  u64(end: number): void {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let c = 0;
    // Bytes 0-3 fill bits 0-27.
    for (let i = 0; i < 4; i++) {
      if (p >= end) throw varintCut(p);
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
    if (p >= end) throw varintCut(p);
    c = b[p++]!;
    lo = (lo | ((c & 0x0f) << 28)) >>> 0;
    hi = (c & 0x7f) >>> 4;
    if (c >= 0x80) {
      // Bytes 5-9 fill bits 35-63 of hi (shift 3, 10, 17, 24, 31).
      for (let i = 0; i < 5; i++) {
        if (p >= end) throw varintCut(p);
        c = b[p++]!;
        hi = (hi | ((c & 0x7f) << (i * 7 + 3))) >>> 0;
        if (c < 0x80) break;
        if (i === 4) throw overflow();
      }
    }
    this.pos = p;
    this.lo = lo;
    this.hi = hi;
  }

  /**
   * The low 32 bits of a varint of up to 64, as a signed integer: an int32 (which encoders
   * sign-extend to 64 bits) or enum; `>>> 0` makes it a uint32.
   */
  int32(end: number = this.end): number {
    const b = this.buf;
    let p = this.pos;
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= end) throw varintCut(p);
      const c = b[p++]!;
      if (shift < 32) v |= (c & 0x7f) << shift;
      if (c < 0x80) break;
      if (shift === 63) throw overflow();
    }
    this.pos = p;
    return v;
  }

  /** A uint64 varint as an exact bigint. */
  uint64(end: number = this.end): bigint {
    this.u64(end);
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** An int64 varint as an exact bigint. */
  int64(end: number = this.end): bigint {
    return BigInt.asIntN(64, this.uint64(end));
  }

  /** A bool varint (any 64-bit value but 0 is true). */
  bool(end: number = this.end): boolean {
    this.u64(end);
    return (this.lo | this.hi) !== 0;
  }

  /** A uint32 varint; InvalidError past 2^32 - 1. */
  uint32(): number {
    const v = this.uint();
    if (v > 0xffffffff) throw new InvalidError(`proto: integer overflow: ${v} does not fit uint32`);
    return v;
  }

  /** A fixed32 as an unsigned integer. */
  fixed32(end: number = this.end): number {
    const p = this.pos;
    if (p + 4 > end) throw dataTruncated(4, p);
    this.pos = p + 4;
    return this.buf.readUInt32LE(p);
  }

  /** A fixed64 as an unsigned bigint. */
  fixed64(end: number = this.end): bigint {
    const p = this.pos;
    if (p + 8 > end) throw dataTruncated(8, p);
    this.pos = p + 8;
    return this.buf.readBigUInt64LE(p);
  }

  /** A double (fixed64, IEEE 754). */
  double(end: number = this.end): number {
    const p = this.pos;
    if (p + 8 > end) throw dataTruncated(8, p);
    this.pos = p + 8;
    return this.buf.readDoubleLE(p);
  }

  /** The end of a length-delimited value of `n` bytes at `pos`; ProtoLengthError past `end`. Does not move `pos`. */
  within(n: number, end: number): number {
    const e = this.pos + n;
    if (e > end) throw lengthPastEnd(n);
    return e;
  }

  /** Skips `n` fixed bytes; RangeError past `end`. */
  skipBytes(n: number, end: number): void {
    const p = this.pos;
    if (p + n > end) throw dataTruncated(n, p);
    this.pos = p + n;
  }

  /** Reads the length of a length-delimited field (`uint`) and returns the field's end offset (ProtoLengthError past `end`). */
  lenEnd(end: number = this.end): number {
    const n = this.uint(end);
    const e = this.pos + n;
    if (e > end) throw lengthPastEnd(n);
    return e;
  }

  /** `lenEnd` for a length of at most 32 bits (`u32`), as Loki's push decoder reads them. */
  lenEnd32(end: number): number {
    const n = this.u32(end);
    const e = this.pos + n;
    if (e > end) throw lengthPastEnd(n);
    return e;
  }

  /** Reads the next tag of the current message; false at its end. Throws InvalidError for field 0 or groups. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.uint();
    this.field = Math.floor(tag / 8);
    this.wire = tag & 7;
    if (this.field === 0) throw new InvalidError(`proto: illegal tag 0 (wire type ${this.wire})`);
    if (this.wire === WIRE_START_GROUP || this.wire === WIRE_END_GROUP || this.wire > WIRE_FIXED32) throw new InvalidError(`proto: illegal wireType ${this.wire}`);
    return true;
  }

  /** Throws unless the current field has wire type `wire`; `name` names it in the message. */
  expect(wire: number, name: string): void {
    if (this.wire !== wire) throw wrongWireType(name, this.wire);
  }

  /** Enters the length-delimited field at `pos`: narrows `end` to it and returns the outer end. */
  sub(): number {
    const n = this.uint();
    const outer = this.end;
    this.end = this.within(n, outer);
    return outer;
  }

  /** Leaves a sub-message entered by `sub()`, which must be read to its end. */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  /** A length-delimited field as a view (no copy), at most `maxBytes` long. */
  lenView(maxBytes: number, name: string): Buffer {
    const n = this.uint();
    if (n > maxBytes) throw new InvalidError(`proto: field ${name} of ${n} bytes exceeds the limit of ${maxBytes}`);
    const p = this.pos;
    this.pos = this.within(n, this.end);
    return this.buf.subarray(p, this.pos);
  }

  /** A string field of at most `maxBytes` UTF-8 bytes. */
  str(maxBytes: number, name: string): string {
    const b = this.lenView(maxBytes, name);
    return b.toString('utf8');
  }

  /** Skips the value of a field of wire type `wire` (an unknown one); groups are refused. */
  skip(wire: number = this.wire, end: number = this.end): void {
    switch (wire) {
      case WIRE_VARINT:
        this.u64(end);
        return;
      case WIRE_FIXED64:
        this.skipBytes(8, end);
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd(end);
        return;
      case WIRE_FIXED32:
        this.skipBytes(4, end);
        return;
      default:
        throw new InvalidError(`proto: illegal wireType ${wire}`);
    }
  }

  /**
   * `skip` as Loki's (gogo) decoder does it: lengths of at most 32 bits, and proto2 groups
   * skipped to their end tag (nested at most MAX_GROUP_DEPTH deep). `field` is the number of
   * the tag just read.
   */
  skipWithGroups(wire: number, field: number, end: number, depth = 0): void {
    switch (wire) {
      case WIRE_LEN:
        this.pos = this.lenEnd32(end);
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
          this.skipWithGroups(w, f, end, depth + 1);
        }
      }
      case WIRE_END_GROUP:
        throw new InvalidError('proto: unexpected end group');
      default:
        this.skip(wire, end);
    }
  }
}
