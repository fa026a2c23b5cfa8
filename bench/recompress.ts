/**
 * Issue #20 goal 7, storage cost: the compactor's recompression of old days (ADR 0038).
 * Builds a store of N generator entries with the ingester's defaults (lz4, 256 KiB blocks;
 * bench/store-fixture.ts), then runs the compactor with `compactor.recompress_after` over it at
 * each zstd level asked for (a settings change recompresses the day again), and reports per
 * state: stored chunk bytes (blocks, token filters, needle filters) against `zstd -3 -T1` of
 * the same text as one file, the compactor's wall and CPU time, and the full scan that nothing
 * skips (`|= "qzxq"`) and two needles from a fresh App over the store (first query: Silt caches
 * empty, page cache warm; then 3 warm ones, min / median), every count checked against `rg`.
 *
 *   npx tsx bench/recompress.ts [lines=2000000] [levels=6,9] [blockKiB=1024]
 *
 * SILT_BENCH_PROFILE=<prefix> writes a CPU profile of each state's first full scan to
 * `<prefix>-<state number>.cpuprofile`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { App } from '../src/app/app.js';
import { decodeChunk } from '../src/chunk/index.js';
import { Compactor, DeleteRequestsStore, listTables } from '../src/compactor/index.js';
import { loadTable, sweepMarkers } from '../src/compactor/markers.js';
import { chunkKey, type ObjectClient } from '../src/storage/index.js';
import { minMedian, requireTools } from './lib.js';
import { buildStore } from './store-fixture.js';

requireTools('rg', 'zstd');
const lines = Number(process.argv[2] ?? 2_000_000);
const levels = (process.argv[3] ?? '6,9').split(',').map(Number);
const blockKiB = Number(process.argv[4] ?? 1024);
const DAY_MS = 86_400_000;

// No decoded-block cache: warm queries decompress cached chunk bytes again, as in bench/scan.ts.
// The app's own compactor runs only at start (and merges nothing there, see scans()).
const fx = await buildStore(lines, { raw: true, name: 'recompress', blockCache: '0', extraFlags: ['-compactor.compaction-interval=24h'] });
const cfg = fx.app.cfg;
await fx.app.stop();
const rawBytes = statSync(fx.rawFile).size;
const zst = `${fx.rawFile}.zst`;
execFileSync('zstd', ['-q', '-3', '-T1', fx.rawFile, '-o', zst]);
const zstdBytes = statSync(zst).size;

/** Bytes of every chunk the live index references (a chunk listed by two days counted once), split by part. */
async function storeBytes(client: ObjectClient): Promise<Record<string, number | string>> {
  const seen = new Set<string>();
  let total = 0;
  let blocks = 0;
  let token = 0;
  let needle = 0;
  let chunks = 0;
  let nBlocks = 0;
  const codecs = new Set<string>();
  for (const t of await listTables(client)) {
    const { live } = await loadTable(client, t.tenant, t.day);
    for (const seg of live) {
      for (let i = 0; i < seg.seriesCount; i++) {
        for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) {
          const key = chunkKey(seg.refAt(i, j));
          if (seen.has(key)) continue;
          seen.add(key);
          const bytes = await client.get(key);
          const c = decodeChunk(bytes);
          codecs.add(c.codec);
          chunks++;
          total += bytes.length;
          for (const m of c.blockMetas()) {
            blocks += m.compressedBytes;
            token += m.bloomBytes;
            needle += m.gramBytes;
            nBlocks++;
          }
        }
      }
    }
  }
  const r = (x: number): number => Number((x / rawBytes).toFixed(4));
  return {
    codecs: [...codecs].join(','),
    chunks,
    blocks: nBlocks,
    stored_bytes: total,
    stored_vs_text: r(total),
    stored_vs_zstd3: Number((total / zstdBytes).toFixed(3)),
    blocks_vs_text: r(blocks),
    blocks_and_rest_vs_zstd3: Number(((total - token - needle) / zstdBytes).toFixed(3)),
    token_filters_vs_text: r(token),
    needle_filters_vs_text: r(needle),
  };
}

function rgCount(needle: string): number {
  try {
    return Number(execFileSync('rg', ['-F', '-c', needle, fx.rawFile]).toString().trim());
  } catch {
    return 0;
  }
}

const QUERIES = [
  ['full scan', 'qzxq'],
  ['needle, 16 bytes', 'ERR_BITFLIP_99A6'],
  ['needle, 12 bytes', 'R_SEGFAULT_0'],
] as const;
const expected = new Map(QUERIES.map(([, n]) => [n, rgCount(n)]));

const profilePrefix = process.env['SILT_BENCH_PROFILE'];
const session = profilePrefix ? new Session() : null;
session?.connect();
const inspect = (method: string): Promise<any> => new Promise((res, rej) => session!.post(method, {}, (e, r) => (e ? rej(e) : res(r))));
let profiled = 0;

/**
 * A fresh App over the store: the first query finds Silt's caches empty; then 3 warm ones. Its
 * own compactor, which runs once at start, merges nothing (small recompressed chunks would go
 * back to the ingester's codec: the day is not old by the real clock).
 */
async function scans(): Promise<Record<string, unknown>[]> {
  const app = new App({ ...cfg, compactor: { ...cfg.compactor, merge_small_chunks: false } }, pino({ level: 'warn' }));
  await app.start();
  const out: Record<string, unknown>[] = [];
  try {
    for (const [name, needle] of QUERIES) {
      const times: number[] = [];
      const cpus: number[] = [];
      let bytes = 0;
      for (let k = 0; k < 4; k++) {
        const profiling = session !== null && k === 0 && name === 'full scan';
        if (profiling) await inspect('Profiler.enable').then(() => inspect('Profiler.start'));
        const c = process.cpuUsage();
        const t = performance.now();
        const r = await app.querier!.logQuery({ tenant: 'fake', query: `{cluster=~".+"} |= "${needle}"`, startNs: fx.firstNs - 1n, endNs: fx.lastNs + 1n, limit: 1_000_000, direction: 'backward' });
        times.push((performance.now() - t) / 1000);
        const u = process.cpuUsage(c);
        cpus.push((u.user + u.system) / 1e6);
        if (profiling) writeFileSync(`${profilePrefix}-${profiled++}.cpuprofile`, JSON.stringify((await inspect('Profiler.stop')).profile));
        const hits = r.streams.reduce((a, s) => a + s.entries.length, 0);
        if (hits !== expected.get(needle)) throw new Error(`${name}: ${hits} hits, rg counts ${expected.get(needle)}`);
        bytes = r.stats.bytesProcessed;
      }
      const [wMin, wMed] = minMedian(times.slice(1));
      out.push({
        query: name,
        needle,
        hits: expected.get(needle),
        first_s: Number(times[0]!.toFixed(2)),
        first_cpu_s: Number(cpus[0]!.toFixed(2)),
        warm_s: [Number(wMin.toFixed(3)), Number(wMed.toFixed(3))],
        warm_cpu_s: Number(minMedian(cpus.slice(1))[0].toFixed(2)),
        ...(name === 'full scan' ? { warm_gb_per_s: Number((bytes / 1e9 / wMin).toFixed(2)) } : {}),
      });
    }
  } finally {
    await app.stop();
  }
  return out;
}

const client = fx.app.objects;
const states: Record<string, unknown>[] = [];
states.push({ state: 'ingested (lz4, 256 KiB blocks)', ...(await storeBytes(client)), scans: await scans() });
for (const level of levels) {
  // "Now" two days after the data: every day of it ended more than recompress_after ago.
  const now = Date.now() + 2 * DAY_MS;
  const compactor = new Compactor({
    cfg: { ...cfg.compactor, recompress_after: 1, recompress_chunk_encoding: 'zstd', recompress_zstd_level: level, recompress_block_size: blockKiB * 1024, retention_delete_delay: 0 },
    ingester: cfg.ingester,
    limits: () => cfg.limits_config,
    client,
    deleteRequests: new DeleteRequestsStore(client),
    logger: pino({ level: 'warn' }),
    registry: new Registry(),
    nowMs: () => now,
  });
  const c = process.cpuUsage();
  const run = await compactor.runOnce({ minChunkAgeMs: 0, noSweep: true });
  const u = process.cpuUsage(c);
  await sweepMarkers(client, now + 1, 0);
  states.push({
    state: `recompressed: zstd-${level}, ${blockKiB} KiB blocks`,
    compactor_s: Number((run.durationMs / 1000).toFixed(1)),
    compactor_cpu_s: Number(((u.user + u.system) / 1e6).toFixed(1)),
    compactor_cpu_s_per_gb_of_text: Number(((u.user + u.system) / 1e6 / (rawBytes / 1e9)).toFixed(1)),
    chunks_recompressed: run.totals.recompressed,
    ...(await storeBytes(client)),
    scans: await scans(),
  });
}
console.log(JSON.stringify({ bench: 'recompress', date: new Date().toISOString().slice(0, 10), entries: fx.entries, text_bytes: rawBytes, zstd3_bytes: zstdBytes, zstd3_vs_text: Number((zstdBytes / rawBytes).toFixed(4)), states }, null, 1));
spawn('rm', ['-rf', fx.dir]);
