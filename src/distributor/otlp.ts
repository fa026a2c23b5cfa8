/**
 * OTLP logs → `PushRequest`, as Loki's `pkg/loghttp/push/otlp.go` and `otlplabels` do:
 *
 * - resource attributes listed in `default_resource_attributes_as_index_labels` become stream
 *   labels, every other resource attribute structured metadata; names are sanitised the way
 *   Prometheus' otlptranslator does (`service.name` → `service_name`), map values are
 *   flattened (`k8s: {pod: x}` → `k8s_pod`);
 * - service-name discovery when `service.name` is missing (or `unknown_service`);
 * - per record, structured metadata in Loki's order: log attributes, `observed_timestamp`
 *   (when both times are set), `severity_number`, `severity_text`, `dropped_attributes_count`,
 *   `flags`, `trace_id`, `span_id`, `event_name`, then the resource's and the scope's
 *   (`scope_name`, `scope_version`, `scope_dropped_attributes_count`) metadata;
 * - the line is the body as text (non-string bodies JSON-encoded like Go's encoding/json);
 * - the timestamp is `time_unix_nano`, else `observed_time_unix_nano`, else now, in exact ns.
 */
import zlib from 'node:zlib';
import { InvalidError, TooLargeError } from '../errors.js';
import { labelsToString, sortLabels, type Label } from '../model/labels.js';
import type { PushEntry, PushRequest, PushStream } from '../model/stream.js';
import { decodeOtlpLogsJson, decodeOtlpLogsProto, type OtlpKeyValue, type OtlpLogs, type OtlpValue } from './decode-otlp.js';
import { decompressedTooLargeMessage, parseMediaType } from './decode.js';
import { SERVICE_NAME, UNKNOWN_SERVICE } from './field-detection.js';

/** What the conversion needs to know about the tenant and the server. */
export interface OtlpOptions {
  /** Resource attributes that become index labels (Loki's default_resource_attributes_as_index_labels). */
  readonly indexLabelAttributes: readonly string[];
  /** Loki's discover_service_name (empty: no service_name is added). */
  readonly discoverServiceName: readonly string[];
  /** Clock for records without any timestamp. */
  readonly nowNs: () => bigint;
}

const SERVICE_NAME_ATTR = 'service.name';
const EVENT_NAME = 'event_name';

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

/** Invalid characters (anything not [a-zA-Z0-9]) become one '_' per run. */
function sanitize(name: string): string {
  let out = '';
  let underscore = false;
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && isAlnum(c)) {
      out += ch;
      underscore = false;
    } else if (!underscore) {
      out += '_';
      underscore = true;
    }
  }
  return out;
}

/**
 * Prometheus otlptranslator's `LabelNamer{}.Build`: sanitise, keep a reserved `__x__` shape,
 * prefix `key_` before a leading digit; empty or underscore-only results are errors.
 */
export function otlpLabelName(name: string): string {
  if (name.length === 0) throw new InvalidError('symbolizer lookup: label name is empty');
  let out: string;
  if (name.length >= 4 && name.startsWith('__') && name.endsWith('__')) out = '__' + sanitize(name.slice(2, -2)) + '__';
  else out = sanitize(name);
  const c0 = out.charCodeAt(0);
  if (c0 >= 0x30 && c0 <= 0x39) out = 'key_' + out;
  if (/^_*$/.test(out)) throw new InvalidError(`symbolizer lookup: normalization for label name ${JSON.stringify(name)} resulted in invalid name ${JSON.stringify(out)}`);
  return out;
}

/** Go's encoding/json string: JSON.stringify plus the HTML-safe escapes Go adds. */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** pdata's float64AsString (ES6 number formatting, which JS shares). */
function doubleString(d: number): string {
  if (!Number.isFinite(d)) return `json: unsupported value: ${Number.isNaN(d) ? 'NaN' : d > 0 ? '+Inf' : '-Inf'}`;
  return Object.is(d, -0) ? '-0' : String(d);
}

/** Go's json.Marshal of pdata's AsRaw() value: map keys sorted, bytes in base64. Null for NaN/Inf (Go fails). */
function goJson(v: OtlpValue): string | null {
  switch (v.kind) {
    case 'string':
      return goJsonString(v.value);
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return v.value.toString();
    case 'double':
      return Number.isFinite(v.value) ? String(v.value) : null;
    case 'bytes':
      return '"' + v.value.toString('base64') + '"';
    case 'empty':
      return 'null';
    case 'array': {
      const parts: string[] = [];
      for (const x of v.value) {
        const j = goJson(x);
        if (j === null) return null;
        parts.push(j);
      }
      return '[' + parts.join(',') + ']';
    }
    case 'kvlist': {
      const m = new Map<string, OtlpValue>();
      for (const kv of v.value) m.set(kv.key, kv.value);
      const keys = [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const parts: string[] = [];
      for (const k of keys) {
        const j = goJson(m.get(k)!);
        if (j === null) return null;
        parts.push(goJsonString(k) + ':' + j);
      }
      return '{' + parts.join(',') + '}';
    }
  }
}

/** pdata's `Value.AsString()`. */
export function otlpValueString(v: OtlpValue): string {
  switch (v.kind) {
    case 'string':
      return v.value;
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return v.value.toString();
    case 'double':
      return doubleString(v.value);
    case 'bytes':
      return v.value.toString('base64');
    case 'empty':
      return '';
    case 'array':
    case 'kvlist':
      return goJson(v) ?? '';
  }
}

/** Loki's `AttributeToLabels`: map values flatten into `prefix_key` labels, others are one label. */
function attributeToLabels(key: string, v: OtlpValue, prefix: string, out: Label[]): void {
  const name = otlpLabelName(prefix === '' ? key : prefix + '_' + key);
  if (v.kind === 'kvlist') {
    for (const kv of v.value) attributeToLabels(kv.key, kv.value, name, out);
    return;
  }
  out.push({ name, value: otlpValueString(v) });
}

function hasServiceName(attrs: readonly OtlpKeyValue[]): boolean {
  for (const kv of attrs) if (kv.key === SERVICE_NAME_ATTR && otlpValueString(kv.value) !== '') return true;
  return false;
}

/** Converts decoded OTLP logs into Silt's push model; streams with equal labels are merged. */
export function otlpToPushRequest(logs: OtlpLogs, opts: OtlpOptions): PushRequest {
  const indexAttrs = new Set(opts.indexLabelAttributes);
  const byLabels = new Map<string, PushStream>();
  for (const rl of logs.resourceLogs) {
    const streamLabels = new Map<string, string>();
    const resourceMd: Label[] = [];
    const scratch: Label[] = [];
    for (const kv of rl.resource.attributes) {
      scratch.length = 0;
      attributeToLabels(kv.key, kv.value, '', scratch);
      if (indexAttrs.has(kv.key)) for (const l of scratch) streamLabels.set(l.name, l.value);
      else resourceMd.push(...scratch);
    }
    if (opts.discoverServiceName.length > 0 && !hasServiceName(rl.resource.attributes)) {
      let value = UNKNOWN_SERVICE;
      for (const n of opts.discoverServiceName) {
        const v = streamLabels.get(n);
        if (v !== undefined && v !== '') {
          value = v;
          break;
        }
      }
      streamLabels.set(SERVICE_NAME, value);
    }
    const labels = sortLabels([...streamLabels].map(([name, value]) => ({ name, value })));
    const labelsString = labelsToString(labels);
    let stream = byLabels.get(labelsString);
    if (stream === undefined) byLabels.set(labelsString, (stream = { labels: labelsString, labelsObject: null, entries: [] }));

    for (const sl of rl.scopeLogs) {
      const scopeMd: Label[] = [];
      for (const kv of sl.scope.attributes) attributeToLabels(kv.key, kv.value, '', scopeMd);
      if (sl.scope.name !== '') scopeMd.push({ name: 'scope_name', value: sl.scope.name });
      if (sl.scope.version !== '') scopeMd.push({ name: 'scope_version', value: sl.scope.version });
      if (sl.scope.droppedAttributesCount !== 0) scopeMd.push({ name: 'scope_dropped_attributes_count', value: String(sl.scope.droppedAttributesCount) });

      for (const lr of sl.logRecords) {
        const md: Label[] = [];
        for (const kv of lr.attributes) {
          if (kv.key === EVENT_NAME && lr.eventName !== '') continue;
          attributeToLabels(kv.key, kv.value, '', md);
        }
        if (lr.timeUnixNano !== 0n && lr.observedTimeUnixNano !== 0n) md.push({ name: 'observed_timestamp', value: lr.observedTimeUnixNano.toString() });
        if (lr.severityNumber !== 0) md.push({ name: 'severity_number', value: String(lr.severityNumber) });
        if (lr.severityText !== '') md.push({ name: 'severity_text', value: lr.severityText });
        if (lr.droppedAttributesCount !== 0) md.push({ name: 'dropped_attributes_count', value: String(lr.droppedAttributesCount) });
        if (lr.flags !== 0) md.push({ name: 'flags', value: String(lr.flags) });
        if (lr.traceId.length > 0 && lr.traceId.some((b) => b !== 0)) md.push({ name: 'trace_id', value: lr.traceId.toString('hex') });
        if (lr.spanId.length > 0 && lr.spanId.some((b) => b !== 0)) md.push({ name: 'span_id', value: lr.spanId.toString('hex') });
        if (lr.eventName !== '') md.push({ name: EVENT_NAME, value: lr.eventName });
        md.push(...resourceMd, ...scopeMd);
        const tsNs = lr.timeUnixNano !== 0n ? lr.timeUnixNano : lr.observedTimeUnixNano !== 0n ? lr.observedTimeUnixNano : opts.nowNs();
        const entry: PushEntry = { tsNs, line: Buffer.from(otlpValueString(lr.body)), metadata: md };
        stream.entries.push(entry);
      }
    }
  }
  const streams: PushStream[] = [];
  for (const s of byLabels.values()) if (s.entries.length > 0) streams.push(s);
  return { streams };
}

/** Loki's OTLP content types (compared as media types, so parameters are allowed). */
const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/**
 * Decodes an OTLP/HTTP body (`Content-Encoding` none or gzip; protobuf or JSON) and converts
 * it. `maxDecompressedBytes` bounds what gzip may produce (0: no bound). Errors are
 * `InvalidError` / `TooLargeError` with Loki's texts where Loki has one.
 */
export function decodeOtlpBody(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined, maxDecompressedBytes: number, opts: OtlpOptions): PushRequest {
  let data = body;
  const enc = contentEncoding ?? '';
  if (enc === 'gzip') data = gunzipBounded(body, maxDecompressedBytes);
  else if (enc === 'zstd' || enc === 'lz4') throw new InvalidError(`unsupported content encoding ${enc}: Silt supports only gzip`);
  else if (enc !== '') throw new InvalidError(`unsupported content encoding ${enc}: only gzip, lz4 and zstd are supported`);
  let media = '';
  try {
    media = parseMediaType(contentType ?? '');
  } catch {
    media = '';
  }
  if (media === PROTOBUF) return otlpToPushRequest(decodeOtlpLogsProto(data), opts);
  if (media === JSON_TYPE) return otlpToPushRequest(decodeOtlpLogsJson(data), opts);
  throw new InvalidError(`content type: ${contentType ?? ''} is not supported`);
}

function gunzipBounded(body: Buffer, maxBytes: number): Buffer {
  let out: Buffer;
  try {
    out = zlib.gunzipSync(body, maxBytes > 0 ? { maxOutputLength: maxBytes + 1 } : {});
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw new TooLargeError(decompressedTooLargeMessage(maxBytes + 1, maxBytes));
    throw new InvalidError(code === 'Z_BUF_ERROR' ? 'unexpected EOF' : 'gzip: invalid header', { cause: e });
  }
  if (maxBytes > 0 && out.length > maxBytes) throw new TooLargeError(decompressedTooLargeMessage(out.length, maxBytes));
  return out;
}
