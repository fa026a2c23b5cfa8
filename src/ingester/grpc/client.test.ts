/**
 * GrpcIngesterClient beyond the contract: deadlines, cancellation, unreachable ingesters,
 * answers that do not decode, SelectStreams in many messages, Tail endings, and the pool.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { cutBlocksView, MemChunk } from '../../chunk/index.js';
import { blockEntries, chunkEntries } from '../../chunk/testing.js';
import { QueryTimeoutError, SiltError, UnauthorizedError, UnavailableError, ValidationError } from '../../errors.js';
import { fingerprint, type Labels, type PushEntry } from '../../model/index.js';
import type { CallOptions, IngesterClient, IngesterTailer, MemChunkData, MemStream } from '../client.js';
import { GrpcIngesterClient, IngesterClientPool } from './client.js';
import { PATHS } from './services.js';
import { serveIngester, type ServedIngester } from './testing.js';

const T0 = 1_700_000_000_000_000_001n;

/** A backend whose methods the test sets; the rest reject as not implemented. */
function fake(methods: Partial<IngesterClient>): IngesterClient {
  return new Proxy(methods as IngesterClient, {
    get: (target, key: string) => (target as unknown as Record<string, unknown>)[key] ?? (() => Promise.reject(new SiltError('not_implemented', `${key} not faked`))),
  });
}

const never = (): Promise<never> => new Promise(() => {});

/** A stream of `chunks` chunks, each with cut blocks and a head. */
function memStream(app: string, chunks: number): MemStream {
  const labels: Labels = [{ name: 'app', value: app }];
  const out: MemChunkData[] = [];
  for (let k = 0; k < chunks; k++) {
    const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 1024, targetSizeBytes: 1 << 20 });
    for (let i = 0; i < 60; i++) c.append(T0 + BigInt(k * 1000 + i), Buffer.from(`${app} chunk ${k} line ${i} ${'x'.repeat(i)}`), i % 5 === 0 ? [{ name: 'k', value: `v${i}` }] : []);
    out.push({ id: `i/${app}-${k}`, fromNs: T0 + BigInt(k * 1000), throughNs: T0 + BigInt(k * 1000 + 59), cut: cutBlocksView(c, c.blockMetas().length), head: c.headBlock() });
  }
  return { labels, fingerprint: fingerprint(labels), chunks: out };
}

/** Entries of every chunk of a snapshot, per stream, for comparisons. */
function contents(streams: MemStream[]): unknown {
  return streams.map((s) => ({
    labels: s.labels,
    fingerprint: s.fingerprint,
    chunks: s.chunks.map((c) => ({ id: c.id, from: c.fromNs, through: c.throughNs, cut: c.cut === null ? [] : chunkEntries(c.cut), head: c.head === null ? [] : blockEntries(c.head) })),
  }));
}

let served: ServedIngester | null = null;
let client: GrpcIngesterClient | null = null;
afterEach(async () => {
  client?.close();
  client = null;
  await served?.close();
  served = null;
});

async function connect(backend: IngesterClient, opts: Parameters<typeof serveIngester>[1] = {}, timeoutMs = 2000): Promise<GrpcIngesterClient> {
  served = await serveIngester(backend, opts);
  client = new GrpcIngesterClient(served.address, { timeoutMs });
  return client;
}

describe('GrpcIngesterClient', () => {
  it('streams big snapshots in many messages and rebuilds streams split between them', async () => {
    const streams = [memStream('a', 7), memStream('b', 1), memStream('c', 12)];
    for (const headCodec of ['none', 'snappy'] as const) {
      const c = await connect(fake({ selectStreams: () => Promise.resolve(streams) }), { selectBatchBytes: 2048, headCodec });
      const got = await c.selectStreams('t', [], 0n, 1n);
      expect(contents(got)).toEqual(contents(streams));
      client?.close();
      await served?.close();
      served = null;
    }
  });

  it('gives up at its deadline with a timeout error', async () => {
    const c = await connect(fake({ selectStreams: never, labelNames: never }), {}, 200);
    const t0 = Date.now();
    await expect(c.selectStreams('t', [], 0n, 1n)).rejects.toMatchObject({ kind: 'timeout', message: `ingester ${c.address}: no answer within 200 ms` });
    await expect(c.labelNames('t', 0n, 1n, [])).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('cancels on the caller’s signal, rejects with its reason, and the server sees the cancel', async () => {
    let serverSignal: AbortSignal | undefined;
    const c = await connect(
      fake({
        series: (_t: string, _f: bigint, _u: bigint, _m: unknown, o?: CallOptions) => {
          serverSignal = o?.signal;
          return never();
        },
      }),
    );
    const ac = new AbortController();
    const p = c.series('t', 0n, 1n, [], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    const reason = new QueryTimeoutError();
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    await expect.poll(() => serverSignal?.aborted).toBe(true);
    // Already aborted: no call at all.
    await expect(c.series('t', 0n, 1n, [], { signal: ac.signal })).rejects.toBe(reason);
    const plain = new AbortController();
    plain.abort();
    await expect(c.tailersCount('t', { signal: plain.signal })).rejects.toMatchObject({ kind: 'canceled' });
  });

  it('reports an unreachable ingester as unavailable, naming it', async () => {
    const srv = await serveIngester(fake({}));
    const address = srv.address;
    await srv.close();
    const c = new GrpcIngesterClient(address, { timeoutMs: 2000 });
    try {
      const e = await c.push('t', [{ labels: [{ name: 'a', value: 'b' }], labelsString: '{a="b"}', fingerprint: 'x', entries: [{ tsNs: T0, line: Buffer.from('l'), metadata: [] }] }]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnavailableError);
      expect((e as Error).message).toMatch(new RegExp(`^ingester ${address}: `));
      await expect(c.selectStreams('t', [], 0n, 1n)).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      c.close();
    }
  });

  it('treats an answer that does not decode as the ingester’s fault', async () => {
    const server = new grpc.Server();
    server.addService(
      { Label: { path: PATHS.label, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      { Label: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from([0x0a, 0x09, 0x41])) },
    );
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const c = new GrpcIngesterClient(`127.0.0.1:${port}`);
    try {
      await expect(c.labelNames('t', 0n, 1n, [])).rejects.toMatchObject({ kind: 'internal', message: `ingester 127.0.0.1:${port}: bad LabelResponse: LabelResponse: proto: length 9 runs past the end of the message` });
      await expect(c.series('t', 0n, 1n, [])).rejects.toMatchObject({ kind: 'not_implemented' });
    } finally {
      c.close();
      server.forceShutdown();
    }
  });

  it('keeps error texts of any size and alphabet within the transport’s limits', async () => {
    const long = 'entry too far behind ✓ 100% "quoted"\n'.repeat(3000);
    const c = await connect(fake({ push: () => Promise.reject(new ValidationError('too_far_behind', long)), labelNames: () => Promise.reject(new ValidationError('x', 'zoë ✓ 100%20 %E2')) }));
    const e = (await c.push('t', [{ labels: [], labelsString: '{a="b"}', fingerprint: '', entries: [{ tsNs: T0, line: Buffer.from('l'), metadata: [] }] }]).catch((x: unknown) => x)) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.reason).toBe('too_far_behind');
    expect(e.message).toMatch(/… \(\d+ more bytes\)$/);
    const kept = e.message.replace(/… \(\d+ more bytes\)$/, '').replace(/\uFFFD$/, '');
    expect(kept.length).toBeGreaterThan(5000);
    expect(long.startsWith(kept)).toBe(true);
    await expect(c.labelNames('t', 0n, 1n, [])).rejects.toMatchObject({ message: 'zoë ✓ 100%20 %E2' });
  });

  describe('tail', () => {
    it('calls onClose when the server ends the stream, and not after unsubscribing', async () => {
      const tailers: IngesterTailer[] = [];
      const c = await connect(
        fake({
          tail: (_t: string, _m: unknown, tailer: IngesterTailer) => {
            tailers.push(tailer);
            return Promise.resolve(() => {});
          },
        }),
      );
      const closed: (Error | null)[] = [];
      const got: PushEntry[] = [];
      const un1 = await c.tail('t', [], { onEntries: (_l, e) => got.push(...e.map((x) => ({ ...x, line: Buffer.from(x.line) }))), onClose: (err) => closed.push(err) });
      tailers[0]!.onEntries([{ name: 'app', value: 'x' }], [{ tsNs: T0, line: Buffer.from('hello'), metadata: [{ name: 'k', value: 'v' }] }]);
      await expect.poll(() => got.length).toBe(1);
      expect(got[0]).toEqual({ tsNs: T0, line: Buffer.from('hello'), metadata: [{ name: 'k', value: 'v' }], lineLevel: 255 });
      tailers[0]!.onClose!(null);
      await expect.poll(() => closed.length).toBe(1);
      expect(closed).toEqual([null]);
      un1();
      // The ingester stops: open tails end with UNAVAILABLE.
      await c.tail('t', [], { onEntries: () => {}, onClose: (err) => closed.push(err) });
      served!.services.close();
      await expect.poll(() => closed.length).toBe(2);
      expect(closed[1]).toBeInstanceOf(UnavailableError);
      expect(closed[1]!.message).toBe('ingester is shutting down');
      // Unsubscribed tails hear nothing more.
      const un3 = await c.tail('t', [], { onEntries: () => {}, onClose: (err) => closed.push(err) });
      un3();
      tailers[2]!.onClose!(null);
      await new Promise((r) => setTimeout(r, 100));
      expect(closed.length).toBe(2);
    });

    it('gives up on a subscription the ingester never confirms', async () => {
      const c = await connect(fake({ tail: never }), {}, 200);
      await expect(c.tail('t', [], { onEntries: () => {} })).rejects.toMatchObject({ kind: 'timeout', message: `ingester ${c.address}: tail not subscribed within 200 ms` });
    });

    it('rejects a subscription the ingester refuses, and ends tails that fall behind', async () => {
      const tailers: IngesterTailer[] = [];
      const c = await connect(
        fake({
          tail: (_t: string, _m: unknown, tailer: IngesterTailer) => {
            tailers.push(tailer);
            return Promise.resolve(() => {});
          },
        }),
        { maxTailBufferedBytes: 100 },
      );
      await expect(c.tail('', [], { onEntries: () => {} })).rejects.toBeInstanceOf(UnauthorizedError);
      const closed: (Error | null)[] = [];
      await c.tail('t', [], { onEntries: () => {}, onClose: (err) => closed.push(err) });
      tailers[0]!.onEntries([{ name: 'app', value: 'x' }], [{ tsNs: T0, line: Buffer.alloc(200, 97), metadata: [] }]);
      await expect.poll(() => closed.length).toBe(1);
      expect(closed[0]).toMatchObject({ kind: 'limited', message: 'tail client too slow: more than 100 bytes queued' });
    });
  });
});

describe('IngesterClientPool', () => {
  it('keeps one client per address and closes them', async () => {
    const srv = await serveIngester(fake({ tailersCount: () => Promise.resolve(3) }));
    const pool = new IngesterClientPool({ timeoutMs: 1000 });
    try {
      const a = pool.get(srv.address);
      expect(pool.get(srv.address)).toBe(a);
      expect(pool.get('127.0.0.1:1')).not.toBe(a);
      expect(pool.addresses().sort()).toEqual([srv.address, '127.0.0.1:1'].sort());
      expect(await a.tailersCount('t')).toBe(3);
      pool.remove('127.0.0.1:1');
      expect(pool.addresses()).toEqual([srv.address]);
      pool.close();
      expect(pool.addresses()).toEqual([]);
      await expect(a.tailersCount('t')).rejects.toMatchObject({ kind: 'unavailable', message: `ingester ${srv.address}: client closed` });
      expect(pool.get(srv.address)).not.toBe(a);
    } finally {
      pool.close();
      await srv.close();
    }
  });
});
