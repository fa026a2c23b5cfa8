/**
 * Real etcd 3.4 servers for tests (Debian `etcd-server`, /usr/bin/etcd): one member or a
 * three-member cluster, on 127.0.0.1 with free ports and a fresh temp data directory each.
 *
 * Every process inherits the environment, so the run's SILT_TEST_RUN marks it and the global
 * teardown (test/global-setup.ts) kills it even when a test dies before `stop()`; `stop()`
 * kills the members and removes the data directory. Members can be killed, restarted on the
 * same ports and data, or frozen (SIGSTOP), for outage and leader-failover tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from './prometheus.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

/** One etcd member. */
export interface EtcdMember {
  /** Member name in the cluster (`m0`, `m1`, ...). */
  readonly name: string;
  /** `http://127.0.0.1:<port>`: its client URL. */
  readonly clientUrl: string;
  /** The current process id (it changes on restart); 0 when not running. */
  readonly pid: number;
  /** True between a start and a kill (a paused member is still running). */
  readonly running: boolean;
  /** SIGKILL: the member is gone at once, its data stays for `restart()`. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data directory and waits until it answers. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: connections are still accepted by the kernel but nothing answers. Resolves once
   * every thread of the process is stopped (a busy machine may let etcd answer a request or
   * two after the signal was sent).
   */
  pause(): Promise<void>;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** The last lines etcd logged (stderr). */
  logs(): string;
}

/** A running etcd cluster (one or three members). */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client URLs of every member, for `EtcdKv`'s endpoints. */
  readonly endpoints: string[];
  /** The member that is the raft leader now (asks the members; waits up to 10 s for one). */
  leader(): Promise<EtcdMember>;
  /** Kills every member and removes the data directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** 1 (default) or 3 members. */
  members?: 1 | 3;
  /**
   * Raft heartbeat interval in ms (etcd's default 100). Short values make elections and the
   * minimum lease TTL (1.5 election timeouts) short, so lease tests stay quick.
   */
  heartbeatIntervalMs?: number;
  /** Raft election timeout in ms (etcd's default 1000). */
  electionTimeoutMs?: number;
  /** How long to wait for the cluster to become healthy (default 30 s). */
  timeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when the member answers /health with a leader elected. */
async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const r = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await r.json()) as { health?: string };
    return r.status === 200 && body.health === 'true';
  } catch {
    return false;
  }
}

/** Starts etcd with `opts.members` members and waits until every member reports healthy. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 1;
  const heartbeat = opts.heartbeatIntervalMs ?? 50;
  const election = opts.electionTimeoutMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'silt-etcd-'));
  const ports: { client: number; peer: number }[] = [];
  // Distinct ports: freePort may hand the same one out twice once it has been closed.
  const used = new Set<number>();
  while (ports.length < n) {
    const client = await freePort();
    const peer = await freePort();
    if (client === peer || used.has(client) || used.has(peer)) continue;
    used.add(client).add(peer);
    ports.push({ client, peer });
  }
  const names = ports.map((_, i) => `m${i}`);
  const initialCluster = ports.map((p, i) => `${names[i]}=http://127.0.0.1:${p.peer}`).join(',');
  const token = `silt-${path.basename(dir)}`;

  const members = ports.map((p, i) => makeMember(names[i]!, p.client, p.peer, path.join(dir, names[i]!), initialCluster, token, heartbeat, election));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await Promise.all(members.map((m) => m.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  // If the test process exits without calling stop (a crash), still end the members.
  const onExit = (): void => {
    for (const m of members) m.killSync();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    leader: async () => {
      const until = Date.now() + 10_000;
      for (;;) {
        const found = await findLeader(members);
        if (found) return found;
        if (Date.now() > until) throw new Error('etcd: no leader after 10 s');
        await sleep(100);
      }
    },
    stop,
  };
  try {
    for (const m of members) m.spawn();
    await waitHealthy(members, timeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }
  return cluster;
}

/** Asks every running member for its status and returns the leader, or null. */
async function findLeader(members: readonly Member[]): Promise<Member | null> {
  const ids = new Map<string, Member>();
  let leaderId: string | null = null;
  for (const m of members) {
    if (!m.running) continue;
    try {
      // The gRPC gateway of etcd 3.4 answers the maintenance Status call on the client port.
      const r = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
      const s = (await r.json()) as { header?: { member_id?: string }; leader?: string };
      if (s.header?.member_id) ids.set(s.header.member_id, m);
      if (s.leader && s.leader !== '0') leaderId = s.leader;
    } catch {
      // down or paused: skip
    }
  }
  return leaderId !== null ? (ids.get(leaderId) ?? null) : null;
}

async function waitHealthy(members: readonly Member[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const dead = members.find((m) => !m.running);
    if (dead) throw new Error(`etcd member ${dead.name} exited: ${dead.logs()}`);
    const ok = await Promise.all(members.map((m) => healthy(m.clientUrl)));
    if (ok.every(Boolean)) return;
    if (Date.now() > until) throw new Error(`etcd not healthy after ${timeoutMs} ms: ${members.map((m) => m.logs()).join('\n')}`);
    await sleep(100);
  }
}

/** True when every thread of `pid` is stopped (state T in /proc), or the process is gone. */
function allThreadsStopped(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true; // gone, or no procfs: nothing more to wait for
  }
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'T' && state !== 't') return false;
    } catch {
      // thread exited meanwhile
    }
  }
  return true;
}

interface Member extends EtcdMember {
  spawn(): void;
  killSync(): void;
}

function makeMember(name: string, clientPort: number, peerPort: number, dataDir: string, initialCluster: string, token: string, heartbeatMs: number, electionMs: number): Member {
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    '--initial-cluster-state=new',
    `--heartbeat-interval=${heartbeatMs}`,
    `--election-timeout=${electionMs}`,
    '--logger=zap',
    '--log-level=warn',
  ];
  const alive = (): boolean => proc !== null && proc.exitCode === null && proc.signalCode === null;
  const member: Member = {
    name,
    clientUrl,
    get pid() {
      return alive() ? (proc!.pid ?? 0) : 0;
    },
    get running() {
      return alive();
    },
    logs: () => out,
    spawn() {
      const p = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      p.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
      exited = new Promise<void>((r) => p.once('exit', () => r()));
      proc = p;
    },
    killSync() {
      if (!alive()) return;
      try {
        proc!.kill('SIGCONT');
        proc!.kill('SIGKILL');
      } catch {
        // already gone
      }
    },
    async kill() {
      if (!alive()) return;
      proc!.kill('SIGCONT'); // a paused process still dies on SIGKILL, but its exit is only reported after CONT on some kernels
      proc!.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await member.kill();
      // The ports were this member's a moment ago; retry briefly if the OS has not released them.
      for (let i = 0; ; i++) {
        member.spawn();
        try {
          const until = Date.now() + 15_000;
          while (!(await healthy(clientUrl))) {
            if (!alive()) throw new Error(`etcd member ${name} exited on restart: ${out}`);
            if (Date.now() > until) throw new Error(`etcd member ${name} not healthy after restart: ${out}`);
            await sleep(50);
          }
          return;
        } catch (e) {
          await member.kill();
          if (i >= 5) throw e;
          await sleep(200);
        }
      }
    },
    async pause() {
      if (!alive()) return;
      const pid = proc!.pid!;
      proc!.kill('SIGSTOP');
      const until = Date.now() + 5000;
      while (!allThreadsStopped(pid)) {
        if (Date.now() > until) throw new Error(`etcd member ${name} (pid ${pid}) did not stop within 5 s`);
        await sleep(2);
      }
    },
    resume() {
      if (alive()) proc!.kill('SIGCONT');
    },
  };
  return member;
}
