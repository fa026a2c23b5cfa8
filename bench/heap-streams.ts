/**
 * The live JS heap and external memory per stream once N streams hold data, in process (no
 * HTTP, no worker threads): push generator data through the distributor and the ingester, then
 * two forced full collections, then `process.memoryUsage()`. What the RSS benchmark cannot tell
 * apart (live objects from garbage and slack). HEAP_SNAPSHOT=<file> also writes a heap snapshot.
 * Usage: npx tsx --expose-gc bench/heap-streams.ts [streams=55000] [lines=600000]
 * (compiled: node --expose-gc bench/heap-streams.js)
 */
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { App } from '../src/app/app.js';
import { loadConfig } from '../src/config/config.js';
import { defaultLimits, PushDecoder } from '../src/distributor/index.js';
import { testFlags } from '../test/support/silt.js';
import { oneChunkWindowStartMs, protobufBatches, tempDir, UNLIMITED } from './lib.js';

const streams = Number(process.argv[2] ?? 55_000);
const lines = Number(process.argv[3] ?? 600_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const batches = protobufBatches(lines, streams, 1000, oneChunkWindowStartMs(3_000_000), lines / 3000);
const app = new App(loadConfig(testFlags(tempDir('silt-bench-heap-'), [...UNLIMITED])), pino({ level: 'warn' }));
await app.start();
const decoder = new PushDecoder({ worker: false });
const levels = { fields: defaultLimits.logLevelFields, maxDepth: defaultLimits.logLevelFromJsonMaxDepth };
for (const body of batches.bodies) await app.distributor!.push('fake', await decoder.decode(body, 'application/x-protobuf', undefined, 0, levels));
batches.bodies.length = 0;
gc();
gc();
const m = process.memoryUsage();
const active = app.ingester!.memoryStats().streams;
console.log(
  JSON.stringify({
    bench: 'heap_streams',
    streams: active,
    line_mb: Number((batches.lineBytes / 1e6).toFixed(1)),
    heap_used_mb: Number((m.heapUsed / 1e6).toFixed(1)),
    external_mb: Number((m.external / 1e6).toFixed(1)),
    heap_bytes_per_stream: Math.round(m.heapUsed / active),
  }),
);
if (process.env['HEAP_SNAPSHOT']) writeHeapSnapshot(process.env['HEAP_SNAPSHOT']);
process.exit(0);
