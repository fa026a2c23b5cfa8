/**
 * Turns an HTTP push body into a `PushRequest`, the way Loki's
 * `pkg/loghttp/push/push.go` (`parsePushRequestBody`) does:
 *
 * - `Content-Encoding`: none or `snappy` pass the body on unchanged (snappy is part of the
 *   protobuf format, so the header is informational; a snappy-encoded JSON body is NOT
 *   decompressed, as in Loki); `gzip` and `deflate` (raw DEFLATE, as Go's `compress/flate`;
 *   zlib-wrapped bodies are accepted too) are inflated with a decompressed-size limit;
 *   anything else is rejected with `Content-Encoding "x" not supported`.
 * - `Content-Type` is parsed like Go's `mime.ParseMediaType` (a malformed header is a 400, as
 *   in Loki); `application/json` selects JSON, every other media type snappy-compressed
 *   protobuf.
 * - Unlike Loki, a body that is not protobuf but looks like JSON (its first byte other than
 *   JSON whitespace is `{`) is decoded as JSON whatever the Content-Type, and a missing
 *   Content-Type is not an error: `curl --data` sends `application/x-www-form-urlencoded`,
 *   which Loki answers with `snappy: corrupt input`. Protobuf is tried first, so a valid
 *   protobuf body (whose snappy length prefix may well be `{`) decodes as in Loki. When neither
 *   decodes, the 400 names the Content-Type received and what to send.
 *
 * Size errors are `TooLargeError` (413) with Loki's text; everything else `InvalidError`.
 */
import zlib from 'node:zlib';
import snappy from 'snappy';
import { InvalidError, TooLargeError } from '../errors.js';
import type { PushRequest } from '../model/stream.js';
import { decodePushRequestJson } from './decode-json.js';
import { decodePushRequestProto } from './decode-proto.js';

/** Loki: `request body too large: decompressed message size too large than max (N vs M)`. */
export function decompressedTooLargeMessage(sizeBytes: number, maxBytes: number): string {
  return `request body too large: decompressed message size too large than max (${sizeBytes} vs ${maxBytes})`;
}

const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && TSPECIALS.indexOf(String.fromCharCode(c)) < 0;
}

/** Index just past the token starting at `i` (i itself when there is none). */
function tokenEnd(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/**
 * The lower-cased media type of a Content-Type header, validated like Go's
 * `mime.ParseMediaType` (same error texts). Parameters are checked, not returned.
 */
export function parseMediaType(header: string): string {
  const semi = header.indexOf(';');
  const base = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const t1 = tokenEnd(base, 0);
  if (t1 === 0) throw new InvalidError('mime: no media type');
  if (t1 < base.length) {
    if (base.charCodeAt(t1) !== 0x2f /* / */) throw new InvalidError('mime: expected slash after first token');
    const t2 = tokenEnd(base, t1 + 1);
    if (t2 === t1 + 1) throw new InvalidError('mime: expected token after slash');
    if (t2 !== base.length) throw new InvalidError('mime: unexpected content after media subtype');
  }
  if (semi >= 0) checkMediaParams(header, semi);
  return base;
}

/** Validates `; key=value` parameters (value a token or a quoted string); a trailing ';' is allowed. */
function checkMediaParams(s: string, i: number): void {
  const seen = new Set<string>();
  const n = s.length;
  while (i < n) {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (i >= n) return;
    if (s.charCodeAt(i) !== 0x3b /* ; */) throw new InvalidError('mime: invalid media parameter');
    i++;
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (i >= n) return; // trailing semicolon
    const k0 = i;
    i = tokenEnd(s, i);
    const key = s.slice(k0, i).toLowerCase();
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (key === '' || s.charCodeAt(i) !== 0x3d /* = */) throw new InvalidError('mime: invalid media parameter');
    i++;
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) === 0x22 /* " */) {
      i++;
      for (;;) {
        if (i >= n) throw new InvalidError('mime: invalid media parameter');
        const c = s.charCodeAt(i++);
        if (c === 0x22) break;
        if (c === 0x5c /* \ */) i++;
      }
    } else {
      const v0 = i;
      i = tokenEnd(s, i);
      if (i === v0) throw new InvalidError('mime: invalid media parameter');
    }
    if (seen.has(key)) throw new InvalidError('mime: duplicate parameter name');
    seen.add(key);
  }
}

function zlibMessage(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'Z_BUF_ERROR') return 'unexpected EOF';
  const msg = (err as Error).message ?? '';
  if (msg.includes('header')) return 'gzip: invalid header';
  if (msg.includes('check')) return 'gzip: invalid checksum';
  return 'flate: corrupt input';
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
}

/** Inflates with a hard output cap; the cap is max+1 so "exactly max" still passes. */
function inflate(body: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number): Buffer {
  const opts: zlib.ZlibOptions = maxBytes > 0 ? { maxOutputLength: maxBytes + 1 } : {};
  let out: Buffer;
  try {
    if (encoding === 'gzip') {
      if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) throw new InvalidError('gzip: invalid header');
      out = zlib.gunzipSync(body, opts);
    } else {
      // Go's flate reader (what Loki uses) expects raw DEFLATE; RFC 9110 "deflate" is
      // zlib-wrapped. Accept both: try zlib when the 2-byte header checks out.
      const b0 = body[0] ?? 0;
      const b1 = body[1] ?? 0;
      const zlibHeader = (b0 & 0x0f) === 8 && ((b0 << 8) | b1) % 31 === 0;
      out = zlibHeader ? inflateZlibOrRaw(body, opts) : zlib.inflateRawSync(body, opts);
    }
  } catch (err) {
    if (err instanceof InvalidError) throw err;
    if (isTooLarge(err)) throw new TooLargeError(decompressedTooLargeMessage(maxBytes + 1, maxBytes));
    throw new InvalidError(zlibMessage(err), { cause: err });
  }
  if (maxBytes > 0 && out.length > maxBytes) {
    throw new TooLargeError(decompressedTooLargeMessage(out.length, maxBytes));
  }
  return out;
}

function inflateZlibOrRaw(body: Buffer, opts: zlib.ZlibOptions): Buffer {
  try {
    return zlib.inflateSync(body, opts);
  } catch (err) {
    if (isTooLarge(err)) throw err;
    return zlib.inflateRawSync(body, opts);
  }
}

/** Reads the uncompressed length a snappy block declares (a uvarint prefix) without inflating. */
function snappyDecodedLength(body: Buffer): number {
  let v = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= body.length) throw new InvalidError('snappy: corrupt input');
    const c = body[i]!;
    v += (c & 0x7f) * 2 ** (7 * i);
    if (c < 0x80) return v;
  }
  throw new InvalidError('snappy: decoded block is too large');
}

/** Throws TooLargeError when the snappy block declares more than `maxDecompressedBytes` (0: no bound). */
export function checkSnappyLength(body: Buffer, maxDecompressedBytes: number): void {
  const n = snappyDecodedLength(body);
  if (maxDecompressedBytes > 0 && n > maxDecompressedBytes) {
    throw new TooLargeError(decompressedTooLargeMessage(n, maxDecompressedBytes));
  }
}

/** Snappy-decompresses a protobuf body, checking the declared size before allocating. */
export function uncompressSnappy(body: Buffer, maxDecompressedBytes: number): Buffer {
  checkSnappyLength(body, maxDecompressedBytes);
  try {
    // copyOutputData: a napi external buffer costs several times the decompression itself.
    return snappy.uncompressSync(body, { asBuffer: true, copyOutputData: true }) as Buffer;
  } catch (err) {
    throw new InvalidError('snappy: corrupt input', { cause: err });
  }
}

/** The media type that selects the JSON decoder. */
export const JSON_MEDIA_TYPE = 'application/json';
/** The media type Loki documents for snappy-compressed protobuf. */
export const PROTOBUF_MEDIA_TYPE = 'application/x-protobuf';

/** Whether the first byte of `body` that is not JSON whitespace is `{`. */
export function looksLikeJson(body: Uint8Array): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b;
  }
  return false;
}

/** The lower-cased media type of a push's Content-Type; '' when the header is missing or blank. */
export function pushMediaType(header: string | undefined): string {
  if (header === undefined || header.trim() === '') return '';
  return parseMediaType(header);
}

const WHAT_TO_SEND = 'send JSON with "Content-Type: application/json" or snappy-compressed protobuf with "Content-Type: application/x-protobuf"';

function sentWith(mediaType: string): string {
  return mediaType === '' ? 'sent without a Content-Type' : `sent with Content-Type "${mediaType}"`;
}

/**
 * The error to answer for a body that did not decode as protobuf and does not look like JSON:
 * Loki's own text when the client said `application/x-protobuf`, otherwise that text plus the
 * Content-Type received and what to send. Errors other than InvalidError pass unchanged.
 */
export function protobufPushError(err: unknown, mediaType: string): unknown {
  if (!(err instanceof InvalidError) || mediaType === PROTOBUF_MEDIA_TYPE) return err;
  return new InvalidError(`push body ${sentWith(mediaType)} is neither snappy-compressed protobuf (${err.message}) nor JSON; ${WHAT_TO_SEND}`, { cause: err });
}

/**
 * Decodes a body sent under a non-JSON media type (or none): snappy-compressed protobuf, as Loki
 * does, and when that fails and the body looks like JSON, JSON.
 */
export function decodeProtobufOrJson(data: Buffer, mediaType: string, maxDecompressedBytes: number): PushRequest {
  try {
    return decodePushRequestProto(uncompressSnappy(data, maxDecompressedBytes));
  } catch (err) {
    if (!(err instanceof InvalidError) || !looksLikeJson(data)) throw protobufPushError(err, mediaType);
  }
  try {
    return decodePushRequestJson(data);
  } catch (err) {
    if (!(err instanceof InvalidError)) throw err;
    throw new InvalidError(`push body ${sentWith(mediaType)} looks like JSON but does not decode: ${err.message}; ${WHAT_TO_SEND}`, { cause: err });
  }
}

/**
 * Decodes a push body. `maxDecompressedBytes` bounds the bytes any decompression step may
 * produce (0 disables the bound). Protobuf lines are views into the decompressed buffer.
 */
export async function decodePushBody(
  body: Buffer,
  contentType: string | undefined,
  contentEncoding: string | undefined,
  maxDecompressedBytes: number,
): Promise<PushRequest> {
  let data = body;
  const enc = contentEncoding ?? '';
  switch (enc) {
    case '':
    case 'snappy':
      break;
    case 'gzip':
    case 'deflate':
      data = inflate(body, enc, maxDecompressedBytes);
      break;
    default:
      throw new InvalidError(`Content-Encoding ${JSON.stringify(enc)} not supported`);
  }
  const mediaType = pushMediaType(contentType);
  if (mediaType === JSON_MEDIA_TYPE) return decodePushRequestJson(data);
  return decodeProtobufOrJson(data, mediaType, maxDecompressedBytes);
}
