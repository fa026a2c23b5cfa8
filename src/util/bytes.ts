/**
 * Append-style binary encoding (VictoriaLogs' marshal/unmarshal idea) with a cursor-based
 * reader. Varints are protobuf-compatible base-128. Readers never throw inside loops for
 * bad input; they throw RangeError on overrun, which decoders wrap into their own errors.
 */

const TWO_32 = 4294967296;

/** A growable byte buffer. `finish()` returns a view of the bytes written so far. */
export class ByteWriter {
  /** Backing storage; only `[0, length)` is meaningful. */
  buf: Buffer;
  /** Bytes written. */
  length = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Clears for reuse, keeping the allocation. */
  reset(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u32be(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
  }

  /** Unsigned 64-bit big-endian from a bigint. */
  u64be(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.length);
    this.length += 8;
  }

  /** Signed 64-bit big-endian from a bigint. */
  i64be(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.length);
    this.length += 8;
  }

  /** Unsigned varint for a non-negative integer up to 2^53. */
  uvarint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.length;
    while (v >= 0x80) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.length = p;
  }

  /** Zig-zag signed varint for an integer with magnitude below 2^52. */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Unsigned varint of a bigint (full 64-bit range). */
  uvarintBig(v: bigint): void {
    this.ensure(10);
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.buf[this.length++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.length++] = Number(x);
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  /** Length-prefixed (uvarint) bytes. */
  lenBytes(src: Uint8Array): void {
    this.uvarint(src.length);
    this.bytes(src);
  }

  /** Length-prefixed UTF-8 string. */
  string(s: string): void {
    const max = s.length * 3;
    this.ensure(max + 10);
    // Write the string after a worst-case varint slot, then move it if the prefix is shorter.
    if (s.length < 43) {
      const n = this.buf.write(s, this.length + 1, 'utf8');
      this.buf[this.length] = n;
      this.length += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n);
    this.buf.write(s, this.length, 'utf8');
    this.length += n;
  }

  /** A view of the written bytes (shares memory with the writer until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the written bytes. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** A cursor over bytes. `pos` is public so callers can slice around it. */
export class ByteReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Buffer, start = 0, end = buf.length): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError(`unexpected end of data: need ${n} bytes at offset ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32be(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64be(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  i64be(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned varint as a number; throws RangeError past 2^53 or on overrun. */
  uvarint(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    if (p < end) {
      const c = b[p]!;
      if (c < 0x80) {
        this.pos = p + 1;
        return c;
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (p >= end) throw new RangeError(`unexpected end of data in varint at offset ${this.pos}`);
      const c = b[p++]!;
      result += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.pos = p;
        return result;
      }
      mul *= 128;
    }
    throw new RangeError(`varint too large at offset ${this.pos}`);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Unsigned varint as a bigint (full 64-bit range). */
  uvarintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const c = this.buf[this.pos++]!;
      result |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return result;
      shift += 7n;
    }
    throw new RangeError(`varint too large at offset ${this.pos}`);
  }

  /** A view (no copy) of the next `n` bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  lenBytes(maxBytes = Number.MAX_SAFE_INTEGER): Buffer {
    const n = this.uvarint();
    if (n > maxBytes) throw new RangeError(`length ${n} exceeds limit ${maxBytes}`);
    return this.bytes(n);
  }

  string(maxBytes = Number.MAX_SAFE_INTEGER): string {
    const n = this.uvarint();
    if (n > maxBytes) throw new RangeError(`length ${n} exceeds limit ${maxBytes}`);
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

/** Unsigned 32-bit value from two halves, for callers that split 64-bit ints. */
export function joinU32(hi: number, lo: number): number {
  return hi * TWO_32 + lo;
}
