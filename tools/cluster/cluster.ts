/**
 * Programmatic API of the cluster launcher (`npm run cluster` is a thin CLI over it):
 * `startCluster(opts)` starts a detached supervisor that runs etcd, optionally S3, and every
 * Silt role as its own process on 127.0.0.1, and resolves once every process answers
 * `/ready`; `stopCluster(dir)` stops all of it and waits until every pid is gone.
 *
 * Processes inherit this process's environment, so in tests they carry SILT_TEST_RUN and the
 * global teardown ends them even when a test fails before `stopCluster`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildPlan, clusterPaths, REPO_ROOT, validateConfigs, type ClusterOptions, type Plan } from './plan.js';
import { cmdlineOf, isAlive, processGroupOf, signal, tail, waitUntil, writeAtomic } from './proc.js';
import type { ClusterInfo, ServiceInfo } from './supervisor.js';

export type { ClusterOptions, Role } from './plan.js';
export type { ClusterInfo, ProcessInfo, ServiceInfo } from './supervisor.js';

/** `up` on a directory whose cluster still runs. */
export class ClusterRunningError extends Error {
  override readonly name = 'ClusterRunningError';
  constructor(
    readonly dir: string,
    readonly pids: number[],
  ) {
    super(`A cluster is already running in ${dir} (pids ${pids.join(' ')}); stop it first with: npm run cluster -- down --dir ${dir}`);
  }
}

/** `<dir>/cluster.json`, or null when there is none (or it cannot be parsed). */
export function readCluster(dir: string): ClusterInfo | null {
  try {
    return JSON.parse(readFileSync(clusterPaths(path.resolve(dir)).cluster, 'utf8')) as ClusterInfo;
  } catch {
    return null;
  }
}

function readPlan(dir: string): Plan | null {
  try {
    return JSON.parse(readFileSync(clusterPaths(dir).plan, 'utf8')) as Plan;
  } catch {
    return null;
  }
}

/** Every pid cluster.json names: roles, etcd members, S3. */
function clusterPids(info: ClusterInfo | null): number[] {
  if (info === null) return [];
  return [...info.processes.map((x) => x.pid), ...info.etcdMembers.map((x) => x.pid), ...(info.s3 !== null ? [info.s3.pid] : [])].filter((p) => p > 0);
}

/** The supervisor pid of `dir` when it is running (pid file, checked against /proc so a reused pid does not count). */
function liveSupervisor(dir: string): number | null {
  const p = clusterPaths(dir);
  let pid = NaN;
  try {
    pid = Number(readFileSync(p.pid, 'utf8').trim());
  } catch {
    pid = readCluster(dir)?.supervisorPid ?? NaN;
  }
  if (!isAlive(pid)) return null;
  const cmd = cmdlineOf(pid);
  return cmd.includes('tools/cluster/main.ts') && cmd.includes('supervise') ? pid : null;
}

/**
 * What still runs of the cluster in `dir`: its supervisor and the processes of its group
 * (the supervisor leads its own process group; a pid reused by anything else is not ours).
 */
function liveProcesses(dir: string): { supervisor: number | null; group: number; pids: number[] } {
  const info = readCluster(dir);
  const supervisor = liveSupervisor(dir);
  const group = supervisor ?? info?.supervisorPid ?? -1;
  const pids = clusterPids(info).filter((pid) => isAlive(pid) && processGroupOf(pid) === group);
  return { supervisor, group, pids };
}

/**
 * Starts a cluster in `opts.dir` and resolves with its cluster.json once every process answers
 * `/ready` 200. Refuses (ClusterRunningError) when a cluster runs there already. On failure
 * everything started is stopped again and the error says which process failed, with its log.
 */
export async function startCluster(opts: ClusterOptions): Promise<ClusterInfo> {
  // Ports the OS picked free can be taken by another program before a role binds them (tests
  // run in parallel): then the whole start is tried again with new ports, up to twice.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (opts.basePort !== undefined || attempt >= 3 || !/EADDRINUSE/.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(opts: ClusterOptions): Promise<ClusterInfo> {
  const dir = path.resolve(opts.dir);
  const p = clusterPaths(dir);
  const live = liveProcesses(dir);
  if (live.supervisor !== null || live.pids.length > 0) throw new ClusterRunningError(dir, [...(live.supervisor !== null ? [live.supervisor] : []), ...live.pids]);

  mkdirSync(dir, { recursive: true });
  // etcd membership is per run (ports change); the ring is rebuilt from the ingesters' tokens files.
  rmSync(p.etcd, { recursive: true, force: true });
  if (opts.clean) for (const d of [p.data, p.s3, p.shared, p.logs]) rmSync(d, { recursive: true, force: true });
  for (const f of [p.cluster, p.plan, p.pid]) rmSync(f, { force: true });

  const { plan, files } = await buildPlan({ ...opts, dir });
  for (const d of [p.config, p.logs, p.data, p.shared, path.join(p.shared, 'chunks'), ...(plan.s3 !== null ? [p.s3] : [])]) mkdirSync(d, { recursive: true });
  for (const [file, text] of files) writeFileSync(file, text);
  validateConfigs([...files.keys()]);
  writeAtomic(p.plan, JSON.stringify(plan, null, 2) + '\n');

  const supLog = path.join(p.logs, 'supervisor.log');
  const fd = openSync(supLog, 'a');
  // Detached: its own session and process group, so it outlives `up` and a terminal's Ctrl-C.
  const sup = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tools/cluster/main.ts'), 'supervise', '--dir', dir], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: process.env,
  });
  closeSync(fd);
  sup.unref();
  const supPid = sup.pid ?? 0;

  let info: ClusterInfo | null = null;
  const settled = await waitUntil(() => {
    info = readCluster(dir);
    if (info !== null && info.supervisorPid === supPid && (info.state === 'ready' || info.state === 'failed')) return true;
    return !isAlive(supPid);
  }, plan.readyTimeoutMs + 30_000);
  const got = info as ClusterInfo | null;
  if (settled && got !== null && got.supervisorPid === supPid && got.state === 'ready') return got;
  const why =
    got !== null && got.state === 'failed' && got.error !== null
      ? got.error
      : !isAlive(supPid)
        ? `the supervisor exited; last lines of ${supLog}:\n${tail(supLog)}`
        : `not ready within ${plan.readyTimeoutMs} ms; see ${p.logs}`;
  await stopCluster(dir);
  throw new Error(`Cannot start the cluster in ${dir}: ${why}`);
}

/**
 * Stops the cluster in `dir`: SIGTERM to the supervisor, which stops the roles (SIGKILL after
 * the grace period), then etcd and S3. If the supervisor is gone or does not finish in time,
 * its process group is killed. Resolves once every pid is gone; `wasRunning` says whether
 * anything was.
 */
export async function stopCluster(dir: string): Promise<{ wasRunning: boolean }> {
  dir = path.resolve(dir);
  const p = clusterPaths(dir);
  const plan = readPlan(dir);
  const live = liveProcesses(dir);
  if (live.supervisor === null && live.pids.length === 0) {
    rmSync(p.pid, { force: true });
    return { wasRunning: false };
  }
  const graceMs = (plan?.stopGraceMs ?? 35_000) + (plan?.serviceStopGraceMs ?? 10_000) + 5000;
  if (live.supervisor !== null) {
    signal(live.supervisor, 'SIGTERM');
    if (!(await waitUntil(() => !isAlive(live.supervisor!), graceMs))) signal(-live.group, 'SIGKILL');
  }
  // Processes left by a supervisor that was killed (or did not finish): end them directly.
  const left = () => clusterPids(readCluster(dir)).filter((pid) => isAlive(pid) && processGroupOf(pid) === live.group);
  if (left().length > 0) {
    for (const pid of left()) signal(pid, 'SIGTERM');
    if (!(await waitUntil(() => left().length === 0, 10_000))) for (const pid of left()) signal(pid, 'SIGKILL');
  }
  if (!(await waitUntil(() => left().length === 0 && (live.supervisor === null || !isAlive(live.supervisor)), 10_000))) {
    throw new Error(`Cannot stop the cluster in ${dir}: pids ${left().join(' ')} are still running`);
  }
  rmSync(p.pid, { force: true });
  return { wasRunning: true };
}

/** Polls cluster.json until `check` accepts it; throws after `timeoutMs` with the last state. */
export async function waitForCluster(dir: string, check: (info: ClusterInfo) => boolean, timeoutMs = 30_000): Promise<ClusterInfo> {
  let last: ClusterInfo | null = null;
  const ok = await waitUntil(() => {
    last = readCluster(dir);
    return last !== null && check(last);
  }, timeoutMs);
  if (!ok) throw new Error(`cluster.json in ${dir} did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  return last!;
}

/** The etcd member that is the leader now (etcd's /v3/maintenance/status), or null when none answers. */
export async function etcdLeader(info: ClusterInfo): Promise<ServiceInfo | null> {
  for (const m of info.etcdMembers) {
    try {
      const res = await fetch(`${m.url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
      if (!res.ok) continue;
      const st = (await res.json()) as { header?: { member_id?: string }; leader?: string };
      if (st.leader === undefined) continue;
      // Each member says who leads; ask the members in turn which of them has that id.
      for (const c of info.etcdMembers) {
        const r = await fetch(`${c.url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) }).catch(() => null);
        if (r === null || !r.ok) continue;
        const cs = (await r.json()) as { header?: { member_id?: string } };
        if (cs.header?.member_id === st.leader) return c;
      }
    } catch {
      // this member does not answer: ask the next
    }
  }
  return null;
}

/** Whether `dir` has cluster files (for the CLI's messages). */
export function hasCluster(dir: string): boolean {
  return existsSync(clusterPaths(path.resolve(dir)).cluster);
}
