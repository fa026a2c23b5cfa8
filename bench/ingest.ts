/**
 * Push ingest throughput: protobuf+snappy bodies of 1000 entries over `streams` generator
 * streams (default 1000), WAL on (fsync always), sent by concurrent keep-alive connections to a
 * real Silt process.
 * Usage: npx tsx bench/ingest.ts [lines=500000] [concurrency=8] [streams=1000]
 */
import { measureIngest } from './ingest-measure.js';
import { protobufBatches } from './lib.js';

const lines = Number(process.argv[2] ?? 500_000);
const conc = Number(process.argv[3] ?? 8);
const streamCount = Number(process.argv[4] ?? 1000);
const rate = 2000;
const data = protobufBatches(lines, streamCount, 1000, Date.now() - Math.ceil(lines / rate) * 1000 - 60_000, rate);
const bodyBytes = data.bodies.reduce((a, b) => a + b.length, 0);
console.log(`data: ${data.entries} entries over ${streamCount} streams, ${(data.lineBytes / 1e6).toFixed(1)} MB of line text, ${data.bodies.length} bodies, ${(bodyBytes / 1e6).toFixed(1)} MB compressed`);
// SILT_BENCH_FLAGS adds server flags (e.g. to compare with ingestion enrichment off).
const extra = (process.env['SILT_BENCH_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
const r = await measureIngest(data, conc, extra);
console.log(JSON.stringify({ bench: 'ingest', ...r, concurrency: conc, streams: streamCount }));
process.exit(0);
