/**
 * Protobuf wire primitives over `ByteWriter`/`ByteReader` (whose varints are protobuf's
 * base-128): tags, length-delimited sub-messages, int64 as bigint, and skipping unknown fields.
 * Hand-written codecs build on these (ingester/grpc/wire.ts) instead of generated code, so
 * bytes stay views and timestamps stay exact bigints.
 *
 * Readers throw RangeError on truncation (as ByteReader does) and InvalidError for input no
 * protobuf encoder writes (bad wire types, groups, lengths past the end); a codec catches
 * RangeError once per message and reports it as an InvalidError naming the message.
 */
import { InvalidError } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes.js';

/** Wire types (the low 3 bits of a tag). Groups (3, 4) are refused: proto3 never writes them. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
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

/**
 * A protobuf cursor. `end` bounds the current message; `sub()` narrows into a length-delimited
 * field and returns the outer end to restore with `leave()`.
 */
export class ProtoReader extends ByteReader {
  /** Field number of the last `next()`. */
  field = 0;
  /** Wire type of the last `next()`. */
  wire = 0;

  /** Reads the next tag of the current message; false at its end. Throws InvalidError for field 0 or groups. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.uvarint();
    this.field = Math.floor(tag / 8);
    this.wire = tag & 7;
    if (this.field === 0) throw new InvalidError(`proto: illegal tag 0 (wire type ${this.wire})`);
    if (this.wire === 3 || this.wire === 4 || this.wire > 5) throw new InvalidError(`proto: illegal wireType ${this.wire}`);
    return true;
  }

  /** Throws unless the current field has wire type `wire`; `name` names it in the message. */
  expect(wire: number, name: string): void {
    if (this.wire !== wire) throw new InvalidError(`proto: wrong wireType = ${this.wire} for field ${name}`);
  }

  /** A varint as a non-negative safe integer (RangeError past 2^53). */
  uint(): number {
    return this.uvarint();
  }

  /** A uint32 varint; InvalidError past 2^32 - 1. */
  uint32(): number {
    const v = this.uvarint();
    if (v > 0xffffffff) throw new InvalidError(`proto: integer overflow: ${v} does not fit uint32`);
    return v;
  }

  /** An int64 varint as an exact bigint. */
  int64(): bigint {
    return BigInt.asIntN(64, this.uvarintBig());
  }

  /** A bool varint. */
  bool(): boolean {
    return this.uvarintBig() !== 0n;
  }

  /** Enters the length-delimited field at `pos`: narrows `end` to it and returns the outer end. */
  sub(): number {
    const n = this.uvarint();
    const outer = this.end;
    if (n > outer - this.pos) throw new InvalidError(`proto: length ${n} runs past the end of the message`);
    this.end = this.pos + n;
    return outer;
  }

  /** Leaves a sub-message entered by `sub()`, which must be read to its end. */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  /** A length-delimited field as a view (no copy), at most `maxBytes` long. */
  lenView(maxBytes: number, name: string): Buffer {
    const n = this.uvarint();
    if (n > maxBytes) throw new InvalidError(`proto: field ${name} of ${n} bytes exceeds the limit of ${maxBytes}`);
    if (n > this.end - this.pos) throw new InvalidError(`proto: length ${n} runs past the end of the message`);
    return this.bytes(n);
  }

  /** A string field of at most `maxBytes` UTF-8 bytes. */
  str(maxBytes: number, name: string): string {
    const b = this.lenView(maxBytes, name);
    return b.toString('utf8');
  }

  /** Skips the value of the current field (an unknown one). */
  skip(): void {
    switch (this.wire) {
      case WIRE_VARINT:
        this.uvarintBig();
        return;
      case WIRE_FIXED64:
        this.bytes(8);
        return;
      case WIRE_LEN: {
        const n = this.uvarint();
        if (n > this.end - this.pos) throw new InvalidError(`proto: length ${n} runs past the end of the message`);
        this.pos += n;
        return;
      }
      case WIRE_FIXED32:
        this.bytes(4);
        return;
      default:
        throw new InvalidError(`proto: illegal wireType ${this.wire}`);
    }
  }
}
