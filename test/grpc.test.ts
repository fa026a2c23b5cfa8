/**
 * gRPC push with a real @grpc/grpc-js client against Loki's `logproto.Pusher/Push`; the
 * request bytes come from protobufjs over proto/push.proto, never from Silt's code.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowNs } from '../src/model/index.js';
import { encodePushRaw, type PbEntry } from './support/protobuf.js';
import { queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

const PUSH: grpc.ServiceDefinition = {
  Push: {
    path: '/logproto.Pusher/Push',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
const Client = grpc.makeGenericClientConstructor(PUSH, 'Pusher');

let open: InProcess;
let authed: InProcess;
beforeAll(async () => {
  open = await startInProcess(tempDir());
  authed = await startInProcess(tempDir(), ['-auth.enabled']);
});
afterAll(async () => {
  await open?.stop();
  await authed?.stop();
});

function push(port: number, body: Buffer, tenant?: string): Promise<{ code: number; details: string; response: Buffer | null }> {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (tenant !== undefined) md.set('X-Scope-OrgID', tenant);
  return new Promise((resolve) => {
    (client as unknown as { Push: (b: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void }).Push(body, md, (err, res) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details, response: null } : { code: 0, details: '', response: res ?? null });
    });
  });
}

describe('gRPC Pusher/Push', () => {
  it('stores what a grpc-js client pushes, with exact ns timestamps and metadata', async () => {
    const t = nowNs();
    const entries: PbEntry[] = Array.from({ length: 50 }, (_, i) => ({ tsNs: t - 1000n + BigInt(i) * 7n, line: `grpc line ${i}`, ...(i % 2 ? { metadata: { trace_id: `t${i}` } } : {}) }));
    const r = await push(open.app.grpcPort, encodePushRaw([{ labels: '{app="grpc", env="test"}', entries }]));
    expect(r).toEqual({ code: 0, details: '', response: Buffer.alloc(0) });
    const q = await queryRange(open.url, { query: '{app="grpc"}', start: (t - 2000n).toString(), end: (t + 1n).toString(), limit: '1000', direction: 'forward' }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    const values = q.data.result.flatMap((s: { stream: Record<string, string>; values: unknown[] }) => {
      expect(s.stream).toEqual({ app: 'grpc', env: 'test', service_name: 'grpc' });
      return s.values;
    });
    values.sort((a: [string], b: [string]) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    expect(values).toEqual(entries.map((e) => [e.tsNs.toString(), e.line, { structuredMetadata: { ...(e.metadata ?? {}), detected_level: 'unknown' } }]));
  });

  it('answers errors with gRPC codes and Loki texts', async () => {
    const bad = await push(open.app.grpcPort, encodePushRaw([{ labels: '{app=}', entries: [{ tsNs: nowNs(), line: 'x' }] }]));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain("error parsing labels '{app=}'");
    const garbage = await push(open.app.grpcPort, Buffer.from([0x0a, 0xff, 0xff, 0x01]));
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(garbage.details).toBe('unexpected EOF');
    const empty = await push(open.app.grpcPort, Buffer.alloc(0));
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT); // 422 over HTTP
    expect(empty.details).toBe('error at least one valid stream is required for ingestion');
  });

  it('takes the tenant from X-Scope-OrgID metadata', async () => {
    const body = encodePushRaw([{ labels: '{app="tenant"}', entries: [{ tsNs: nowNs(), line: 'hello' }] }]);
    const none = await push(authed.app.grpcPort, body);
    expect(none.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await push(authed.app.grpcPort, body, 'team-a')).code).toBe(0);
    const r = await fetch(`${authed.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{app="tenant"}', since: '5m' })}`, { headers: { 'X-Scope-OrgID': 'team-a' } });
    const j = (await r.json()) as { data: { result: { values: string[][] }[] } };
    expect(j.data.result.flatMap((s) => s.values.map((v) => v[1]))).toEqual(['hello']);
  });
});
