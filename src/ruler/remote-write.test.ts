import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { labelsFromObject } from '../model/index.js';
import { RemoteWriteClient, RemoteWriteMetrics, encodeWriteRequest, type WriteSeries } from './remote-write.js';

// An independent decoder: protobufjs over remote write 1.0's schema.
const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;
const WriteRequest = protobuf.parse(PROTO).root.lookupType('prometheus.WriteRequest');

function decode(buf: Uint8Array): { labels: Record<string, string>; samples: [number, number][] }[] {
  const o = WriteRequest.toObject(WriteRequest.decode(buf), { longs: Number, defaults: true }) as any;
  return o.timeseries.map((ts: any) => ({
    labels: Object.fromEntries(ts.labels.map((l: any) => [l.name, l.value])),
    samples: ts.samples.map((s: any) => [s.timestamp, s.value]),
  }));
}

describe('encodeWriteRequest', () => {
  it('decodes with protobufjs to the same series, including long bodies and odd values', () => {
    const long = 'x'.repeat(70_000); // a label value whose length needs a 3-byte varint
    const series: WriteSeries[] = [
      { labels: labelsFromObject({ __name__: 'a', job: 'j', ü: 'ñ' }), samples: [{ tsMs: 1_795_000_000_123, value: 1.5 }, { tsMs: 1_795_000_001_123, value: -0 }] },
      { labels: labelsFromObject({ __name__: 'b', long }), samples: [{ tsMs: 0, value: Number.POSITIVE_INFINITY }, { tsMs: -5, value: 1e-300 }] },
      { labels: labelsFromObject({ __name__: 'c' }), samples: [] },
    ];
    const got = decode(encodeWriteRequest(series));
    expect(got).toEqual([
      { labels: { __name__: 'a', job: 'j', ü: 'ñ' }, samples: [[1_795_000_000_123, 1.5], [1_795_000_001_123, -0]] },
      { labels: { __name__: 'b', long }, samples: [[0, Number.POSITIVE_INFINITY], [-5, 1e-300]] },
      { labels: { __name__: 'c' }, samples: [] },
    ]);
  });

  it('matches protobufjs byte for byte', () => {
    const series: WriteSeries[] = [{ labels: labelsFromObject({ __name__: 'm', a: 'b' }), samples: [{ tsMs: 1234567890123, value: 42 }] }];
    const ref = WriteRequest.encode(
      WriteRequest.fromObject({ timeseries: [{ labels: [{ name: '__name__', value: 'm' }, { name: 'a', value: 'b' }], samples: [{ value: 42, timestamp: 1234567890123 }] }] }),
    ).finish();
    expect(Buffer.from(encodeWriteRequest(series)).equals(Buffer.from(ref))).toBe(true);
  });

  // Bytes the encoder wrote before it moved onto the shared ProtoWriter (util/protobuf.ts).
  it('writes the same bytes as before, byte for byte', () => {
    const small: WriteSeries[] = [
      { labels: labelsFromObject({ __name__: 'up', job: 'api', ü: 'ñ✓' }), samples: [{ tsMs: 1_795_000_000_123, value: 1.5 }, { tsMs: 1_795_000_001_123.9, value: -0 }, { tsMs: -5.5, value: NaN }] },
      { labels: labelsFromObject({ __name__: 'b', long: 'v'.repeat(200) }), samples: [{ tsMs: 0, value: Number.NEGATIVE_INFINITY }, { tsMs: -(2 ** 53 - 1), value: 1e-300 }, { tsMs: 2 ** 53 - 1, value: Number.MAX_VALUE }] },
      { labels: labelsFromObject({ __name__: 'c' }), samples: [] },
      { labels: labelsFromObject({}), samples: [{ tsMs: 1, value: 2 }] },
    ];
    const want = [
      '0a630a0e0a085f5f6e616d655f5f120275700a0a0a036a6f6212036170690a0b0a02c3bc1205c3b1e29c93121009000000000000f83f10fb',
      'bcd9f29e34121009000000000000008010e3c4d9f29e34121409000000000000f87f10fbffffffffffffffff010a9a020a0d0a085f5f6e61',
      '6d655f5f1201620ad1010a046c6f6e6712c80176767676767676767676767676767676767676767676767676767676767676767676767676',
      '7676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676',
      '7676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676',
      '767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676767676120b090000',
      '00000000f0ff100012140959f3f8c21f6ea5011081808080808080f0ff01121209ffffffffffffef7f10ffffffffffffff0f0a0f0a0d0a08',
      '5f5f6e616d655f5f1201630a0d120b0900000000000000401001',
    ].join('');
    expect(encodeWriteRequest(small).toString('hex')).toBe(want);
    // A large request: lengths of 1, 2 and 3 varint bytes at every level.
    const big: WriteSeries[] = [];
    for (let i = 0; i < 300; i++) {
      const samples = Array.from({ length: (i * 37) % 700 }, (_, k) => ({ tsMs: 1_700_000_000_000 + i * 1000 + k * 15_000 - (k % 3) * 7.25, value: k % 5 === 0 ? -k / 3 : k * 1e10 + i }));
      big.push({ labels: labelsFromObject({ __name__: `metric_${i % 7}`, instance: `host-${i}`, pad: 'p'.repeat((i * 131) % 20_000) }), samples });
    }
    const b = encodeWriteRequest(big);
    expect([b.length, createHash('sha256').update(b).digest('hex')]).toEqual([4813179, '38be75dc90a73a0df6e405da623cba0b33f0e25c8d1de0fc2e77f828aecae650']);
  });
});

describe('RemoteWriteClient', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = null;
  });

  async function receiver(handler: (status: { n: number }) => number, got: { headers: Record<string, unknown>; series: ReturnType<typeof decode> }[]): Promise<string> {
    const state = { n: 0 };
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        state.n++;
        const status = handler(state);
        if (status === 204) got.push({ headers: req.headers, series: decode(snappy.uncompressSync(Buffer.concat(chunks)) as Buffer) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/api/v1/write`;
  }

  const opts = (url: string, registry: Registry, capacity = 100) => ({
    url,
    tenant: 't1',
    timeoutMs: 2000,
    capacity,
    maxSamplesPerSend: 1000,
    batchSendDeadlineMs: 10,
    minBackoffMs: 5,
    maxBackoffMs: 20,
    logger: pino({ level: 'silent' }),
    metrics: new RemoteWriteMetrics(registry),
  });

  it('retries 5xx answers and delivers in order with remote-write headers', async () => {
    const got: { headers: Record<string, unknown>; series: ReturnType<typeof decode> }[] = [];
    const url = await receiver((s) => (s.n <= 2 ? 503 : 204), got);
    const registry = new Registry();
    const c = new RemoteWriteClient(opts(url, registry));
    const l = labelsFromObject({ __name__: 'r', a: '1' });
    c.append([1, 2, 3].map((i) => ({ labels: l, tsMs: i * 1000, value: i })));
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await c.stop();
    expect(got).toHaveLength(1);
    expect(got[0]!.headers).toMatchObject({ 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0', 'x-scope-orgid': 't1' });
    expect(got[0]!.series).toEqual([{ labels: { __name__: 'r', a: '1' }, samples: [[1000, 1], [2000, 2], [3000, 3]] }]);
    const metrics = await registry.getMetricsAsJSON();
    const val = (n: string): number => metrics.find((m) => m.name === n)!.values.reduce((s, v) => s + v.value, 0);
    expect(val('silt_ruler_remote_write_retries_total')).toBe(2);
    expect(val('silt_ruler_remote_write_samples_sent_total')).toBe(3);
  });

  it('drops the oldest samples when the queue is full, and counts them', async () => {
    const got: { headers: Record<string, unknown>; series: ReturnType<typeof decode> }[] = [];
    const url = await receiver(() => 204, got);
    const registry = new Registry();
    const c = new RemoteWriteClient(opts(url, registry, 4));
    const l = labelsFromObject({ __name__: 'r' });
    c.append([1, 2, 3, 4, 5, 6, 7].map((i) => ({ labels: l, tsMs: i, value: i })));
    expect(c.pending).toBe(4);
    await c.stop();
    expect(got.flatMap((g) => g.series.flatMap((s) => s.samples.map((x) => x[1])))).toEqual([4, 5, 6, 7]);
    const dropped = (await registry.getMetricsAsJSON()).find((m) => m.name === 'silt_ruler_remote_write_samples_dropped_total')!;
    expect(dropped.values[0]!.value).toBe(3);
  });

  it('gives up on a batch the endpoint rejects with 400', async () => {
    const got: { headers: Record<string, unknown>; series: ReturnType<typeof decode> }[] = [];
    const url = await receiver((s) => (s.n === 1 ? 400 : 204), got);
    const registry = new Registry();
    const c = new RemoteWriteClient(opts(url, registry));
    const l = labelsFromObject({ __name__: 'r' });
    c.append([{ labels: l, tsMs: 1, value: 1 }]);
    await new Promise((r) => setTimeout(r, 200));
    c.append([{ labels: l, tsMs: 2, value: 2 }]);
    await c.stop();
    expect(got.flatMap((g) => g.series.flatMap((s) => s.samples.map((x) => x[1])))).toEqual([2]);
    const failed = (await registry.getMetricsAsJSON()).find((m) => m.name === 'silt_ruler_remote_write_samples_failed_total')!;
    expect(failed.values[0]!.value).toBe(1);
  });
});
