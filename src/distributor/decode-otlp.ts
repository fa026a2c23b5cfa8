/**
 * Decoders of an OTLP `ExportLogsServiceRequest` (opentelemetry-proto
 * `collector/logs/v1/logs_service.proto`) into a small plain model, `OtlpLogs`, that
 * otlp.ts turns into a `PushRequest`:
 *
 * - `decodeOtlpLogsProto`: hand-written protobuf reader (no generated code). Timestamps are
 *   fixed64 nanoseconds read as exact bigints; unknown fields are skipped by wire type.
 * - `decodeOtlpLogsJson`: the OTLP/JSON mapping (lowerCamelCase or proto names, int64 as
 *   strings or numbers, trace and span ids in hex, bytes in base64). 64-bit integers are
 *   read from the source text so no precision is lost.
 *
 * Malformed input raises `InvalidError`, never anything else.
 */
import { InvalidError } from '../errors.js';
import { illegalTag, ProtoLengthError, ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, wrongWireType } from '../util/protobuf.js';

/** An OTLP AnyValue. */
export type OtlpValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Buffer }
  | { readonly kind: 'array'; readonly value: readonly OtlpValue[] }
  | { readonly kind: 'kvlist'; readonly value: readonly OtlpKeyValue[] }
  | { readonly kind: 'empty' };

export interface OtlpKeyValue {
  readonly key: string;
  readonly value: OtlpValue;
}

export interface OtlpLogRecord {
  /** ns since the epoch; 0 when unset. */
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: OtlpValue;
  attributes: OtlpKeyValue[];
  droppedAttributesCount: number;
  flags: number;
  /** 16 bytes, or empty. */
  traceId: Buffer;
  /** 8 bytes, or empty. */
  spanId: Buffer;
  eventName: string;
}

export interface OtlpScopeLogs {
  scope: { name: string; version: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number };
  logRecords: OtlpLogRecord[];
}

export interface OtlpResourceLogs {
  resource: { attributes: OtlpKeyValue[]; droppedAttributesCount: number };
  scopeLogs: OtlpScopeLogs[];
}

export interface OtlpLogs {
  resourceLogs: OtlpResourceLogs[];
}

const EMPTY: OtlpValue = Object.freeze({ kind: 'empty' });
const NO_BYTES = Buffer.alloc(0);
/** AnyValue nests (arrays, kvlists); bound the depth so hostile input cannot blow the stack. */
const MAX_VALUE_DEPTH = 64;

function newRecord(): OtlpLogRecord {
  return { timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 0, severityText: '', body: EMPTY, attributes: [], droppedAttributesCount: 0, flags: 0, traceId: NO_BYTES, spanId: NO_BYTES, eventName: '' };
}

// ---------------------------------------------------------------------------------------------
// Protobuf

/*
 * On the shared `ProtoReader` (util/protobuf.ts), passing the end of the current message to each
 * read. The reader's truncation errors (RangeError, and ProtoLengthError for a length past the
 * end) become 'proto: unexpected EOF' in `decodeOtlpLogsProto`.
 */

/** Reads a tag; checks the field number is not 0. */
function tag(r: ProtoReader, end: number, msg: string): number {
  const t = r.uint(end);
  if (t >>> 3 === 0) throw illegalTag(msg, t);
  return t;
}

function expectWire(got: number, want: number, field: string): void {
  if (got !== want) throw wrongWireType(field, got);
}

/** A string field. */
function string(r: ProtoReader, end: number): string {
  const e = r.lenEnd(end);
  const s = r.buf.toString('utf8', r.pos, e);
  r.pos = e;
  return s;
}

/** A bytes field, copied (ids outlive the body). */
function bytes(r: ProtoReader, end: number): Buffer {
  const e = r.lenEnd(end);
  const b = Buffer.from(r.buf.subarray(r.pos, e));
  r.pos = e;
  return b;
}

/** Decodes an uncompressed protobuf ExportLogsServiceRequest. */
export function decodeOtlpLogsProto(body: Buffer): OtlpLogs {
  try {
    return decodeRequest(new ProtoReader(body));
  } catch (e) {
    throw e instanceof RangeError || e instanceof ProtoLengthError ? new InvalidError('proto: unexpected EOF') : e;
  }
}

function decodeRequest(r: ProtoReader): OtlpLogs {
  const out: OtlpLogs = { resourceLogs: [] };
  const end = r.end;
  while (r.pos < end) {
    const t = tag(r, end, 'ExportLogsServiceRequest');
    if (t >>> 3 === 1) {
      expectWire(t & 7, WIRE_LEN, 'ResourceLogs');
      const e = r.lenEnd(end);
      out.resourceLogs.push(resourceLogs(r, e));
    } else r.skip(t & 7, end);
  }
  return out;
}

function resourceLogs(r: ProtoReader, end: number): OtlpResourceLogs {
  const rl: OtlpResourceLogs = { resource: { attributes: [], droppedAttributesCount: 0 }, scopeLogs: [] };
  while (r.pos < end) {
    const t = tag(r, end, 'ResourceLogs');
    const f = t >>> 3;
    if (f === 1) {
      expectWire(t & 7, WIRE_LEN, 'Resource');
      const e = r.lenEnd(end);
      while (r.pos < e) {
        const t2 = tag(r, e, 'Resource');
        if (t2 >>> 3 === 1 && (t2 & 7) === WIRE_LEN) rl.resource.attributes.push(keyValue(r, r.lenEnd(e), 0));
        else if (t2 >>> 3 === 2 && (t2 & 7) === WIRE_VARINT) rl.resource.droppedAttributesCount = r.uint(e);
        else r.skip(t2 & 7, e);
      }
    } else if (f === 2) {
      expectWire(t & 7, WIRE_LEN, 'ScopeLogs');
      rl.scopeLogs.push(scopeLogs(r, r.lenEnd(end)));
    } else r.skip(t & 7, end);
  }
  return rl;
}

function scopeLogs(r: ProtoReader, end: number): OtlpScopeLogs {
  const sl: OtlpScopeLogs = { scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, logRecords: [] };
  while (r.pos < end) {
    const t = tag(r, end, 'ScopeLogs');
    const f = t >>> 3;
    if (f === 1) {
      expectWire(t & 7, WIRE_LEN, 'Scope');
      const e = r.lenEnd(end);
      while (r.pos < e) {
        const t2 = tag(r, e, 'InstrumentationScope');
        const f2 = t2 >>> 3;
        const w2 = t2 & 7;
        if (f2 === 1 && w2 === WIRE_LEN) sl.scope.name = string(r, e);
        else if (f2 === 2 && w2 === WIRE_LEN) sl.scope.version = string(r, e);
        else if (f2 === 3 && w2 === WIRE_LEN) sl.scope.attributes.push(keyValue(r, r.lenEnd(e), 0));
        else if (f2 === 4 && w2 === WIRE_VARINT) sl.scope.droppedAttributesCount = r.uint(e);
        else r.skip(w2, e);
      }
    } else if (f === 2) {
      expectWire(t & 7, WIRE_LEN, 'LogRecords');
      sl.logRecords.push(logRecord(r, r.lenEnd(end)));
    } else r.skip(t & 7, end);
  }
  return sl;
}

function logRecord(r: ProtoReader, end: number): OtlpLogRecord {
  const lr = newRecord();
  while (r.pos < end) {
    const t = tag(r, end, 'LogRecord');
    const f = t >>> 3;
    const w = t & 7;
    switch (f) {
      case 1:
        expectWire(w, WIRE_FIXED64, 'TimeUnixNano');
        lr.timeUnixNano = r.fixed64(end);
        break;
      case 11:
        expectWire(w, WIRE_FIXED64, 'ObservedTimeUnixNano');
        lr.observedTimeUnixNano = r.fixed64(end);
        break;
      case 2:
        expectWire(w, WIRE_VARINT, 'SeverityNumber');
        lr.severityNumber = r.int32(end);
        break;
      case 3:
        expectWire(w, WIRE_LEN, 'SeverityText');
        lr.severityText = string(r, end);
        break;
      case 5: {
        expectWire(w, WIRE_LEN, 'Body');
        lr.body = anyValue(r, r.lenEnd(end), 0);
        break;
      }
      case 6:
        expectWire(w, WIRE_LEN, 'Attributes');
        lr.attributes.push(keyValue(r, r.lenEnd(end), 0));
        break;
      case 7:
        expectWire(w, WIRE_VARINT, 'DroppedAttributesCount');
        lr.droppedAttributesCount = r.int32(end) >>> 0;
        break;
      case 8:
        expectWire(w, WIRE_FIXED32, 'Flags');
        lr.flags = r.fixed32(end);
        break;
      case 9:
        expectWire(w, WIRE_LEN, 'TraceId');
        lr.traceId = bytes(r, end);
        break;
      case 10:
        expectWire(w, WIRE_LEN, 'SpanId');
        lr.spanId = bytes(r, end);
        break;
      case 12:
        expectWire(w, WIRE_LEN, 'EventName');
        lr.eventName = string(r, end);
        break;
      default:
        r.skip(w, end);
    }
  }
  if (lr.traceId.length !== 0 && lr.traceId.length !== 16) throw new InvalidError(`invalid length for ID: expected 16 bytes, got ${lr.traceId.length}`);
  if (lr.spanId.length !== 0 && lr.spanId.length !== 8) throw new InvalidError(`invalid length for ID: expected 8 bytes, got ${lr.spanId.length}`);
  return lr;
}

function keyValue(r: ProtoReader, end: number, depth: number): OtlpKeyValue {
  let key = '';
  let value: OtlpValue = EMPTY;
  while (r.pos < end) {
    const t = tag(r, end, 'KeyValue');
    const f = t >>> 3;
    if (f === 1 && (t & 7) === WIRE_LEN) key = string(r, end);
    else if (f === 2 && (t & 7) === WIRE_LEN) value = anyValue(r, r.lenEnd(end), depth + 1);
    else r.skip(t & 7, end);
  }
  return { key, value };
}

function anyValue(r: ProtoReader, end: number, depth: number): OtlpValue {
  if (depth > MAX_VALUE_DEPTH) throw new InvalidError('proto: exceeded maximum recursion depth');
  let v: OtlpValue = EMPTY;
  while (r.pos < end) {
    const t = tag(r, end, 'AnyValue');
    const f = t >>> 3;
    const w = t & 7;
    switch (f) {
      case 1:
        expectWire(w, WIRE_LEN, 'StringValue');
        v = { kind: 'string', value: string(r, end) };
        break;
      case 2:
        expectWire(w, WIRE_VARINT, 'BoolValue');
        v = { kind: 'bool', value: r.bool(end) };
        break;
      case 3:
        expectWire(w, WIRE_VARINT, 'IntValue');
        v = { kind: 'int', value: r.int64(end) };
        break;
      case 4:
        expectWire(w, WIRE_FIXED64, 'DoubleValue');
        v = { kind: 'double', value: r.double(end) };
        break;
      case 5:
      case 6: {
        expectWire(w, WIRE_LEN, f === 5 ? 'ArrayValue' : 'KvlistValue');
        const e = r.lenEnd(end);
        const arr: OtlpValue[] = [];
        const kvs: OtlpKeyValue[] = [];
        while (r.pos < e) {
          const t2 = tag(r, e, f === 5 ? 'ArrayValue' : 'KeyValueList');
          if (t2 >>> 3 === 1 && (t2 & 7) === WIRE_LEN) {
            const e2 = r.lenEnd(e);
            if (f === 5) arr.push(anyValue(r, e2, depth + 1));
            else kvs.push(keyValue(r, e2, depth + 1));
          } else r.skip(t2 & 7, e);
        }
        v = f === 5 ? { kind: 'array', value: arr } : { kind: 'kvlist', value: kvs };
        break;
      }
      case 7:
        expectWire(w, WIRE_LEN, 'BytesValue');
        v = { kind: 'bytes', value: bytes(r, end) };
        break;
      default:
        r.skip(w, end);
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Keys whose 64-bit integer values are quoted before JSON.parse, so no precision is lost. */
const INT64_KEYS = /"(timeUnixNano|observedTimeUnixNano|time_unix_nano|observed_time_unix_nano|intValue|int_value)"(\s*:\s*)(-?\d+)/g;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function field(o: { [k: string]: Json }, camel: string, snake: string): Json | undefined {
  const v = o[camel];
  return v !== undefined ? v : o[snake];
}

function asObject(v: Json | undefined, what: string): { [k: string]: Json } | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidError(`${what}: expected an object`);
  return v;
}

function asArray(v: Json | undefined, what: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidError(`${what}: expected an array`);
  return v;
}

function asString(v: Json | undefined, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new InvalidError(`${what}: expected a string`);
  return v;
}

function asUint(v: Json | undefined, what: string, max: number): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw new InvalidError(`${what}: expected an unsigned integer`);
  return n;
}

function asInt64(v: Json | undefined, what: string, unsigned: boolean): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    const n = BigInt(v);
    if (unsigned ? n < 0n || n >= 1n << 64n : n < -(1n << 63n) || n >= 1n << 63n) throw new InvalidError(`${what}: value out of range`);
    return n;
  }
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new InvalidError(`${what}: expected an integer`);
}

function hexId(v: Json | undefined, bytes: number, what: string): Buffer {
  const s = asString(v, what);
  if (s === '') return NO_BYTES;
  if (s.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(s)) throw new InvalidError(`invalid length for ID: expected ${bytes} bytes hex, got ${JSON.stringify(s)}`);
  return Buffer.from(s, 'hex');
}

const SEVERITY_NAMES = [
  'UNSPECIFIED',
  'TRACE',
  'TRACE2',
  'TRACE3',
  'TRACE4',
  'DEBUG',
  'DEBUG2',
  'DEBUG3',
  'DEBUG4',
  'INFO',
  'INFO2',
  'INFO3',
  'INFO4',
  'WARN',
  'WARN2',
  'WARN3',
  'WARN4',
  'ERROR',
  'ERROR2',
  'ERROR3',
  'ERROR4',
  'FATAL',
  'FATAL2',
  'FATAL3',
  'FATAL4',
];

function severityNumber(v: Json | undefined): number {
  if (typeof v === 'string' && v.startsWith('SEVERITY_NUMBER_')) {
    const i = SEVERITY_NAMES.indexOf(v.slice('SEVERITY_NUMBER_'.length));
    if (i >= 0) return i;
  }
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) return v;
  throw new InvalidError(`severityNumber: invalid value ${JSON.stringify(v)}`);
}

function jsonKeyValues(v: Json | undefined, depth: number, what: string): OtlpKeyValue[] {
  return asArray(v, what).map((kv) => {
    const o = asObject(kv, what) ?? {};
    return { key: asString(o['key'], 'key'), value: jsonAnyValue(o['value'], depth + 1) };
  });
}

function jsonAnyValue(v: Json | undefined, depth: number): OtlpValue {
  if (depth > MAX_VALUE_DEPTH) throw new InvalidError('AnyValue: nested too deeply');
  const o = asObject(v, 'AnyValue');
  if (o === null) return EMPTY;
  const s = field(o, 'stringValue', 'string_value');
  if (s !== undefined) return { kind: 'string', value: asString(s, 'stringValue') };
  const b = field(o, 'boolValue', 'bool_value');
  if (b !== undefined) {
    if (typeof b !== 'boolean') throw new InvalidError('boolValue: expected a boolean');
    return { kind: 'bool', value: b };
  }
  const i = field(o, 'intValue', 'int_value');
  if (i !== undefined) return { kind: 'int', value: asInt64(i, 'intValue', false) };
  const d = field(o, 'doubleValue', 'double_value');
  if (d !== undefined) {
    const n = typeof d === 'string' ? (d === 'NaN' ? NaN : d === 'Infinity' ? Infinity : d === '-Infinity' ? -Infinity : Number(d)) : d;
    if (typeof n !== 'number' || (Number.isNaN(n) && d !== 'NaN')) throw new InvalidError('doubleValue: expected a number');
    return { kind: 'double', value: n };
  }
  const a = field(o, 'arrayValue', 'array_value');
  if (a !== undefined) return { kind: 'array', value: asArray((asObject(a, 'arrayValue') ?? {})['values'], 'arrayValue').map((x) => jsonAnyValue(x, depth + 1)) };
  const kv = field(o, 'kvlistValue', 'kvlist_value');
  if (kv !== undefined) return { kind: 'kvlist', value: jsonKeyValues((asObject(kv, 'kvlistValue') ?? {})['values'], depth, 'kvlistValue') };
  const by = field(o, 'bytesValue', 'bytes_value');
  if (by !== undefined) return { kind: 'bytes', value: Buffer.from(asString(by, 'bytesValue'), 'base64') };
  return EMPTY;
}

/** Decodes an OTLP/JSON ExportLogsServiceRequest. */
export function decodeOtlpLogsJson(body: Buffer): OtlpLogs {
  let root: Json;
  try {
    root = JSON.parse(body.toString('utf8').replace(INT64_KEYS, '"$1"$2"$3"')) as Json;
  } catch (e) {
    throw new InvalidError(`ReadObjectCB: ${(e as Error).message}`, { cause: e });
  }
  const ro = asObject(root, 'ExportLogsServiceRequest') ?? {};
  const out: OtlpLogs = { resourceLogs: [] };
  for (const rlj of asArray(field(ro, 'resourceLogs', 'resource_logs'), 'resourceLogs')) {
    const rlo = asObject(rlj, 'resourceLogs') ?? {};
    const res = asObject(rlo['resource'], 'resource') ?? {};
    const rl: OtlpResourceLogs = {
      resource: { attributes: jsonKeyValues(res['attributes'], 0, 'attributes'), droppedAttributesCount: asUint(field(res, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount', 0xffffffff) },
      scopeLogs: [],
    };
    for (const slj of asArray(field(rlo, 'scopeLogs', 'scope_logs'), 'scopeLogs')) {
      const slo = asObject(slj, 'scopeLogs') ?? {};
      const sc = asObject(slo['scope'], 'scope') ?? {};
      const sl: OtlpScopeLogs = {
        scope: {
          name: asString(sc['name'], 'name'),
          version: asString(sc['version'], 'version'),
          attributes: jsonKeyValues(sc['attributes'], 0, 'attributes'),
          droppedAttributesCount: asUint(field(sc, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount', 0xffffffff),
        },
        logRecords: [],
      };
      for (const lrj of asArray(field(slo, 'logRecords', 'log_records'), 'logRecords')) {
        const o = asObject(lrj, 'logRecords') ?? {};
        const lr = newRecord();
        lr.timeUnixNano = asInt64(field(o, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano', true);
        lr.observedTimeUnixNano = asInt64(field(o, 'observedTimeUnixNano', 'observed_time_unix_nano'), 'observedTimeUnixNano', true);
        lr.severityNumber = severityNumber(field(o, 'severityNumber', 'severity_number'));
        lr.severityText = asString(field(o, 'severityText', 'severity_text'), 'severityText');
        lr.body = jsonAnyValue(o['body'], 0);
        lr.attributes = jsonKeyValues(o['attributes'], 0, 'attributes');
        lr.droppedAttributesCount = asUint(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount', 0xffffffff);
        lr.flags = asUint(o['flags'], 'flags', 0xffffffff);
        lr.traceId = hexId(field(o, 'traceId', 'trace_id'), 16, 'traceId');
        lr.spanId = hexId(field(o, 'spanId', 'span_id'), 8, 'spanId');
        lr.eventName = asString(field(o, 'eventName', 'event_name'), 'eventName');
        sl.logRecords.push(lr);
      }
      rl.scopeLogs.push(sl);
    }
    out.resourceLogs.push(rl);
  }
  return out;
}
