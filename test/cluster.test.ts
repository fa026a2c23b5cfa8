/**
 * Silt as a real cluster: etcd (3 members, Debian's binary), 3 ingesters with replication
 * factor 3, 2 distributors, 2 queriers and a backend (compactor + ruler), each its own process
 * on 127.0.0.1, started by the launcher (`npm run cluster`). Faults are real: kill -9, SIGSTOP.
 * Expected answers come from what the pushes had acknowledged, never from fixed figures.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdLeader, readCluster, startCluster, stopCluster, waitForCluster, type ClusterInfo } from '../tools/cluster/cluster.js';
import { metricSum, PushLoad, queryAllLines, type LoadResult } from './support/push-load.js';

const HAVE_ETCD = existsSync('/usr/bin/etcd');

let dir = '';
let info: ClusterInfo;

const urls = (role: string): string[] => readCluster(dir)!.processes.filter((p) => p.role === role).map((p) => p.http);
const proc = (name: string) => readCluster(dir)!.processes.find((p) => p.name === name)!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until every process of the cluster answers /ready 200 again. */
async function allReady(timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const c = readCluster(dir)!;
    const states = await Promise.all(c.processes.map((p) => fetch(`${p.http}/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0)));
    if (states.every((s) => s === 200)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`not ready: ${c.processes.map((p, i) => `${p.name}=${states[i]}`).join(' ')}`);
    await sleep(250);
  }
}

/** Ring members as the JSON /ring says, by id. */
async function ring(): Promise<Map<string, string>> {
  const res = await fetch(`${urls('distributor')[0]}/ring`, { headers: { accept: 'application/json' } });
  const body = (await res.json()) as { shards: { id: string; state: string }[] };
  return new Map(body.shards.map((s) => [s.id, s.state]));
}

/** Waits until every distributor's ring has every ingester ACTIVE. */
async function ringActive(timeoutMs: number): Promise<void> {
  const ids = readCluster(dir)!.processes.filter((p) => p.role === 'ingester').map((p) => p.name);
  const t0 = Date.now();
  for (;;) {
    let ok = true;
    for (const d of urls('distributor')) {
      const res = await fetch(`${d}/ring`, { headers: { accept: 'application/json' } }).catch(() => null);
      if (!res || res.status !== 200) {
        ok = false;
        break;
      }
      const body = (await res.json()) as { shards: { id: string; state: string; timestamp: string }[] };
      const fresh = (t: string): boolean => Date.now() - Date.parse(t) < 4000;
      ok &&= ids.every((id) => body.shards.some((s) => s.id === id && s.state === 'ACTIVE' && fresh(s.timestamp)));
    }
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error('ring did not show every ingester ACTIVE');
    await sleep(250);
  }
}

/**
 * The cluster-wide invariant: every acknowledged line is returned exactly once by each
 * querier, nothing is returned that was never pushed, and the metric count agrees.
 */
async function checkExactlyOnce(r: LoadResult): Promise<void> {
  const query = `{job="${r.job}"}`;
  for (const q of urls('querier')) {
    const counts = await queryAllLines(q, query, r.fromNs, r.throughNs);
    const missing = [...r.acked].filter((l) => !counts.has(l));
    expect(missing.slice(0, 5), `${q}: ${missing.length} acknowledged lines missing`).toEqual([]);
    const twice = [...counts].filter(([, n]) => n !== 1);
    expect(twice.slice(0, 5), `${q}: lines returned more than once`).toEqual([]);
    const invented = [...counts.keys()].filter((l) => !r.acked.has(l) && !r.refused.has(l) && !r.unknown.has(l));
    expect(invented.slice(0, 5)).toEqual([]);
    // A metric query over the same lines counts each once too.
    const rangeS = Number((r.throughNs - r.fromNs) / 1_000_000_000n) + 2;
    const sum = await metricSum(q, `sum(count_over_time(${query}[${rangeS}s]))`, r.throughNs + 1_000_000_000n);
    expect(sum).toBe(counts.size);
  }
}

describe.skipIf(!HAVE_ETCD)('cluster: 3 ingesters (RF=3), 2 distributors, 2 queriers, 2 backends, 3 etcd members', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'silt-cluster-'));
    info = await startCluster({
      dir,
      ingesters: 3,
      distributors: 2,
      queriers: 2,
      backends: 2,
      etcdMembers: 3,
      replicationFactor: 3,
      restartDelayMs: 1000,
      stopGraceMs: 15_000,
      readyTimeoutMs: 150_000,
      settings: {
        'common.ring.heartbeat_period': '1s',
        'common.ring.heartbeat_timeout': '5s',
        'common.ring.kvstore.etcd.dial_timeout': '2s',
        'ruler.poll_interval': '1s',
      },
    });
  }, 200_000);

  afterAll(async () => {
    if (dir !== '') {
      await stopCluster(dir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('every ingester is ACTIVE in the ring, and /ring has Loki\'s JSON shape', async () => {
    const r = await ring();
    const ingesters = info.processes.filter((p) => p.role === 'ingester').map((p) => p.name);
    for (const id of ingesters) expect(r.get(id)).toBe('ACTIVE');
    const html = await (await fetch(`${urls('querier')[0]}/ring`)).text();
    for (const id of ingesters) expect(html).toContain(id);
  });

  it('kill -9 of one ingester during pushes through two distributors: pushes keep succeeding, nothing lost or doubled, it rejoins', async () => {
    const load = new PushLoad({ urls: urls('distributor'), batch: 25, intervalMs: 10, job: 'kill-ingester' });
    load.start();
    await sleep(2000);
    const victim = proc('ingester-1');
    process.kill(victim.pid, 'SIGKILL');
    await sleep(4000);
    const during = load.result.statuses.length;
    // The supervisor restarts it; it replays its WAL and turns ACTIVE again.
    await waitForCluster(dir, (c) => c.processes.some((p) => p.name === 'ingester-1' && p.pid !== victim.pid && p.state === 'ready'), 90_000);
    await sleep(1500);
    const r = await load.stop();
    expect(r.acked.size).toBeGreaterThan(0);
    // Replication factor 3, quorum 2: one ingester down refuses nothing.
    expect(r.statuses.filter((s) => s < 200 || s >= 300), r.errors.join('\n')).toEqual([]);
    expect(during).toBeGreaterThan(10);
    expect((await ring()).get('ingester-1')).toBe('ACTIVE');
    await checkExactlyOnce(r);
  }, 180_000);

  it('two of three ingesters down: pushes answer 5xx and nothing is acknowledged falsely', async () => {
    await allReady();
    const stopped = [proc('ingester-0'), proc('ingester-2')];
    for (const p of stopped) process.kill(p.pid, 'SIGSTOP');
    try {
      const load = new PushLoad({ urls: urls('distributor'), batch: 10, timeoutMs: 30_000, job: 'two-down' });
      const statuses = [await load.pushOnce(urls('distributor')[0]!), await load.pushOnce(urls('distributor')[1]!)];
      for (const s of statuses) expect(s).toBeGreaterThanOrEqual(500);
      expect(load.result.acked.size).toBe(0);
    } finally {
      for (const p of stopped) process.kill(p.pid, 'SIGCONT');
    }
    await allReady();
    // Their leases ran out while they were stopped: they register again, and pushes succeed again.
    await ringActive(30_000);
    const after = new PushLoad({ urls: urls('distributor'), batch: 10, job: 'two-down-after' });
    expect(await after.pushOnce(urls('distributor')[0]!)).toBe(204);
    await checkExactlyOnce(after.result);
  }, 180_000);

  it('the etcd leader killed during pushes: no acknowledged line lost', async () => {
    await allReady();
    const load = new PushLoad({ urls: urls('distributor'), batch: 25, intervalMs: 10, job: 'etcd-leader' });
    load.start();
    await sleep(1500);
    const leader = await etcdLeader(readCluster(dir)!);
    expect(leader).not.toBeNull();
    process.kill(leader!.pid, 'SIGKILL');
    await sleep(5000);
    const r = await load.stop();
    expect(r.acked.size).toBeGreaterThan(0);
    await checkExactlyOnce(r);
  }, 120_000);

  it('etcd unreachable for longer than the heartbeat timeout: pushes and queries keep working on the last known ring', async () => {
    await allReady();
    await ringActive(30_000);
    const members = readCluster(dir)!.etcdMembers;
    const load = new PushLoad({ urls: urls('distributor'), batch: 20, intervalMs: 20, job: 'etcd-frozen' });
    load.start();
    await sleep(1000);
    for (const m of members) process.kill(m.pid, 'SIGSTOP');
    try {
      await sleep(8000);
      // Still writing, and still reading, with etcd frozen.
      const counts = await queryAllLines(urls('querier')[0]!, '{job="etcd-frozen"}', load.result.fromNs, load.result.throughNs);
      expect(counts.size).toBeGreaterThan(0);
    } finally {
      for (const m of members) process.kill(m.pid, 'SIGCONT');
    }
    await sleep(2000);
    const r = await load.stop();
    expect(r.statuses.filter((x) => x < 200 || x >= 300), r.errors.join('\n')).toEqual([]);
    await checkExactlyOnce(r);
    await allReady();
  }, 150_000);

  it('a querier killed mid-query: the next query is answered by the other querier', async () => {
    await allReady();
    const load = new PushLoad({ urls: urls('distributor'), batch: 50, job: 'querier-kill' });
    for (let i = 0; i < 20; i++) await load.pushOnce(urls('distributor')[i % 2]!);
    const r = load.result;
    const [q0, q1] = [proc('querier-0'), proc('querier-1')];
    const inflight = queryAllLines(q0.http, '{job="querier-kill"} |~ "line [0-9]+"', r.fromNs, r.throughNs).then(
      () => 'answered',
      () => 'failed',
    );
    process.kill(q0.pid, 'SIGKILL');
    expect(['answered', 'failed']).toContain(await inflight);
    const counts = await queryAllLines(q1.http, '{job="querier-kill"}', r.fromNs, r.throughNs);
    for (const l of r.acked) expect(counts.get(l)).toBe(1);
    await waitForCluster(dir, (c) => c.processes.some((p) => p.name === 'querier-0' && p.pid !== q0.pid && p.state === 'ready'), 90_000);
  }, 150_000);

  it('labels, series, stats, drilldown, tail and /flush work through the cluster; a role answers 404 for routes it does not own', async () => {
    await allReady();
    await ringActive(30_000);
    const [d] = urls('distributor');
    const [q] = urls('querier');
    const ing = proc('ingester-0');
    // A live tail through the querier, opened before the pushes.
    const got: string[] = [];
    const ws = new WebSocket(`${q!.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{job="meta"}')}`, { headers: { 'x-scope-orgid': 'fake' } });
    ws.on('message', (m) => {
      for (const s of (JSON.parse(m.toString()) as { streams: { values: [string, string][] }[] }).streams) for (const [, line] of s.values) got.push(line);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await sleep(500);
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const lines = Array.from({ length: 30 }, (_, i) => [String(t0 + BigInt(i)), `level=info msg="meta ${i}" took=${i}ms`] as [string, string]);
    const res = await fetch(`${d}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fake' }, body: JSON.stringify({ streams: [{ stream: { job: 'meta', pod: 'p1' }, values: lines }] }) });
    expect(res.status).toBe(204);
    const range = `start=${t0 - 1_000_000_000n}&end=${t0 + 10_000_000_000n}`;
    const get = async (u: string): Promise<any> => {
      const r = await fetch(`${q}${u}${u.includes('?') ? '&' : '?'}${range}`, { headers: { 'x-scope-orgid': 'fake' } });
      expect(r.status, u).toBe(200);
      return r.json();
    };
    expect((await get('/loki/api/v1/labels')).data).toEqual(expect.arrayContaining(['job', 'pod']));
    expect((await get('/loki/api/v1/label/job/values')).data).toContain('meta');
    expect((await get(`/loki/api/v1/series?match[]=${encodeURIComponent('{job="meta"}')}`)).data).toHaveLength(1);
    // Three replicas hold the lines: counted once.
    const st = await get(`/loki/api/v1/index/stats?query=${encodeURIComponent('{job="meta"}')}`);
    expect(st.entries).toBe(lines.length);
    expect(st.streams).toBe(1);
    const fields = await get(`/loki/api/v1/detected_fields?query=${encodeURIComponent('{job="meta"}')}`);
    expect(fields.fields.map((f: { label: string }) => f.label)).toEqual(expect.arrayContaining(['msg', 'took']));
    // The tail saw every line once.
    const t1 = Date.now();
    while (got.length < lines.length && Date.now() - t1 < 10_000) await sleep(100);
    ws.close();
    expect([...got].sort()).toEqual(lines.map((l) => l[1]).sort());
    // /flush belongs to ingesters; push to distributors; queries to queriers.
    expect((await fetch(`${ing.http}/flush`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(`${q}/flush`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${q}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fake' }, body: '{"streams":[]}' })).status).toBe(404);
    expect((await fetch(`${d}/loki/api/v1/query_range?query=${encodeURIComponent('{job="meta"}')}`, { headers: { 'x-scope-orgid': 'fake' } })).status).toBe(404);
    // After the flush, the lines come from the store (and the other replicas' memory): still once each.
    const after = await queryAllLines(q!, '{job="meta"}', t0, t0 + 100n);
    expect([...after.values()].every((n) => n === 1)).toBe(true);
    expect(after.size).toBe(lines.length);
  }, 120_000);

  it('rule groups are evaluated by exactly one ruler each, and exactly one compactor runs (another takes over when it dies)', async () => {
    await allReady();
    const backends = readCluster(dir)!.processes.filter((p) => p.role === 'backend');
    expect(backends).toHaveLength(2);
    const names = Array.from({ length: 8 }, (_, i) => `g${i}`);
    const yaml = names.map((n) => `name: ${n}\ninterval: 1m\nrules:\n  - record: ${n}:lines\n    expr: sum(count_over_time({job="meta"}[1m]))\n`);
    for (const y of yaml) {
      const res = await fetch(`${backends[0]!.http}/loki/api/v1/rules/shard-ns`, { method: 'POST', headers: { 'content-type': 'application/yaml', 'x-scope-orgid': 'fake' }, body: y });
      expect(res.status, await res.text()).toBe(202);
    }
    // Every group runs on exactly one of the two rulers.
    const running = async (): Promise<string[][]> =>
      Promise.all(
        backends.map(async (b) => {
          const res = await fetch(`${b.http}/prometheus/api/v1/rules`, { headers: { 'x-scope-orgid': 'fake' } });
          const body = (await res.json()) as { data: { groups: { name: string }[] } };
          return body.data.groups.map((g) => g.name);
        }),
      );
    let per: string[][] = [];
    const t0 = Date.now();
    for (;;) {
      per = await running();
      if (per.flat().length === names.length || Date.now() - t0 > 20_000) break;
      await sleep(250);
    }
    expect(per.flat().sort()).toEqual(names);
    // The compactor: one instance runs, elected through etcd.
    const compacting = async (): Promise<boolean[]> =>
      Promise.all(readCluster(dir)!.processes.filter((p) => p.role === 'backend').map(async (b) => /^loki_boltdb_shipper_compactor_running 1$/m.test(await (await fetch(`${b.http}/metrics`)).text())));
    let flags = await compacting();
    for (let i = 0; i < 40 && flags.filter(Boolean).length !== 1; i++) {
      await sleep(250);
      flags = await compacting();
    }
    expect(flags.filter(Boolean)).toHaveLength(1);
    const leader = readCluster(dir)!.processes.filter((p) => p.role === 'backend')[flags.indexOf(true)]!;
    process.kill(leader.pid, 'SIGKILL');
    // Once the dead leader's lease expires (heartbeat_timeout 5s), a live backend compacts (the
    // survivor, or the restarted one if it wins the election), and its groups move: still
    // exactly one compactor and every group exactly once.
    const t1 = Date.now();
    let settled = false;
    while (!settled && Date.now() - t1 < 60_000) {
      const live = readCluster(dir)!.processes.filter((p) => p.role === 'backend' && p.pid !== leader.pid);
      const f = await Promise.all(live.map((b) => fetch(`${b.http}/metrics`).then(async (r) => /^loki_boltdb_shipper_compactor_running 1$/m.test(await r.text()), () => false)));
      const groups = await Promise.all(
        live.map((b) =>
          fetch(`${b.http}/prometheus/api/v1/rules`, { headers: { 'x-scope-orgid': 'fake' } }).then(
            async (r) => ((await r.json()) as { data: { groups: { name: string }[] } }).data.groups.map((g) => g.name),
            () => [] as string[],
          ),
        ),
      );
      settled = f.filter(Boolean).length === 1 && JSON.stringify(groups.flat().sort()) === JSON.stringify(names);
      if (!settled) await sleep(250);
    }
    expect(settled).toBe(true);
    await waitForCluster(dir, (c) => c.processes.some((p) => p.name === leader.name && p.pid !== leader.pid && p.state === 'ready'), 90_000);
  }, 150_000);

  it('malformed messages on an ingester\'s internal gRPC services get INVALID_ARGUMENT, and it keeps serving', async () => {
    const ing = proc('ingester-0');
    const client = new grpc.Client(ing.grpc, grpc.credentials.createInsecure());
    try {
      const call = (method: string, body: Buffer, tenant = 'fake'): Promise<grpc.ServiceError | null> =>
        new Promise((resolve) => {
          const md = new grpc.Metadata();
          if (tenant !== '') md.set('x-scope-orgid', tenant);
          client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline: Date.now() + 5000 }, (err) => resolve(err));
        });
      const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x80]);
      for (const m of ['/silt.ingester.Pusher/Push', '/silt.ingester.Querier/StoredKeys', '/silt.ingester.Querier/Label', '/silt.ingester.Querier/Series']) {
        const err = await call(m, garbage);
        expect(err?.code, m).toBe(grpc.status.INVALID_ARGUMENT);
      }
      const noTenant = await call('/silt.ingester.Querier/Label', Buffer.alloc(0), '');
      expect(noTenant?.code).not.toBe(grpc.status.OK);
      expect(noTenant?.code).not.toBe(grpc.status.INTERNAL);
    } finally {
      client.close();
    }
    expect((await fetch(`${ing.http}/ready`)).status).toBe(200);
  }, 30_000);
});
