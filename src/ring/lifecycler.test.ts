/**
 * The lifecycler against a real etcd (test/support/etcd.ts): registration, states, token
 * claims under races, lease expiry of a SIGKILLed member, and restarts with a tokens file.
 * Every test uses its own key prefix on one etcd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdCluster } from '../../test/support/etcd.js';
import { seededRandom } from '../util/random.js';
import { decodeInstance } from './codec.js';
import { EtcdKv } from './etcd-kv.js';
import { Lifecycler } from './lifecycler.js';
import { Ring } from './ring.js';
import { testLifecyclerConfig, waitFor } from './testing.js';
import type { InstanceState } from './types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let etcd: EtcdCluster;
let dir: string;
let prefixN = 0;
const kvs: EtcdKv[] = [];
const lifecyclers: Lifecycler[] = [];
const rings: Ring[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
  dir = mkdtempSync(path.join(tmpdir(), 'silt-ring-lc-'));
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of rings.splice(0)) r.stop();
  await Promise.all(lifecyclers.splice(0).map((l) => l.stop().catch(() => undefined)));
  for (const kv of kvs.splice(0)) kv.close();
});

afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh client on its own prefix (or `prefix`), closed after the test. */
function newKv(prefix = `lc${++prefixN}/`): EtcdKv {
  const kv = new EtcdKv({ endpoints: etcd.endpoints, prefix, dialTimeoutMs: 2000 });
  kvs.push(kv);
  return kv;
}

async function startRing(kv: EtcdKv): Promise<Ring> {
  const ring = new Ring(kv, { ringName: 'ring', heartbeatTimeoutMs: 1000, probePeriodMs: 200 });
  rings.push(ring);
  await ring.start();
  return ring;
}

function track(l: Lifecycler): Lifecycler {
  lifecyclers.push(l);
  return l;
}

/**
 * A member in its own process: registers `id` (1 s lease, 200 ms heartbeats), prints its
 * tokens and lease id as one JSON line, then idles until killed.
 */
async function spawnMember(prefix: string, id: string, tokensFile = ''): Promise<{ proc: ChildProcess; tokens: number[]; lease: string }> {
  const code = `
import { EtcdKv, Lifecycler } from ${JSON.stringify(path.join(REPO, 'src/ring/index.ts'))};
const [endpoint, prefix, id, tokensFile] = process.argv.slice(1);
const kv = new EtcdKv({ endpoints: [endpoint], prefix, dialTimeoutMs: 2000 });
const lc = new Lifecycler(kv, { ringName: 'ring', id, addr: '127.0.0.1:1', httpAddr: 'http://127.0.0.1:2', numTokens: 16, heartbeatPeriodMs: 200, heartbeatTimeoutMs: 1000, joinAfterMs: 0, finalSleepMs: 0, tokensFilePath: tokensFile ?? '' });
await lc.start();
const own = await kv.get('ring/' + id);
process.stdout.write(JSON.stringify({ tokens: lc.tokens(), lease: own.lease }) + '\\n');
setInterval(() => undefined, 1 << 30);
`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, etcd.endpoints[0]!, prefix, id, tokensFile], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  children.push(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`member ${id} did not register: ${err}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`member ${id} exited with ${c}: ${err}`));
    });
  });
  const got = JSON.parse(line) as { tokens: number[]; lease: string };
  return { proc, ...got };
}

function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

describe('Lifecycler on etcd', () => {
  it('registers JOINING, turns ACTIVE after join_after, heartbeats, and leaves through LEAVING', async () => {
    const kv = newKv();
    const ring = await startRing(kv);
    const seen: InstanceState[] = [];
    ring.onChange(() => {
      const s = ring.instances().find((i) => i.id === 'a')?.state;
      if (s && seen[seen.length - 1] !== s) seen.push(s);
    });
    const lc = track(new Lifecycler(kv, testLifecyclerConfig('a', { joinAfterMs: 600 })));
    await lc.start();
    const registeredAt = Date.now();
    expect(lc.state()).toBe('JOINING');
    await waitFor('ACTIVE in the ring', () => ring.instances()[0]?.state === 'ACTIVE');
    expect(Date.now() - registeredAt).toBeGreaterThanOrEqual(550);

    // The stored value: our tokens, sorted, on a lease.
    const stored = (await kv.get('ring/a'))!;
    expect(stored.lease).not.toBe('0');
    const desc = decodeInstance('a', stored.value);
    expect(desc.tokens).toEqual(lc.tokens());
    expect(desc.tokens).toHaveLength(16);
    expect([...desc.tokens].sort((x, y) => x - y)).toEqual(desc.tokens);
    expect(desc).toMatchObject({ addr: lc.config.addr, httpAddr: lc.config.httpAddr, state: 'ACTIVE' });

    // Heartbeats move the timestamp the ring sees, through the watch: no re-listing needed
    // (keep-alive streams ending must not disturb the watch on the same client).
    const ts = ring.instances()[0]!.timestampMs;
    const { resyncs } = ring.stats();
    await new Promise((r) => setTimeout(r, 1000));
    expect(ring.instances()[0]!.timestampMs).toBeGreaterThan(ts + 500);
    expect(ring.stats().resyncs).toBe(resyncs);
    expect(ring.stats().watchEvents).toBeGreaterThan(3);
    expect(ring.get(12345, 1, 'write').instances.map((i) => i.id)).toEqual(['a']);

    let keyDuringFlush = false;
    await lc.stop(async () => {
      await waitFor('LEAVING in the ring', () => ring.instances()[0]?.state === 'LEAVING');
      // A flush longer than the lease TTL: heartbeats keep the key alive meanwhile.
      await new Promise((r) => setTimeout(r, 1600));
      keyDuringFlush = (await kv.get('ring/a')) !== null;
    });
    expect(keyDuringFlush).toBe(true);
    expect(await kv.get('ring/a')).toBeNull(); // deleted at once, not left to expire
    await waitFor('a gone from the ring', () => ring.instances().length === 0, 1000);
    expect(seen).toEqual(['JOINING', 'ACTIVE', 'LEAVING']);
    expect(lc.stats().heartbeatFailures).toBe(0);
  });

  it('never lets two members hold one token: a claim that lost the race retries with other tokens', async () => {
    const kv = newKv();
    // Both draw from the same sequence, so both want the same tokens first.
    const sameSource = (): (() => number) => {
      const r = seededRandom(1);
      return () => Math.floor(r() * 64);
    };
    const b = track(new Lifecycler(kv, testLifecyclerConfig('b', { numTokens: 20 }), { tokenSource: sameSource() }));
    let bStarted = false;
    // a reads the ring, then b claims and commits before a commits: a's commit must fail.
    const a = track(
      new Lifecycler(kv, testLifecyclerConfig('a', { numTokens: 20 }), {
        tokenSource: sameSource(),
        beforeClaimCommit: async () => {
          if (bStarted) return;
          bStarted = true;
          await b.start();
        },
      }),
    );
    await a.start();
    expect(a.stats().claimConflicts).toBe(1);
    expect(b.stats().claimConflicts).toBe(0);
    expect(a.tokens()).toHaveLength(20);
    expect(b.tokens()).toHaveLength(20);
    expect(a.tokens().filter((t) => b.tokens().includes(t))).toEqual([]);
    // What etcd holds agrees.
    const stored = await kv.list('ring/');
    const all = stored.kvs.flatMap((x) => decodeInstance(x.key.slice(5), x.value).tokens);
    expect(new Set(all).size).toBe(40);
  });

  it('keeps tokens distinct when many members start at once in a crowded token space', async () => {
    const kv = newKv();
    const members = Array.from({ length: 6 }, (_, i) => {
      const r = seededRandom(100 + (i % 2)); // pairs share a sequence
      return track(new Lifecycler(newKv(kv.prefix), testLifecyclerConfig(`m${i}`, { numTokens: 25 }), { tokenSource: () => Math.floor(r() * 200) }));
    });
    await Promise.all(members.map((m) => m.start()));
    const all = members.flatMap((m) => m.tokens());
    expect(all).toHaveLength(150);
    expect(new Set(all).size).toBe(150);
    const ring = await startRing(kv);
    expect(ring.instances()).toHaveLength(6);
    expect(ring.snapshot().tokens.length).toBe(150);
  });

  it('drops a SIGKILLed member when its lease expires, after about the heartbeat timeout', async () => {
    const kv = newKv();
    const ring = await startRing(kv);
    const child = await spawnMember(kv.prefix, 'crashy');
    await waitFor('crashy in the ring', () => ring.instances().some((i) => i.id === 'crashy'));
    const t0 = Date.now();
    await kill9(child.proc);
    await waitFor('crashy gone', () => !ring.instances().some((i) => i.id === 'crashy'), 10_000);
    const gone = Date.now() - t0;
    // Lease TTL 1 s from the last renewal (≤ 200 ms before the kill); etcd checks expiry every 500 ms.
    expect(gone).toBeGreaterThan(300);
    expect(gone).toBeLessThan(3000);
    console.log(`ring: SIGKILLed member left the ring ${gone} ms after the kill (lease TTL 1 s)`);
  });

  it('a restarted instance takes its tokens back from the tokens file and replaces its stale key', async () => {
    const kv = newKv();
    const ring = await startRing(kv);
    const file = path.join(dir, 'phoenix.tokens.json');
    const first = await spawnMember(kv.prefix, 'phoenix', file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ tokens: first.tokens });
    await kill9(first.proc);
    // Restart at once, while the dead process's key and lease are still in etcd.
    expect(await kv.get('ring/phoenix')).not.toBeNull();
    const again = track(new Lifecycler(kv, testLifecyclerConfig('phoenix', { tokensFilePath: file, joinAfterMs: 5000 })));
    await again.start();
    expect(again.tokens()).toEqual(first.tokens);
    expect(again.state()).toBe('ACTIVE'); // tokens from the file: no JOINING period (as dskit)
    expect(again.stats().claimConflicts).toBe(0);
    const key = (await kv.get('ring/phoenix'))!;
    expect(key.lease).not.toBe(first.lease);
    // Past the old lease's TTL the key is still there: it moved to the new lease.
    await new Promise((r) => setTimeout(r, 1800));
    expect(await kv.get('ring/phoenix')).not.toBeNull();
    const inRing = ring.instances().find((i) => i.id === 'phoenix');
    expect(inRing?.tokens).toEqual(first.tokens);
    expect(inRing?.state).toBe('ACTIVE');
  });

  it('replaces tokens from the file that another member holds now', async () => {
    const kv = newKv();
    const other = track(new Lifecycler(kv, testLifecyclerConfig('other', { numTokens: 3 }), { tokenSource: (() => {
      const seq = [10, 20, 30];
      let i = 0;
      return () => seq[i++]!;
    })() }));
    await other.start();
    expect(other.tokens()).toEqual([10, 20, 30]);
    const file = path.join(dir, 'clash.tokens.json');
    writeFileSync(file, JSON.stringify({ tokens: [5, 20, 40] }));
    const lc = track(new Lifecycler(kv, testLifecyclerConfig('clash', { numTokens: 3, tokensFilePath: file }), { tokenSource: () => 50 }));
    await lc.start();
    expect(lc.tokens()).toEqual([5, 40, 50]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ tokens: [5, 40, 50] });
  });
});
