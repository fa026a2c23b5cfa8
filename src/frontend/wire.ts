/**
 * Hand-written codecs of proto/frontend.proto on the shared primitives of util/protobuf.ts.
 * Decoders check every length against consts.ts and throw InvalidError naming the message, so
 * a malformed message ends the stream it came on, never the process.
 */
import { InvalidError } from '../errors.js';
import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from '../util/protobuf.js';
import { MAX_NAME_BYTES, MAX_PAIRS, MAX_QUERIER_ID_BYTES, MAX_TENANT_BYTES, MAX_VALUE_BYTES } from './consts.js';

/** One piece on the wire (`Work`). */
export interface WorkMessage {
  id: number;
  tenant: string;
  path: string;
  params: [string, string][];
  headers: [string, string][];
}

/** A querier's answer on the wire (`Result`). */
export interface ResultMessage {
  id: number;
  status: number;
  contentType: string;
  body: Buffer;
}

/** A querier's first message on a stream (`Hello`). */
export interface HelloMessage {
  /** Names the querier process in the frontend's logs; streams of one querier share it. */
  querierId: string;
  /**
   * `host:port` of the querier's HTTP server, where the frontend proxies tail requests; the host
   * may be empty (the querier listens on every interface: the frontend uses the stream's peer
   * address). Empty: not advertised (a querier from before this field).
   */
  httpAddress: string;
  /** The querier stops a piece on `Cancel` (and answers it at once); false: never sent one. */
  cancel: boolean;
}

/** What a querier sends: its Hello or a Result. */
export type QuerierMessage = { hello: HelloMessage; result: null } | { hello: null; result: ResultMessage };

/** What a frontend sends: a piece to run, or the id of a piece in hand to stop. */
export type FrontendMessage = { work: WorkMessage; cancel: null } | { work: null; cancel: number };

function decoding<T>(message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw new InvalidError(`${message}: truncated: ${e.message}`, { cause: e });
    if (e instanceof InvalidError) throw new InvalidError(`${message}: ${e.message}`, { cause: e });
    throw e;
  }
}

function writePairs(w: ProtoWriter, field: number, pairs: readonly (readonly [string, string])[]): void {
  for (const [k, v] of pairs) {
    w.begin(field, k.length + v.length + 4);
    w.stringField(1, k);
    w.stringField(2, v);
    w.end();
  }
}

function readPair(r: ProtoReader, out: [string, string][], name: string): void {
  if (out.length >= MAX_PAIRS) throw new InvalidError(`more than ${MAX_PAIRS} ${name}`);
  const outer = r.sub();
  let k = '';
  let v = '';
  while (r.next()) {
    if (r.field === 1) {
      r.expect(WIRE_LEN, `${name}.name`);
      k = r.str(MAX_NAME_BYTES, `${name}.name`);
    } else if (r.field === 2) {
      r.expect(WIRE_LEN, `${name}.value`);
      v = r.str(MAX_VALUE_BYTES, `${name}.value`);
    } else r.skip();
  }
  r.leave(outer);
  out.push([k, v]);
}

/** `FrontendToQuerier{work}`. */
export function encodeWork(m: WorkMessage): Buffer {
  const w = new ProtoWriter(256);
  w.begin(1, 256);
  w.uintField(1, m.id);
  w.stringField(2, m.tenant);
  w.stringField(3, m.path);
  writePairs(w, 4, m.params);
  writePairs(w, 5, m.headers);
  w.end();
  return w.finish();
}

/** `FrontendToQuerier{cancel}`: stop the piece `id` (sent only to queriers whose Hello said `cancel`). */
export function encodeCancel(id: number): Buffer {
  const w = new ProtoWriter(16);
  w.begin(2, 12);
  w.uintField(1, id);
  w.end();
  return w.finish();
}

/** A `FrontendToQuerier` that must hold a Work (an InvalidError otherwise). */
export function decodeWork(buf: Buffer): WorkMessage {
  const m = decodeFrontendMessage(buf);
  if (m.work === null) throw new InvalidError('FrontendToQuerier: no work');
  return m.work;
}

/** A frontend's message: Work or Cancel (unknown fields skipped). */
export function decodeFrontendMessage(buf: Buffer): FrontendMessage {
  return decoding('FrontendToQuerier', () => {
    const r = new ProtoReader(buf);
    const out: WorkMessage = { id: 0, tenant: '', path: '', params: [], headers: [] };
    let seen = false;
    let cancel: number | null = null;
    while (r.next()) {
      const field = r.field as number;
      if (field === 2) {
        r.expect(WIRE_LEN, 'cancel');
        const outer = r.sub();
        let id = 0;
        while (r.next()) {
          if (r.field === 1) {
            r.expect(WIRE_VARINT, 'Cancel.id');
            id = r.uint();
          } else r.skip();
        }
        r.leave(outer);
        cancel = id;
        continue;
      }
      if (field !== 1) {
        r.skip();
        continue;
      }
      r.expect(WIRE_LEN, 'work');
      seen = true;
      const outer = r.sub();
      while (r.next()) {
        if (r.field === 1) {
          r.expect(WIRE_VARINT, 'Work.id');
          out.id = r.uint();
        } else if (r.field === 2) {
          r.expect(WIRE_LEN, 'Work.tenant');
          out.tenant = r.str(MAX_TENANT_BYTES, 'Work.tenant');
        } else if (r.field === 3) {
          r.expect(WIRE_LEN, 'Work.path');
          out.path = r.str(MAX_NAME_BYTES, 'Work.path');
        } else if (r.field === 4) {
          r.expect(WIRE_LEN, 'Work.params');
          readPair(r, out.params, 'params');
        } else if (r.field === 5) {
          r.expect(WIRE_LEN, 'Work.headers');
          readPair(r, out.headers, 'headers');
        } else r.skip();
      }
      r.leave(outer);
    }
    if (seen) return { work: out, cancel: null };
    if (cancel !== null) return { work: null, cancel };
    throw new InvalidError('neither work nor cancel');
  });
}

/** `QuerierToFrontend{hello}`. */
export function encodeHello(h: HelloMessage): Buffer {
  const w = new ProtoWriter(64);
  w.begin(1, h.querierId.length + h.httpAddress.length + 8);
  w.stringField(1, h.querierId);
  if (h.httpAddress !== '') w.stringField(2, h.httpAddress);
  if (h.cancel) w.uintField(3, 1);
  w.end();
  return w.finish();
}

/** `QuerierToFrontend{result}`; the body is copied once into the message. */
export function encodeResult(m: ResultMessage): Buffer {
  const w = new ProtoWriter(m.body.length + m.contentType.length + 32);
  w.begin(2, m.body.length + m.contentType.length + 16);
  w.uintField(1, m.id);
  w.int32Field(2, m.status);
  w.stringField(3, m.contentType);
  w.bytesField(4, m.body);
  w.end();
  return w.finish();
}

/** A querier's message; the result body is a view into `buf`. */
export function decodeQuerierMessage(buf: Buffer): QuerierMessage {
  return decoding('QuerierToFrontend', () => {
    const r = new ProtoReader(buf);
    let msg: QuerierMessage | null = null;
    while (r.next()) {
      if (r.field === 1) {
        r.expect(WIRE_LEN, 'hello');
        const outer = r.sub();
        const hello: HelloMessage = { querierId: '', httpAddress: '', cancel: false };
        while (r.next()) {
          const f = r.field as number;
          if (f === 1) {
            r.expect(WIRE_LEN, 'Hello.querier_id');
            hello.querierId = r.str(MAX_QUERIER_ID_BYTES, 'Hello.querier_id');
          } else if (f === 2) {
            r.expect(WIRE_LEN, 'Hello.http_address');
            hello.httpAddress = r.str(MAX_QUERIER_ID_BYTES, 'Hello.http_address');
          } else if (f === 3) {
            r.expect(WIRE_VARINT, 'Hello.cancel');
            hello.cancel = r.bool();
          } else r.skip();
        }
        r.leave(outer);
        msg = { hello, result: null };
      } else if (r.field === 2) {
        r.expect(WIRE_LEN, 'result');
        const outer = r.sub();
        const res: ResultMessage = { id: 0, status: 0, contentType: '', body: Buffer.alloc(0) };
        while (r.next()) {
          const f = r.field as number;
          if (f === 1) {
            r.expect(WIRE_VARINT, 'Result.id');
            res.id = r.uint();
          } else if (f === 2) {
            r.expect(WIRE_VARINT, 'Result.status');
            res.status = r.int32();
          } else if (f === 3) {
            r.expect(WIRE_LEN, 'Result.content_type');
            res.contentType = r.str(MAX_NAME_BYTES, 'Result.content_type');
          } else if (f === 4) {
            r.expect(WIRE_LEN, 'Result.body');
            res.body = r.lenView(Number.MAX_SAFE_INTEGER, 'Result.body');
          } else r.skip();
        }
        r.leave(outer);
        msg = { hello: null, result: res };
      } else r.skip();
    }
    if (msg === null) throw new InvalidError('neither hello nor result');
    return msg;
  });
}
