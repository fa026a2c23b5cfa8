/**
 * One push-ingest measurement against a fresh Silt process: bodies pushed by `conc` keep-alive
 * connections, the first 5 % as warm-up (JIT, stream creation), the rest timed. Used by
 * bench/ingest.ts (one run) and bench/streams.ts (stream counts side by side).
 */
import { rmSync } from 'node:fs';
import { cpuSeconds, machineIdleSeconds, machineStealSeconds, mainThreadCpuSeconds, post, rssBytes, startChild, tempDir, threadCores, threadCpuSeconds, UNLIMITED } from './lib.js';

export interface IngestData {
  bodies: Buffer[];
  lineBytes: number;
  entries: number;
}

export interface IngestResult {
  entries: number;
  seconds: number;
  lines_per_s: number;
  mb_per_s: number;
  server_cpu_cores: number;
  server_mb_per_cpu_s: number;
  server_main_thread_busy: number;
  server_mb_per_main_cpu_s: number;
  server_rss_mb: number;
  client_cpu_cores: number;
  machine_idle_cores: number;
  machine_steal_cores: number;
  server_threads_cores: Record<string, number>;
  wal_write_busy: number;
  wal_fsync_busy: number;
  wal_bytes_per_text_byte: number;
}

/** Pushes `data` into a new server started with `flags` (beside UNLIMITED) and measures it. */
export async function measureIngest(data: IngestData, conc: number, flags: readonly string[]): Promise<IngestResult> {
  const { bodies, lineBytes, entries } = data;
  const dir = tempDir('silt-bench-ingest-');
  const silt = await startChild(dir, [...UNLIMITED, ...flags]);
  try {
    const pid = silt.proc.pid!;
    const warm = Math.max(1, Math.floor(bodies.length / 20));
    let next = 0;
    const run = async (until: number): Promise<void> => {
      const workers = Array.from({ length: conc }, async () => {
        for (;;) {
          // Checked before taking a number: taking it first lost one body per connection at the
          // end of the warm-up (never pushed, yet counted as measured).
          if (next >= until) return;
          const i = next++;
          const r = await post(`${silt.url}/loki/api/v1/push`, bodies[i]!, { 'Content-Type': 'application/x-protobuf' });
          if (r.status !== 204) throw new Error(`push ${i}: ${r.status} ${r.body}`);
        }
      });
      await Promise.all(workers);
    };
    await run(warm);
    const measured = bodies.length - warm;
    const measuredBytes = (lineBytes / bodies.length) * measured;
    /** Sum of one metric's samples on the server's /metrics. */
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`${silt.url}/metrics`)).text();
      let v = 0;
      for (const line of text.split('\n')) if (line.startsWith(name + ' ') || line.startsWith(name + '{')) v += Number(line.slice(line.lastIndexOf(' ') + 1));
      return v;
    };
    const walMetrics = ['silt_ingester_wal_write_seconds_total', 'silt_ingester_wal_fsync_seconds_total', 'loki_ingester_wal_logged_bytes_total'] as const;
    const wal0 = await Promise.all(walMetrics.map(metric));
    const cpu0 = cpuSeconds(pid);
    const main0 = mainThreadCpuSeconds(pid);
    const threads0 = threadCpuSeconds(pid);
    const client0 = process.cpuUsage();
    const idle0 = machineIdleSeconds();
    const steal0 = machineStealSeconds();
    const t0 = performance.now();
    await run(bodies.length);
    const sec = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const mainCpu = mainThreadCpuSeconds(pid) - main0;
    const threads = threadCores(threads0, threadCpuSeconds(pid), sec);
    const clientCpu = process.cpuUsage(client0);
    const idle = machineIdleSeconds() - idle0;
    const steal = machineStealSeconds() - steal0;
    const measuredEntries = (entries / bodies.length) * measured;
    const wal1 = await Promise.all(walMetrics.map(metric));
    const [walWrite, walFsync, walBytes] = wal1.map((v, i) => v - wal0[i]!) as [number, number, number];
    return {
      entries: Math.round(measuredEntries),
      seconds: Number(sec.toFixed(2)),
      lines_per_s: Math.round(measuredEntries / sec),
      mb_per_s: Number((measuredBytes / 1e6 / sec).toFixed(1)),
      server_cpu_cores: Number((cpu / sec).toFixed(2)),
      server_mb_per_cpu_s: Number((measuredBytes / 1e6 / cpu).toFixed(1)),
      // The event loop is the bottleneck: MB per second of main-thread CPU is the ceiling.
      server_main_thread_busy: Number((mainCpu / sec).toFixed(2)),
      server_mb_per_main_cpu_s: Number((measuredBytes / 1e6 / mainCpu).toFixed(1)),
      server_rss_mb: Math.round(rssBytes(pid) / 1e6),
      // The load generator shares the machine: its CPU is not available to the server.
      client_cpu_cores: Number(((clientCpu.user + clientCpu.system) / 1e6 / sec).toFixed(2)),
      machine_idle_cores: Number((idle / sec).toFixed(2)),
      // Taken by the hypervisor: on a shared host the two cores are not always ours.
      machine_steal_cores: Number((steal / sec).toFixed(2)),
      server_threads_cores: threads,
      // The WAL has one writer: the share of the run it spent writing and in fdatasync (under fsync always
      // the sync is inside the O_DSYNC write), and WAL bytes per byte of line text.
      wal_write_busy: Number((walWrite / sec).toFixed(2)),
      wal_fsync_busy: Number((walFsync / sec).toFixed(2)),
      wal_bytes_per_text_byte: Number((walBytes / measuredBytes).toFixed(2)),
    };
  } finally {
    // SIGINT (not SIGKILL) when profiling, so a --cpu-prof child can write its profile.
    silt.proc.kill(process.env['SILT_NODE_ARGS'] ? 'SIGINT' : 'SIGKILL');
    await silt.exited;
    // Runs in one process add up (bench/streams.ts: 9 stores of WAL and chunks): not at exit only.
    rmSync(dir, { recursive: true, force: true });
  }
}
