/**
 * The cluster launcher (tools/cluster, `npm run cluster`): a real etcd and one process per
 * role, the supervisor restarting a process killed with SIGKILL after the restart delay, and
 * `down` leaving no process and no listening port behind. This tests the launcher's
 * mechanics, not the cluster's semantics (ring, replication).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterRunningError, readCluster, startCluster, stopCluster, waitForCluster, type ClusterInfo } from '../tools/cluster/cluster.js';
import { runCli } from '../tools/cluster/cli.js';
import { isAlive, tcpOpen } from '../tools/cluster/proc.js';
import { tempDir } from './support/silt.js';

const RESTART_DELAY_MS = 1000;

/** Every pid cluster.json names, the supervisor's included. */
function allPids(info: ClusterInfo): number[] {
  return [info.supervisorPid, ...info.processes.map((p) => p.pid), ...info.etcdMembers.map((m) => m.pid)];
}

/** Every port cluster.json names (HTTP, gRPC, etcd client and peer). */
function allPorts(info: ClusterInfo): number[] {
  const urls = [...info.processes.flatMap((p) => [p.http, `http://${p.grpc}`]), ...info.etcdMembers.flatMap((m) => [m.url, m.peer])];
  return urls.map((u) => Number(new URL(u).port));
}

/** Local addresses (`ip:port`) of the TCP sockets `pid` listens on, from /proc. */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is hex ip:port; st 0A is LISTEN; field 9 is the inode.
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [ipHex, portHex] = f[1]!.split(':') as [string, string];
      const ip = ipHex.length === 8 ? ipHex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.') : `ipv6:${ipHex}`;
      out.push(`${ip}:${parseInt(portHex, 16)}`);
    }
  }
  return out;
}

describe('npm run cluster', () => {
  const dir = tempDir('silt-cluster-');
  let info: ClusterInfo;

  beforeAll(async () => {
    info = await startCluster({ dir, ingesters: 1, distributors: 1, queriers: 1, backends: 0, etcdMembers: 1, restartDelayMs: RESTART_DELAY_MS, stopGraceMs: 10_000 });
  });
  afterAll(async () => {
    await stopCluster(dir); // no-op when the test already stopped it
  });

  it('up writes cluster.json with one process per role, each answering /ready on 127.0.0.1 only', async () => {
    expect(readCluster(dir)).toEqual(info);
    expect(info.state).toBe('ready');
    expect(info.etcd).toHaveLength(1);
    expect(info.etcd[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.processes.map((p) => p.role).sort()).toEqual(['distributor', 'ingester', 'querier']);
    for (const p of info.processes) {
      expect(p).toMatchObject({ pid: expect.any(Number), state: 'ready', restarts: 0 });
      expect(p.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(p.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
      expect((await fetch(`${p.http}/ready`)).status, p.name).toBe(200);
    }
    expect(new Set(allPorts(info)).size, 'every port is different').toBe(allPorts(info).length);
    for (const pid of allPids(info).slice(1)) {
      const addrs = listeningAddresses(pid);
      expect(addrs.length, `pid ${pid} listens`).toBeGreaterThan(0);
      for (const a of addrs) expect(a, `pid ${pid}`).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    const out: string[] = [];
    expect(await runCli(['status', '--dir', dir], (s) => out.push(s))).toBe(0);
    for (const p of info.processes) expect(out.join('')).toContain(p.name);
  });

  it('up refuses a directory whose cluster is running', async () => {
    await expect(startCluster({ dir })).rejects.toThrow(ClusterRunningError);
    const err: string[] = [];
    expect(await runCli(['up', '--dir', dir], () => undefined, (s) => err.push(s))).toBe(1);
    expect(err.join('')).toContain('already running');
  });

  it('the supervisor starts a process killed with SIGKILL again after the restart delay, on the same ports', async () => {
    const before = info.processes.find((p) => p.role === 'ingester')!;
    process.kill(before.pid, 'SIGKILL');
    const after = await waitForCluster(dir, (c) => c.processes.some((p) => p.name === before.name && p.pid !== before.pid && p.state === 'ready'), 45_000);
    const now = after.processes.find((p) => p.name === before.name)!;
    expect(now).toMatchObject({ http: before.http, grpc: before.grpc, restarts: 1, lastExit: { code: null, signal: 'SIGKILL' } });
    const waitedMs = Date.parse(now.startedAt) - Date.parse(now.lastExit!.at);
    expect(waitedMs).toBeGreaterThanOrEqual(RESTART_DELAY_MS - 20);
    expect(waitedMs).toBeLessThan(RESTART_DELAY_MS + 2000);
    expect(isAlive(before.pid)).toBe(false);
    expect((await fetch(`${now.http}/ready`)).status).toBe(200);
    info = after;
  });

  it('down stops every process (etcd and the supervisor too) and frees every port', async () => {
    const pids = allPids(info);
    expect(pids.every(isAlive)).toBe(true);
    const out: string[] = [];
    expect(await runCli(['down', '--dir', dir], (s) => out.push(s))).toBe(0);
    expect(out.join('')).toContain('stopped');
    expect(pids.filter(isAlive)).toEqual([]);
    for (const port of allPorts(info)) expect(await tcpOpen('127.0.0.1', port), `port ${port}`).toBe(false);
    const last = readCluster(dir)!;
    expect(last.state).toBe('stopped');
    expect(last.processes.every((p) => p.state === 'stopped')).toBe(true);
    expect(await stopCluster(dir)).toEqual({ wasRunning: false });
  });
});
