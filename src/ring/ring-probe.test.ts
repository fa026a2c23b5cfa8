/**
 * The ring's probe against watch lag, with a KV whose watch can hold back or drop an event: a
 * fault real etcd does not produce on demand. (src/ring/ring.test.ts and lifecycler.test.ts run
 * the ring against a real etcd.) A probe that lists a heartbeat whose event is still on its way
 * must not list the whole ring again; a watch that lost an event must be replaced.
 */
import { describe, expect, it } from 'vitest';
import { encodeInstance } from './codec.js';
import type { EtcdKv, KeyValue, WatchHandlers } from './etcd-kv.js';
import { Ring } from './ring.js';

/** An in-memory KV with one revision counter; `hold` delays the watch's events, `drop` loses the next one. */
class FakeKv {
  closed = false;
  rev = 1;
  readonly data = new Map<string, KeyValue>();
  readonly watchers = new Set<WatchHandlers>();
  hold = false;
  drop = false;
  readonly held: (() => void)[] = [];
  /** Run once, right after the next listing has been answered and compared (setImmediate). */
  afterList: (() => void) | null = null;

  async list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const kvs = [...this.data.values()].filter((kv) => kv.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    const after = this.afterList;
    this.afterList = null;
    if (after) setImmediate(after);
    return Promise.resolve({ kvs, revision: this.rev });
  }

  async watch(_prefix: string, _fromRevision: number, h: WatchHandlers): Promise<{ cancel: () => void }> {
    this.watchers.add(h);
    return Promise.resolve({ cancel: () => void this.watchers.delete(h) });
  }

  put(key: string, value: Buffer): void {
    const rev = ++this.rev;
    const kv: KeyValue = { key, value, createRevision: this.data.get(key)?.createRevision ?? rev, modRevision: rev, lease: '0' };
    this.data.set(key, kv);
    if (this.drop) {
      this.drop = false;
      return;
    }
    const deliver = (): void => {
      for (const w of this.watchers) w.onEvents([{ type: 'put', kv }], rev);
    };
    if (this.hold) this.held.push(deliver);
    else deliver();
  }

  release(): void {
    for (const d of this.held.splice(0)) d();
  }
}

const PROBE_MS = 30;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
const member = (id: string, timestampMs: number): Buffer =>
  encodeInstance({ id, addr: '127.0.0.1:9095', httpAddr: 'http://127.0.0.1:3100', state: 'ACTIVE', tokens: [1, 2, 3], timestampMs, registeredAtMs: 1, zone: '' });

describe('ring probe and watch lag', () => {
  it('does not list again for an event still on its way, and replaces a watch that lost one', async () => {
    const kv = new FakeKv();
    kv.put('ring/a', member('a', 1000));
    const ring = new Ring(kv as unknown as EtcdKv, { ringName: 'ring', heartbeatTimeoutMs: 60_000, probePeriodMs: PROBE_MS });
    await ring.start();
    try {
      expect(ring.stats().resyncs).toBe(1);
      // A heartbeat whose event arrives only after a probe has listed it: no resync.
      kv.hold = true;
      kv.put('ring/a', member('a', 2000));
      let released = false;
      kv.afterList = () => {
        kv.hold = false;
        kv.release();
        released = true;
      };
      await until('a probe while the event was held', () => released);
      await until('the event', () => ring.instances()[0]!.timestampMs === 2000);
      await sleep(PROBE_MS * 3);
      expect(ring.stats().resyncs).toBe(1);
      // A lost event: the next probes see the watch still behind, and list again.
      kv.drop = true;
      kv.put('ring/a', member('a', 3000));
      await until('a resync', () => ring.stats().resyncs === 2);
      expect(ring.instances()[0]!.timestampMs).toBe(3000);
      // A new member whose put was lost is found the same way.
      kv.drop = true;
      kv.put('ring/b', member('b', 3000));
      await until('a resync', () => ring.stats().resyncs === 3);
      await sleep(PROBE_MS * 3);
      expect(ring.stats().resyncs).toBe(3);
      expect(ring.instances().map((i) => i.id).sort()).toEqual(['a', 'b']);
    } finally {
      ring.stop();
    }
  });
});
