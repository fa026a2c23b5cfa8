import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RateLimitError } from '../errors.js';
import { Frontend, InProcessSlot, SinglePiecePlanner, type SlotResult, type WorkerSlot } from './frontend.js';
import type { FrontendRequest, Piece, PieceResult, QueryPlan, QueryPlanner } from './plan.js';
import { withQueueTime } from './plan.js';
import { decodeFrontendMessage, decodeQuerierMessage, decodeWork, encodeCancel, encodeHello, encodeResult, encodeWork } from './wire.js';

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

function frontend(planner: QueryPlanner = new SinglePiecePlanner(), o: { maxOutstanding?: number; parallelism?: number; retries?: number; inProcessFirst?: (params: readonly (readonly [string, string])[]) => boolean } = {}): Frontend {
  return new Frontend({
    ...(o.inProcessFirst ? { inProcessFirst: o.inProcessFirst } : {}),
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

/** A plan of pieces with the given params, all needed. */
class PiecesPlanner implements QueryPlanner {
  constructor(readonly pieces: (readonly [string, string])[][]) {}
  plan(): QueryPlan {
    let next = 0;
    let got = 0;
    return {
      next: () => (next < this.pieces.length ? { path: '/loki/api/v1/query_range', params: this.pieces[next++]! } : null),
      accept: () => void got++,
      done: () => got === this.pieces.length,
      result: () => ({ status: 200, contentType: 'text/plain', body: String(got) }),
    };
  }
}

/** `slots` slots of each querier, connected querier by querier; records which querier got which piece's params. */
function recordingSlots(f: Frontend, queriers: string[], slots: number): { sent: { querier: string; params: string }[] } {
  const sent: { querier: string; params: string }[] = [];
  for (const q of queriers) {
    for (let i = 0; i < slots; i++) {
      const slot: WorkerSlot = {
        querierId: q,
        send: (w) => {
          sent.push({ querier: q, params: new URLSearchParams(w.params).toString() });
          setTimeout(() => f.complete(slot, w.id, ok()), 5);
        },
      };
      f.connect(slot);
    }
  }
  return { sent };
}

describe('Frontend: which querier runs a piece', () => {
  it("spreads one query's pieces over queriers instead of filling the first querier's slots", async () => {
    const f = frontend(new PiecesPlanner([[['w', '0']], [['w', '1']], [['w', '2']], [['w', '3']]]));
    const { sent } = recordingSlots(f, ['q-a', 'q-b'], 8);
    expect((await f.handle(request('t'))).status).toBe(200);
    const per = new Map<string, number>();
    for (const s of sent) per.set(s.querier, (per.get(s.querier) ?? 0) + 1);
    expect(per).toEqual(new Map([['q-a', 2], ['q-b', 2]]));
  });

  it('sends the pieces inProcessFirst names to in-process slots while one is idle, the others anywhere', async () => {
    const recent = (params: readonly (readonly [string, string])[]): boolean => params.some(([k, v]) => k === 'end' && v === 'recent');
    const pieces: (readonly [string, string])[][] = [];
    for (let i = 0; i < 4; i++) pieces.push([['end', 'recent'], ['shards', `${i}_of_4`]], [['end', 'old'], ['shards', `${i}_of_4`]]);
    const f = frontend(new PiecesPlanner(pieces), { inProcessFirst: recent });
    const { sent } = recordingSlots(f, ['thread-0', 'local'], 8);
    expect((await f.handle(request('t'))).status).toBe(200);
    expect(sent.filter((s) => s.params.includes('end=recent')).map((s) => s.querier)).toEqual(['local', 'local', 'local', 'local']);
    // The others keep their shard affinity: shard i to ['local', 'thread-0'][i % 2].
    for (const s of sent.filter((x) => x.params.includes('end=old'))) expect(s.querier, s.params).toBe(['local', 'thread-0'][Number(/shards=(\d)/.exec(s.params)![1]) % 2]);
  });

  it('gives shard i to querier i mod queriers (ordered by id), query after query', async () => {
    const shards = (n: number): (readonly [string, string])[][] => Array.from({ length: n }, (_, i) => [['shards', `${i}_of_${n}`]]);
    // Connected in reverse id order: the mapping follows ids, not connection order.
    const f = frontend(new PiecesPlanner([...shards(4), ...shards(2)]));
    // Enough slots that the preferred querier always has one idle (else the piece spills to the least busy).
    const { sent } = recordingSlots(f, ['q-c', 'q-b', 'q-a'], 4);
    for (let k = 0; k < 3; k++) expect((await f.handle(request('t'))).status).toBe(200);
    const ids = ['q-a', 'q-b', 'q-c'];
    expect(sent.length).toBe(18);
    for (const s of sent) {
      const i = Number(/shards=(\d+)_of/.exec(s.params)![1]);
      expect(s.querier, s.params).toBe(ids[i % 3]);
    }
  });
});

describe('Frontend: abandoned pieces are cancelled; async results', () => {
  /** A slot that records what it is sent and cancelled, and answers only when told. */
  function recordingSlot(f: Frontend, querierId: string): WorkerSlot & { sent: number[]; cancelled: number[] } {
    const s = {
      querierId,
      sent: [] as number[],
      cancelled: [] as number[],
      send: (w: { id: number }) => void s.sent.push(w.id),
      // As a querier does: it stops the piece and answers it (499) at once.
      cancel: (id: number) => {
        s.cancelled.push(id);
        queueMicrotask(() => f.complete(s, id, { status: 499, contentType: 'text/plain; charset=utf-8', body: Buffer.from('context canceled\n') }));
      },
    };
    return s;
  }

  /** Two pieces at once; done after the first result, so the second is abandoned. */
  const firstWins: QueryPlanner = {
    plan: () => {
      let drawn = 0;
      let got = false;
      return {
        next: () => (drawn < 2 ? { path: '/loki/api/v1/query_range', params: [['i', String(drawn++)]] } : null),
        accept: () => void (got = true),
        done: () => got,
        result: () => ({ status: 200, contentType: 'text/plain', body: 'first' }),
      };
    },
  };

  it('tells the slot of a piece the finished plan no longer needs to stop it; the slot is free again with its answer', async () => {
    const f = frontend(firstWins);
    const a = recordingSlot(f, 'q1');
    const b = recordingSlot(f, 'q2');
    f.connect(a);
    f.connect(b);
    const p = f.handle(request('t'));
    await sleep(1);
    expect([a.sent.length, b.sent.length]).toEqual([1, 1]);
    f.complete(a, a.sent[0]!, ok());
    expect(String((await p).body)).toBe('first');
    expect(b.cancelled).toEqual(b.sent);
    expect(a.cancelled).toEqual([]);
    await sleep(1);
    // Both slots take the next request's pieces.
    const q = f.handle(request('t'));
    await sleep(1);
    expect([a.sent.length, b.sent.length]).toEqual([2, 2]);
    f.complete(b, b.sent[1]!, ok());
    await q;
  });

  it('a client going away fails the request with 499 and cancels its pieces in flight; an aborted signal fails at once', async () => {
    const f = frontend(new CountingPlanner(3));
    const s = recordingSlot(f, 'q1');
    f.connect(s);
    const ac = new AbortController();
    const p = f.handle(request('t'), ac.signal);
    await sleep(1);
    expect(s.sent.length).toBe(1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: 'canceled', message: 'context canceled' });
    expect(s.cancelled).toEqual(s.sent);
    expect(f.outstanding).toBe(0);
    await expect(f.handle(request('t'), AbortSignal.abort())).rejects.toMatchObject({ kind: 'canceled' });
    // A slot without cancel is left to finish (the abandoned answer only frees it).
    const plain: WorkerSlot & { sent: number[] } = { querierId: 'q2', sent: [], send: (w) => void plain.sent.push(w.id) };
    f.disconnect(s);
    f.connect(plain);
    const ac2 = new AbortController();
    const p2 = f.handle(request('t'), ac2.signal);
    await sleep(1);
    ac2.abort();
    await expect(p2).rejects.toMatchObject({ kind: 'canceled' });
    f.complete(plain, plain.sent[0]!, ok());
  });

  it('an in-process slot aborts the signal of the piece it runs when cancelled', async () => {
    const f = frontend(firstWins);
    let aborted = 0;
    let release: (() => void) | null = null;
    const fast = new InProcessSlot(f, async () => {
      await new Promise<void>((r) => (release = r));
      return ok();
    });
    const slow = new InProcessSlot(f, (_w, signal) => new Promise((resolve) => signal.addEventListener('abort', () => (aborted++, resolve({ status: 499, contentType: 'text/plain', body: Buffer.from('context canceled\n') })))));
    f.connect(fast);
    f.connect(slow);
    const p = f.handle(request('t'));
    await sleep(1);
    release!();
    expect(String((await p).body)).toBe('first');
    await sleep(1);
    expect(aborted).toBe(1);
  });

  it('awaits an async result; its rejection is the request error; no piece is drawn or accepted meanwhile', async () => {
    const calls: string[] = [];
    const planner = (fail: boolean): QueryPlanner => ({
      plan: () => {
        let drawn = 0;
        let got = 0;
        return {
          next: () => (drawn < 2 ? (calls.push('next'), { path: '/p', params: [['i', String(drawn++)]] }) : null),
          accept: () => void (calls.push('accept'), got++),
          done: () => got >= 1,
          result: async (info) => {
            calls.push('result');
            await sleep(20);
            if (fail) throw new RateLimitError('x', 'merged too much');
            return { status: 200, contentType: 'text/plain', body: `pieces=${info.pieces}` };
          },
        };
      },
    });
    const f = frontend(planner(false));
    const a = recordingSlot(f, 'q1');
    const b = recordingSlot(f, 'q2');
    f.connect(a);
    f.connect(b);
    const p = f.handle(request('t'));
    await sleep(1);
    f.complete(a, a.sent[0]!, ok());
    // The abandoned piece answers normally while the merge is pending: not accepted.
    await sleep(1);
    f.complete(b, b.sent[0]!, ok());
    expect(String((await p).body)).toBe('pieces=2');
    expect(calls).toEqual(['next', 'next', 'accept', 'result']);
    const g = frontend(planner(true));
    g.connect(new InProcessSlot(g, async () => ok()));
    await expect(g.handle(request('t'))).rejects.toThrow('merged too much');
    expect(g.outstanding).toBe(0);
  });
});

describe('frontend wire', () => {
  it('round-trips Work, Hello and Result', () => {
    const w = { id: 7, tenant: 'a|b', path: '/loki/api/v1/series', params: [['match[]', '{a="1"}'], ['match[]', '{b="2"}']] as [string, string][], headers: [['accept', 'application/json']] as [string, string][] };
    expect(decodeWork(encodeWork(w))).toEqual(w);
    expect(decodeQuerierMessage(encodeHello({ querierId: 'querier-1', httpAddress: '', cancel: false }))).toEqual({ hello: { querierId: 'querier-1', httpAddress: '', cancel: false }, result: null });
    const hello = { querierId: 'q2', httpAddress: ':3100', cancel: true };
    expect(decodeQuerierMessage(encodeHello(hello))).toEqual({ hello, result: null });
    // A Hello of a querier from before http_address and cancel: field 1 only.
    expect(decodeQuerierMessage(Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0x71, 0x31]))).toEqual({ hello: { querierId: 'q1', httpAddress: '', cancel: false }, result: null });
    expect(decodeFrontendMessage(encodeCancel(7))).toEqual({ work: null, cancel: 7 });
    expect(decodeFrontendMessage(encodeWork(w))).toEqual({ work: w, cancel: null });
    expect(() => decodeWork(encodeCancel(7))).toThrow(/no work/);
    const r = decodeQuerierMessage(encodeResult({ id: 9, status: 429, contentType: 'text/plain', body: Buffer.from('x') }));
    expect(r.result).toMatchObject({ id: 9, status: 429, contentType: 'text/plain' });
    expect(String(r.result!.body)).toBe('x');
    expect(() => decodeWork(Buffer.from([0x0a, 0x05, 0x08]))).toThrow(/FrontendToQuerier/);
  });

  it('withQueueTime replaces the summary queueTime only', () => {
    const body = '{"data":{"result":[{"metric":{"queueTime":"7"}}],"stats":{"summary":{"execTime":1,"queueTime":0,"x":1},"querier":{}}}}';
    expect(withQueueTime(body, 0.25)).toBe(body.replace('"queueTime":0,', '"queueTime":0.25,'));
    expect(withQueueTime('{"data":[]}', 1)).toBe('{"data":[]}');
    // Bytes stay bytes: the same edit, and a body without stats is the same Buffer.
    const bytes = Buffer.from(body.replace('"7"', '"é😀"').replace('"queueTime":0,', '"queueTime":1.5e-7,'));
    expect(withQueueTime(bytes, 0.25).toString()).toBe(body.replace('"7"', '"é😀"').replace('"queueTime":0,', '"queueTime":0.25,'));
    const plain = Buffer.from('{"status":"success","data":["summary","\\"summary\\":{"]}');
    expect(withQueueTime(plain, 1)).toBe(plain);
  });
});
