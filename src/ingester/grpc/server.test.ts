/**
 * The ingester's gRPC services against hostile or broken callers: raw bytes from a plain
 * grpc-js client, never Silt's encoders, on every method. Each answer must be a gRPC status
 * with a clear text, and the server must serve the next call as if nothing happened.
 */
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatchType } from '../../model/index.js';
import { ProtoWriter } from '../../util/protobuf.js';
import type { IngesterClient } from '../client.js';
import { startTestIngester } from '../client.contract.js';
import type { Ingester } from '../ingester.js';
import { PATHS } from './services.js';
import { serveIngester, type ServedIngester } from './testing.js';
import { encodeLabelRequest, encodeRangeRequest } from './wire.js';

const bytes = (b: Buffer): Buffer => b;

interface Answer {
  code: number;
  details: string;
  messages: Buffer[];
}

/** One call with raw request bytes; resolves with the status and any streamed messages. */
function call(c: grpc.Client, path: string, stream: boolean, req: Buffer, tenant: string | null): Promise<Answer> {
  const md = new grpc.Metadata();
  if (tenant !== null) md.set('x-scope-orgid', tenant);
  const deadline = Date.now() + 5000;
  return new Promise((resolve) => {
    if (!stream) {
      c.makeUnaryRequest(path, bytes, bytes, req, md, { deadline }, (err, res) => resolve(err ? { code: err.code, details: err.details, messages: [] } : { code: 0, details: '', messages: [res ?? Buffer.alloc(0)] }));
      return;
    }
    const messages: Buffer[] = [];
    const s = c.makeServerStreamRequest(path, bytes, bytes, req, md, { deadline });
    s.on('data', (m: Buffer) => messages.push(m));
    // A Tail never ends by itself: its response headers say it is subscribed.
    s.on('metadata', () => {
      if (path !== PATHS.tail) return;
      resolve({ code: 0, details: '', messages });
      s.cancel();
    });
    s.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details, messages }));
    s.on('end', () => resolve({ code: 0, details: '', messages }));
  });
}

/** A matcher as the wire carries it (the server compiles it, so it may be invalid here). */
const raw = (name: string, type: MatchType, value: string): { name: string; type: MatchType; value: string; matches: () => boolean } => ({ name, type, value, matches: () => true });

const METHODS: { name: string; path: string; stream: boolean; tenant: boolean; valid: Buffer }[] = [
  { name: 'Push', path: PATHS.push, stream: false, tenant: true, valid: Buffer.alloc(0) },
  { name: 'SelectStreams', path: PATHS.selectStreams, stream: true, tenant: true, valid: encodeRangeRequest([], 0n, 1n) },
  { name: 'StoredKeys', path: PATHS.storedKeys, stream: false, tenant: true, valid: Buffer.alloc(0) },
  { name: 'Label', path: PATHS.label, stream: false, tenant: true, valid: encodeLabelRequest(null, 0n, 1n, []) },
  { name: 'Series', path: PATHS.series, stream: false, tenant: true, valid: encodeRangeRequest([], 0n, 1n) },
  { name: 'Tail', path: PATHS.tail, stream: true, tenant: true, valid: Buffer.alloc(0) },
  { name: 'TailersCount', path: PATHS.tailersCount, stream: false, tenant: true, valid: Buffer.alloc(0) },
  { name: 'Flush', path: PATHS.flush, stream: false, tenant: false, valid: Buffer.alloc(0) },
];

/** Bytes no protobuf encoder writes, each broken in another way. */
const MALFORMED: [string, number[]][] = [
  ['a truncated varint', [0x08, 0x80]],
  ['a length past the end', [0x0a, 0xff, 0xff, 0x01]],
  ['field 0', [0x00, 0x01]],
  ['a group', [0x0b, 0x0c]],
  ['wire type 7', [0x0f]],
];

describe('ingester gRPC services with bad input', () => {
  let ingester: Ingester;
  let served: ServedIngester;
  let raw_: grpc.Client;
  const logged: unknown[] = [];

  beforeAll(async () => {
    const t = await startTestIngester();
    ingester = t.ingester;
    const logger = pino({ level: 'error' }, { write: (s: string) => void logged.push(JSON.parse(s)) });
    served = await serveIngester(t.local, { logger, maxRecvMsgSizeBytes: 1 << 20 });
    raw_ = new grpc.Client(served.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    raw_.close();
    await served.close();
    await ingester.stop(1000);
  });

  /** The server still answers a valid call on every method. */
  async function alive(): Promise<void> {
    for (const m of METHODS) {
      const a = await call(raw_, m.path, m.stream, m.valid, m.tenant ? 't1' : null);
      expect([m.name, a.code, a.details]).toEqual([m.name, 0, '']);
    }
  }

  it('answers valid calls on every method', alive);

  for (const [what, b] of MALFORMED) {
    it(`answers INVALID_ARGUMENT to ${what} on every method`, async () => {
      for (const m of METHODS) {
        const a = await call(raw_, m.path, m.stream, Buffer.from(b), m.tenant ? 't1' : null);
        expect([m.name, a.code]).toEqual([m.name, grpc.status.INVALID_ARGUMENT]);
        expect(a.details.length).toBeGreaterThan(5);
      }
      await alive();
    });
  }

  it('answers UNAUTHENTICATED without a tenant and INVALID_ARGUMENT for a bad one', async () => {
    for (const m of METHODS.filter((x) => x.tenant)) {
      expect(await call(raw_, m.path, m.stream, m.valid, null)).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: 'no org id' });
      expect(await call(raw_, m.path, m.stream, m.valid, '')).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: 'no org id' });
      expect(await call(raw_, m.path, m.stream, m.valid, 'a|b')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "an ingester call names one tenant, got 'a|b'" });
      expect(await call(raw_, m.path, m.stream, m.valid, 'x'.repeat(151))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'tenant ID is too long: max 150 characters' });
    }
    await alive();
  });

  it('refuses bad matchers and values past the limits with INVALID_ARGUMENT', async () => {
    const bad: [string, Buffer, string][] = [
      ['a bad regex', encodeRangeRequest([raw('app', '=~', '(')], 0n, 1n), 'SelectStreamsRequest'],
      ['a huge value', encodeRangeRequest([raw('app', '=', 'v'.repeat(70_000))], 0n, 1n), 'exceeds the limit of 65536'],
      ['a huge name', encodeRangeRequest([raw('a'.repeat(2000), '=', 'v')], 0n, 1n), 'exceeds the limit of 1024'],
      ['too many matchers', encodeRangeRequest(Array.from({ length: 1001 }, () => raw('a', '=', 'b')), 0n, 1n), 'more than 1000 matchers'],
      ['an empty name', encodeRangeRequest([raw('', '=', 'b')], 0n, 1n), 'matcher without a label name'],
    ];
    const unknownType = new ProtoWriter();
    unknownType.begin(3);
    unknownType.uintField(1, 9);
    unknownType.stringField(2, 'a');
    unknownType.end();
    bad.push(['an unknown matcher type', unknownType.finish(), 'unknown matcher type 9']);
    for (const [what, req, text] of bad) {
      const a = await call(raw_, PATHS.selectStreams, true, req, 't1');
      expect([what, a.code]).toEqual([what, grpc.status.INVALID_ARGUMENT]);
      if (what !== 'a bad regex') expect(a.details).toContain(text);
      else expect(a.details).toMatch(/^parse error : /);
    }
    expect(await call(raw_, PATHS.label, false, Buffer.from([0x10, 0x01]), 't1')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'LabelRequest: label values asked without a label name' });
    const ids = new ProtoWriter();
    ids.stringField(1, 'x'.repeat(600));
    expect(await call(raw_, PATHS.storedKeys, false, ids.finish(), 't1')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'StoredKeysRequest: proto: field ids of 600 bytes exceeds the limit of 512' });
    await alive();
  });

  it('refuses pushes with bad label texts or bodies, and bodies past the size limit', async () => {
    const push = (labels: string): Buffer => {
      const w = new ProtoWriter();
      w.begin(1);
      w.stringField(1, labels);
      w.begin(2);
      w.stringField(2, 'line');
      w.end();
      w.end();
      return w.finish();
    };
    expect(await call(raw_, PATHS.push, false, push('{app=}'), 't1')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("error parsing labels '{app=}'") });
    expect(await call(raw_, PATHS.push, false, push('{a="1", a="2"}'), 't1')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: `stream '{a="1", a="2"}' has duplicate label name` });
    expect(await call(raw_, PATHS.push, false, push('{}'), 't1')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "stream '{}' has no labels" });
    expect(await call(raw_, PATHS.push, false, Buffer.from([0x0a, 0xff, 0xff, 0x01]), 't1')).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'unexpected EOF' });
    expect((await call(raw_, PATHS.push, false, Buffer.alloc(2 << 20), 't1')).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await call(raw_, PATHS.push, false, push('{app="ok"}'), 't1')).code).toBe(0);
    await alive();
  });

  it('logged nothing: every failure above was expected', () => {
    expect(logged).toEqual([]);
  });
});

describe('ingester gRPC services with a failing backend', () => {
  /** A backend whose every method throws a plain TypeError: a bug, not a client error. */
  const broken = new Proxy({} as IngesterClient, {
    get: () => () => Promise.reject(new TypeError('secret internals')),
  });

  it('answers INTERNAL without the bug’s text and logs it once per call', async () => {
    const logged: { msg: string; err?: { message: string }; method: string }[] = [];
    const logger = pino({ level: 'error' }, { write: (s: string) => void logged.push(JSON.parse(s)) });
    const served = await serveIngester(broken, { logger });
    const c = new grpc.Client(served.address, grpc.credentials.createInsecure());
    try {
      for (const m of METHODS) {
        const a = await call(c, m.path, m.stream, m.path === PATHS.push ? pushBody() : m.valid, m.tenant ? 't1' : null);
        expect([m.name, a.code, a.details]).toEqual([m.name, grpc.status.INTERNAL, 'internal server error']);
      }
      expect(logged.map((l) => [l.msg, l.err?.message, l.method])).toEqual(METHODS.map((m) => ['unexpected error in ingester gRPC call', 'secret internals', m.path]));
    } finally {
      c.close();
      await served.close();
    }
  });
});

/** A valid one-entry push body. */
function pushBody(): Buffer {
  const w = new ProtoWriter();
  w.begin(1);
  w.stringField(1, '{app="x"}');
  w.begin(2);
  w.stringField(2, 'line');
  w.end();
  w.end();
  return w.finish();
}
