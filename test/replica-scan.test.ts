/**
 * planScan with replicas (`dedup`): three real ingesters fed the same pushes, in the same order,
 * in different orders and with one lagging; every entry must come out exactly once, and
 * replicas that cut identical chunks must be read without an entry-by-entry merge of the
 * blocks they share.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blockEntryTs } from '../src/chunk/index.js';
import type { IngesterQuerier, MemStream } from '../src/ingester/client.js';
import { startTestIngester } from '../src/ingester/client.contract.js';
import { LocalIngesterClient } from '../src/ingester/local-client.js';
import type { Ingester } from '../src/ingester/ingester.js';
import { fingerprint, labelsToString, sortLabels, type PushEntry, type ValidStream } from '../src/model/index.js';
import { testMatcher } from '../src/storage/testing.js';
import { seededRandom } from '../src/util/random.js';
import { Deadline } from '../src/querier/deadline.js';
import type { Store } from '../src/querier/querier.js';
import { ScanStats } from '../src/querier/scan.js';
import { planScan, type ScanPlan } from '../src/querier/sources.js';

const TENANT = 'fake';
const T0 = BigInt(Date.now()) * 1_000_000n + 7n;

const ingesters: Ingester[] = [];
afterEach(async () => {
  for (const i of ingesters.splice(0)) await i.stop();
});

function stream(app: string, entries: PushEntry[]): ValidStream {
  const ls = sortLabels([{ name: 'app', value: app }]);
  return { labels: ls, labelsString: labelsToString(ls), fingerprint: fingerprint(ls), entries };
}

/** `batches` pushes of `per` entries to two streams; every line distinct, some out of order, some with metadata. */
function pushes(seed: number, batches: number, per: number): ValidStream[][] {
  const rnd = seededRandom(seed);
  const out: ValidStream[][] = [];
  let n = 0;
  for (let b = 0; b < batches; b++) {
    const mk = (app: string): PushEntry[] =>
      Array.from({ length: per }, () => {
        const i = n++;
        const ts = T0 + BigInt(i) * 1_000n - (i % 9 === 4 ? 5_000n : 0n);
        return { tsNs: ts, line: Buffer.from(`${app} seq=${i} value=${Math.floor(rnd() * 1e9)} pad=${'x'.repeat(i % 40)}`), metadata: i % 5 === 0 ? [{ name: 'trace', value: `t${i % 7}` }] : [] };
      });
    out.push([stream('a', mk('a')), stream('b', mk('b'))]);
  }
  return out;
}

/** A querier's view of several ingesters: every one's snapshot, as the ring client gives it. */
function fanOut(clients: LocalIngesterClient[]): IngesterQuerier {
  return {
    selectStreams: async (t, m, f, th) => (await Promise.all(clients.map((c) => c.selectStreams(t, m, f, th)))).flat(),
    storedKeys: () => Promise.resolve(new Map()),
    labelNames: () => Promise.resolve([]),
    labelValues: () => Promise.resolve([]),
    series: () => Promise.resolve([]),
  };
}

const emptyStore = { chunkRefs: () => Promise.resolve({ series: new Map(), refs: [] }) } as unknown as Store;

async function replicas(order: (b: number, replica: number) => number, batches: ValidStream[][], lagging = 0): Promise<LocalIngesterClient[]> {
  const clients: LocalIngesterClient[] = [];
  for (let r = 0; r < 3; r++) {
    const { ingester } = await startTestIngester(1024);
    ingesters.push(ingester);
    clients.push(new LocalIngesterClient(ingester, `ing-${r}`));
    const seq = batches.map((_, i) => i).sort((x, y) => order(x, r) - order(y, r));
    const take = r === 2 ? seq.length - lagging : seq.length;
    for (const i of seq.slice(0, take)) await ingester.push(TENANT, batches[i]!.map((s) => ({ ...s, entries: [...s.entries] })));
  }
  return clients;
}

function entriesOf(plan: ScanPlan): string[] {
  const out: string[] = [];
  for (const s of plan.memory) {
    for (const p of s.parts) {
      const blocks = [];
      if (p.cut) for (let b = 0; b < p.cut.blockMetas().length; b++) blocks.push(p.cut.readBlock(b));
      if (p.head) blocks.push(p.head);
      for (const b of blocks) for (let i = 0; i < b.n; i++) out.push(`${labelsToString(s.labels)} ${blockEntryTs(b, i)} ${b.lines.toString('latin1', b.lineOffsets[i], b.lineOffsets[i + 1])} ${JSON.stringify(b.metadata(i))}`);
    }
  }
  return out.sort();
}

function truth(batches: ValidStream[][]): string[] {
  const out: string[] = [];
  for (const b of batches) for (const s of b) for (const e of s.entries) out.push(`${s.labelsString} ${e.tsNs} ${e.line.toString('latin1')} ${JSON.stringify(e.metadata)}`);
  return out.sort();
}

async function plan(clients: LocalIngesterClient[]): Promise<{ plan: ScanPlan; stats: ScanStats; snapshot: MemStream[] }> {
  const stats = new ScanStats();
  const q = fanOut(clients);
  const snapshot = await q.selectStreams(TENANT, [testMatcher('app', '=~', '.+')], 0n, T0 * 2n);
  const p = await planScan({ tenant: TENANT, matchers: [testMatcher('app', '=~', '.+')], fromNs: 0n, throughNs: T0 * 2n, ingester: q, store: emptyStore, deadline: new Deadline(0, Date.now), dedup: true, stats, blocks: null });
  return { plan: p, stats, snapshot };
}

const held = (snapshot: MemStream[]): number => {
  let n = 0;
  for (const s of snapshot) for (const c of s.chunks) n += (c.cut?.entries() ?? 0) + (c.head?.n ?? 0);
  return n;
};

describe('planScan over replicas', () => {
  const batches = pushes(11, 60, 25);

  it('reads the cut blocks replicas share once, as stored blocks (no merge), and every entry once', async () => {
    const clients = await replicas((b) => b, batches);
    const { plan: p, stats, snapshot } = await plan(clients);
    expect(entriesOf(p)).toEqual(truth(batches));
    expect(stats.duplicates).toBe(held(snapshot) - truth(batches).length);
    // Identical replicas: cut blocks come through as cut chunks (token filters usable), not merged copies.
    const cut = p.memory.flatMap((s) => s.parts).filter((x) => x.cut !== null);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.reduce((n, x) => n + x.cut!.entries(), 0)).toBeGreaterThan(truth(batches).length / 2);
  });

  it('merges replicas that received the pushes in different orders: every entry once', async () => {
    const clients = await replicas((b, r) => (r === 1 ? (b % 2 === 0 ? b + 1 : b - 1) : r === 2 ? -b : b), batches);
    const { plan: p, stats, snapshot } = await plan(clients);
    expect(entriesOf(p)).toEqual(truth(batches));
    expect(stats.duplicates).toBe(held(snapshot) - truth(batches).length);
  });

  it('a lagging replica (missing the last pushes) neither loses nor doubles entries', async () => {
    for (const lag of [1, 3, 17]) {
      const clients = await replicas((b) => b, batches, lag);
      const { plan: p, stats, snapshot } = await plan(clients);
      expect(entriesOf(p)).toEqual(truth(batches));
      expect(stats.duplicates).toBe(held(snapshot) - truth(batches).length);
      for (const i of ingesters.splice(0)) await i.stop();
    }
  });
});
