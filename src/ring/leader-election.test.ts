/**
 * Leader election against a real three-member etcd cluster (test/support/etcd.ts): one leader
 * at a time, a dead leader replaced after its lease, a resigning one at once, and the ring and
 * the election carrying on when the etcd raft leader is killed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../../test/support/etcd.js';
import { EtcdKv } from './etcd-kv.js';
import { LeaderElection } from './leader-election.js';
import { Lifecycler } from './lifecycler.js';
import { Ring } from './ring.js';
import { testLifecyclerConfig, waitFor } from './testing.js';

let etcd: EtcdCluster;
let prefixN = 0;
const kvs: EtcdKv[] = [];
const elections: LeaderElection[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  etcd = await startEtcd({ members: 3 });
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await Promise.all(elections.splice(0).map((e) => e.resign()));
  for (const kv of kvs.splice(0)) kv.close();
});

afterAll(async () => {
  await etcd?.stop();
});

function newKv(prefix: string): EtcdKv {
  const kv = new EtcdKv({ endpoints: etcd.endpoints, prefix, dialTimeoutMs: 1000 });
  kvs.push(kv);
  return kv;
}

function candidate(kv: EtcdKv, id: string, ttlMs: number): LeaderElection {
  const e = new LeaderElection(kv, { name: 'compactor', id, ttlMs });
  elections.push(e);
  return e;
}

/** Samples every 5 ms that at most one of `es` believes it leads; returns a stop function giving the violation count. */
function watchExclusive(es: LeaderElection[]): () => number {
  let violations = 0;
  const t = setInterval(() => {
    if (es.filter((e) => e.isLeader()).length > 1) violations++;
  }, 5);
  return () => {
    clearInterval(t);
    return violations;
  };
}

describe('LeaderElection on a 3-member etcd', () => {
  it('elects one candidate; when its client dies the other takes over after the lease TTL', async () => {
    const prefix = `el${++prefixN}/`;
    const kvA = newKv(prefix);
    const a = candidate(kvA, 'a', 1000);
    const b = candidate(newKv(prefix), 'b', 1000);
    const changesB: boolean[] = [];
    b.onChange((l) => changesB.push(l));
    expect(await a.campaign()).toBe(true);
    const bElected = b.campaign();
    const stop = watchExclusive([a, b]);
    await new Promise((r) => setTimeout(r, 700));
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(b.leaderId()).toBe('a');

    // The leader's process "crashes": its client closes without resigning.
    const t0 = Date.now();
    kvA.close();
    expect(await bElected).toBe(true);
    const took = Date.now() - t0;
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
    expect(stop()).toBe(0);
    expect(changesB).toEqual([true]);
    // Not before the lease could expire (TTL 1 s from a renewal at most ~333 ms old), not much after.
    expect(took).toBeGreaterThan(400);
    expect(took).toBeLessThan(4000);
    console.log(`election: the follower took over ${took} ms after the leader's client closed (TTL 1 s)`);
  });

  it('hands over at once when the leader resigns', async () => {
    const prefix = `el${++prefixN}/`;
    const a = candidate(newKv(prefix), 'a', 3000);
    const b = candidate(newKv(prefix), 'b', 3000);
    expect(await a.campaign()).toBe(true);
    const bElected = b.campaign();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await a.resign();
    expect(await bElected).toBe(true);
    // Well within the 3 s TTL: the key was deleted, not left to expire.
    const took = Date.now() - t0;
    expect(took).toBeLessThan(2500);
    console.log(`election: a resigned leader (TTL 3 s) was replaced after ${took} ms`);
    expect(await a.campaign()).toBe(false); // resigned for good
  });

  it('keeps the ring and the election working when the etcd raft leader is killed', async () => {
    const prefix = `el${++prefixN}/`;
    const lc = new Lifecycler(newKv(prefix), testLifecyclerConfig('ing-1', { heartbeatTimeoutMs: 3000 }));
    const ring = new Ring(newKv(prefix), { ringName: 'ring', heartbeatTimeoutMs: 3000, probePeriodMs: 200, maxUnreachableMs: 10_000 });
    cleanups.push(() => ring.stop(), () => lc.stop());
    await lc.start();
    await ring.start();
    const a = candidate(newKv(prefix), 'a', 3000);
    const b = candidate(newKv(prefix), 'b', 3000);
    expect(await a.campaign()).toBe(true);
    void b.campaign();
    const stop = watchExclusive([a, b]);

    const leader = await etcd.leader();
    await leader.kill();
    const newLeader = await etcd.leader();
    expect(newLeader.name).not.toBe(leader.name);
    const beats = lc.stats().heartbeats;
    await waitFor('heartbeats through the new etcd leader', () => lc.stats().heartbeats > beats + 3, 15_000);
    await waitFor('ring in sync', () => ring.status().kvReachable && ring.instances()[0]?.id === 'ing-1', 15_000);
    expect(ring.status().stale).toBe(false);
    expect(ring.instances()[0]!.tokens).toEqual(lc.tokens());
    expect(lc.stats().registrations).toBe(1); // the lease survived the raft leader change
    await waitFor('one leader', () => a.isLeader() !== b.isLeader(), 10_000);
    expect(stop()).toBe(0);
    await leader.restart();
  });
});
