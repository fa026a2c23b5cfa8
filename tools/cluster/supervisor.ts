/**
 * The supervisor: a detached process (its own process group) that owns every process of one
 * cluster. It runs `<dir>/plan.json`: S3 and etcd first, then the Silt roles; restarts a
 * process that dies after `restartDelayMs` (systemd's RestartSec), and on SIGTERM stops the
 * roles (SIGTERM, SIGKILL after the grace period), then etcd and S3, then exits.
 *
 * `<dir>/cluster.json` is rewritten atomically on every change; `<dir>/supervisor.pid` holds
 * its pid while it runs. Output of each process is appended to `<dir>/logs/<name>.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { clusterPaths, REPO_ROOT, type Plan, type Role, type S3Info, type UnitSpec } from './plan.js';
import { httpGet, signal, sleep, tail, tcpOpen, writeAtomic } from './proc.js';

/** A unit's state in cluster.json: `down` between its exit and its restart. */
export type UnitState = 'starting' | 'ready' | 'down' | 'stopped';

/** How a process last ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** ISO time. */
  at: string;
}

/** One Silt process in cluster.json. */
export interface ProcessInfo {
  role: Role;
  /** `ingester-0`: also `ingester.lifecycler.id` and the log file name. */
  name: string;
  /** The current (or, while `down`, the last) pid. */
  pid: number;
  http: string;
  grpc: string;
  config: string;
  log: string;
  state: UnitState;
  /** Times the supervisor started it again. */
  restarts: number;
  /** ISO time of the last start. */
  startedAt: string;
  /** Spawn to first `/ready` 200 of the last start; null until then. */
  readyMs: number | null;
  lastExit: ExitInfo | null;
}

/** An etcd member or the S3 server in cluster.json. */
export interface ServiceInfo {
  name: string;
  pid: number;
  /** etcd client URL or S3 endpoint. */
  url: string;
  /** etcd peer URL ('' for S3). */
  peer: string;
  log: string;
  state: UnitState;
  restarts: number;
  startedAt: string;
  lastExit: ExitInfo | null;
}

/** `<dir>/cluster.json`. */
export interface ClusterInfo {
  dir: string;
  /** `ready` once every process answered /ready 200 after `up`; `failed` comes with `error`. */
  state: 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed';
  error: string | null;
  supervisorPid: number;
  runner: 'dist' | 'tsx';
  replicationFactor: number;
  /** etcd client URLs. */
  etcd: string[];
  etcdMembers: ServiceInfo[];
  s3: (S3Info & { pid: number; state: UnitState }) | null;
  storage: Plan['storage'];
  droppedSettings: string[];
  processes: ProcessInfo[];
  updatedAt: string;
}

/** Between readiness probes: quick enough for `up`, and Silt logs every 503 /ready at info. */
const PROBE_INTERVAL_MS = 200;

/** A supervised process and what is known of its current run. */
class Unit {
  proc: ChildProcess | null = null;
  pid = 0;
  state: UnitState = 'starting';
  restarts = 0;
  startedAt = '';
  startedMs = 0;
  readyMs: number | null = null;
  lastExit: ExitInfo | null = null;
  /** Pending restart. */
  timer: NodeJS.Timeout | null = null;
  /** Resolves when the current run exits. */
  exited: Promise<void> = Promise.resolve();
  /** What the last readiness probe got, for the error when a unit never gets ready. */
  lastProbe = 'not probed yet';
  constructor(
    readonly spec: UnitSpec,
    readonly log: string,
  ) {}
}

/** Runs the plan in `dir` until SIGTERM; returns the exit code. */
export async function runSupervisor(dir: string): Promise<number> {
  const p = clusterPaths(dir);
  const plan = JSON.parse(readFileSync(p.plan, 'utf8')) as Plan;
  mkdirSync(p.logs, { recursive: true });
  writeAtomic(p.pid, `${process.pid}\n`);
  const units = plan.units.map((s) => new Unit(s, path.join(p.logs, `${s.name}.log`)));
  let state: ClusterInfo['state'] = 'starting';
  let error: string | null = null;
  let stopping: Promise<void> | null = null;

  const say = (msg: string): void => void process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

  const write = (): void => {
    const svc = (u: Unit): ServiceInfo => ({ name: u.spec.name, pid: u.pid, url: u.spec.http, peer: u.spec.grpc, log: u.log, state: u.state, restarts: u.restarts, startedAt: u.startedAt, lastExit: u.lastExit });
    const s3 = units.find((u) => u.spec.kind === 's3');
    const info: ClusterInfo = {
      dir: plan.dir,
      state,
      error,
      supervisorPid: process.pid,
      runner: plan.runner,
      replicationFactor: plan.replicationFactor,
      etcd: plan.etcd,
      etcdMembers: units.filter((u) => u.spec.kind === 'etcd').map(svc),
      s3: plan.s3 !== null && s3 !== undefined ? { ...plan.s3, pid: s3.pid, state: s3.state } : null,
      storage: plan.storage,
      droppedSettings: plan.droppedSettings,
      processes: units
        .filter((u) => u.spec.kind === 'role')
        .map((u) => ({ role: u.spec.role!, name: u.spec.name, pid: u.pid, http: u.spec.http, grpc: u.spec.grpc, config: u.spec.config, log: u.log, state: u.state, restarts: u.restarts, startedAt: u.startedAt, readyMs: u.readyMs, lastExit: u.lastExit })),
      updatedAt: new Date().toISOString(),
    };
    writeAtomic(p.cluster, JSON.stringify(info, null, 2) + '\n');
  };

  /** Polls the unit's probe until it answers, the run ends, or `timeoutMs` passes. */
  const probe = async (u: Unit, proc: ChildProcess, timeoutMs: number): Promise<boolean> => {
    const until = Date.now() + timeoutMs;
    while (u.proc === proc && Date.now() < until) {
      const pr = u.spec.probe;
      let ok: boolean;
      if (pr.type === 'http') {
        const r = await httpGet(pr.url);
        ok = r.status === 200;
        u.lastProbe = r.status === 0 ? `no answer (${r.body})` : `${r.status} ${r.body}`;
      } else {
        ok = await tcpOpen(pr.host, pr.port);
        u.lastProbe = ok ? 'open' : 'connection refused';
      }
      if (ok && u.proc === proc) {
        u.state = 'ready';
        u.readyMs = Date.now() - u.startedMs;
        say(`${u.spec.name} ready (pid ${u.pid}, ${u.readyMs} ms after start)`);
        write();
        return true;
      }
      await sleep(PROBE_INTERVAL_MS);
    }
    return false;
  };

  const start = (u: Unit): ChildProcess => {
    mkdirSync(path.dirname(u.log), { recursive: true });
    const fd = openSync(u.log, 'a');
    writeSync(fd, `--- ${new Date().toISOString()} supervisor: starting ${u.spec.name}${u.restarts > 0 ? ` again (restart ${u.restarts})` : ''}: ${u.spec.command} ${u.spec.args.join(' ')}\n`);
    // Same process group as the supervisor (no `detached`): `down` can end the group if the
    // supervisor is gone. The repository as cwd: `--import tsx` resolves from there.
    const proc = spawn(u.spec.command, u.spec.args, { cwd: REPO_ROOT, env: { ...process.env, ...u.spec.env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    u.proc = proc;
    u.pid = proc.pid ?? 0;
    u.state = 'starting';
    u.readyMs = null;
    u.startedAt = new Date().toISOString();
    u.startedMs = Date.now();
    u.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.once('error', (e) => say(`${u.spec.name}: cannot start: ${e.message}`));
    proc.once('exit', (code, sig) => onExit(u, proc, code, sig));
    say(`${u.spec.name} started (pid ${u.pid})`);
    write();
    if (state !== 'starting') void probe(u, proc, Number.MAX_SAFE_INTEGER);
    return proc;
  };

  const onExit = (u: Unit, proc: ChildProcess, code: number | null, sig: NodeJS.Signals | null): void => {
    if (u.proc !== proc) return;
    u.proc = null;
    u.lastExit = { code, signal: sig, at: new Date().toISOString() };
    const how = sig !== null ? `signal ${sig}` : `code ${code}`;
    if (stopping !== null) {
      u.state = 'stopped';
      say(`${u.spec.name} stopped (${how})`);
      write();
      return;
    }
    u.state = 'down';
    if (state === 'starting') {
      // A process that dies before the cluster was ever ready is a broken setup (config, port):
      // restarting it would hide the cause from `up`.
      say(`${u.spec.name} exited during start (${how})`);
      error = `${u.spec.name} exited with ${how} before the cluster was ready; last lines of ${u.log}:\n${tail(u.log)}`;
      state = 'failed';
      write();
      void stop(1);
      return;
    }
    say(`${u.spec.name} exited (${how}); starting it again in ${plan.restartDelayMs} ms`);
    write();
    u.timer = setTimeout(() => {
      u.timer = null;
      if (stopping !== null) return;
      u.restarts++;
      start(u);
    }, plan.restartDelayMs);
  };

  /** SIGTERM to `group`, SIGKILL to what is left after `graceMs`; resolves when all exited. */
  const stopGroup = async (group: Unit[], graceMs: number): Promise<void> => {
    const live = group.filter((u) => u.proc !== null);
    for (const u of live) signal(u.pid, 'SIGTERM');
    const all = Promise.all(live.map((u) => u.exited));
    const timedOut = await Promise.race([all.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      for (const u of live) {
        if (u.proc === null) continue;
        say(`${u.spec.name} did not stop within ${graceMs} ms: SIGKILL`);
        signal(u.pid, 'SIGCONT'); // a process stopped with SIGSTOP (a test) cannot act on SIGTERM
        signal(u.pid, 'SIGKILL');
      }
      await all;
    }
  };

  const stop = (code: number): Promise<void> => {
    if (stopping !== null) return stopping;
    stopping = (async () => {
      if (state !== 'failed') state = 'stopping';
      say('stopping: roles first, then etcd and S3');
      for (const u of units) {
        if (u.timer !== null) clearTimeout(u.timer);
        u.timer = null;
        if (u.proc === null && u.state !== 'stopped') u.state = 'stopped';
      }
      write();
      await stopGroup(
        units.filter((u) => u.spec.kind === 'role'),
        plan.stopGraceMs,
      );
      await stopGroup(
        units.filter((u) => u.spec.kind !== 'role'),
        plan.serviceStopGraceMs,
      );
      if (state !== 'failed') state = 'stopped';
      write();
      rmSync(p.pid, { force: true });
      say('stopped');
      process.exit(code);
    })();
    return stopping;
  };

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(0));
  process.on('uncaughtException', (e) => {
    say(`supervisor failed: ${e.stack ?? e.message}; killing every process`);
    for (const u of units) if (u.proc !== null) signal(u.pid, 'SIGKILL');
    rmSync(p.pid, { force: true });
    process.exit(1);
  });

  write();
  say(`supervising ${units.length} processes in ${plan.dir} (runner ${plan.runner})`);
  // Services first (etcd members of a 3-member cluster must start together to elect a leader),
  // then every role at once; the cluster is ready when every probe answered.
  const phases = [units.filter((u) => u.spec.kind !== 'role'), units.filter((u) => u.spec.kind === 'role')];
  const deadline = Date.now() + plan.readyTimeoutMs;
  for (const phase of phases) {
    const ok = await Promise.all(phase.map((u) => probe(u, start(u), deadline - Date.now())));
    if (stopping !== null) return 1; // a process died during start: stop() is under way
    const late = phase.filter((_, i) => !ok[i]);
    if (late.length > 0) {
      error = `not ready within ${plan.readyTimeoutMs} ms: ${late.map((u) => `${u.spec.name} (${u.spec.probe.type === 'http' ? u.spec.probe.url : `tcp ${u.spec.probe.port}`} answered ${u.lastProbe}; log ${u.log})`).join(', ')}`;
      state = 'failed';
      say(error);
      write();
      await stop(1);
      return 1;
    }
  }
  state = 'ready';
  say('cluster ready');
  write();
  // From here on a dead process comes back after the restart delay; probes run per start. The
  // interval keeps the supervisor alive even in the moment no child or timer is pending.
  setInterval(() => {}, 1 << 30);
  await new Promise<never>(() => {});
  return 0;
}
