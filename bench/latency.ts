/**
 * Push → visible latency: push one line with a unique token while background load runs,
 * then poll query_range until it is returned. Reports p50/p99 over N samples.
 * Usage: npx tsx bench/latency.ts [samples=200]
 */
import { percentile, post, protobufBatches, startChild, tempDir, UNLIMITED } from './lib.js';
import { encodePush } from '../test/support/protobuf.js';

const samples = Number(process.argv[2] ?? 200);
const silt = await startChild(tempDir('silt-bench-lat-'), UNLIMITED);
const load = protobufBatches(100_000, 1000, 1000, Date.now() - 3_600_000, 100);
let stop = false;
let li = 0;
// Background load: one connection pushing generator batches continuously.
const bg = (async () => {
  while (!stop) await post(`${silt.url}/loki/api/v1/push`, load.bodies[li++ % load.bodies.length]!, { 'Content-Type': 'application/x-protobuf' });
})();
const lat: number[] = [];
for (let i = 0; i < samples; i++) {
  const token = `probe_${i}_${Math.random().toString(36).slice(2)}`;
  const ts = BigInt(Date.now()) * 1_000_000n;
  const t0 = performance.now();
  const r = await post(`${silt.url}/loki/api/v1/push`, encodePush([{ labels: `{job="probe", n="${i % 10}"}`, entries: [{ tsNs: ts, line: `visible ${token}` }] }]), { 'Content-Type': 'application/x-protobuf' });
  if (r.status !== 204) throw new Error(r.body);
  for (;;) {
    const q = new URLSearchParams({ query: `{job="probe"} |= "${token}"`, since: '5m', limit: '1' });
    const res = (await (await fetch(`${silt.url}/loki/api/v1/query_range?${q}`)).json()) as { data: { result: unknown[] } };
    if (res.data.result.length > 0) break;
  }
  lat.push(performance.now() - t0);
}
stop = true;
await bg;
lat.sort((a, b) => a - b);
console.log(JSON.stringify({ bench: 'push_to_visible', samples, p50_ms: Number(percentile(lat, 50).toFixed(1)), p99_ms: Number(percentile(lat, 99).toFixed(1)), max_ms: Number(lat.at(-1)!.toFixed(1)) }));
silt.proc.kill('SIGKILL');
await silt.exited;
process.exit(0);
