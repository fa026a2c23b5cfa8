/**
 * The ingester's `series` over many in-memory streams, in process: the selection and ordering
 * part of a `series` answer (no HTTP), and the same with the answer's body encoded
 * (`seriesResponseBody`). Pushes generator data over N streams, then asks three selectors 30
 * times each over a range holding every entry; min / median ms.
 * Usage: npx tsx bench/series-ingester.ts [streams=100000] [lines=200000]
 */
import { pino } from 'pino';
import { App } from '../src/app/app.js';
import { loadConfig } from '../src/config/config.js';
import { defaultLimits, PushDecoder } from '../src/distributor/index.js';
import { compileMatchers } from '../src/logql/log/matcher.js';
import { parseSelector } from '../src/logql/syntax/parse.js';
import { seriesResponseBody } from '../src/querier/metadata.js';
import { testFlags } from '../test/support/silt.js';
import { oneChunkWindowStartMs, protobufBatches, tempDir, UNLIMITED } from './lib.js';

const streams = Number(process.argv[2] ?? 100_000);
const lines = Number(process.argv[3] ?? 200_000);
const startMs = oneChunkWindowStartMs(3_000_000);
const { bodies } = protobufBatches(lines, streams, 1000, startMs, lines / 3000);
const app = new App(loadConfig(testFlags(tempDir('silt-bench-series-'), [...UNLIMITED])), pino({ level: 'warn' }));
await app.start();
const decoder = new PushDecoder({ worker: false });
const levels = { fields: defaultLimits.logLevelFields, maxDepth: defaultLimits.logLevelFromJsonMaxDepth };
for (const body of bodies) await app.distributor!.push('fake', await decoder.decode(body, 'application/x-protobuf', undefined, 0, levels));
const ingester = app.ingester!;
const all = BigInt(Date.now() + 3_600_000) * 1_000_000n;
const notAll = BigInt(startMs + 2_999_000) * 1_000_000n;
const cases: [string, bigint][] = [
  ['{cluster=~".+"}', all],
  ['{namespace="default"}', all],
  ['{app=~"a.*"}', all],
  ['{cluster=~".+"}', notAll],
];
for (const [q, through] of cases) {
  const matchers = compileMatchers(parseSelector(q).matchers);
  const ms: number[] = [];
  const bodyMs: number[] = [];
  let n = 0;
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    n = ingester.series('fake', 0n, through, matchers).length;
    ms.push(performance.now() - t0);
    const t1 = performance.now();
    seriesResponseBody(ingester.series('fake', 0n, through, matchers));
    bodyMs.push(performance.now() - t1);
  }
  ms.sort((a, b) => a - b);
  bodyMs.sort((a, b) => a - b);
  const f = (x: number): number => Number(x.toFixed(2));
  console.log(JSON.stringify({ bench: 'series_ingester', selector: q, range: through === all ? 'every entry' : 'not the newest second', series: n, min_ms: f(ms[0]!), median_ms: f(ms[15]!), with_body_min_ms: f(bodyMs[0]!), with_body_median_ms: f(bodyMs[15]!) }));
}
process.exit(0);
