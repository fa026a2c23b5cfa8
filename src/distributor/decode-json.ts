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
 * Type errors carry the messages of the JSON library Loki uses (grafana/jsonparser), so
 * clients see the same text; syntax errors carry the JavaScript parser's description.
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
  // A null stream decodes to an empty one, as in Loki; the distributor skips it.
  if (raw === null) return { labels: '', labelsObject: null, entries: [] };
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
  if (!isObject(doc)) throw new InvalidError('loghttp.PushRequest: ReadObject: expect { or n');
  const raw = doc['streams'];
  const streams: PushStream[] = [];
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw)) throw new InvalidError('loghttp.PushRequest.Streams: decode slice: expect [ or n');
    for (let i = 0; i < raw.length; i++) streams.push(decodeStream(raw[i]));
  }
  return { streams };
}
