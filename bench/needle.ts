/**
 * Needle index (issue #20 goal 1, ADR 0023): needle queries of several shapes against the full
 * scan over stored chunks, cold and warm, with exact counts, next to `rg -F -c` on the raw text;
 * plus the needle filter's size against chunk bytes (snappy and zstd) and its CPU cost per block.
 *
 *   npx tsx bench/needle.ts build <dir> [lines=5300000] [codec=snappy] [rate=1000]
 *       generates the data into <dir> (raw and jsonl twins, `rate` entries per simulated second,
 *       ending 30 min before now: 26500000 lines at rate 44 span 7 days), ingests it into a store in <dir>,
 *       counts every needle by brute force over the jsonl entries (line.includes), writes <dir>/meta.json
 *   npx tsx bench/needle.ts compact <dir> [codec=snappy]
 *       one compactor pass over the store, as a running compactor makes it (small chunks of a
 *       stream merged per day into chunks of up to chunk_target_size; the replaced chunks swept);
 *       updates chunkBytes/chunkFiles in the meta file and sets `compacted`
 *   npx tsx bench/needle.ts run <dir> [runs=3] [codec=snappy]
 *       per run: drop the page cache (root only) and time the full scan as the first query of a
 *       fresh Silt process (nothing read before it: `full_scan_first_query_s`, the baseline of
 *       `speedup_vs_first_full_scan_median`); drop it again, start another fresh process and run
 *       every query cold (the needles, then the full scan: only the first needle reads the chunk
 *       tails from disk) then warm, then `rg -F -c` each needle; prints min/median over the runs
 *   npx tsx bench/needle.ts seal <jsonl> [maxBlocks=2000]
 *       cuts the entries into 256 KiB blocks per stream as the ingester does and reports, per
 *       block, compressed bytes (snappy, zstd), token and needle filter bytes and build times
 *
 * The full-scan baseline is `|= "qzxq"`: absent, shorter than 8 bytes and without a bounded token,
 * so no filter can rule a block out: every block is read, as for every needle before ADR 0023.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { App } from '../src/app/app.js';
import { buildBlockBloom } from '../src/chunk/bloom.js';
import { compress } from '../src/chunk/codec.js';
import { buildNeedleFilter } from '../src/chunk/needle.js';
import { loadConfig } from '../src/config/config.js';
import { FilesystemObjectClient } from '../src/storage/index.js';
import { fingerprint, labelsFromObject, labelsToString, type ValidStream } from '../src/model/index.js';
import { GENLOGS } from '../test/support/genlogs.js';
import { dropPageCache, filesystemCompactor, requireTools, STORED_QUERY_FLAGS } from './lib.js';

requireTools('rg');

const mode = process.argv[2];
const FULL_SCAN = 'qzxq';

function flags(dir: string, codec: string): string[] {
  return [
    `-common.path-prefix=${dir}`,
    '-server.http-listen-address=127.0.0.1',
    '-server.http-listen-port=0',
    '-server.grpc-listen-address=127.0.0.1',
    '-server.grpc-listen-port=0',
    ...STORED_QUERY_FLAGS,
    `-ingester.chunk-encoding=${codec}`,
    '-querier.query-timeout=30m',
    '-log.level=warn',
  ];
}

interface Meta {
  codec: string;
  entries: number;
  firstNs: string;
  lastNs: string;
  rawBytes: number;
  chunkBytes: number;
  chunkFiles: number;
  ingestSeconds: number;
  ingestCpuSeconds: number;
  needles: { name: string; needle: string; count: number }[];
  /** Set by `compact`: one compactor pass ran over the store. */
  compacted?: { seconds: number; cpuSeconds: number; chunkBytesBefore: number; chunkFilesBefore: number };
}

function sizeOf(p: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const f of readdirSync(p, { withFileTypes: true, recursive: true })) {
    if (!f.isFile()) continue;
    bytes += statSync(path.join(f.parentPath ?? f.path, f.name)).size;
    files++;
  }
  return { bytes, files };
}

async function* entries(jsonl: string): AsyncGenerator<{ labels: Record<string, string>; ts_ns: string; line: string }> {
  const rl = createInterface({ input: createReadStream(jsonl), crlfDelay: Infinity });
  for await (const l of rl) yield JSON.parse(l) as { labels: Record<string, string>; ts_ns: string; line: string };
}

/** Needles of every shape, taken from the data (deterministic: the first matching lines). */
async function pickNeedles(jsonl: string, lines: number): Promise<{ name: string; needle: string }[]> {
  let trace = '';
  let request = '';
  let i = 0;
  for await (const e of entries(jsonl)) {
    if (++i < lines / 2) continue; // from the middle of the data
    const t = /"trace_id":"([0-9a-f]{32})"/.exec(e.line);
    if (t && trace === '') trace = t[1]!;
    const r = / ([0-9a-f]{32})$/.exec(e.line);
    if (r && request === '' && !e.line.startsWith('{')) request = r[1]!;
    if (trace !== '' && request !== '') break;
  }
  return [
    { name: 'full scan (absent 4 bytes)', needle: FULL_SCAN },
    { name: 'trace id (32 hex)', needle: trace },
    { name: 'request id, 16-byte substring', needle: request.slice(8, 24) },
    { name: 'request id, 8-byte substring', needle: request.slice(12, 20) },
    { name: 'ERR_ needle substring, 9 bytes', needle: 'ITFLIP_99' },
    { name: 'ERR_ needle substring, 12 bytes', needle: 'R_SEGFAULT_0' },
    { name: 'absent 8 bytes', needle: 'zq8w3kx1' },
    { name: 'absent 12 bytes', needle: 'zq8w3kx1m4vb' },
    { name: 'absent 16 hex', needle: '0123456789abcdef' },
  ];
}

async function build(dir: string, lines: number, codec: string, rate: number): Promise<void> {
  const raw = path.join(dir, 'logs.raw');
  const jsonl = path.join(dir, 'logs.jsonl');
  const startMs = Date.now() - Math.ceil(lines / rate) * 1000 - 30 * 60_000;
  if (!existsSync(jsonl)) {
    for (const [format, out] of [['raw', raw], ['jsonl', jsonl]] as const) {
      execFileSync(process.execPath, [GENLOGS, '--format', format, '--lines', String(lines), '--streams', '1000', '--start', String(startMs), '--rate', String(rate), '--out', out], { stdio: 'ignore' });
    }
  }
  const app = new App(loadConfig(flags(path.join(dir, `store-${codec}`), codec)), pino({ level: 'warn' }));
  await app.start();
  const ing = app.ingester!;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const byStream = new Map<string, ValidStream>();
  let n = 0;
  let firstNs = -1n;
  let lastNs = 0n;
  for await (const o of entries(jsonl)) {
    const key = JSON.stringify(o.labels);
    let s = byStream.get(key);
    if (!s) {
      const labels = labelsFromObject(o.labels);
      byStream.set(key, (s = { labels, labelsString: labelsToString(labels), fingerprint: fingerprint(labels), entries: [] }));
    }
    const ts = BigInt(o.ts_ns);
    if (firstNs < 0n) firstNs = ts;
    if (ts > lastNs) lastNs = ts;
    s.entries.push({ tsNs: ts, line: Buffer.from(o.line), metadata: [] });
    if (++n % 10_000 === 0) {
      await ing.push('fake', [...byStream.values()]);
      byStream.clear();
    }
  }
  await ing.push('fake', [...byStream.values()]);
  await ing.flushNow(true);
  const ingestSeconds = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  await app.stop();
  const chunks = path.join(dir, `store-${codec}`);
  const all = sizeOf(chunks);
  const needles = await pickNeedles(jsonl, lines);
  // Brute force: entries whose line contains the needle, over the jsonl twin.
  const counts = needles.map(() => 0);
  const bufs = needles.map((x) => x.needle);
  for await (const e of entries(jsonl)) for (let i = 0; i < bufs.length; i++) if (e.line.includes(bufs[i]!)) counts[i]!++;
  const meta: Meta = {
    codec,
    entries: n,
    firstNs: String(firstNs),
    lastNs: String(lastNs),
    rawBytes: statSync(raw).size,
    chunkBytes: all.bytes,
    chunkFiles: all.files,
    ingestSeconds,
    ingestCpuSeconds: (cu.user + cu.system) / 1e6,
    needles: needles.map((x, i) => ({ ...x, count: counts[i]! })),
  };
  writeFileSync(path.join(dir, `meta-${codec}.json`), JSON.stringify(meta, null, 1));
  console.log(JSON.stringify(meta));
}

/** One fresh Silt process: every query cold, then every query warm; with `only` = 'full', the full scan alone, once. */
async function queryChild(dir: string, codec: string, only: string): Promise<void> {
  const meta = JSON.parse(readFileSync(path.join(dir, `meta-${codec}.json`), 'utf8')) as Meta;
  const app = new App(loadConfig(flags(path.join(dir, `store-${codec}`), codec)), pino({ level: 'warn' }));
  await app.start();
  const startNs = BigInt(meta.firstNs) - 1_000_000_000n;
  const endNs = BigInt(meta.lastNs) + 1n;
  const out: Record<string, unknown>[] = [];
  for (const pass of only === 'full' ? ['cold'] : ['cold', 'warm']) {
    // Cold pass: the needles first, the full scan last, so the first needle finds nothing
    // cached (chunk tails read from disk); later cold needles find the tails the earlier ones
    // read, but no block.
    const order = only === 'full' ? [meta.needles[0]!] : pass === 'cold' ? [...meta.needles.slice(1), meta.needles[0]!] : meta.needles;
    for (const nd of order) {
      const query = `{cluster=~".+"} |= ${JSON.stringify(nd.needle)}`;
      const t = performance.now();
      const r = await app.querier!.logQuery({ tenant: 'fake', query, startNs, endNs, limit: 1_000_000, direction: 'backward' });
      const sec = (performance.now() - t) / 1000;
      const hits = r.streams.reduce((a, s) => a + s.entries.length, 0);
      out.push({ pass, name: nd.name, sec, hits, blocksRead: r.stats.blocksScanned, blocksSkipped: r.stats.blocksSkippedByBloom, bytes: r.stats.bytesProcessed });
    }
  }
  await app.stop();
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}


/** One query's row in a query child's output. */
type ChildRow = { pass: string; name: string; sec: number; hits: number; blocksRead: number; blocksSkipped: number };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function run(dir: string, codec: string, runs: number): Promise<void> {
  const meta = JSON.parse(readFileSync(path.join(dir, `meta-${codec}.json`), 'utf8')) as Meta;
  const raw = path.join(dir, 'logs.raw');
  const times: Record<string, { cold: number[]; warm: number[]; rg: number[]; hits: number; read: number; skipped: number }> = {};
  /** The full scan as the first query of a fresh process over a dropped page cache: the cold baseline nothing was read before. */
  const fullFirst: number[] = [];
  let dropped = true;
  const child = (only: string): ChildRow[] => {
    dropped = dropPageCache() && dropped;
    const c = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'child', dir, codec, only], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (c.status !== 0) throw new Error(`query child failed: ${c.stderr}`);
    return JSON.parse(c.stdout.trim().split('\n').at(-1)!) as ChildRow[];
  };
  for (let r = 0; r < runs; r++) {
    const first = child('full')[0]!;
    if (first.hits !== meta.needles[0]!.count) throw new Error(`full scan: ${first.hits} hits, brute force ${meta.needles[0]!.count}`);
    fullFirst.push(first.sec);
    const rows = child('all');
    for (const row of rows) {
      const t = (times[row.name] ??= { cold: [], warm: [], rg: [], hits: row.hits, read: row.blocksRead, skipped: row.blocksSkipped });
      (row.pass === 'cold' ? t.cold : t.warm).push(row.sec);
      if (row.hits !== t.hits) throw new Error(`${row.name}: ${row.hits} hits, earlier ${t.hits}`);
    }
    // rg on the raw text (page cache warm after its first pass over the file).
    for (const nd of meta.needles) {
      const t0 = performance.now();
      spawnSync('rg', ['-F', '-c', nd.needle, raw], { stdio: 'ignore' });
      times[nd.name]!.rg.push((performance.now() - t0) / 1000);
    }
  }
  const full = times[meta.needles[0]!.name]!;
  const results = meta.needles.map((nd) => {
    const t = times[nd.name]!;
    return {
      query: `|= ${JSON.stringify(nd.needle)}`,
      shape: nd.name,
      bytes: Buffer.byteLength(nd.needle),
      hits: t.hits,
      brute_force_count: nd.count,
      exact: t.hits === nd.count,
      blocks_read: t.read,
      blocks_skipped: t.skipped,
      cold_s_min: +Math.min(...t.cold).toFixed(3),
      cold_s_median: +median(t.cold).toFixed(3),
      warm_s_min: +Math.min(...t.warm).toFixed(3),
      warm_s_median: +median(t.warm).toFixed(3),
      speedup_cold_median: +(median(full.cold) / median(t.cold)).toFixed(1),
      speedup_vs_first_full_scan_median: +(median(fullFirst) / median(t.cold)).toFixed(1),
      speedup_warm_median: +(median(full.warm) / median(t.warm)).toFixed(1),
      rg_s_median: +median(t.rg).toFixed(3),
    };
  });
  console.log(
    JSON.stringify(
      {
        bench: 'needle',
        codec,
        entries: meta.entries,
        raw_bytes: meta.rawBytes,
        chunk_bytes: meta.chunkBytes,
        runs,
        page_cache_dropped: dropped,
        full_scan_first_query_s: { min: +Math.min(...fullFirst).toFixed(3), median: +median(fullFirst).toFixed(3) },
        load: readFileSync('/proc/loadavg', 'utf8').trim(),
        results,
      },
      null,
      1,
    ),
  );
}

/** CPU milliseconds of this process (the seal work here runs on the main thread only). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Per-block sizes and CPU times of the filters, on blocks cut per stream at 256 KiB as the ingester does. */
async function seal(jsonl: string, maxBlocks: number): Promise<void> {
  const BLOCK = 256 * 1024;
  const open = new Map<string, { lines: Buffer[]; bytes: number }>();
  const blocks: Buffer[][] = [];
  for await (const o of entries(jsonl)) {
    const key = JSON.stringify(o.labels);
    let s = open.get(key);
    if (!s) open.set(key, (s = { lines: [], bytes: 0 }));
    const b = Buffer.from(o.line);
    s.lines.push(b);
    s.bytes += b.length + 8;
    if (s.bytes >= BLOCK) {
      blocks.push(s.lines);
      s.lines = [];
      s.bytes = 0;
      if (blocks.length >= maxBlocks) break;
    }
  }
  const tot = { raw: 0, snappy: 0, zstd: 0, token: 0, needle: 0, snappyMs: 0, zstdMs: 0, tokenMs: 0, needleMs: 0 };
  const rounds = [0, 1, 2];
  const perRound: { snappyMs: number; tokenMs: number; needleMs: number }[] = [];
  for (const r of rounds) {
    const pr = { snappyMs: 0, tokenMs: 0, needleMs: 0 };
    for (const lines of blocks) {
      const buf = Buffer.concat(lines);
      const offs = new Int32Array(lines.length + 1);
      for (let i = 0; i < lines.length; i++) offs[i + 1] = offs[i]! + lines[i]!.length;
      // Interleaved: baseline work (compression, token filter) and the needle filter on the same block.
      let t = cpuMs();
      const sn = compress('snappy', buf);
      pr.snappyMs += cpuMs() - t;
      t = cpuMs();
      const tok = buildBlockBloom(buf, offs, lines.length);
      pr.tokenMs += cpuMs() - t;
      t = cpuMs();
      const nf = buildNeedleFilter(buf, offs, lines.length);
      pr.needleMs += cpuMs() - t;
      if (r === 0) {
        t = cpuMs();
        const z = compress('zstd', buf);
        tot.zstdMs += cpuMs() - t;
        tot.raw += buf.length;
        tot.snappy += sn.length;
        tot.zstd += z.length;
        tot.token += tok?.length ?? 0;
        tot.needle += nf?.length ?? 0;
      }
    }
    perRound.push(pr);
  }
  const mb = tot.raw / 1e6;
  const pct = (a: number, b: number): number => +((100 * a) / b).toFixed(2);
  console.log(
    JSON.stringify(
      {
        bench: 'needle-seal',
        blocks: blocks.length,
        raw_mb: +mb.toFixed(1),
        snappy_ratio: +(tot.snappy / tot.raw).toFixed(3),
        zstd_ratio: +(tot.zstd / tot.raw).toFixed(3),
        token_filter_pct_of_snappy: pct(tot.token, tot.snappy),
        needle_filter_pct_of_snappy: pct(tot.needle, tot.snappy + tot.token),
        needle_filter_pct_of_zstd: pct(tot.needle, tot.zstd + tot.token),
        needle_bytes_per_block: Math.round(tot.needle / blocks.length),
        ms_per_mb: perRound.map((p) => ({ snappy: +(p.snappyMs / mb).toFixed(2), token_filter: +(p.tokenMs / mb).toFixed(2), needle_filter: +(p.needleMs / mb).toFixed(2) })),
        zstd_ms_per_mb: +(tot.zstdMs / mb).toFixed(2),
        load: readFileSync('/proc/loadavg', 'utf8').trim(),
      },
      null,
      1,
    ),
  );
}

/** One compactor pass over the store with the store's own config (merging on, no retention). */
async function compact(dir: string, codec: string): Promise<void> {
  const metaFile = path.join(dir, `meta-${codec}.json`);
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
  const store = path.join(dir, `store-${codec}`);
  const cfg = loadConfig(flags(store, codec));
  const chunks = path.join(store, 'chunks');
  const before = sizeOf(chunks);
  const client = new FilesystemObjectClient(chunks);
  const compactor = filesystemCompactor(cfg, client, 'warn');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await compactor.runOnce({ minChunkAgeMs: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const after = sizeOf(chunks);
  meta.compacted = { seconds, cpuSeconds: (cu.user + cu.system) / 1e6, chunkBytesBefore: meta.compacted?.chunkBytesBefore ?? before.bytes, chunkFilesBefore: meta.compacted?.chunkFilesBefore ?? before.files };
  meta.chunkBytes = after.bytes;
  meta.chunkFiles = after.files;
  writeFileSync(metaFile, JSON.stringify(meta, null, 1));
  console.log(JSON.stringify({ before, after, seconds, cpuSeconds: meta.compacted.cpuSeconds }));
}

if (mode === 'compact') await compact(process.argv[3]!, process.argv[4] ?? 'snappy');
else if (mode === 'build') await build(process.argv[3]!, Number(process.argv[4] ?? 5_300_000), process.argv[5] ?? 'snappy', Number(process.argv[6] ?? 1000));
else if (mode === 'run') await run(process.argv[3]!, process.argv[5] ?? 'snappy', Number(process.argv[4] ?? 3));
else if (mode === 'child') await queryChild(process.argv[3]!, process.argv[4]!, process.argv[5] ?? 'all');
else if (mode === 'seal') await seal(process.argv[3]!, Number(process.argv[4] ?? 2000));
else {
  console.error('usage: npx tsx bench/needle.ts build <dir> [lines] [codec] | run <dir> [runs] [codec] | seal <jsonl> [maxBlocks]');
  process.exit(2);
}
