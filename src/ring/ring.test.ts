/**
 * The ring's read side through etcd outages (test/support/etcd.ts): a frozen etcd (SIGSTOP)
 * and a killed and restarted one. The last known ring keeps being served, `status()` says
 * what happened, and members whose lease expired meanwhile register again with their tokens.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../../test/support/etcd.js';
import { EtcdKv } from './etcd-kv.js';
import { Lifecycler } from './lifecycler.js';
import { Ring } from './ring.js';
import { testLifecyclerConfig, waitFor } from './testing.js';

let etcd: EtcdCluster;
let prefixN = 0;
const kvs: EtcdKv[] = [];
const lifecyclers: Lifecycler[] = [];
const rings: Ring[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
});

afterEach(async () => {
  etcd.members[0]!.resume();
  for (const r of rings.splice(0)) r.stop();
  await Promise.all(lifecyclers.splice(0).map((l) => l.stop().catch(() => undefined)));
  for (const kv of kvs.splice(0)) kv.close();
});

afterAll(async () => {
  await etcd?.stop();
});

/** A member and a ring reader on their own clients and prefix: 1 s lease, 200 ms heartbeats and probes, stale after 1.5 s. */
async function setup(): Promise<{ lc: Lifecycler; ring: Ring; kv: EtcdKv }> {
  const prefix = `ring${++prefixN}/`;
  const mk = (): EtcdKv => {
    const kv = new EtcdKv({ endpoints: etcd.endpoints, prefix, dialTimeoutMs: 400 });
    kvs.push(kv);
    return kv;
  };
  const lc = new Lifecycler(mk(), testLifecyclerConfig('survivor'));
  lifecyclers.push(lc);
  const kv = mk();
  const ring = new Ring(kv, { ringName: 'ring', heartbeatTimeoutMs: 1000, probePeriodMs: 200, maxUnreachableMs: 1500 });
  rings.push(ring);
  await lc.start();
  await ring.start();
  await waitFor('survivor ACTIVE in the ring', () => ring.instances()[0]?.state === 'ACTIVE');
  return { lc, ring, kv };
}

describe('Ring during etcd outages', () => {
  it('serves the last known ring while etcd is frozen, reports it, and the member re-registers with its tokens', async () => {
    const { lc, ring } = await setup();
    const tokens = lc.tokens();
    const key = tokens[3]! - 1; // owned by survivor's token[3]
    expect(ring.status()).toMatchObject({ kvReachable: true, stale: false });

    const frozenAt = Date.now();
    await etcd.members[0]!.pause();
    await waitFor('etcd unreachable', () => !ring.status().kvReachable, 5000);
    // Past the heartbeat timeout and the stale bound, the last known ring still answers.
    await waitFor('stale', () => ring.status().stale, 5000);
    // Stale means: no contact for longer than the bound (and the last contact was before the freeze).
    expect(Date.now() - ring.status().lastSyncMs).toBeGreaterThan(1500);
    expect(ring.status().lastSyncMs).toBeLessThanOrEqual(frozenAt + 50);
    expect(ring.instances().map((i) => i.id)).toEqual(['survivor']);
    expect(ring.get(key, 1, 'write').instances.map((i) => i.id)).toEqual(['survivor']);
    expect(ring.isHealthy(ring.instances()[0]!, 'write')).toBe(true);
    expect(lc.stats().heartbeatFailures).toBeGreaterThan(0);

    // Frozen for longer than the 1 s lease: etcd expires it on waking, and the member registers again.
    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - frozenAt))));
    etcd.members[0]!.resume();
    await waitFor('re-registered', () => lc.stats().registrations === 2, 10_000);
    await waitFor('ring back in sync', () => ring.status().kvReachable && !ring.status().stale && ring.instances()[0]?.id === 'survivor', 10_000);
    expect(lc.tokens()).toEqual(tokens);
    expect(ring.instances()[0]!.tokens).toEqual(tokens);
    expect(ring.instances()[0]!.state).toBe('ACTIVE');
    expect(lc.registered()).toBe(true);
  });

  it('recovers after etcd is killed and restarted on its data', async () => {
    const { lc, ring } = await setup();
    const tokens = lc.tokens();
    await etcd.members[0]!.kill();
    await waitFor('etcd unreachable', () => !ring.status().kvReachable, 5000);
    expect(ring.instances().map((i) => i.id)).toEqual(['survivor']);
    await etcd.members[0]!.restart();
    const beats = lc.stats().heartbeats;
    await waitFor('ring back in sync', () => ring.status().kvReachable && !ring.status().stale, 10_000);
    await waitFor('heartbeats again', () => lc.stats().heartbeats > beats + 2, 10_000);
    // The restarted etcd restores leases with a fresh TTL, so the member may keep its lease;
    // either way it is in the ring with the same tokens, and its heartbeats are seen.
    await waitFor('survivor in the ring', () => ring.instances()[0]?.id === 'survivor', 10_000);
    expect(ring.instances()[0]!.tokens).toEqual(tokens);
    const ts = ring.instances()[0]!.timestampMs;
    await waitFor('a fresh heartbeat seen', () => (ring.instances()[0]?.timestampMs ?? 0) > ts, 5000);
  });

  it('is stale until its first sync, and a ring started while etcd is down catches up', async () => {
    const prefix = `ring${++prefixN}/`;
    const kv = new EtcdKv({ endpoints: etcd.endpoints, prefix, dialTimeoutMs: 400 });
    kvs.push(kv);
    const ring = new Ring(kv, { ringName: 'ring', heartbeatTimeoutMs: 1000, probePeriodMs: 200 });
    rings.push(ring);
    expect(ring.status()).toEqual({ kvReachable: false, lastSyncMs: 0, stale: true });
    await etcd.members[0]!.pause();
    const started = ring.start();
    await new Promise((r) => setTimeout(r, 800));
    expect(ring.status()).toEqual({ kvReachable: false, lastSyncMs: 0, stale: true });
    etcd.members[0]!.resume();
    await started;
    expect(ring.status()).toMatchObject({ kvReachable: true, stale: false });
  });
});
