/** Shared helpers for benchmarks: generator data, a real Silt child process, CPU and RSS. */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Compactor, DeleteRequestsStore } from '../src/compactor/index.js';
import type { SiltConfig } from '../src/config/config.js';
import type { FilesystemObjectClient } from '../src/storage/index.js';
import { GENLOGS } from '../test/support/genlogs.js';
import { encodePush, labelString } from '../test/support/protobuf.js';

import { startInProcess, tempDir, type InProcess } from '../test/support/silt.js';

export { startChild, tempDir } from '../test/support/silt.js';

/** Silt's default max_chunk_age: chunks are cut at epoch-aligned windows of this length. */
const CHUNK_WINDOW_MS = 2 * 3_600_000;

/**
 * A start time 3–5 hours ago such that entries from it for `spanMs` (< 2 h) lie in one
 * max_chunk_age window. Data that crosses a window boundary closes every stream's chunk there,
 * so a memory figure would depend on the time of day the benchmark ran.
 */
export function oneChunkWindowStartMs(spanMs: number): number {
  if (spanMs >= CHUNK_WINDOW_MS - 60_000) throw new RangeError(`span of ${spanMs} ms does not fit in one chunk window`);
  return Math.floor((Date.now() - 3 * 3_600_000) / CHUNK_WINDOW_MS) * CHUNK_WINDOW_MS + 60_000;
}

/**
 * Push bodies: protobuf+snappy, one per generator batch. Returns bodies and raw line bytes.
 *
 * With `partition` = P > 1 the same entries are regrouped as P agents would send them: streams
 * are numbered by first appearance in the data, and each run of P consecutive generator batches
 * becomes P bodies, body `g*P + p` holding the entries of those batches whose stream number is
 * ≡ p (mod P), per stream in generator (time) order. Every body i then holds only streams
 * ≡ i (mod P); entries, lines and line bytes are those of P = 1, the body count is rounded up to
 * a multiple of P (a short last run gives P smaller bodies). `bodyLineBytes[i]` is body i's line text.
 */
export function protobufBatches(lines: number, streams: number, batch: number, startMs: number, rate: number, partition = 1): { bodies: Buffer[]; lineBytes: number; entries: number; bodyLineBytes: number[] } {
  // The generator writes to a file, read back a piece at a time: its output for a long run
  // exceeds both V8's largest string and the largest buffer execFileSync collects.
  const file = path.join(tempDir('silt-bench-gen-'), 'push.jsonl');
  execFileSync(process.execPath, [GENLOGS, '--format', 'loki-json', '--lines', String(lines), '--streams', String(streams), '--batch', String(batch), '--start', String(startMs), '--rate', String(rate), '--out', file], {
    stdio: 'ignore',
  });
  type Stream = { stream: Record<string, string>; values: [string, string][] };
  const bodies: Buffer[] = [];
  const bodyLineBytes: number[] = [];
  let lineBytes = 0;
  let entries = 0;
  const emit = (streams: Stream[]): void => {
    let bytes = 0;
    bodies.push(
      encodePush(
        streams.map((s) => ({
          labels: labelString(s.stream),
          entries: s.values.map(([ts, line]) => {
            bytes += Buffer.byteLength(line);
            entries++;
            return { tsNs: BigInt(ts), line };
          }),
        })),
      ),
    );
    bodyLineBytes.push(bytes);
    lineBytes += bytes;
  };
  const P = Math.max(1, Math.floor(partition));
  const streamNo = new Map<string, number>();
  let group: Stream[][] = [];
  const emitGroup = (): void => {
    if (group.length === 0) return;
    for (let p = 0; p < P; p++) {
      // Streams of partition p in order of first appearance in the group, values concatenated in batch order.
      const byLabels = new Map<string, Stream>();
      for (const doc of group) {
        for (const s of doc) {
          const key = labelString(s.stream);
          if (streamNo.get(key)! % P !== p) continue;
          const had = byLabels.get(key);
          if (had === undefined) byLabels.set(key, { stream: s.stream, values: [...s.values] });
          else had.values.push(...s.values);
        }
      }
      emit([...byLabels.values()]);
    }
    group = [];
  };
  for (const doc of jsonLines(file)) {
    const req = JSON.parse(doc) as { streams: Stream[] };
    if (P === 1) {
      emit(req.streams);
      continue;
    }
    for (const s of req.streams) {
      const key = labelString(s.stream);
      if (!streamNo.has(key)) streamNo.set(key, streamNo.size);
    }
    group.push(req.streams);
    if (group.length === P) emitGroup();
  }
  emitGroup();
  rmSync(file);
  return { bodies, lineBytes, entries, bodyLineBytes };
}

/** The non-empty lines of a file, read 16 MiB at a time. */
function* jsonLines(file: string): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    let buf = Buffer.alloc(16 * 1024 * 1024);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.alloc(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const n = readSync(fd, buf, have, buf.length - have, null);
      have += n;
      let start = 0;
      for (let nl = buf.indexOf(0x0a, start); nl >= 0 && nl < have; nl = buf.indexOf(0x0a, start)) {
        if (nl > start) yield buf.toString('utf8', start, nl);
        start = nl + 1;
      }
      if (n === 0) {
        if (have > start) yield buf.toString('utf8', start, have);
        return;
      }
      buf.copy(buf, 0, start, have);
      have -= start;
    }
  } finally {
    closeSync(fd);
  }
}

/** CPU seconds (user+system) used so far by a process, from /proc. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds used so far by a process's main thread (the event loop), from /proc. */
export function mainThreadCpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds per thread name (comm) of a process so far, from /proc/<pid>/task. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    // Node leaves its threads unnamed ("node"): tell them apart by thread id.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const name = tid === String(pid) ? 'main' : comm === 'node' ? `t${Number(tid) - pid}` : comm;
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

/** Per-thread-name CPU cores between two threadCpuSeconds samples, busiest first. */
export function threadCores(before: Map<string, number>, after: Map<string, number>, sec: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of [...after].sort((a, b) => b[1] - (before.get(b[0]) ?? 0) - (a[1] - (before.get(a[0]) ?? 0)))) {
    const d = (v - (before.get(k) ?? 0)) / sec;
    if (d >= 0.01) out[k] = Number(d.toFixed(2));
  }
  return out;
}

/** Idle CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineIdleSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  // cpu user nice system idle iowait irq softirq steal ...: idle + iowait, in USER_HZ (100/s).
  return (Number(f[4]) + Number(f[5])) / 100;
}

/** CPU seconds the hypervisor took from this VM so far (steal, all cores), from /proc/stat. */
export function machineStealSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return Number(f[8]) / 100;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** POST with a keep-alive agent; resolves with status and body. */
export function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The smallest value and the median (the lower of the two middle ones) of `xs`. */
export function minMedian(xs: readonly number[]): [number, number] {
  const v = [...xs].sort((a, b) => a - b);
  return [v[0]!, v[Math.floor((v.length - 1) / 2)]!];
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Flags that lift tenant limits so benchmarks measure the engine, not the rate limiter. */
export const UNLIMITED = [
  '-distributor.ingestion-rate-limit-mb=100000',
  '-distributor.ingestion-burst-size-mb=100000',
  '-ingester.per-stream-rate-limit=100GB',
  '-ingester.per-stream-rate-limit-burst=100GB',
  '-ingester.max-global-streams-per-user=0',
  '-validation.max-entries-limit=1000000',
];

/**
 * Server flags of query benchmarks over a built store (needle.ts, threads.ts): no WAL, chunk
 * cache big enough for the store, no decoded-block cache (warm runs measure cached chunk bytes,
 * decompressed again, as bench/scan.ts), only stored chunks read, big answers allowed, no
 * compaction pass during the runs.
 */
export const STORED_QUERY_FLAGS = [
  '-ingester.wal-enabled=false',
  '-ingester.max-global-streams-per-user=0',
  '-store.chunks-cache-size=4GiB',
  '-querier.block-cache-size=0',
  '-querier.query-ingesters-within=1s',
  '-validation.max-entries-limit=1000000',
  '-querier.max-query-series=100000',
  '-compactor.compaction-interval=24h',
];

/**
 * Fails at once, with what to install, when a baseline's tool is missing: a benchmark must not
 * read a failed `rg` as "no match" and report it as a baseline time.
 */
export function requireTools(...tools: string[]): void {
  for (const t of tools) {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${t} is needed for this benchmark's baseline (Debian: apt-get install ${t === 'rg' ? 'ripgrep' : t})`);
    }
  }
}

/** Empties the kernel's page cache (root only): true when it did. */
export function dropPageCache(): boolean {
  try {
    execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A compactor over a filesystem store with the store's own config, deleting replaced chunks in the same pass. */
export function filesystemCompactor(cfg: SiltConfig, client: FilesystemObjectClient, level: 'silent' | 'warn' = 'silent'): Compactor {
  return new Compactor({
    cfg: { ...cfg.compactor, retention_delete_delay: 0 },
    ingester: cfg.ingester,
    limits: () => cfg.limits_config,
    client,
    deleteRequests: new DeleteRequestsStore(client),
    logger: pino({ level }),
    registry: new Registry(),
  });
}


/** Labels of series i of the metadata-scale benchmarks: 20 namespaces, 500 apps, 4 containers, a unique pod; service_name comes from app. */
export function seriesLabels(i: number): string {
  const app = `app-${i % 500}`;
  return `{namespace="ns-${i % 20}", app="${app}", container="c-${i % 4}", pod="${app}-${(i * 2654435761) % 4294967296 >>> 0}-${i}", env="${i % 3 === 0 ? 'prod' : 'dev'}"}`;
}

/** Pushes one entry to each of series [0, n) (`seriesLabels`), 5000 streams per protobuf body; throws unless every push answers 204. */
export async function pushSeries(url: string, n: number, entry: (i: number) => { tsNs: bigint; line: string }): Promise<void> {
  for (let b = 0; b < n; b += 5000) {
    const streams = [];
    for (let i = b; i < Math.min(n, b + 5000); i++) streams.push({ labels: seriesLabels(i), entries: [entry(i)] });
    const r = await post(`${url}/loki/api/v1/push`, encodePush(streams), { 'Content-Type': 'application/x-protobuf' });
    if (r.status !== 204) throw new Error(`push: ${r.status} ${r.body}`);
  }
}

/** `gc()` of a process started with `--expose-gc`; throws naming the flag otherwise (the benchmark forces collections). */
export function exposedGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (NODE_OPTIONS=--expose-gc for tsx)');
  return gc;
}

/**
 * An in-process App holding `n` series of one entry each (`seriesLabels`, `line <i>`, a minute
 * ago), with no flush cycle of its own (`flush_check_period` 1h): the benchmark runs what it measures.
 */
export async function startWithSeries(prefix: string, n: number): Promise<InProcess> {
  const silt = await startInProcess(tempDir(prefix), [...UNLIMITED, '-ingester.flush-check-period=1h']);
  try {
    const tsNs = BigInt(Date.now() - 60_000) * 1_000_000n;
    await pushSeries(silt.url, n, (i) => ({ tsNs: tsNs + BigInt(i), line: `line ${i}` }));
  } catch (e) {
    await silt.stop();
    throw e;
  }
  return silt;
}
