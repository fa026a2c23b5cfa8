/**
 * Threshold → Alertmanager latency: a rule `count of ERROR lines in 1m > 9` (for: 0, interval
 * 1s) is evaluated by a Silt child process; each trial pushes 9 ERROR lines for a fresh `trial`
 * label, waits a random part of the interval, pushes the 10th (crossing) line, and polls the
 * real Alertmanager's /api/v2/alerts every 5 ms until the trial's alert is there.
 * The bound from issue #5 is one evaluation interval + 1 s.
 * Usage: npx tsx bench/ruler-latency.ts [trials=30]
 */
import { seededRandom } from '../src/util/random.js';
import { startAlertmanager } from '../test/support/prometheus.js';
import { encodePush } from '../test/support/protobuf.js';
import { percentile, post, startChild, tempDir, UNLIMITED } from './lib.js';

const trials = Number(process.argv[2] ?? 30);
const INTERVAL_MS = 1000;
const am = await startAlertmanager();
const silt = await startChild(tempDir('silt-bench-ruler-'), [...UNLIMITED, '-target=all', `-ruler.evaluation-interval=${INTERVAL_MS}ms`, `-ruler.alertmanager-url=${am.url}`]);
const group = `name: latency
rules:
  - alert: Burst
    expr: sum by (trial) (count_over_time({app="lat"} |= "ERROR" [1m])) > 9
`;
const r = await fetch(`${silt.url}/loki/api/v1/rules/bench`, { method: 'POST', body: group });
if (r.status !== 202) throw new Error(await r.text());

const rand = seededRandom(5);
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
const pushLines = async (trial: number, n: number): Promise<void> => {
  const ts = BigInt(Date.now()) * 1_000_000n;
  const entries = [...Array(n).keys()].map((i) => ({ tsNs: ts + BigInt(i), line: `level=ERROR trial=${trial} n=${i}` }));
  const res = await post(`${silt.url}/loki/api/v1/push`, encodePush([{ labels: `{app="lat", trial="${trial}"}`, entries }]), { 'Content-Type': 'application/x-protobuf' });
  if (res.status !== 204) throw new Error(res.body);
};

const lat: number[] = [];
for (let t = 0; t < trials; t++) {
  await pushLines(t, 9);
  await sleep(rand() * INTERVAL_MS);
  const t0 = Date.now();
  await pushLines(t, 1);
  for (;;) {
    const alerts = (await (await fetch(`${am.url}/api/v2/alerts?filter=trial%3D%22${t}%22`)).json()) as { labels: Record<string, string> }[];
    if (alerts.some((a) => a.labels['trial'] === String(t))) break;
    if (Date.now() - t0 > 10_000) throw new Error(`trial ${t}: no alert after 10 s`);
    await sleep(5);
  }
  lat.push(Date.now() - t0);
}
lat.sort((a, b) => a - b);
const bound = INTERVAL_MS + 1000;
console.log(
  JSON.stringify({
    bench: 'ruler_threshold_to_alertmanager',
    trials,
    interval_ms: INTERVAL_MS,
    min_ms: lat[0],
    p50_ms: percentile(lat, 50),
    p95_ms: percentile(lat, 95),
    max_ms: lat.at(-1),
    bound_ms: bound,
    within_bound: lat.at(-1)! <= bound,
  }),
);
silt.proc.kill('SIGKILL');
await silt.exited;
await am.stop();
process.exit(0);
