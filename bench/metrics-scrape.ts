/**
 * GET /metrics with many series in the ingester: pushes N series of one entry each into an
 * in-process App, then times 12 scrapes (each after a full collection) and, as the baseline in the
 * same process, 12 `/ready` requests; reports the last 10 of each, sorted (ms). Every ingester
 * gauge that counts chunks or memory walks every stream at scrape time.
 * Usage: node --expose-gc, or NODE_OPTIONS=--expose-gc npx tsx bench/metrics-scrape.ts [series=100000]
 */
import { exposedGc, startWithSeries } from './lib.js';

const SERIES = Number(process.argv[2] ?? 100_000);
const gc = exposedGc();


const silt = await startWithSeries('silt-bench-metrics-', SERIES);
try {
  const time = async (path: string, collect: boolean): Promise<number[]> => {
    const out: number[] = [];
    for (let k = 0; k < 12; k++) {
      if (collect) {
        gc();
        await new Promise((res) => setTimeout(res, 20));
      }
      const t0 = performance.now();
      const r = await fetch(`${silt.url}${path}`);
      const body = await r.text();
      if (r.status !== 200 || (path === '/metrics' && !body.includes(`loki_ingester_memory_chunks ${SERIES}`))) throw new Error(`${path}: ${r.status}`);
      out.push(performance.now() - t0);
    }
    return out.slice(2).sort((a, b) => a - b).map((x) => +x.toFixed(1));
  };
  const metrics = await time('/metrics', true);
  const ready = await time('/ready', false);
  const med = (a: number[]): number => (a[4]! + a[5]!) / 2;
  console.log(JSON.stringify({ bench: 'metrics-scrape', series: SERIES, metrics_ms: metrics, metrics_median_ms: med(metrics), ready_ms: ready, ready_median_ms: med(ready) }));
} finally {
  await silt.stop();
}
process.exit(0);
