import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.js';
import { RingError } from './errors.js';
import { ownsRuleGroup } from './ruler-sharding.js';
import { RingSnapshot, tokenDistance } from './snapshot.js';
import { StaticRing } from './static-ring.js';
import { pickTokens, searchToken, shardKeyFor, tokenFor } from './tokens.js';
import type { InstanceDesc, InstanceState, RingOp } from './types.js';

/** Reference FNV over UTF-8 bytes with BigInt arithmetic (independent of the fast path). */
function refFnv(s: string, variant: '1' | '1a'): number {
  let h = 2166136261n;
  for (const b of Buffer.from(s, 'utf8')) {
    if (variant === '1') h = ((h * 16777619n) & 0xffffffffn) ^ BigInt(b);
    else h = ((h ^ BigInt(b)) * 16777619n) & 0xffffffffn;
  }
  return Number(h);
}

function inst(id: string, tokens: number[], state: InstanceState = 'ACTIVE', timestampMs = Date.now()): InstanceDesc {
  return { id, addr: `${id}:9095`, httpAddr: `http://${id}:3100`, state, tokens: [...tokens].sort((a, b) => a - b), timestampMs, registeredAtMs: 1, zone: '' };
}

/**
 * Brute-force replication set: sort (token, owner) pairs, start at the first token > key
 * (wrapping), take distinct owners until `size` are found, growing `size` for extending
 * states; then dskit's quorum filter. Returns ids, or the error text.
 */
function bruteForce(members: InstanceDesc[], key: number, rf: number, op: RingOp, now: number, timeout: number): { ids: string[]; maxErrors: number } | string {
  const pairs = members.flatMap((m) => m.tokens.map((t) => ({ t, m })));
  if (pairs.length === 0) return 'empty ring';
  pairs.sort((a, b) => a.t - b.t || (a.m.id < b.m.id ? -1 : 1));
  let start = pairs.findIndex((p) => p.t > key);
  if (start < 0) start = 0;
  const chosen: InstanceDesc[] = [];
  let size = rf;
  for (let k = 0; k < pairs.length && chosen.length < Math.min(size, members.length); k++) {
    const m = pairs[(start + k) % pairs.length]!.m;
    if (chosen.includes(m)) continue;
    chosen.push(m);
    const ext = op === 'write' ? m.state !== 'ACTIVE' : op === 'read' ? m.state === 'PENDING' || m.state === 'JOINING' : false;
    if (ext) size++;
  }
  const okState = (s: InstanceState): boolean => (op === 'write' ? s === 'ACTIVE' : op === 'read' ? s !== 'JOINING' : true);
  const healthy = chosen.filter((m) => okState(m.state) && now - m.timestampMs <= timeout);
  const unhealthy = chosen.filter((m) => !healthy.includes(m)).map((m) => m.addr);
  const quorum = Math.floor(Math.max(rf, chosen.length) / 2) + 1;
  if (healthy.length < quorum) return `at least ${quorum} live replicas required, could only find ${healthy.length}${unhealthy.length ? ` - unhealthy instances: ${unhealthy.join(',')}` : ''}`;
  return { ids: healthy.map((m) => m.id), maxErrors: healthy.length - quorum };
}

describe('tokens', () => {
  it.each([
    ['', ''],
    ['foo', 'bar'],
    ['tenant-1', '{app="api", env="prod"}'],
    ['fake', '{job="é漢字"}'],
    ['ü', 'mixed ascii then ünïcode'],
  ])('tokenFor(%j, %j) is FNV-1 32 of tenant then labels', (tenant, labels) => {
    expect(tokenFor(tenant, labels)).toBe(refFnv(tenant + labels, '1'));
  });

  it('matches published FNV vectors', () => {
    // FNV-1 32 of "foobar" (Noll's test vectors), which Loki's TokenFor("foo", "bar") returns.
    expect(tokenFor('foo', 'bar')).toBe(0x31f0b262);
    expect(tokenFor('', '')).toBe(0x811c9dc5);
  });

  it.each([
    ['t', 'ns/group'],
    ['tenant', 'rules/é'],
  ])('shardKeyFor(%j, %j) is FNV-1a of tenant/group (Loki tokenForGroup)', (tenant, group) => {
    expect(shardKeyFor(tenant, group)).toBe(refFnv(`${tenant}/${group}`, '1a'));
  });

  it('picks distinct free tokens, keeping the wanted ones that are free', () => {
    let i = 0;
    const seq = [5, 5, 7, 1, 9, 3, 11];
    const got = pickTokens(4, new Set([7, 1]), [3, 9, 1], () => seq[i++]!);
    expect(got).toEqual([3, 5, 9, 11]); // 1 and 7 taken; 5 drawn twice counts once
  });

  it('finds the first token strictly greater than the key, wrapping', () => {
    const t = [10, 20, 30];
    expect([0, 10, 15, 20, 29, 30, 31, 0xffffffff].map((k) => searchToken(t, k))).toEqual([0, 1, 1, 2, 2, 0, 0, 0]);
  });
});

describe('replication sets', () => {
  it('match a brute-force walk over random rings', () => {
    const rand = seededRandom(19);
    const states: InstanceState[] = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'JOINING', 'LEAVING', 'PENDING'];
    const now = 1_000_000;
    let checked = 0;
    let errors = 0;
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(rand() * 8);
      const space = rand() < 0.3 ? 64 : 2 ** 32; // small spaces make keys land on tokens
      const used = new Set<number>();
      const members: InstanceDesc[] = [];
      for (let j = 0; j < n; j++) {
        const k = Math.floor(rand() * 6);
        const tokens: number[] = [];
        while (tokens.length < k && used.size < space) {
          const t = Math.floor(rand() * space);
          if (!used.has(t)) {
            used.add(t);
            tokens.push(t);
          }
        }
        const stale = rand() < 0.2;
        members.push(inst(`i${j}`, tokens, states[Math.floor(rand() * states.length)]!, stale ? now - 120_000 : now - 1000));
      }
      const snap = RingSnapshot.build(members);
      for (let q = 0; q < 20; q++) {
        const key = Math.floor(rand() * space);
        const rf = 1 + Math.floor(rand() * 4);
        for (const op of ['write', 'read', 'reporting'] as const) {
          const want = bruteForce(members, key, rf, op, now, 60_000);
          let got: { ids: string[]; maxErrors: number } | string;
          try {
            const rs = snap.replicationSet(key, rf, op, now, 60_000);
            got = { ids: rs.instances.map((i) => i.id), maxErrors: rs.maxErrors };
          } catch (e) {
            expect(e).toBeInstanceOf(RingError);
            got = (e as Error).message;
            errors++;
          }
          expect(got, `round ${round} key ${key} rf ${rf} op ${op}`).toEqual(want);
          checked++;
        }
      }
    }
    expect(checked).toBe(300 * 20 * 3);
    expect(errors).toBeGreaterThan(100); // the error paths were exercised too
    expect(errors).toBeLessThan(checked - 1000);
  });

  it("fails with dskit's text when a quorum is not healthy", () => {
    const now = Date.now();
    const ring = new StaticRing([inst('a', [100]), inst('b', [200], 'ACTIVE', now - 120_000), inst('c', [300], 'ACTIVE', now - 120_000)], { heartbeatTimeoutMs: 60_000 });
    expect(() => ring.get(50, 3, 'write')).toThrow('at least 2 live replicas required, could only find 1 - unhealthy instances: b:9095,c:9095');
    expect(() => ring.get(150, 1, 'write')).toThrow('at least 1 live replicas required, could only find 0 - unhealthy instances: b:9095');
    expect(ring.get(50, 1, 'write').instances.map((i) => i.id)).toEqual(['a']);
    // A JOINING member is not "unhealthy" by heartbeat but by state: it is listed too.
    const joining = new StaticRing([inst('a', [100], 'JOINING')]);
    expect(() => joining.get(50, 1, 'write')).toThrow('at least 1 live replicas required, could only find 0 - unhealthy instances: a:9095');
  });

  it('extends writes past members that are not ACTIVE', () => {
    const ring = new StaticRing([inst('a', [100]), inst('b', [200], 'JOINING'), inst('c', [300]), inst('d', [400])]);
    const rs = ring.get(150, 2, 'write'); // b, c, d walked; b extends the set and is dropped
    expect(rs.instances.map((i) => i.id)).toEqual(['c', 'd']);
    expect(rs.maxErrors).toBe(0); // quorum of 3 walked members is 2
    // Reads extend on JOINING too and skip it, but read LEAVING members without extending.
    const leaving = new StaticRing([inst('a', [100]), inst('b', [200], 'LEAVING'), inst('c', [300])]);
    expect(leaving.get(150, 2, 'read').instances.map((i) => i.id)).toEqual(['b', 'c']);
    expect(leaving.get(150, 2, 'write').instances.map((i) => i.id)).toEqual(['c', 'a']);
  });

  it('throws "empty ring" without tokens, and rejects a bad replication factor', () => {
    expect(() => new StaticRing([]).get(1, 1, 'write')).toThrow('empty ring');
    expect(() => new StaticRing([inst('a', [])]).allHealthy('read', 1)).toThrow('empty ring');
    expect(() => new StaticRing([inst('a', [1])]).get(1, 0, 'write')).toThrow(RangeError);
  });

  it('allHealthy tolerates rf/2 unhealthy members (dskit GetReplicationSetForOperation)', () => {
    const now = Date.now();
    const members = [inst('a', [1]), inst('b', [2]), inst('c', [3], 'ACTIVE', now - 120_000)];
    const ring = new StaticRing(members, { heartbeatTimeoutMs: 60_000 });
    const rs = ring.allHealthy('read', 3);
    expect(rs.instances.map((i) => i.id)).toEqual(['a', 'b']);
    expect(rs.maxErrors).toBe(0);
    expect(() => ring.allHealthy('read', 1)).toThrow('too many unhealthy instances in the ring');
    expect(new StaticRing(members.slice(0, 2)).allHealthy('read', 3).maxErrors).toBe(0);
    expect(new StaticRing([...members.slice(0, 2), inst('d', [4])]).allHealthy('read', 3).maxErrors).toBe(1);
  });

  it('computes ownership that sums to the whole ring', () => {
    const snap = RingSnapshot.build([inst('a', [0, 0x80000000]), inst('b', [0x40000000])]);
    const own = snap.ownership();
    expect(own.get('a')! + own.get('b')!).toBeCloseTo(100, 6);
    expect(own.get('b')).toBeCloseTo(25, 6);
    expect(tokenDistance(5, 5)).toBe(2 ** 32);
    expect(tokenDistance(0xffffffff, 0)).toBe(1);
  });

  it('keeps token arrays on heartbeat-only updates and rebuilds on token changes', () => {
    const a = inst('a', [1, 2]);
    const snap = RingSnapshot.build([a, inst('b', [3])]);
    const hb = snap.withUpdated({ ...a, timestampMs: a.timestampMs + 5 });
    expect(hb?.tokens).toBe(snap.tokens);
    expect(hb?.instances[0]!.timestampMs).toBe(a.timestampMs + 5);
    expect(snap.withUpdated({ ...a, tokens: [1, 9] })).toBeNull();
    expect(snap.withUpdated(inst('c', [4]))).toBeNull();
  });
});

describe('ruler sharding', () => {
  it('gives every group to exactly one ACTIVE healthy ruler, moving groups off a dead one', () => {
    const now = Date.now();
    const rand = seededRandom(7);
    const tokens = (): number[] => pickTokens(32, new Set(), [], () => Math.floor(rand() * 2 ** 32));
    const rulers = ['r1', 'r2', 'r3', 'r4'].map((id) => inst(id, tokens()));
    rulers[3] = { ...rulers[3]!, state: 'JOINING' };
    const ring = new StaticRing(rulers, { heartbeatTimeoutMs: 60_000 });
    const groups = Array.from({ length: 500 }, (_, i) => `ns${i % 7}/group-${i}`);
    const owners = (r: StaticRing): Map<string, number> => {
      const count = new Map<string, number>();
      for (const g of groups) {
        const own = rulers.filter((x) => ownsRuleGroup(r, x.id, 'tenant', g));
        expect(own).toHaveLength(1);
        count.set(own[0]!.id, (count.get(own[0]!.id) ?? 0) + 1);
      }
      return count;
    };
    const before = owners(ring);
    expect([...before.keys()].sort()).toEqual(['r1', 'r2', 'r3']); // never the JOINING one
    ring.upsert({ ...rulers[0]!, timestampMs: now - 120_000 }); // r1 stops heartbeating
    const after = owners(ring);
    expect(after.has('r1')).toBe(false);
    expect((after.get('r2') ?? 0) + (after.get('r3') ?? 0)).toBe(500);
  });
});
