/**
 * `npm run bench`: runs every benchmark in turn with the sizes bench/RESULTS.md reports
 * (about 20 minutes on the project's 2-core machine). Each prints one JSON result.
 * Pass names to run a subset: `npm run bench -- ingest latency`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALL: Record<string, string[]> = {
  ingest: ['ingest.ts', '500000', '8'],
  streams: ['streams.ts', '700000', '3'],
  latency: ['latency.ts', '200'],
  rss: ['rss.ts', '10000', '1000000'],
  scan: ['scan.ts', '5300000', 'snappy'],
  metric: ['metric.ts', '5300000'],
  'ruler-latency': ['ruler-latency.ts', '30'],
  'ruler-eval': ['ruler-eval.ts', '1000', '1000', '10', '3'],
  compactor: ['compactor.ts', '1000000', '200'],
  recompress: ['recompress.ts', '2000000', '6,9'],
  'ingest-s3': ['ingest-s3.ts', '4000000', '50', '100', '8', '1.5MiB', '256KiB'],
  'ingest-s3-small-chunks': ['ingest-s3.ts', '4000000', '100', '100', '8', '256KiB', '64KiB'],
  'scan-s3': ['scan-s3.ts', '1000000'],
  tail: ['tail.ts', '500', '4'],
  'field-detection': ['field-detection.ts'],
  'cache-growth': ['cache-growth.ts', '1325000,2650000,5300000', '3'],
  kernels: ['kernels.ts', '200000'],
  regex: ['regex.ts', '200000'],
  zstd: ['zstd.ts', '200000'],
  'flush-cycle': ['flush-cycle.ts', '100000', '12'],
  checkpoint: ['checkpoint.ts', '100000', '10', '1'],
  'metrics-scrape': ['metrics-scrape.ts', '100000'],
};
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(ALL);
for (const name of names) {
  const args = ALL[name];
  if (!args) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(ALL).join(', ')}`);
    process.exit(2);
  }
  console.log(`== ${name}: npx tsx bench/${args.join(' ')}`);
  // --expose-gc: some benchmarks collect before each measured step.
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(here, args[0]!), ...args.slice(1)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
