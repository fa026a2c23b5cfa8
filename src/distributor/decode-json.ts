/**
 * Decoder of Loki's JSON push body (`POST /loki/api/v1/push`, `Content-Type:
 * application/json`):
 *
 *   {"streams":[{"stream":{"app":"x"},"values":[["<unix ns as string>","line",{"k":"v"}]]}]}
 *
 * Behaviour follows Loki's decoder (`pkg/loghttp/query.go`, `LogProtoStream.UnmarshalJSON`):
 * the timestamp must be a JSON string holding a base-10 int64 (an optional `-` and digits),
 * the line must be a string, the optional third element an object of string values; `null`
 * entries and `"values": null` are skipped, elements after the third are ignored, and a
 * missing element leaves its zero value. The label set is rendered in Loki's text form
 * (sorted, `{a="1", b="2"}`) into `PushStream.labels`, exactly as Loki does before its
 * distributor parses it again; `labelsObject` keeps the object.
 *
 * Errors carry Loki's text, so clients see the same message. Loki decodes the body with
 * json-iterator (`pkg/util/unmarshal`), which hands each stream to `LogProtoStream.UnmarshalJSON`
 * (grafana/jsonparser): a stream's type errors read
 * `loghttp.PushRequest.Streams: []loghttp.LogProtoStream: unmarshalerDecoder: <jsonparser text>,
 * error found in #N byte of ...|<20 bytes>|..., bigger context ...|<100 bytes>|...`, the bytes
 * around the end of that stream (see `jsoniterReport`). Syntax errors carry the JavaScript
 * parser's description.
 */
import { InvalidError } from '../errors.js';
import { quoteValue, type Label } from '../model/labels.js';
import type { PushEntry, PushRequest, PushStream, StructuredMetadata } from '../model/stream.js';

/** grafana/jsonparser's messages, which Loki returns verbatim on a malformed push body. */
export const JSON_MALFORMED_STRING = `Value is string, but can't find closing '"' symbol`;
export const JSON_MALFORMED_ARRAY = `Value is array, but can't find closing ']' symbol`;
export const JSON_MALFORMED_OBJECT = `Value looks like object, but can't find closing '}' symbol`;
export const JSON_MALFORMED_VALUE = `Value looks like Number/Boolean/None, but can't find its end: ',' or '}' symbol`;
export const JSON_OVERFLOW_INTEGER = 'Value is number, but overflowed while parsing';

const NO_METADATA: StructuredMetadata = Object.freeze([]) as StructuredMetadata;
const EMPTY_LINE = Buffer.alloc(0);
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a jsonparser-style int64: optional '-', then at least one digit, nothing else. */
function parseTimestamp(s: string): bigint {
  const n = s.length;
  let i = s.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i >= n) throw new InvalidError(JSON_MALFORMED_VALUE);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) throw new InvalidError(JSON_MALFORMED_VALUE);
  }
  const v = BigInt(s);
  if (v > INT64_MAX || v < INT64_MIN) throw new InvalidError(JSON_OVERFLOW_INTEGER);
  return v;
}

/** Stream label values: strings as they are; numbers and booleans as their JSON text (Loki keeps raw text). */
function labelValueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  throw new InvalidError(JSON_MALFORMED_STRING);
}

/** Renders a JSON label object the way Loki's `LabelSet.String()` does. */
function labelsText(o: Record<string, unknown>, out: Record<string, string>): string {
  const keys = Object.keys(o).sort();
  let s = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = labelValueText(o[k]);
    out[k] = v;
    if (i > 0) s += ', ';
    s += k + '=' + quoteValue(v);
  }
  return s + '}';
}

function decodeEntry(raw: unknown[]): PushEntry {
  let tsNs = 0n;
  let line = EMPTY_LINE;
  let metadata: StructuredMetadata = NO_METADATA;
  const ts = raw[0];
  if (ts !== undefined) {
    if (typeof ts !== 'string') throw new InvalidError(JSON_MALFORMED_STRING);
    tsNs = parseTimestamp(ts);
  }
  const l = raw[1];
  if (l !== undefined) {
    if (typeof l !== 'string') throw new InvalidError(JSON_MALFORMED_STRING);
    line = Buffer.from(l, 'utf8');
  }
  const md = raw[2];
  if (md !== undefined) {
    if (!isObject(md)) throw new InvalidError(JSON_MALFORMED_OBJECT);
    const pairs: Label[] = [];
    for (const name in md) {
      const value = md[name];
      if (typeof value !== 'string') throw new InvalidError(JSON_MALFORMED_STRING);
      pairs.push({ name, value });
    }
    if (pairs.length > 0) metadata = pairs;
  }
  return { tsNs, line, metadata };
}

function decodeStream(raw: unknown): PushStream {
  // A null stream is an error too: jsoniter hands the text `null` to LogProtoStream.UnmarshalJSON,
  // whose jsonparser.ObjectEach wants an object.
  if (!isObject(raw)) throw new InvalidError(JSON_MALFORMED_OBJECT);
  let labels = '';
  let labelsObject: Record<string, string> | null = null;
  const st = raw['stream'];
  if (st !== undefined) {
    if (!isObject(st)) throw new InvalidError(JSON_MALFORMED_OBJECT);
    // A null-prototype object, so a "__proto__" label stays an ordinary key.
    labelsObject = Object.create(null) as Record<string, string>;
    labels = labelsText(st, labelsObject);
  }
  const entries: PushEntry[] = [];
  const values = raw['values'];
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values)) throw new InvalidError(JSON_MALFORMED_ARRAY);
    for (let i = 0; i < values.length; i++) {
      const v: unknown = values[i];
      if (v === null) continue;
      if (!Array.isArray(v)) throw new InvalidError(JSON_MALFORMED_ARRAY);
      entries.push(decodeEntry(v));
    }
  }
  return { labels, labelsObject, entries };
}

/** json-iterator reads a body through a buffer of this size (`ConfigDefault.NewDecoder`). */
const JSONITER_BUFFER_BYTES = 512;

/** Loki's names of the types json-iterator prefixes to errors, outermost first. */
const PUSH_REQUEST_TYPE = 'loghttp.PushRequest';
const STREAMS_PATH = 'loghttp.PushRequest.Streams: []loghttp.LogProtoStream: ';

/**
 * The text of json-iterator's `Iterator.ReportError(operation, msg)` for a read position `head`
 * (a byte offset into `body`: just past the last byte read): 10 bytes either side of it, then
 * 50. The iterator holds one 512-byte piece of the body at a time and quotes only that piece;
 * pieces are taken to start at multiples of 512, which is what Loki sees when each read of the
 * request body fills the buffer (always so for bodies of up to 512 bytes).
 */
export function jsoniterReport(body: Uint8Array, head: number, operation: string, msg: string): string {
  const pieceStart = head > 0 ? Math.floor((head - 1) / JSONITER_BUFFER_BYTES) * JSONITER_BUFFER_BYTES : 0;
  const tail = Math.min(pieceStart + JSONITER_BUFFER_BYTES, body.length);
  const text = (from: number, to: number): string => Buffer.from(body.buffer, body.byteOffset + from, Math.max(0, to - from)).toString('utf8');
  const peekStart = Math.max(pieceStart, head - 10);
  const peekEnd = Math.min(tail, head + 10);
  const contextStart = Math.max(pieceStart, head - 50);
  const contextEnd = Math.min(tail, head + 50);
  return `${operation}: ${msg}, error found in #${head - peekStart} byte of ...|${text(peekStart, peekEnd)}|..., bigger context ...|${text(contextStart, contextEnd)}|...`;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/**
 * Byte offsets in a body that JSON.parse accepted: where values start and end. Only the error
 * path uses it, to quote the bytes json-iterator would quote.
 */
class JsonOffsets {
  constructor(private readonly b: Uint8Array) {}

  /** The first non-space offset at or after `i`. */
  skipSpace(i: number): number {
    while (i < this.b.length && isJsonSpace(this.b[i]!)) i++;
    return i;
  }

  /** The offset just past the value starting at `i` (a valid value, as JSON.parse said). */
  valueEnd(i: number): number {
    const b = this.b;
    const c = b[i];
    if (c === 0x22 /* " */) return this.stringEnd(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      let depth = 0;
      for (; i < b.length; i++) {
        const d = b[i]!;
        if (d === 0x22) i = this.stringEnd(i) - 1;
        else if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) {
          if (--depth === 0) return i + 1;
        }
      }
      return i;
    }
    // number, true, false, null
    while (i < b.length && !isJsonSpace(b[i]!) && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d) i++;
    return i;
  }

  private stringEnd(i: number): number {
    const b = this.b;
    for (i++; i < b.length; i++) {
      if (b[i] === 0x5c /* \ */) i++;
      else if (b[i] === 0x22) return i + 1;
    }
    return i;
  }

  /** Start of the value of the top-level object's last `key` member (as JSON.parse keeps the last), or -1. */
  memberValue(key: string): number {
    const b = this.b;
    let i = this.skipSpace(0);
    let found = -1;
    if (b[i] !== 0x7b) return -1;
    i = this.skipSpace(i + 1);
    while (i < b.length && b[i] === 0x22) {
      const keyEnd = this.stringEnd(i);
      const name = JSON.parse(Buffer.from(b.buffer, b.byteOffset + i, keyEnd - i).toString('utf8')) as string;
      const v = this.skipSpace(this.skipSpace(keyEnd) + 1);
      if (name === key) found = v;
      i = this.skipSpace(this.valueEnd(v));
      if (b[i] !== 0x2c) break;
      i = this.skipSpace(i + 1);
    }
    return found;
  }

  /** The offset just past element `index` of the array starting at `i`. */
  elementEnd(i: number, index: number): number {
    const b = this.b;
    i = this.skipSpace(i + 1);
    for (let k = 0; ; k++) {
      const end = this.valueEnd(i);
      if (k === index || end >= b.length) return end;
      i = this.skipSpace(this.skipSpace(end) + 1);
    }
  }
}

/** A json-iterator read error at `head`, with Loki's type path in front. */
function framed(path: string, body: Uint8Array, head: number, operation: string, msg: string, cause?: unknown): InvalidError {
  return new InvalidError(path + jsoniterReport(body, head, operation, msg), { cause });
}

/** json-iterator's text for `c` in "expect X, but found c" (one byte as a string). */
function foundByte(body: Uint8Array, at: number): string {
  return at < body.length ? String.fromCharCode(body[at]!) : '\u0000';
}

/**
 * Decodes an uncompressed JSON push body. Lines are fresh Buffers (JSON strings need
 * unescaping, so they cannot be views). Throws InvalidError on malformed input.
 */
export function decodePushRequestJson(body: Buffer): PushRequest {
  const text = body.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Loki's JSON reader reports an empty body as io.EOF.
    if (text.trim() === '') throw new InvalidError('EOF');
    throw new InvalidError(`loghttp.PushRequest: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null) return { streams: [] };
  const at = new JsonOffsets(body);
  if (!isObject(doc)) {
    const c = at.skipSpace(0);
    throw framed(PUSH_REQUEST_TYPE + '.', body, c + 1, 'readObjectStart', `expect { or n, but found ${foundByte(body, c)}`);
  }
  const raw = doc['streams'];
  const streams: PushStream[] = [];
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw)) {
      const c = at.memberValue('streams');
      throw framed(STREAMS_PATH, body, c + 1, 'decode slice', `expect [ or n, but found ${foundByte(body, c)}`);
    }
    for (let i = 0; i < raw.length; i++) {
      try {
        streams.push(decodeStream(raw[i]));
      } catch (err) {
        if (!(err instanceof InvalidError)) throw err;
        const end = at.elementEnd(at.memberValue('streams'), i);
        throw framed(STREAMS_PATH, body, end, 'unmarshalerDecoder', err.message, err);
      }
    }
  }
  return { streams };
}
