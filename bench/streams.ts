/**
 * Issue #20 goal 6, ingest by stream count: the same number of generator entries pushed over
 * 100, 1000 and 10,000 streams (protobuf+snappy bodies of 1000 entries, 16 connections, WAL
 * fsync always, a fresh server per run), stream counts interleaved in every round so that each
 * round's ratio compares runs minutes apart. Reports per count MB/s of text and server
 * CPU-seconds per GB of text (min / median over the rounds), and per round the ratio of the
 * most streams' rate to the fewest's.
 * Usage: npx tsx bench/streams.ts [lines=700000] [rounds=3] [counts=100,1000,10000]
 */
import { measureIngest, type IngestData, type IngestResult } from './ingest-measure.js';
import { protobufBatches } from './lib.js';

const lines = Number(process.argv[2] ?? 700_000);
const rounds = Number(process.argv[3] ?? 3);
const counts = (process.argv[4] ?? '100,1000,10000').split(',').map(Number);
const conc = 16;
const rate = 2000;
const extra = (process.env['SILT_BENCH_FLAGS'] ?? '').split(' ').filter((f) => f !== '');

const data = new Map<number, IngestData>();
for (const n of counts) {
  // Timestamps end a minute before now: every run finds them within the ingest window.
  const d = protobufBatches(lines, n, 1000, Date.now() - Math.ceil(lines / rate) * 1000 - 60_000, rate);
  data.set(n, d);
  console.log(`data: ${d.entries} entries over ${n} streams, ${(d.lineBytes / 1e6).toFixed(1)} MB of line text, ${d.bodies.length} bodies`);
}

const results = new Map<number, IngestResult[]>(counts.map((n) => [n, []]));
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  // Alternate the order so no count always runs first after the data was made.
  const order = r % 2 === 0 ? counts : [...counts].reverse();
  for (const n of order) {
    const res = await measureIngest(data.get(n)!, conc, extra);
    results.get(n)!.push(res);
    console.log(JSON.stringify({ bench: 'streams', round: r + 1, streams: n, ...res }));
  }
  const lo = results.get(counts[0]!)![r]!;
  const hi = results.get(counts[counts.length - 1]!)![r]!;
  ratios.push(hi.mb_per_s / lo.mb_per_s);
}

/** "best / median": the best is the smallest (`dir` 1, costs) or the largest (`dir` -1, rates); an even count's median is the mean of its middle two. */
const bestMedian = (xs: number[], digits: number, dir: 1 | -1): string => {
  const s = [...xs].sort((a, b) => dir * (a - b));
  const mid = s.length / 2;
  const median = s.length % 2 === 1 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return `${s[0]!.toFixed(digits)} / ${median.toFixed(digits)}`;
};
const minMedian = (xs: number[], digits: number): string => bestMedian(xs, digits, 1);
const maxMedian = (xs: number[], digits: number): string => bestMedian(xs, digits, -1);
console.log(`\n| streams | MB/s of text, max / median | server CPU-s per GB of text, min / median | event loop busy | event-loop CPU-s per GB, min / median | RSS MB |`);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const n of counts) {
  const rs = results.get(n)!;
  const busy = rs.map((x) => x.server_main_thread_busy);
  console.log(
    `| ${n} | ${maxMedian(
      rs.map((x) => x.mb_per_s),
      1,
    )} | ${minMedian(
      rs.map((x) => 1000 / x.server_mb_per_cpu_s),
      1,
    )} | ${Math.min(...busy).toFixed(2)}–${Math.max(...busy).toFixed(2)} | ${minMedian(
      rs.map((x) => 1000 / x.server_mb_per_main_cpu_s),
      1,
    )} | ${Math.min(...rs.map((x) => x.server_rss_mb))}–${Math.max(...rs.map((x) => x.server_rss_mb))} |`,
  );
}
console.log(`\nrate at ${counts[counts.length - 1]} streams / rate at ${counts[0]} streams, per round: ${ratios.map((x) => x.toFixed(2)).join(', ')} (max / median ${maxMedian(ratios, 2)})`);
process.exit(0);
