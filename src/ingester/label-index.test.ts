import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../config/config.js';
import { compileMatcher } from '../logql/log/matcher.js';
import { fingerprint, labelsToString, sortLabels, type ValidStream } from '../model/index.js';
import { seriesJsonOf, type Labels } from '../model/labels.js';
import type { Matcher, MatchType } from '../model/matcher.js';
import { MemorySink } from './client.contract.js';
import { Ingester, type IngesterConfig } from './ingester.js';
import { seededRandom } from '../util/random.js';
import { insertionsOf, isMarkedAscending } from '../util/sorted.js';
import { IndexedStreamMap, LabelIndex, matchesAll } from './label-index.js';
import { TimeBounds } from './stream.js';

interface S {
  readonly id: number;
  readonly labels: Labels;
  readonly labelsString: string;
  seriesRank: number;
  /** Stands in for "has entries in the queried range". */
  live: boolean;
}

function stream(id: number, labels: Labels, live: boolean): S {
  return { id, labels, labelsString: labelsToString(labels), seriesRank: -1, live };
}


const NAMES = ['app', 'env', 'pod', 'ns', 'zone', 'x'];
const VALUES = ['a', 'b', 'ab', 'abc', 'b1', 'é', 'Z', '10', '9', 'a.b', '😀', '\uE000'];

function randomLabels(r: () => number): Labels {
  const out: { name: string; value: string }[] = [];
  for (const name of NAMES) if (r() < 0.6) out.push({ name, value: VALUES[Math.floor(r() * VALUES.length)]! });
  return out;
}

const PATTERNS = ['a.*', '.*b', '.+', '.*', 'a|b', 'b|', '', 'a', '(?i)A', '[0-9]+', 'é|😀', 'x', '.?'];

function randomMatcher(r: () => number): Matcher {
  const name = r() < 0.9 ? NAMES[Math.floor(r() * NAMES.length)]! : 'absent';
  const type = (['=', '!=', '=~', '!~'] as MatchType[])[Math.floor(r() * 4)]!;
  const value = type === '=' || type === '!=' ? (r() < 0.15 ? '' : VALUES[Math.floor(r() * VALUES.length)]!) : PATTERNS[Math.floor(r() * PATTERNS.length)]!;
  return compileMatcher(name, type, value);
}

function selected(index: LabelIndex<S>, ms: readonly Matcher[]): number[] {
  const out: number[] = [];
  index.select(ms, (s) => out.push(s.id));
  return out.sort((a, b) => a - b);
}

describe('LabelIndex', () => {
  it('selects, lists names and values exactly as a scan over every stream (random label sets, matchers, removals)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = seededRandom(seed);
      const map = new IndexedStreamMap<number, S>();
      let nextId = 0;
      for (let step = 0; step < 60; step++) {
        // Churn: add streams, remove some, replace some under an existing key.
        const adds = Math.floor(r() * 20);
        for (let k = 0; k < adds; k++) {
          const s = stream(nextId++, randomLabels(r), r() < 0.7);
          map.set(s.id, s);
        }
        for (const key of [...map.keys()]) {
          const x = r();
          if (x < 0.1) map.delete(key);
          else if (x < 0.13) map.set(key, stream(key, randomLabels(r), r() < 0.7));
        }
        if (r() < 0.02) map.clear();
        const streams = [...map.values()];
        expect(map.index.size).toBe(streams.length);
        for (let q = 0; q < 5; q++) {
          const ms = Array.from({ length: Math.floor(r() * 4) }, () => randomMatcher(r));
          const want = streams.filter((s) => matchesAll(s.labels, ms)).map((s) => s.id).sort((a, b) => a - b);
          expect(selected(map.index, ms), JSON.stringify(ms.map((m) => [m.name, m.type, m.value]))).toEqual(want);
        }
        const live = (s: S): boolean => s.live;
        const names = [...new Set(streams.flatMap((s) => s.labels.map((l) => l.name)))].sort();
        expect(map.index.names()).toEqual(names);
        expect(map.index.namesWhere(live)).toEqual([...new Set(streams.filter(live).flatMap((s) => s.labels.map((l) => l.name)))].sort());
        for (const name of [...NAMES, 'absent']) {
          const vals = (pick: (s: S) => boolean): string[] => [...new Set(streams.filter(pick).flatMap((s) => s.labels.filter((l) => l.name === name).map((l) => l.value)))].sort();
          expect(map.index.values(name)).toEqual(vals(() => true));
          expect(map.index.valuesWhere(name, live)).toEqual(vals(live));
        }
      }
    }
  });

  it.each([
    ['equality on a missing value', [['app', '=', 'nope']], []],
    ['equality', [['app', '=', 'a']], [1, 3]],
    ['matcher accepting empty keeps streams without the label', [['env', '!=', 'prod']], [1, 2, 4]],
    ['empty equality selects streams without the label', [['env', '=', '']], [1, 4]],
    ['regex rejecting empty on an absent name', [['absent', '=~', '.+']], []],
    ['negative regex', [['app', '!~', 'a|b']], [2, 4]],
    ['regex and equality', [['app', '=~', 'a.*'], ['env', '=', 'dev']], [2]],
    ['no matchers selects every stream', [], [1, 2, 3, 4]],
  ] as [string, [string, MatchType, string][], number[]][])('%s', (_name, spec, want) => {
    const index = new LabelIndex<S>();
    const mk = (id: number, o: Record<string, string>): S => stream(id, Object.entries(o).map(([name, value]) => ({ name, value })), true);
    index.add(mk(1, { app: 'a' }));
    index.add(mk(2, { app: 'ab', env: 'dev' }));
    index.add(mk(3, { app: 'a', env: 'prod' }));
    index.add(mk(4, { app: 'c' }));
    expect(selected(index, spec.map(([n, t, v]) => compileMatcher(n, t, v)))).toEqual(want);
  });

  it('keeps sorted values in step after removals and re-additions', () => {
    const map = new IndexedStreamMap<number, S>();
    const mk = (id: number, pod: string): S => stream(id, [{ name: 'pod', value: pod }], true);
    for (let i = 0; i < 100; i++) map.set(i, mk(i, `p${(i * 37) % 100}`));
    expect(map.index.values('pod')).toEqual(Array.from({ length: 100 }, (_, i) => `p${i}`).sort());
    for (let i = 0; i < 100; i += 2) map.delete(i);
    map.set(1000, mk(1000, 'p0'));
    map.set(1001, mk(1001, 'p0'));
    map.set(1002, mk(1002, 'a'));
    const want = [...new Set([...map.values()].map((s) => s.labels[0]!.value))].sort();
    expect(map.index.values('pod')).toEqual(want);
    map.clear();
    expect(map.index.values('pod')).toEqual([]);
    expect(map.index.names()).toEqual([]);
  });

  it('orders selected streams by label string as a sort does, through additions, removals and re-additions', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = seededRandom(seed);
      const map = new IndexedStreamMap<number, S>();
      const gone: S[] = [];
      let nextId = 0;
      for (let step = 0; step < 40; step++) {
        // Few or many new streams (one binary search each), removals, and removed streams indexed again.
        const adds = r() < 0.5 ? Math.floor(r() * 3) : Math.floor(r() * 60);
        for (let k = 0; k < adds; k++) {
          const id = nextId++;
          map.set(id, stream(id, sortLabels([...randomLabels(r), { name: 'id', value: `${id}` }]), true));
        }
        for (const [key, s] of [...map]) {
          if (r() < 0.08) {
            map.delete(key);
            gone.push(s);
          }
        }
        if (gone.length > 0 && r() < 0.3) {
          const s = gone.splice(Math.floor(r() * gone.length), 1)[0]!;
          map.set(s.id, s);
        }
        for (let q = 0; q < 4; q++) {
          const ms = Array.from({ length: Math.floor(r() * 3) }, () => randomMatcher(r));
          const picked: S[] = [];
          map.index.select(ms, (s) => picked.push(s));
          const want = [...picked].sort((a, b) => (a.labelsString < b.labelsString ? -1 : a.labelsString > b.labelsString ? 1 : 0)).map((s) => s.id);
          expect(map.index.inKeyOrder(picked).map((s) => s.id)).toEqual(want);
        }
      }
    }
  });

  it('answers valuesWhere with its own list while every value is kept, replaced (never changed) when values come or go', () => {
    const map = new IndexedStreamMap<number, S>();
    const mk = (id: number, pod: string): S => stream(id, [{ name: 'pod', value: pod }], true);
    const want = (): string[] => [...new Set([...map.values()].filter((s) => s.live).map((s) => s.labels[0]!.value))].sort();
    // A value per stream (valuesWhere visits the streams) and 3 values over 200 streams (it visits values).
    for (const k of [200, 3]) {
      map.clear();
      for (let i = 0; i < 200; i++) map.set(i, mk(i, `p${i % k}`));
      const all = (): readonly string[] => map.index.valuesWhere('pod', (s) => s.live);
      const first = all();
      const firstCopy = [...first];
      expect(first).toEqual(want());
      expect(all()).toBe(first);
      expect(isMarkedAscending(first)).toBe(true);
      for (let i = 0; i < 200; i += k === 3 ? 1 : 7) if (i % 3 === 1) map.get(i)!.live = false;
      const some = all();
      expect(some).toEqual(want());
      expect(some).not.toEqual(firstCopy);
      expect(isMarkedAscending(some)).toBe(true);
      for (const s of map.values()) s.live = true;
      expect(all()).toBe(first);
      map.set(1000, mk(1000, 'a-new'));
      const grown = all();
      expect(grown).toEqual(want());
      expect(grown).not.toBe(first);
      // Made from the last list by one insertion, which it records for the answer's bytes.
      expect(insertionsOf(grown)).toEqual({ base: first, at: [0], keepBase: false });
      for (let i = 0; i < 200; i += 3) map.delete(i);
      expect(all()).toEqual(want());
      // Lists handed out earlier are as they were.
      expect(first).toEqual(firstCopy);
      expect(grown).toEqual(['a-new', ...firstCopy]);
    }
  });
});

describe('LabelIndex.addedSince', () => {
  it('lists the streams indexed since a version while none was dropped, as a log of every change does', () => {
    const r = seededRandom(23);
    const index = new LabelIndex<S>();
    // The model: every change in order (version i + 1 is changes[i]).
    const changes: { added: S | null }[] = [];
    const live: S[] = [];
    let next = 0;
    for (let step = 0; step < 6000; step++) {
      const x = r();
      if (x < 0.9 || live.length === 0) {
        const s = stream(next++, [{ name: 'pod', value: `p${next}` }], true);
        index.add(s);
        index.add(s); // a no-op: not a change
        live.push(s);
        changes.push({ added: s });
      } else if (x < 0.995) {
        const s = live.splice(Math.floor(r() * live.length), 1)[0]!;
        index.remove(s);
        index.remove(s); // a no-op
        changes.push({ added: null });
      } else {
        index.clear();
        live.length = 0;
        changes.push({ added: null });
      }
      expect(index.version).toBe(changes.length);
      for (let k = 0; k < 3; k++) {
        const v = Math.max(0, changes.length - Math.floor(r() * 1500));
        const since = changes.slice(v);
        const got = index.addedSince(v);
        if (since.some((c) => c.added === null)) expect(got, `step ${step} v ${v}`).toBeNull();
        // The log keeps at least the last 512 additions; older ones may be unknown.
        else if (got === null) expect(since.length, `step ${step} v ${v}`).toBeGreaterThan(512);
        else expect(got.map((s) => s.id)).toEqual(since.map((c) => c.added!.id));
      }
    }
  });
});

describe('TimeBounds', () => {
  it('holds every noted timestamp, and narrows to the chunks left', () => {
    const b = new TimeBounds();
    expect(b.disjoint(0n, 10n ** 19n)).toBe(true);
    for (const t of [50n, 20n, 90n, 2n ** 63n + 7n]) b.note(t);
    expect([b.minNs, b.maxNs]).toEqual([20n, 2n ** 63n + 7n]);
    expect(b.disjoint(0n, 19n)).toBe(true);
    expect(b.disjoint(0n, 20n)).toBe(false);
    expect(b.disjoint(2n ** 63n + 7n, 2n ** 64n)).toBe(false);
    expect(b.disjoint(2n ** 63n + 8n, 2n ** 64n)).toBe(true);
    b.clear();
    expect(b.disjoint(0n, 10n ** 19n)).toBe(true);
    for (const t of [70n, 60n, 80n, 65n]) b.note(t);
    expect([b.minNs, b.maxNs]).toEqual([60n, 80n]);
    expect(b.disjoint(81n, 100n)).toBe(true);
    expect(b.disjoint(0n, 59n)).toBe(true);
  });
});

describe('Ingester metadata through the label index', () => {
  it('hands out a kept series answer only while no stream comes or goes, and only for ranges holding every entry', async () => {
    const base = defaultConfig();
    let nowMs = Date.now();
    const cfg: IngesterConfig = { ...base.ingester, block_sealer: 'inline', flush_check_period: 3_600_000, chunk_retain_period: 0, chunk_idle_period: 60_000, wal: { ...base.ingester.wal, enabled: false } };
    const ingester = new Ingester({ cfg, limits: () => base.limits_config, sink: new MemorySink(), logger: pino({ level: 'silent' }), registry: new Registry(), nowMs: () => nowMs });
    await ingester.start();
    try {
      const t0 = BigInt(nowMs - 600_000) * 1_000_000n;
      const push = (pod: string, tsNs: bigint, more: Labels = [], app = 'a'): Promise<void> => {
        const ls = sortLabels([{ name: 'app', value: app }, { name: 'pod', value: pod }, ...more]);
        return ingester.push('t', [{ labels: ls, labelsString: labelsToString(ls), fingerprint: fingerprint(ls), entries: [{ tsNs, line: Buffer.from(pod), metadata: [] }] }]);
      };
      const pods = (list: readonly Labels[]): string[] => list.map((ls) => ls.find((l) => l.name === 'pod')!.value);
      const all: Matcher[] = [compileMatcher('app', '=', 'a')];
      const [from, through] = [t0 - 3_600_000_000_000n, t0 + 3_600_000_000_000n];
      await push('p1', t0);
      await push('p2', t0 + 1_000_000_000n);
      const first = ingester.series('t', from, through, all);
      expect(pods(first)).toEqual(['p1', 'p2']);
      expect(ingester.series('t', from, through, all)).toBe(first);
      // Other matchers, another answer; a range that misses p1's entry is not the kept answer.
      expect(pods(ingester.series('t', from, through, [compileMatcher('pod', '=', 'p2')]))).toEqual(['p2']);
      expect(pods(ingester.series('t', t0 + 500_000_000n, through, all))).toEqual(['p2']);
      expect(ingester.series('t', from, through, all)).toBe(first);
      const names = ingester.labelNames('t', from, through, all);
      const podValues = ingester.labelValues('t', 'pod', from, through, all);
      expect([names, podValues]).toEqual([['app', 'pod'], ['p1', 'p2']]);
      // A stream the selector does not pick: every answer stays the same list.
      await push('q1', t0 + 1_500_000_000n, [{ name: 'zone', value: 'z' }], 'b');
      expect(ingester.series('t', from, through, all)).toBe(first);
      expect(ingester.labelNames('t', from, through, all)).toBe(names);
      expect(ingester.labelValues('t', 'pod', from, through, all)).toBe(podValues);
      // A new stream it picks: new answers, made from the kept ones (recorded insertions, so the
      // answers' bytes are spliced), and kept in turn.
      await push('p3', t0 + 2_000_000_000n, [{ name: 'zone', value: 'z' }]);
      const second = ingester.series('t', from, through, all);
      expect(pods(second)).toEqual(['p1', 'p2', 'p3']);
      expect(insertionsOf(second)).toEqual({ base: first, at: [2], keepBase: false });
      expect(ingester.series('t', from, through, all)).toBe(second);
      const names2 = ingester.labelNames('t', from, through, all);
      expect(names2).toEqual(['app', 'pod', 'zone']);
      expect(insertionsOf(names2)).toEqual({ base: names, at: [2], keepBase: false });
      const podValues2 = ingester.labelValues('t', 'pod', from, through, all);
      expect(podValues2).toEqual(['p1', 'p2', 'p3']);
      expect(insertionsOf(podValues2)).toEqual({ base: podValues, at: [2], keepBase: false });
      // p1 and p2 go idle and are flushed, then dropped with their streams; p3 stays.
      nowMs += 120_000;
      await push('p3', t0 + 3_000_000_000n);
      nowMs += 30_000;
      await ingester.flushNow(false);
      await ingester.flushNow(false);
      expect(ingester.memoryStats().streams).toBe(1);
      expect(pods(ingester.series('t', from, through, all))).toEqual(['p3']);
      expect(ingester.labelValues('t', 'pod', from, through, all)).toEqual(['p3']);
    } finally {
      await ingester.stop();
    }
  });

  it('answers labelNames, labelValues, series and selectStreams as a brute-force scan, over time ranges, flushes and drops', async () => {
    const base = defaultConfig();
    const cfg: IngesterConfig = { ...base.ingester, block_sealer: 'inline', flush_check_period: 3_600_000, chunk_retain_period: 0, wal: { ...base.ingester.wal, enabled: false } };
    const ingester = new Ingester({ cfg, limits: () => base.limits_config, sink: new MemorySink(), logger: pino({ level: 'silent' }), registry: new Registry() });
    await ingester.start();
    try {
      const r = seededRandom(7);
      const t0 = BigInt(Date.now() - 600_000) * 1_000_000n;
      // What memory should hold: labels string → labels and entry times.
      const live = new Map<string, { labels: Labels; ts: bigint[] }>();
      // settled: no push is waiting for its WAL write (its new streams have no entry yet).
      // Selectors asked before are asked again (with a range holding everything, every fourth
      // query) after pushes and drops: their kept answers are updated or made anew.
      const asked: Matcher[][] = [];
      const check = (settled = true): void => {
        for (let q = 0; q < 40; q++) {
          const again = q % 4 === 0 && asked.length > 0 && r() < 0.5;
          const ms = again ? asked[Math.floor(r() * asked.length)]! : Array.from({ length: Math.floor(r() * 3) }, () => randomMatcher(r));
          if (!again && q % 4 === 0 && ms.length > 0) asked.splice(0, asked.length >= 6 ? 1 : 0, ms);
          // Ranges before, across and after the data in memory (disjoint ones take the TimeBounds
          // shortcut); every fourth holds all of it (the label browser's range, no per-stream check).
          const wide = q % 4 === 0;
          const from = wide ? t0 - 3_600_000_000_000n : t0 + BigInt(Math.floor(r() * 280) - 60) * 1_000_000_000n;
          const through = wide ? t0 + 3_600_000_000_000n : from + BigInt(Math.floor(r() * 200)) * 1_000_000_000n;
          // The ingester answers per chunk: a stream counts when a chunk's [first, last] entry time
          // meets the range (each stream here has one chunk until the forced flush).
          const meets = (ts: bigint[]): boolean => ts.some((t) => t <= through) && ts.some((t) => t >= from);
          const hit = [...live.values()].filter((s) => matchesAll(s.labels, ms) && meets(s.ts));
          const what = JSON.stringify([ms.map((m) => [m.name, m.type, m.value]), String(from - t0), String(through - t0)]);
          expect(ingester.labelNames('t', from, through, ms), what).toEqual([...new Set(hit.flatMap((s) => s.labels.map((l) => l.name)))].sort());
          for (const name of ['app', 'pod', 'absent']) {
            const want = [...new Set(hit.flatMap((s) => s.labels.filter((l) => l.name === name && l.value !== '').map((l) => l.value)))].sort();
            expect(ingester.labelValues('t', name, from, through, ms), what).toEqual(want);
          }
          const key = (ls: Labels): string => labelsToString(ls);
          // In key order as it comes (the querier merges such lists as they are).
          const series = ingester.series('t', from, through, ms);
          expect(series.map(key), what).toEqual(hit.map((s) => key(s.labels)).sort());
          // Each series' JSON text rides along with the list (what the answer's body is made of).
          expect(seriesJsonOf(series), what).toEqual(series.length === 0 ? undefined : series.map((ls) => JSON.stringify(Object.fromEntries(ls.map((l) => [l.name, l.value])))));
          // A range holding every entry: the same frozen answer again while no stream comes or
          // goes (the checks after each push and drop find a stale one).
          if (wide && settled) {
            expect(Object.isFrozen(series), what).toBe(true);
            expect(ingester.series('t', from, through, ms), what).toBe(series);
            if (ms.length > 0) {
              const names = ingester.labelNames('t', from, through, ms);
              expect(ingester.labelNames('t', from, through, ms), what).toBe(names);
              const pods = ingester.labelValues('t', 'pod', from, through, ms);
              expect(ingester.labelValues('t', 'pod', from, through, ms), what).toBe(pods);
              // Another name's values are another answer (the empty answer is one shared list).
              if (pods.length > 0) expect(ingester.labelValues('t', 'app', from, through, ms), what).not.toBe(pods);
            }
          }
          expect(ingester.selectStreams('t', ms, from, through, 'x/').map((s) => key(s.labels)).sort(), what).toEqual(hit.map((s) => key(s.labels)).sort());
        }
      };
      for (let round = 0; round < 6; round++) {
        const streams: ValidStream[] = [];
        for (let k = 0; k < 40; k++) {
          const raw = randomLabels(r).filter((l) => l.name !== 'x');
          const ls = sortLabels([...raw, { name: 'pod', value: `p${Math.floor(r() * 60)}` }].filter((l, i, a) => a.findIndex((o) => o.name === l.name) === i));
          const ts = t0 + BigInt(round * 30 + Math.floor(r() * 30)) * 1_000_000_000n;
          const s = labelsToString(ls);
          if (streams.some((v) => v.labelsString === s)) continue;
          // Some chunks span time (an idle flush cycle must keep their last entry within the bounds).
          const entries = [{ tsNs: ts, line: Buffer.from(`l${k}`), metadata: [] }];
          if (k % 3 === 0) entries.push({ tsNs: ts + 7_000_000_000n, line: Buffer.from(`m${k}`), metadata: [] });
          streams.push({ labels: ls, labelsString: s, fingerprint: fingerprint(ls), entries });
        }
        // Until its WAL write lands a push's new streams exist without entries: not in any answer.
        // A flush cycle visiting them then (its stream pass runs before its first await) keeps them.
        const pushed = ingester.push('t', streams);
        const flushed = round % 2 === 1 ? ingester.flushNow(false) : null;
        check(false);
        await pushed;
        await flushed;
        for (const v of streams) {
          const e = live.get(v.labelsString) ?? { labels: v.labels, ts: [] };
          for (const en of v.entries) e.ts.push(en.tsNs);
          live.set(v.labelsString, e);
        }
        check();
        // A cycle with nothing due narrows the time bounds to the chunks it keeps: same answers.
        await ingester.flushNow(false);
        check();
        if (round % 2 === 1) {
          // The first flush stores every chunk; the second drops them (retain period 0) and the empty streams with them.
          expect(await ingester.flushNow(true)).toBe(0);
          await ingester.flushNow(false);
          live.clear();
          expect(ingester.memoryStats().streams).toBe(0);
          check();
        }
      }
    } finally {
      await ingester.stop();
    }
  });
});
