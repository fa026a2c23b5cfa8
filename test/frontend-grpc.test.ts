/** The frontend's gRPC service and the querier's worker, in process: pieces, results, graceful stop, retries after a broken stream. */
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { FrontendWorker, type PieceExecutor } from '../src/querier/worker.js';
import { Frontend, SinglePiecePlanner } from '../src/frontend/frontend.js';
import type { FrontendRequest } from '../src/frontend/plan.js';
import { registerFrontendServices } from '../src/frontend/server.js';

const logger = pino({ level: process.env['FE_DEBUG'] ? 'debug' : 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function request(tenant: string): FrontendRequest {
  return { method: 'GET', path: '/loki/api/v1/labels', route: '/loki/api/v1/labels', vars: {}, params: new URLSearchParams({ start: '1', end: '2' }), tenant, headers: { accept: 'application/json' }, receivedNs: 0n };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A frontend listening on a free port, with its gRPC service. */
async function serve(): Promise<{ frontend: Frontend; address: string }> {
  const frontend = new Frontend({ planner: new SinglePiecePlanner(), limits: () => ({ max_query_parallelism: 32 }), maxOutstandingPerTenant: 100, maxRetries: 5, timeoutMs: 20_000, logger, registry: new Registry() });
  const server = new grpc.Server();
  const services = registerFrontendServices(server, frontend, logger);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cleanups.push(async () => {
    services.close();
    server.forceShutdown();
  });
  return { frontend, address: `127.0.0.1:${port}` };
}

function worker(address: string, querierId: string, run: PieceExecutor, concurrency = 2, extra: { httpAddress?: () => string; registry?: Registry } = {}): FrontendWorker {
  const w = new FrontendWorker({ addresses: [address], concurrency, querierId, run, logger, ...extra });
  w.start();
  cleanups.push(() => w.stop(100));
  return w;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(10);
  }
}

describe('Frontend over gRPC (silt.frontend.Frontend/Process)', () => {
  it('a worker pulls pieces; tenant, path, parameters and headers arrive; status, type and body come back', async () => {
    const { frontend, address } = await serve();
    const seen: unknown[] = [];
    worker(address, 'q1', async (w) => {
      seen.push({ tenant: w.tenant, path: w.path, params: w.params, headers: w.headers });
      return { status: 200, contentType: 'application/json', body: Buffer.from('{"status":"success","data":["a"]}') };
    });
    await waitFor(() => frontend.slots === 2);
    const r = await frontend.handle(request('t1|t2'));
    expect([r.status, r.contentType, String(r.body)]).toEqual([200, 'application/json', '{"status":"success","data":["a"]}']);
    expect(seen).toEqual([{ tenant: 't1|t2', path: '/loki/api/v1/labels', params: [['start', '1'], ['end', '2']], headers: [['accept', 'application/json']] }]);
  });

  it('a worker that stops with a piece in hand finishes it; one whose stream breaks has its piece retried on another querier', async () => {
    const { frontend, address } = await serve();
    let release: (() => void) | null = null;
    const slow = worker(address, 'slow', () => new Promise((resolve) => (release = () => resolve({ status: 200, contentType: 'text/plain', body: Buffer.from('slow') }))), 1);
    await waitFor(() => frontend.slots === 1);
    const first = frontend.handle(request('t'));
    await waitFor(() => release !== null);
    // Graceful stop: the piece in hand is answered before the stream ends.
    const stopping = slow.stop(5000);
    await sleep(50);
    release!();
    await stopping;
    expect(String((await first).body)).toBe('slow');

    // A broken stream (its client closed under it): the piece runs on the other querier.
    let hang = 0;
    const dying = new FrontendWorker({ addresses: [address], concurrency: 1, querierId: 'dying', run: () => (hang++, new Promise(() => undefined)), logger });
    dying.start();
    await waitFor(() => frontend.slots === 1);
    const second = frontend.handle(request('t'));
    await waitFor(() => hang === 1);
    worker(address, 'healthy', async () => ({ status: 200, contentType: 'text/plain', body: Buffer.from('healthy') }), 1);
    await waitFor(() => frontend.slots === 2);
    await dying.stop(0);
    expect(String((await second).body)).toBe('healthy');
  });

  it('Hello advertises the HTTP address (host from the peer when empty); Cancel aborts the piece in hand, whose answer frees the stream at once', async () => {
    const { frontend, address } = await serve();
    const registry = new Registry();
    let started = 0;
    worker(
      address,
      'q1',
      (w, signal) =>
        w.path === '/slow'
          ? new Promise((resolve) => {
              started++;
              signal.addEventListener('abort', () => resolve({ status: 499, contentType: 'text/plain; charset=utf-8', body: Buffer.from('context canceled\n') }));
            })
          : Promise.resolve({ status: 200, contentType: 'text/plain', body: Buffer.from('fast') }),
      1,
      { httpAddress: () => ':3999', registry },
    );
    await waitFor(() => frontend.slots === 1);
    expect(frontend.querierHttpAddresses()).toEqual(['127.0.0.1:3999']);
    const ac = new AbortController();
    const slow = frontend.handle({ ...request('t'), path: '/slow' }, ac.signal);
    await waitFor(() => started === 1);
    ac.abort();
    await expect(slow).rejects.toMatchObject({ kind: 'canceled' });
    // The one stream is free for the next piece without the slow one ever finishing on its own.
    const t0 = Date.now();
    expect(String((await frontend.handle(request('t'))).body)).toBe('fast');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await registry.getSingleMetricAsString('loki_querier_worker_pieces_cancelled_total')).toMatch(/ 1$/m);
  });
});
