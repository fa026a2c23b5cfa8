import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RateLimitError } from '../errors.js';
import { Frontend, InProcessSlot, SinglePiecePlanner, type SlotResult, type WorkerSlot } from './frontend.js';
import type { FrontendRequest, Piece, PieceResult, QueryPlan, QueryPlanner } from './plan.js';
import { withQueueTime } from './plan.js';
import { decodeQuerierMessage, decodeWork, encodeHello, encodeResult, encodeWork } from './wire.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function request(tenant: string, query = '{a="b"}'): FrontendRequest {
  return {
    method: 'GET',
    path: '/loki/api/v1/query_range',
    route: '/loki/api/v1/query_range',
    vars: {},
    params: new URLSearchParams({ query }),
    tenant,
    headers: {},
    receivedNs: 0n,
  };
}

const OK_BODY = '{"status":"success","data":{"resultType":"streams","result":[],"stats":{"summary":{"execTime":0.1,"queueTime":0,"subqueries":0}}}}';

function ok(body = OK_BODY): SlotResult {
  return { status: 200, contentType: 'application/json; charset=utf-8', body: Buffer.from(body) };
}

function frontend(planner: QueryPlanner = new SinglePiecePlanner(), o: { maxOutstanding?: number; parallelism?: number; retries?: number } = {}): Frontend {
  return new Frontend({
    planner,
    limits: () => ({ max_query_parallelism: o.parallelism ?? 32 }),
    maxOutstandingPerTenant: o.maxOutstanding ?? 100,
    maxRetries: o.retries ?? 5,
    timeoutMs: 10_000,
    logger,
    registry: new Registry(),
  });
}

/** A plan of `n` pieces, all needed; records the pieces in flight at once. */
class CountingPlanner implements QueryPlanner {
  maxInflight = 0;
  inflight = 0;
  drawn = 0;
  constructor(readonly n: number) {}
  plan(): QueryPlan {
    let next = 0;
    let got = 0;
    return {
      next: () => {
        if (next >= this.n) return null;
        this.inflight++;
        this.drawn++;
        this.maxInflight = Math.max(this.maxInflight, this.inflight);
        return { path: '/loki/api/v1/query_range', params: [['i', String(next++)]] };
      },
      accept: () => {
        this.inflight--;
        got++;
      },
      done: () => got === this.n,
      result: (info) => ({ status: 200, contentType: 'text/plain', body: `${got} ${info.pieces}` }),
    };
  }
}

describe('Frontend', () => {
  it('runs a request as one piece on an in-process slot and fills in stats.summary.queueTime', async () => {
    const f = frontend();
    f.connect(new InProcessSlot(f, async () => ok()));
    const r = await f.handle(request('t'));
    expect(r.status).toBe(200);
    const body = JSON.parse(String(r.body)) as { data: { stats: { summary: { queueTime: number } } } };
    expect(typeof body.data.stats.summary.queueTime).toBe('number');
  });

  it('measures queue time while no querier is connected', async () => {
    const f = frontend();
    const p = f.handle(request('t'));
    await sleep(120);
    f.connect(new InProcessSlot(f, async () => ok()));
    const r = await p;
    const q = (JSON.parse(String(r.body)) as { data: { stats: { summary: { queueTime: number } } } }).data.stats.summary.queueTime;
    expect(q).toBeGreaterThanOrEqual(0.1);
    expect(q).toBeLessThan(1);
  });

  it("answers Loki's 429 once a tenant has max_outstanding_per_tenant requests waiting; other tenants are unaffected", async () => {
    const f = frontend(undefined, { maxOutstanding: 3 });
    const waiting = [f.handle(request('a')), f.handle(request('a')), f.handle(request('a'))];
    await expect(f.handle(request('a'))).rejects.toThrow(RateLimitError);
    await expect(f.handle(request('a'))).rejects.toThrow('too many outstanding requests');
    const other = f.handle(request('b'));
    f.connect(new InProcessSlot(f, async () => ok()));
    await Promise.all([...waiting, other]);
    expect(f.outstanding).toBe(0);
  });

  it('retries a piece whose slot went away on a slot of another querier', async () => {
    const f = frontend();
    const sent: { slot: string; id: number }[] = [];
    const dying: WorkerSlot = { querierId: 'q1', send: (w) => void sent.push({ slot: 'q1', id: w.id }) };
    const healthy: WorkerSlot = { querierId: 'q2', send: (w) => void sent.push({ slot: 'q2', id: w.id }) };
    f.connect(dying);
    const p = f.handle(request('t'));
    await sleep(1);
    expect(sent).toEqual([{ slot: 'q1', id: expect.any(Number) }]);
    f.connect(healthy);
    f.disconnect(dying);
    expect(sent[1]!.slot).toBe('q2');
    f.complete(healthy, sent[1]!.id, ok());
    expect((await p).status).toBe(200);
  });

  it('gives up after max_retries attempts with a 503', async () => {
    const f = frontend(undefined, { retries: 3 });
    const p = f.handle(request('t'));
    let attempts = 0;
    for (let i = 0; i < 3; i++) {
      const s: WorkerSlot = { querierId: `q${i}`, send: () => void attempts++ };
      f.connect(s);
      f.disconnect(s);
    }
    await expect(p).rejects.toMatchObject({ kind: 'unavailable' });
    expect(attempts).toBe(3);
  });

  it('retries 5xx answers, passes 4xx answers through at once', async () => {
    const f = frontend();
    let calls = 0;
    f.connect(new InProcessSlot(f, async () => (++calls < 3 ? { status: 500, contentType: 'text/plain', body: Buffer.from('boom\n') } : ok())));
    expect((await f.handle(request('t'))).status).toBe(200);
    expect(calls).toBe(3);
    const g = frontend();
    let bad = 0;
    g.connect(new InProcessSlot(g, async () => (bad++, { status: 400, contentType: 'text/plain', body: Buffer.from('parse error\n') })));
    const r = await g.handle(request('t'));
    expect([r.status, String(r.body), bad]).toEqual([400, 'parse error\n', 1]);
  });

  it('passes 503 and 504 answers through at once: another querier shares the store and the deadline', async () => {
    for (const status of [503, 504]) {
      const f = frontend();
      let calls = 0;
      f.connect(new InProcessSlot(f, async () => (calls++, { status, contentType: 'text/plain', body: Buffer.from('object store: timed out\n') })));
      const r = await f.handle(request('t'));
      expect([r.status, String(r.body), calls]).toEqual([status, 'object store: timed out\n', 1]);
    }
  });

  it('keeps at most max_query_parallelism pieces of a tenant in flight', async () => {
    const planner = new CountingPlanner(40);
    const f = frontend(planner, { parallelism: 3 });
    for (let i = 0; i < 8; i++) f.connect(new InProcessSlot(f, async () => (await sleep(2), ok())));
    const r = await f.handle(request('t'));
    expect(String(r.body)).toBe('40 40');
    expect(planner.maxInflight).toBe(3);
  });

  it('draws no piece a plan does not need (a log query stops at its limit)', async () => {
    // Needs 2 of 100 pieces; one at a time.
    let drawn = 0;
    let got = 0;
    const planner: QueryPlanner = {
      plan: () => ({
        next: () => (got < 2 && drawn === got ? (drawn++, { path: '/p', params: [] }) : null),
        accept: () => void got++,
        done: () => got >= 2,
        result: () => ({ status: 200, contentType: 'text/plain', body: 'ok' }),
      }),
    };
    const f = frontend(planner);
    for (let i = 0; i < 4; i++) f.connect(new InProcessSlot(f, async () => ok()));
    await f.handle(request('t'));
    expect(drawn).toBe(2);
  });

  it('fails a plan that stalls with a 500 rather than hanging', async () => {
    const planner: QueryPlanner = { plan: () => ({ next: () => null, accept: () => undefined, done: () => false, result: () => ({ status: 200, contentType: '', body: '' }) }) };
    const f = frontend(planner);
    f.connect(new InProcessSlot(f, async () => ok()));
    await expect(f.handle(request('t'))).rejects.toMatchObject({ kind: 'internal' });
  });

  it('a plan that throws fails its own request only', async () => {
    const inner = new SinglePiecePlanner();
    const planner: QueryPlanner = {
      plan: (req, ctx) => {
        if (req.tenant !== 'bad') return inner.plan(req);
        void ctx;
        return { next: () => { throw new RateLimitError('x', 'plan broke'); }, accept: () => undefined, done: () => false, result: () => ({ status: 200, contentType: '', body: '' }) };
      },
    };
    const f = frontend(planner);
    const bad = f.handle(request('bad'));
    const good = f.handle(request('good'));
    f.connect(new InProcessSlot(f, async () => ok()));
    await expect(bad).rejects.toThrow('plan broke');
    expect((await good).status).toBe(200);
    expect(f.outstanding).toBe(0);
  });

  it('PlanContext.run results go to the planner, not to the plan', async () => {
    const planner: QueryPlanner = {
      async plan(_req, ctx) {
        const stats: PieceResult = await ctx.run({ path: '/loki/api/v1/index/stats', params: [] });
        const n = String(stats.body);
        let done = false;
        return {
          next: (): Piece | null => (done ? null : { path: '/x', params: [] }),
          accept: () => void (done = true),
          done: () => done,
          result: () => ({ status: 200, contentType: 'text/plain', body: n }),
        };
      },
    };
    const f = frontend(planner);
    f.connect(new InProcessSlot(f, async (w) => ({ status: 200, contentType: 'text/plain', body: Buffer.from(w.path) })));
    expect(String((await f.handle(request('t'))).body)).toBe('/loki/api/v1/index/stats');
  });

  it("a flooding tenant does not delay another tenant's query beyond one piece per slot", async () => {
    const f = frontend(undefined, { maxOutstanding: 1000, parallelism: 32 });
    const pieceMs = 20;
    for (let i = 0; i < 2; i++) f.connect(new InProcessSlot(f, async () => (await sleep(pieceMs), ok())));
    const flood = Array.from({ length: 100 }, () => f.handle(request('flood')));
    await sleep(3 * pieceMs);
    const t0 = performance.now();
    await f.handle(request('quiet'));
    const waitedMs = performance.now() - t0;
    // Round robin: the quiet query runs on the next free slot, i.e. after at most one piece.
    expect(waitedMs).toBeLessThan(3 * pieceMs + 40);
    await Promise.all(flood);
  });
});

describe('frontend wire', () => {
  it('round-trips Work, Hello and Result', () => {
    const w = { id: 7, tenant: 'a|b', path: '/loki/api/v1/series', params: [['match[]', '{a="1"}'], ['match[]', '{b="2"}']] as [string, string][], headers: [['accept', 'application/json']] as [string, string][] };
    expect(decodeWork(encodeWork(w))).toEqual(w);
    expect(decodeQuerierMessage(encodeHello('querier-1'))).toEqual({ hello: 'querier-1', result: null });
    const r = decodeQuerierMessage(encodeResult({ id: 9, status: 429, contentType: 'text/plain', body: Buffer.from('x') }));
    expect(r.result).toMatchObject({ id: 9, status: 429, contentType: 'text/plain' });
    expect(String(r.result!.body)).toBe('x');
    expect(() => decodeWork(Buffer.from([0x0a, 0x05, 0x08]))).toThrow(/FrontendToQuerier/);
  });

  it('withQueueTime replaces the summary queueTime only', () => {
    const body = '{"data":{"result":[{"metric":{"queueTime":"7"}}],"stats":{"summary":{"execTime":1,"queueTime":0,"x":1},"querier":{}}}}';
    expect(withQueueTime(body, 0.25)).toBe(body.replace('"queueTime":0,', '"queueTime":0.25,'));
    expect(withQueueTime('{"data":[]}', 1)).toBe('{"data":[]}');
  });
});
