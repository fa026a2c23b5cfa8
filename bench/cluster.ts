/**
 * Cluster figures (issue #19): the same generator pushes (protobuf+snappy bodies of 1000
 * entries over 1000 streams, a few keep-alive connections) sent to
 *   - sink: a Node HTTP server that reads each body and discards it (the client's own cost),
 *   - all:  one `-target=all` Silt process,
 *   - rf1:  a cluster (tools/cluster: etcd, 3 ingesters, 1 distributor, 2 queriers) with
 *           replication factor 1,
 *   - rf3:  the same cluster with replication factor 3 (quorum 2),
 * in `rounds` interleaved rounds. Each push reports MB/s of line text and the CPU seconds of
 * every process (utime+stime from /proc/<pid>/stat) per MB; the first 5 % of bodies warm up and
 * are not counted, and CPU is read once every process is idle again (the third replica of an
 * RF=3 push finishes after the ack). Then every ingester is flushed (`POST /flush`) and the
 * chunk bytes in the shared store are counted (index files apart).
 * After each flush and count, once the target's processes are stopped (or, for the `-target=all`
 * run that goes on to the latency test, idle), one compaction pass runs in this process over the
 * same store (src/compactor `Compactor.runOnce` with the target's own config, minChunkAgeMs 0 and
 * retention_delete_delay 0, so the sweeper deletes the replaced chunk objects in the same pass),
 * and the chunk bytes are counted again, on disk and as referenced by the index.
 * SILT_BENCH_PUSH=shared (default): the connections take the next body from one shared queue,
 * so a stream's entries arrive on several connections at once. SILT_BENCH_PUSH=agents: the same
 * entries regrouped (bench/lib.ts protobufBatches `partition`) so that body i holds only streams
 * ≡ i (mod clients), and connection c pushes only bodies i ≡ c (mod clients), in order — each
 * connection owns its streams, as one agent per host does.
 * Then, on a fresh RF=3 cluster holding the same data: push → visible (one line pushed to the
 * distributor, query_range polled on a querier until it is returned, with one background push
 * connection, as bench/latency.ts; also run against the last round's `-target=all` process),
 * and query latency with 1 and 2 queriers: `clients` connections running a fixed mix of log and
 * metric queries over the pushed data, round-robin over the queriers, for `seconds` each,
 * interleaved 1,2,2,1,1,2 — first while the data is in the ingesters' memory, then after a
 * flush once it has left their memory (read from the store).
 *
 * Usage: npx tsx bench/cluster.ts [lines=750000] [clients=4] [rounds=3] [seconds=30] [samples=200]
 * SILT_BENCH_ONLY=push skips latency and queries; SILT_BENCH_ONLY=query runs only them. Clusters live in a temp dir and are stopped
 * at the end (and on errors).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { listTables, type RunResult } from '../src/compactor/index.js';
import { loadTable } from '../src/compactor/markers.js';
import { loadConfig, type SiltConfig } from '../src/config/config.js';
import { FilesystemObjectClient, refIdentity } from '../src/storage/index.js';
import { testFlags } from '../test/support/silt.js';
import { startCluster, stopCluster, type ClusterInfo } from '../tools/cluster/cluster.js';
import { encodePush } from '../test/support/protobuf.js';
import { cpuSeconds, filesystemCompactor, machineIdleSeconds, percentile, post, protobufBatches, startChild, tempDir, UNLIMITED } from './lib.js';

const lines = Number(process.argv[2] ?? 750_000);
const clients = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 3);
const querySeconds = Number(process.argv[5] ?? 30);
const samples = Number(process.argv[6] ?? 200);
const only = process.env['SILT_BENCH_ONLY'] ?? '';
const PB = { 'Content-Type': 'application/x-protobuf' };
const mode = process.env['SILT_BENCH_PUSH'] ?? 'shared';
if (mode !== 'shared' && mode !== 'agents') throw new Error(`SILT_BENCH_PUSH must be shared or agents, not ${mode}`);

const rate = 2000;
const startMs = Date.now() - Math.ceil(lines / rate) * 1000 - 60_000;
const data = protobufBatches(lines, 1000, 1000, startMs, rate, mode === 'agents' ? clients : 1);
const warm = Math.max(1, Math.floor(data.bodies.length / 20));
// Line text of the bodies after the warm-up (agents bodies differ in size).
const measuredMb = data.bodyLineBytes.slice(warm).reduce((a, b) => a + b, 0) / 1e6;
const firstNs = BigInt(startMs) * 1_000_000n - 1_000_000_000n;
const lastNs = BigInt(startMs + Math.ceil(lines / rate) * 1000 + 2000) * 1_000_000n;
console.error(`data (${mode}): ${data.entries} entries, ${(data.lineBytes / 1e6).toFixed(1)} MB of text, ${data.bodies.length} bodies; measured ${measuredMb.toFixed(1)} MB`);

/** The same limits as bench/ingest.ts (UNLIMITED), as YAML for the cluster's roles. */
const LIMITS = {
  'limits_config.ingestion_rate_mb': 100000,
  'limits_config.ingestion_burst_size_mb': 100000,
  'limits_config.per_stream_rate_limit': '100GB',
  'limits_config.per_stream_rate_limit_burst': '100GB',
  'limits_config.max_global_streams_per_user': 0,
  'limits_config.max_entries_limit_per_query': 1000000,
};

const root = tempDir('silt-bench-cluster-');
const live = new Set<string>();
const children = new Set<ChildProcess>();
async function cleanup(): Promise<void> {
  for (const d of live) await stopCluster(d).catch((e: Error) => console.error(`stop ${d}: ${e.message}`));
  live.clear();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

/** CPU seconds of a pid, 0 when it is gone. */
function cpu(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}
type Procs = Record<string, number>;
const cpuOf = (procs: Procs): Record<string, number> => Object.fromEntries(Object.entries(procs).map(([n, pid]) => [n, cpu(pid)]));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Waits until the processes together use < 0.05 cores over 0.5 s (at most 20 s). */
async function settle(procs: Procs): Promise<void> {
  const total = (): number => Object.values(cpuOf(procs)).reduce((a, b) => a + b, 0);
  const until = Date.now() + 20_000;
  let prev = total();
  while (Date.now() < until) {
    await sleep(500);
    const now = total();
    if (now - prev < 0.025) return;
    prev = now;
  }
}

let retries = 0;
/**
 * Pushes bodies [from, to) with `clients` keep-alive connections: `shared`, each takes the next
 * body of one queue; `agents`, connection c pushes the bodies i ≡ c (mod clients) in order.
 */
async function pushRange(url: string, from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let own = from + ((((c - from) % clients) + clients) % clients);
      for (;;) {
        let i: number;
        if (mode === 'agents') {
          i = own;
          own += clients;
        } else i = next++;
        if (i >= to) return;
        for (let attempt = 0; ; attempt++) {
          const r = await post(`${url}/loki/api/v1/push`, data.bodies[i]!, PB);
          if (r.status === 204) break;
          if (attempt >= 3) throw new Error(`push ${i}: ${r.status} ${r.body}`);
          retries++;
          await sleep(200);
        }
      }
    }),
  );
}

interface PushResult {
  target: string;
  mode: string;
  round: number;
  seconds: number;
  mb_per_s: number;
  client_cpu_s_per_mb: number;
  silt_cpu_s_per_mb: number;
  cpu_s_per_mb: Record<string, number>;
  machine_busy_cores: number;
  chunk_bytes?: number;
  chunk_objects?: number;
  index_bytes?: number;
  /** After one compaction pass (see compactStore). */
  compacted_chunk_bytes?: number;
  compacted_chunk_objects?: number;
  compacted_index_bytes?: number;
  /** Distinct chunks the index references after the pass, and their sizes. */
  compacted_indexed_chunk_bytes?: number;
  compacted_indexed_chunks?: number;
  /** Entries of the distinct chunks the index references, before and after the pass. */
  indexed_entries?: number;
  compacted_indexed_entries?: number;
  compaction_s?: number;
  /** CPU seconds of this process (the only one running) over the pass. */
  compaction_cpu_s?: number;
  compaction?: Record<string, number>;
  /** Set when the store changed between the post-flush count and the compaction (it should not). */
  chunk_bytes_at_compaction?: number;
}

/** Warm-up, then the measured push; CPU per MB of every process in `procs`. */
async function measurePush(target: string, round: number, url: string, procs: Procs): Promise<PushResult> {
  await pushRange(url, 0, warm);
  await settle(procs);
  const c0 = cpuOf(procs);
  const client0 = process.cpuUsage();
  const idle0 = machineIdleSeconds();
  const t0 = performance.now();
  await pushRange(url, warm, data.bodies.length);
  const sec = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const idle = machineIdleSeconds() - idle0;
  await settle(procs);
  const c1 = cpuOf(procs);
  const per: Record<string, number> = {};
  let silt = 0;
  for (const n of Object.keys(procs)) {
    const d = c1[n]! - c0[n]!;
    per[n] = Number((d / measuredMb).toFixed(4));
    if (n !== 'sink' && !n.startsWith('etcd')) silt += d;
  }
  return {
    target,
    mode,
    round,
    seconds: Number(sec.toFixed(2)),
    mb_per_s: Number((measuredMb / sec).toFixed(2)),
    client_cpu_s_per_mb: Number(((client.user + client.system) / 1e6 / measuredMb).toFixed(4)),
    silt_cpu_s_per_mb: Number((silt / measuredMb).toFixed(4)),
    cpu_s_per_mb: per,
    machine_busy_cores: Number((2 - idle / sec).toFixed(2)),
  };
}

/**
 * Bytes and files under `dir`: chunk objects, and index files (paths with an `index` segment).
 * The compactor's own objects (`compactor/`: markers, delete requests) are neither.
 */
function storeBytes(dir: string): { chunk_bytes: number; chunk_objects: number; index_bytes: number } {
  const out = { chunk_bytes: 0, chunk_objects: 0, index_bytes: 0 };
  const walk = (d: string, inIndex: boolean): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && d === dir && e.name === 'compactor') continue;
      if (e.isDirectory()) walk(p, inIndex || e.name === 'index');
      else if (e.isFile()) {
        const size = statSync(p).size;
        if (inIndex) out.index_bytes += size;
        else {
          out.chunk_bytes += size;
          out.chunk_objects++;
        }
      }
    }
  };
  walk(dir, false);
  return out;
}

async function flush(urls: string[]): Promise<void> {
  const rs = await Promise.all(urls.map((u) => fetch(`${u}/flush`, { method: 'POST' })));
  for (const [i, r] of rs.entries()) if (r.status !== 204 && r.status !== 200) throw new Error(`flush ${urls[i]}: ${r.status} ${await r.text()}`);
}

/** Distinct chunk refs of the live index segments of every table, their summed sizeBytes and entries. */
async function indexedChunks(client: FilesystemObjectClient): Promise<{ chunks: number; bytes: number; entries: number }> {
  const seen = new Set<string>();
  let bytes = 0;
  let entries = 0;
  for (const { tenant, day } of await listTables(client)) {
    for (const seg of (await loadTable(client, tenant, day)).live) {
      for (let i = 0; i < seg.seriesCount; i++) {
        for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) {
          const ref = { ...seg.refAt(i, j), tenant };
          const id = refIdentity(ref);
          if (seen.has(id)) continue;
          seen.add(id);
          bytes += ref.sizeBytes;
          entries += ref.entries;
        }
      }
    }
  }
  return { chunks: seen.size, bytes, entries };
}

/**
 * One compaction pass over the filesystem store of `cfg`, as the app's compactor role runs it
 * (src/app/app.ts: the target's compactor and ingester settings and limits), but in this process,
 * on a store nothing else writes to, with every chunk eligible (minChunkAgeMs 0) and
 * retention_delete_delay 0: the sweeper of the same pass deletes the chunk objects the pass took
 * out of the index. Then the store is counted again.
 */
async function compactStore(cfg: SiltConfig, result: PushResult): Promise<void> {
  if (cfg.storage_config.object_store !== 'filesystem') throw new Error(`compactStore: ${cfg.storage_config.object_store} store`);
  const dir = cfg.storage_config.filesystem.directory;
  const before = storeBytes(dir);
  if (before.chunk_bytes !== result.chunk_bytes) result.chunk_bytes_at_compaction = before.chunk_bytes;
  const client = new FilesystemObjectClient(dir);
  const indexedBefore = await indexedChunks(client);
  const compactor = filesystemCompactor(cfg, client);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r: RunResult = await compactor.runOnce({ minChunkAgeMs: 0 });
  const sec = (performance.now() - t0) / 1000;
  const cpu1 = process.cpuUsage(cpu0);
  const after = storeBytes(dir);
  const indexed = await indexedChunks(client);
  Object.assign(result, {
    compacted_chunk_bytes: after.chunk_bytes,
    compacted_chunk_objects: after.chunk_objects,
    compacted_index_bytes: after.index_bytes,
    compacted_indexed_chunk_bytes: indexed.bytes,
    compacted_indexed_chunks: indexed.chunks,
    indexed_entries: indexedBefore.entries,
    compacted_indexed_entries: indexed.entries,
    compaction_s: Number(sec.toFixed(2)),
    compaction_cpu_s: Number(((cpu1.user + cpu1.system) / 1e6).toFixed(2)),
    compaction: { tables: r.tables, tables_changed: r.tablesChanged, ...r.totals, swept: r.sweep?.chunksDeleted ?? 0, sweep_kept: r.sweep?.chunksKept ?? 0 },
  });
}

async function runSink(round: number): Promise<PushResult> {
  const script = `const http=require('http');const s=http.createServer((q,r)=>{q.on('data',()=>{});q.on('end',()=>{r.statusCode=204;r.end();});});s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log(s.address().port));`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  const port = await new Promise<number>((resolve) => proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  try {
    return await measurePush('sink', round, `http://127.0.0.1:${port}`, { sink: proc.pid! });
  } finally {
    proc.kill('SIGKILL');
    children.delete(proc);
  }
}

/** Push → visible: one line pushed to `pushUrl`, query_range polled on `queryUrl`. */
async function visibleLatency(pushUrl: string, queryUrl: string): Promise<Record<string, number>> {
  const bgLoad = protobufBatches(100_000, 1000, 1000, Date.now() - 3_600_000, 100);
  let stop = false;
  let li = 0;
  const bg = (async () => {
    while (!stop) await post(`${pushUrl}/loki/api/v1/push`, bgLoad.bodies[li++ % bgLoad.bodies.length]!, PB);
  })();
  const lat: number[] = [];
  const ack: number[] = [];
  const poll: number[] = [];
  let polls = 0;
  for (let i = 0; i < samples; i++) {
    const token = `probe_${i}_${Math.random().toString(36).slice(2)}`;
    const t0 = performance.now();
    const r = await post(`${pushUrl}/loki/api/v1/push`, encodePush([{ labels: `{job="probe", n="${i % 10}"}`, entries: [{ tsNs: BigInt(Date.now()) * 1_000_000n, line: `visible ${token}` }] }]), PB);
    if (r.status !== 204) throw new Error(r.body);
    ack.push(performance.now() - t0);
    for (;;) {
      const q = new URLSearchParams({ query: `{job="probe"} |= "${token}"`, since: '5m', limit: '1' });
      const tq = performance.now();
      const res = (await (await fetch(`${queryUrl}/loki/api/v1/query_range?${q}`)).json()) as { data: { result: unknown[] } };
      poll.push(performance.now() - tq);
      polls++;
      if (res.data.result.length > 0) break;
    }
    lat.push(performance.now() - t0);
  }
  stop = true;
  await bg;
  for (const a of [lat, ack, poll]) a.sort((x, y) => x - y);
  const f = (a: number[], p: number): number => Number(percentile(a, p).toFixed(1));
  // ack: the push's response time; poll: one query_range; polls: queries per sample.
  return { samples, p50_ms: f(lat, 50), p99_ms: f(lat, 99), max_ms: Number(lat.at(-1)!.toFixed(1)), ack_p50_ms: f(ack, 50), ack_p99_ms: f(ack, 99), poll_p50_ms: f(poll, 50), poll_p99_ms: f(poll, 99), polls_per_sample: Number((polls / samples).toFixed(2)) };
}

/** The fixed query mix over the pushed data, with label values read from the querier. */
async function queryMix(queryUrl: string): Promise<{ query: string; limit?: number }[]> {
  const values = async (label: string): Promise<string[]> => {
    const q = new URLSearchParams({ start: String(firstNs), end: String(lastNs) });
    const r = (await (await fetch(`${queryUrl}/loki/api/v1/label/${label}/values?${q}`)).json()) as { data: string[] };
    return [...r.data].sort();
  };
  const apps = await values('app');
  const ns = await values('namespace');
  if (apps.length < 3 || ns.length < 2) throw new Error(`too few label values: ${apps.length} apps, ${ns.length} namespaces`);
  return [
    { query: `{app="${apps[0]}"} |= "GET"`, limit: 100 },
    { query: `sum by (pod) (count_over_time({app="${apps[1]}"}[1m]))` },
    { query: `sum(rate({namespace="${ns[0]}"} |= "error" [1m]))` },
    { query: `{cluster="prod-eu-west-1"} |= "ERR_BITFLIP_99A6"`, limit: 100 },
    { query: `topk(5, sum by (app) (count_over_time({namespace="${ns[1]}"} | json | __error__="" [1m])))` },
    { query: `{app="${apps[2]}"} |~ "(?i)timeout|refused"`, limit: 100 },
  ];
}

/** Runs one query; a 5xx (e.g. an ingester's 10 s timeout under load) is returned, other failures throw. */
async function runQuery(url: string, q: { query: string; limit?: number }): Promise<string | null> {
  const p = new URLSearchParams({ query: q.query, start: String(firstNs), end: String(lastNs), step: '15' });
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  const r = await fetch(`${url}/loki/api/v1/query_range?${p}`);
  const body = await r.text();
  if (r.status === 200) return null;
  if (r.status >= 500) return `${r.status} ${body.slice(0, 200)}`;
  throw new Error(`${q.query}: ${r.status} ${body.slice(0, 300)}`);
}

/** `clients` connections for `querySeconds`, each running the mix from its own offset, round-robin over `urls`. */
async function queryLoad(urls: string[], mix: { query: string; limit?: number }[], procs: Procs): Promise<Record<string, unknown>> {
  const lat: number[] = [];
  const errors: string[] = [];
  let rr = 0;
  const c0 = cpuOf(procs);
  const t0 = performance.now();
  const end = t0 + querySeconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; performance.now() < end; i++) {
        const t = performance.now();
        const q = mix[i % mix.length]!;
        const err = await runQuery(urls[rr++ % urls.length]!, q);
        // Failed queries count in the latencies (as a user waits for them) and in `errors`, not in queries/s.
        lat.push(performance.now() - t);
        if (err !== null) errors.push(`${q.query}: ${err}`);
      }
    }),
  );
  const sec = (performance.now() - t0) / 1000;
  const c1 = cpuOf(procs);
  lat.sort((a, b) => a - b);
  const cpuPerQuery: Record<string, number> = {};
  for (const n of Object.keys(procs)) cpuPerQuery[n] = Number(((c1[n]! - c0[n]!) / lat.length).toFixed(4));
  return { queriers: urls.length, queries: lat.length, errors: errors.length, error_samples: errors.slice(0, 3), seconds: Number(sec.toFixed(1)), qps: Number(((lat.length - errors.length) / sec).toFixed(2)), p50_ms: Number(percentile(lat, 50).toFixed(0)), p99_ms: Number(percentile(lat, 99).toFixed(0)), cpu_s_per_query: cpuPerQuery };
}

function clusterProcs(info: ClusterInfo): Procs {
  const out: Procs = {};
  for (const p of info.processes) out[p.name] = p.pid;
  for (const m of info.etcdMembers) out[m.name] = m.pid;
  return out;
}

async function runCluster(rf: 1 | 3, round: number): Promise<{ result: PushResult; info: ClusterInfo; dir: string }> {
  const dir = path.join(root, `rf${rf}-${round}`);
  live.add(dir);
  const info = await startCluster({ dir, ingesters: 3, distributors: 1, queriers: 2, backends: 0, replicationFactor: rf, runner: 'tsx', settings: LIMITS, clean: true });
  const procs = clusterProcs(info);
  const dist = info.processes.find((p) => p.role === 'distributor')!;
  const result = await measurePush(`rf${rf}`, round, dist.http, procs);
  await flush(info.processes.filter((p) => p.role === 'ingester').map((p) => p.http));
  Object.assign(result, storeBytes(path.join(dir, 'shared', 'chunks')));
  await stopCluster(dir);
  live.delete(dir);
  const ingesterConfig = info.processes.find((p) => p.role === 'ingester')!.config;
  await compactStore(loadConfig([`-config.file=${ingesterConfig}`]), result);
  return { result, info, dir };
}

async function runAll(round: number, withLatency: boolean): Promise<{ result: PushResult; latency?: unknown }> {
  const dir = path.join(root, `all-${round}`);
  const silt = await startChild(dir, UNLIMITED);
  children.add(silt.proc);
  const stop = async (): Promise<void> => {
    if (silt.proc.exitCode === null && silt.proc.signalCode === null) silt.proc.kill('SIGKILL');
    await silt.exited;
    children.delete(silt.proc);
  };
  try {
    const result = await measurePush('all', round, silt.url, { all: silt.proc.pid! });
    await flush([silt.url]);
    Object.assign(result, storeBytes(path.join(dir, 'chunks')));
    // The process's config, as startChild gives it (testFlags); compacted once it is gone, or
    // while it is idle when the latency test follows on it.
    const cfg = loadConfig(testFlags(dir, ['-log.level=info', ...UNLIMITED]));
    if (!withLatency) await stop();
    await compactStore(cfg, result);
    const latency = withLatency ? await visibleLatency(silt.url, silt.url) : undefined;
    return { result, latency };
  } finally {
    await stop();
  }
}

const pushes: PushResult[] = [];
const out: Record<string, unknown> = { bench: 'cluster', push_mode: mode, bodies: data.bodies.length, entries: data.entries, text_mb: Number((data.lineBytes / 1e6).toFixed(1)), measured_mb: Number(measuredMb.toFixed(1)), clients };
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loads: string[] = [];

/** Query runs with 1 and 2 queriers, interleaved 1,2,2,1,1,2, after two untimed passes of the mix on each querier. */
async function queryRuns(label: string, info: ClusterInfo, mix: { query: string; limit?: number }[]): Promise<Record<string, unknown>[]> {
  const queriers = info.processes.filter((p) => p.role === 'querier').map((p) => p.http);
  for (let pass = 0; pass < 2; pass++) for (const u of queriers) for (const q of mix) await runQuery(u, q);
  const runs: Record<string, unknown>[] = [];
  for (const n of [1, 2, 2, 1, 1, 2]) {
    loads.push(`${label}-query${n} ${load()}`);
    runs.push({ data: label, ...(await queryLoad(queriers.slice(0, n), mix, clusterProcs(info))) });
    console.error(JSON.stringify(runs.at(-1)));
  }
  return runs;
}

try {
  if (only !== 'query') {
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so no target always runs first (or last) on the shared machine.
      const order = round % 2 === 1 ? ['sink', 'all', 'rf1', 'rf3'] : ['rf3', 'rf1', 'all', 'sink'];
      for (const t of order) {
        loads.push(`${t}#${round} ${load()}`);
        if (t === 'sink') pushes.push(await runSink(round));
        else if (t === 'all') {
          const r = await runAll(round, round === rounds && only !== 'push');
          pushes.push(r.result);
          if (r.latency) out['push_to_visible_all'] = r.latency;
        } else pushes.push((await runCluster(t === 'rf1' ? 1 : 3, round)).result);
        console.error(JSON.stringify(pushes.at(-1)));
      }
    }
    out['pushes'] = pushes;
  }
  if (only !== 'push') {
    // A fresh RF=3 cluster holding the same data: push → visible, then queries while the data
    // is in the ingesters' memory, then again once it is flushed and out of their memory.
    const dir = path.join(root, 'query');
    live.add(dir);
    const info = await startCluster({ dir, ingesters: 3, distributors: 1, queriers: 2, backends: 0, replicationFactor: 3, runner: 'tsx', settings: LIMITS, clean: true });
    const dist = info.processes.find((p) => p.role === 'distributor')!;
    const queriers = info.processes.filter((p) => p.role === 'querier').map((p) => p.http);
    await pushRange(dist.http, 0, data.bodies.length);
    loads.push(`latency ${load()}`);
    out['push_to_visible_rf3'] = await visibleLatency(dist.http, queriers[0]!);
    console.error(JSON.stringify(out['push_to_visible_rf3']));
    const mix = await queryMix(queriers[0]!);
    out['query_mix'] = mix.map((q) => q.query + (q.limit !== undefined ? ` (limit ${q.limit})` : ''));
    const memory = await queryRuns('memory', info, mix);
    await flush(info.processes.filter((p) => p.role === 'ingester').map((p) => p.http));
    // chunk_retain_period (1m) and a flush-loop pass: the flushed chunks leave the ingesters' memory.
    await sleep(100_000);
    const stored = await queryRuns('store', info, mix);
    out['queries'] = [...memory, ...stored];
  }
  out['push_retries'] = retries;
  out['loads'] = loads;
  console.log(JSON.stringify(out, null, 1));
} finally {
  await cleanup();
}
process.exit(0);
