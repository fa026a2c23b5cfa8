/**
 * Push → live tail latency: K WebSocket tail clients follow `{job="tailprobe"}` on a real Silt
 * child process while one connection pushes generator batches (1000 entries each, other
 * streams) without pause. Every 20 ms one probe line is pushed to the tailed stream; the time
 * from sending its push to its arrival at each client is one sample.
 * Usage: npx tsx bench/tail.ts [probes=500] [clients=4]
 */
import WebSocket from 'ws';
import { percentile, post, protobufBatches, startChild, tempDir, UNLIMITED } from './lib.js';
import { encodePush } from '../test/support/protobuf.js';

const probes = Number(process.argv[2] ?? 500);
const clients = Number(process.argv[3] ?? 4);
const silt = await startChild(tempDir('silt-bench-tail-'), UNLIMITED);
const load = protobufBatches(100_000, 1000, 1000, Date.now() - 3_600_000, 100);

const sentAt = new Map<number, number>();
const lat: number[] = [];
const received = new Array<number>(clients).fill(0);
let dropped = 0;
const sockets = await Promise.all(
  Array.from({ length: clients }, (_, c) => {
    const ws = new WebSocket(`${silt.url.replace('http', 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{job="tailprobe"}', start: String(Date.now() * 1e6) })}`);
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const f = JSON.parse(data.toString()) as { streams: { values: string[][] }[]; dropped_entries?: unknown[] };
      dropped += f.dropped_entries?.length ?? 0;
      for (const s of f.streams)
        for (const v of s.values) {
          const id = Number(/probe (\d+)/.exec(v[1]!)?.[1] ?? -1);
          const t0 = sentAt.get(id);
          if (t0 !== undefined) {
            lat.push(now - t0);
            received[c]!++;
          }
        }
    });
    return new Promise<WebSocket>((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }),
);

let stop = false;
let li = 0;
let bgEntries = 0;
const bg = (async () => {
  while (!stop) {
    const r = await post(`${silt.url}/loki/api/v1/push`, load.bodies[li++ % load.bodies.length]!, { 'Content-Type': 'application/x-protobuf' });
    if (r.status === 204) bgEntries += 1000;
  }
})();

const t0 = performance.now();
for (let i = 0; i < probes; i++) {
  sentAt.set(i, performance.now());
  const body = encodePush([{ labels: `{job="tailprobe"}`, entries: [{ tsNs: BigInt(Date.now()) * 1_000_000n + BigInt(i), line: `probe ${i}` }] }]);
  const r = await post(`${silt.url}/loki/api/v1/push`, body, { 'Content-Type': 'application/x-protobuf' });
  if (r.status !== 204) throw new Error(r.body);
  await new Promise((res) => setTimeout(res, 20));
}
// Let the last probes arrive.
const until = Date.now() + 5000;
while (lat.length < probes * clients && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
const seconds = (performance.now() - t0) / 1000;
stop = true;
await bg;
for (const ws of sockets) ws.close();
silt.proc.kill('SIGTERM');
await silt.exited;

lat.sort((a, b) => a - b);
const r = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    bench: 'tail',
    probes,
    clients,
    samples: lat.length,
    expected: probes * clients,
    droppedReported: dropped,
    backgroundLinesPerSec: Math.round(bgEntries / seconds),
    p50Ms: r(percentile(lat, 50)),
    p99Ms: r(percentile(lat, 99)),
    maxMs: r(lat[lat.length - 1] ?? NaN),
  }),
);
process.exit(0);
