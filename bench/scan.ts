/**
 * Needle search over stored chunks: ingest N generator entries (default 5.3M ≈ 1 GiB of text)
 * into chunks on the filesystem store, then time `|= "<absent token>"` and a rare needle over
 * everything, cold (nothing cached in Silt) and warm, next to `rg -F -c` on the raw text.
 * Also reports stored bytes vs raw text and index bytes vs chunk bytes.
 * Usage: npx tsx bench/scan.ts [lines=5300000] [codec=snappy]
 * SILT_BENCH_QUERIES='["<logql>", ...]' runs these queries instead of the two needles: a log
 * query as above, a metric query as a range query with a 1m step; rg then searches the last
 * `|= "x"` (-F) or `|~ "x"` of the query, or counts all lines when it has neither.
 * SILT_BENCH_ZSTD_BASELINE=1 also times `zstd -dc | rg -c` on the raw text as one .zst file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { parseExpr, type SampleExpr } from '../src/logql/syntax/index.js';
import { requireTools } from './lib.js';
import { buildStore } from './store-fixture.js';

requireTools('rg', 'zstd');

const lines = Number(process.argv[2] ?? 5_300_000);
const codec = process.argv[3] ?? 'snappy';
// No decoded-block cache: warm runs measure cached chunk bytes, decompressed again.
const fx = await buildStore(lines, { codec, raw: true, name: 'scan', blockCache: '0' });
const { app, rawFile, indexBytes, chunkBytes } = fx;
const rawBytes = statSync(rawFile).size;
const n = fx.entries;
const lastNs = fx.lastNs;
const ingestSec = fx.ingestSeconds;

const startNs = fx.firstNs - 1_000_000_000n;
// The data ends about a day ago, so with query_ingesters_within=1s only stored chunks are read.
const endNs = lastNs + 1n;
/** Process CPU seconds (all threads, user + system) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};
async function timeQuery(query: string): Promise<{ sec: number; cpu: number; bytes: number; lines: number; hits: number; blocksRead: number; blocksSkippedByFilter: number; chunksFetched: number }> {
  const expr = parseExpr(query);
  if (expr.kind !== 'logSelector') {
    const c = process.cpuUsage();
    const t = performance.now();
    // One step past the data, so the last step's window takes in the last entries.
    const r = await app.querier!.metricQuery({ tenant: 'fake', expr: expr as SampleExpr, startNs, endNs: endNs + 60_000_000_000n, stepNs: 60_000_000_000n, instant: false });
    const sec = (performance.now() - t) / 1000;
    const cpu = cpuSince(c);
    const st = r.stats;
    const hits = r.data.type === 'matrix' ? r.data.series.reduce((a, s) => a + s.points.reduce((b, p) => b + Number(p.value), 0), 0) : 0;
    return { sec, cpu, bytes: st.bytesProcessed, lines: st.linesProcessed, hits, blocksRead: st.blocksScanned, blocksSkippedByFilter: st.blocksSkippedByBloom, chunksFetched: st.chunksFetched };
  }
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await app.querier!.logQuery({ tenant: 'fake', query, startNs, endNs, limit: 1_000_000, direction: 'backward' });
  const sec = (performance.now() - t) / 1000;
  const cpu = cpuSince(c);
  const st = r.stats;
  return { sec, cpu, bytes: st.bytesProcessed, lines: st.linesProcessed, hits: r.streams.reduce((a, s) => a + s.entries.length, 0), blocksRead: st.blocksScanned, blocksSkippedByFilter: st.blocksSkippedByBloom, chunksFetched: st.chunksFetched };
}
/** rg arguments for a query: its last line filter's needle, or '' (every line) without one. */
function rgArgs(query: string): string[] {
  const m = [...query.matchAll(/\|([=~]) "((?:[^"\\]|\\.)*)"/g)].at(-1);
  if (!m) return ['-c', ''];
  const needle = JSON.parse(`"${m[2]}"`) as string;
  return m[1] === '=' ? ['-F', '-c', needle] : ['-c', needle];
}
function rg(args: string[], file = rawFile): { sec: number; count: number } {
  const t = performance.now();
  let out = '0';
  try {
    out = execFileSync('rg', [...args, file]).toString().trim();
  } catch {
    /* rg exits 1 when nothing matches */
  }
  return { sec: (performance.now() - t) / 1000, count: Number(out) };
}
const zstdFile = process.env['SILT_BENCH_ZSTD_BASELINE'] ? `${rawFile}.zst` : '';
if (zstdFile) execFileSync('zstd', ['-q', '-3', '-T1', rawFile, '-o', zstdFile]);
/** `zstd -dc <raw text as one .zst> | rg <args>`, process starts included. */
function zstdRg(args: string[]): { sec: number; count: number } {
  const t = performance.now();
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const out = execFileSync('sh', ['-c', `zstd -dc '${zstdFile}' | rg ${quoted} || true`]).toString().trim();
  return { sec: (performance.now() - t) / 1000, count: Number(out || '0') };
}
// SILT_BENCH_PROFILE=file.cpuprofile records a CPU profile of the warm queries only.
const profileFile = process.env['SILT_BENCH_PROFILE'];
let session: import('node:inspector').Session | null = null;
if (profileFile) {
  const inspector = await import('node:inspector');
  session = new inspector.Session();
  session.connect();
}
const post = (m: string, p?: object): Promise<any> => new Promise((res, rej) => session!.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
const results: Record<string, unknown>[] = [];
const envQueries = process.env['SILT_BENCH_QUERIES'];
const queries = envQueries ? (JSON.parse(envQueries) as string[]) : ['no such token anywhere', 'ERR_BITFLIP_99A6'].map((token) => `{cluster=~".+"} |= "${token}"`);
for (const q of queries) {
  if (session) await post('Profiler.enable').then(() => post('Profiler.start'));
  const cold = await timeQuery(q);
  if (session) {
    const { profile } = await post('Profiler.stop');
    (await import('node:fs')).writeFileSync(profileFile!.replace('.cpuprofile', `-cold-${results.length}.cpuprofile`), JSON.stringify(profile));
    await post('Profiler.start');
  }
  const warm = await timeQuery(q);
  if (session) {
    const { profile } = await post('Profiler.stop');
    (await import('node:fs')).writeFileSync(profileFile!.replace('.cpuprofile', `-${results.length}.cpuprofile`), JSON.stringify(profile));
  }
  const r = rg(rgArgs(q));
  const z = zstdFile ? zstdRg(rgArgs(q)) : null;
  results.push({
    query: q,
    hits: cold.hits,
    blocks_read: cold.blocksRead,
    blocks_skipped_by_token_filter: cold.blocksSkippedByFilter,
    chunks_downloaded: cold.chunksFetched,
    rg_count: r.count,
    text_gb: Number((cold.bytes / 1e9).toFixed(3)),
    cold_s: Number(cold.sec.toFixed(2)),
    cold_gb_per_s: Number((cold.bytes / 1e9 / cold.sec).toFixed(2)),
    warm_s: Number(warm.sec.toFixed(2)),
    warm_gb_per_s: Number((warm.bytes / 1e9 / warm.sec).toFixed(2)),
    // CPU seconds of the Silt process during the query: less moved by other load than wall time.
    cold_cpu_s: Number(cold.cpu.toFixed(2)),
    warm_cpu_s: Number(warm.cpu.toFixed(2)),
    rg_s: Number(r.sec.toFixed(2)),
    rg_gb_per_s: Number((rawBytes / 1e9 / r.sec).toFixed(2)),
    ...(z ? { zstd_rg_count: z.count, zstd_rg_s: Number(z.sec.toFixed(2)), zstd_rg_gb_per_s: Number((rawBytes / 1e9 / z.sec).toFixed(2)) } : {}),
  });
}
console.log(
  JSON.stringify({
    bench: 'scan',
    codec,
    entries: n,
    raw_bytes: rawBytes,
    ingest_s: Number(ingestSec.toFixed(1)),
    chunk_bytes: chunkBytes,
    ...(zstdFile ? { zst_file_bytes: statSync(zstdFile).size } : {}),
    index_bytes: indexBytes,
    stored_vs_raw: Number((chunkBytes / rawBytes).toFixed(3)),
    index_vs_chunks_pct: Number(((100 * indexBytes) / chunkBytes).toFixed(4)),
    results,
  }),
);
await app.stop();
spawn('rm', ['-rf', fx.dir]);
process.exit(0);
