import { describe, expect, it } from 'vitest';
import { fingerprint, labelsToString, type Label } from '../model/labels.js';
import type { PushRequest } from '../model/stream.js';
import { seededRandom } from '../util/random.js';
import { defaultLimits, type TenantLimits } from './limits.js';
import { Validator } from './validate.js';

const NOW_MS = 1_700_000_000_000;
const TS = BigInt(NOW_MS) * 1_000_000n;

/** A request of streams given as label text and line texts. */
function request(streams: [string, string[]][]): PushRequest {
  return { streams: streams.map(([labels, lines]) => ({ labels, labelsObject: null, entries: lines.map((l) => ({ tsNs: TS, line: Buffer.from(l), metadata: [] })) })) };
}

function limitsWith(over: Partial<TenantLimits>): TenantLimits {
  return { ...defaultLimits, ...over };
}

/** What a stream's labels become, written the slow way: empty values dropped, service_name added as Loki's discovery adds it, sorted. */
function expectedLabels(pairs: [string, string][], names: readonly string[]): Label[] {
  const kept = pairs.filter(([, v]) => v !== '');
  if (names.length > 0 && !kept.some(([n]) => n === 'service_name')) {
    let value = 'unknown_service';
    for (const n of names) {
      const hit = kept.find(([k]) => k === n);
      if (hit !== undefined) {
        value = hit[1];
        break;
      }
    }
    kept.push(['service_name', value]);
  }
  return kept.map(([name, value]) => ({ name, value })).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

describe('Validator: service-name discovery', () => {
  it('takes the first listed label, or unknown_service, and keeps a sent one', () => {
    const v = new Validator();
    const res = v.validateRequest(defaultLimits, NOW_MS, request([['{job="j", app="a"}', ['x']], ['{foo="bar"}', ['y']], ['{service_name="s", app="a"}', ['z']]]));
    expect(res.errors).toBeNull();
    expect(res.streams.map((s) => s.labelsString)).toEqual(['{app="a", job="j", service_name="a"}', '{foo="bar", service_name="unknown_service"}', '{app="a", service_name="s"}']);
    for (const s of res.streams) expect(s.fingerprint).toBe(fingerprint(s.labels));
  });

  it('merges streams that become equal, in request order, and is off with an empty list', () => {
    const v = new Validator();
    const res = v.validateRequest(defaultLimits, NOW_MS, request([['{a="1"}', ['x']], ['{a="1", service_name="unknown_service"}', ['y']], ['{a="1"}', ['z']]]));
    expect(res.streams.length).toBe(1);
    expect(res.streams[0]!.entries.map((e) => e.line.toString())).toEqual(['x', 'y', 'z']);
    // The same cached parse, for a tenant with discovery off: the labels as sent again.
    const off = v.validateRequest(limitsWith({ discoverServiceName: [] }), NOW_MS, request([['{a="1"}', ['w']]]));
    expect(off.streams.map((s) => [s.labelsString, s.fingerprint])).toEqual([['{a="1"}', fingerprint([{ name: 'a', value: '1' }])]]);
  });

  it('groups random requests exactly as a brute-force model, tenants with different lists sharing the cache', () => {
    const rnd = seededRandom(20);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const lists: (readonly string[])[] = [defaultLimits.discoverServiceName, ['job', 'app'], []];
    const tenants = lists.map((l) => limitsWith({ discoverServiceName: l }));
    const v = new Validator();
    let merges = 0;
    for (let round = 0; round < 1500; round++) {
      const limits = pick(tenants);
      const names = limits.discoverServiceName;
      const want = new Map<string, string[]>();
      const streams: [string, string[]][] = [];
      const count = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < count; k++) {
        // Few names and values so label sets repeat across streams and rounds; pairs in random
        // order (the text as sent differs from the canonical one), empty values now and then.
        const pairs: [string, string][] = [];
        for (const n of ['app', 'job', 'env']) if (rnd() < 0.5) pairs.push([n, pick(['a', 'b', ''])]);
        if (rnd() < 0.3) pairs.push(['service_name', pick(['a', 'b', 'unknown_service'])]);
        if (pairs.every(([, val]) => val === '')) pairs.push(['env', 'x']);
        if (rnd() < 0.5) pairs.reverse();
        const line = `r${round}-s${k}`;
        streams.push([`{${pairs.map(([n, val]) => `${n}="${val}"`).join(', ')}}`, [line]]);
        const key = labelsToString(expectedLabels(pairs, names));
        want.set(key, [...(want.get(key) ?? []), line]);
      }
      const res = v.validateRequest(limits, NOW_MS, request(streams));
      expect(res.errors).toBeNull();
      expect(res.streams.map((s) => s.labelsString)).toEqual([...want.keys()]);
      expect(res.streams.map((s) => s.entries.map((e) => e.line.toString()))).toEqual([...want.values()]);
      for (const s of res.streams) {
        expect(labelsToString(s.labels)).toBe(s.labelsString);
        expect(s.fingerprint).toBe(fingerprint(s.labels));
      }
      if (want.size < count) merges++;
    }
    expect(merges).toBeGreaterThan(100);
  });

  it('tenants with equal lists in separate arrays share one discovered form', () => {
    const v = new Validator();
    const a = limitsWith({ discoverServiceName: ['app'] });
    const b = limitsWith({ discoverServiceName: ['app'] });
    const labelsOf = (l: TenantLimits): readonly Label[] => v.validateRequest(l, NOW_MS, request([['{app="x", env="e"}', ['l']]])).streams[0]!.labels;
    const first = labelsOf(a);
    expect(labelsToString(first)).toBe('{app="x", env="e", service_name="x"}');
    expect(labelsOf(b)).toBe(first);
    expect(labelsOf(a)).toBe(first);
  });

  it('reports invalid labels from the labels as sent after another tenant discovered on the same parse', () => {
    const text = '{workload="wwww", zone="z", alpha="a"}';
    // A label count over the limit, shown with another discovery list; a value too long that
    // discovery copied into service_name (which sorts before workload).
    const strict = limitsWith({ maxLabelNamesPerSeries: 2, discoverServiceName: ['zone'] });
    const shortValues = limitsWith({ maxLabelValueLength: 3 });
    const fresh = (l: TenantLimits): string | undefined => new Validator().validateRequest(l, NOW_MS, request([[text, ['x']]])).errors?.message();
    const shared = new Validator();
    expect(shared.validateRequest(defaultLimits, NOW_MS, request([[text, ['x']]])).streams[0]!.labelsString).toBe('{alpha="a", service_name="wwww", workload="wwww", zone="z"}');
    for (const l of [strict, shortValues]) {
      const msg = shared.validateRequest(l, NOW_MS, request([[text, ['x']]])).errors?.message();
      expect(msg).toBeDefined();
      expect(msg).toBe(fresh(l));
      // The parse as another tenant left it serves the next push of the first tenant unchanged.
      expect(shared.validateRequest(defaultLimits, NOW_MS, request([[text, ['y']]])).streams[0]!.labelsString).toBe('{alpha="a", service_name="wwww", workload="wwww", zone="z"}');
    }
    expect(fresh(strict)).toBe(`entry for stream '{alpha="a", service_name="z", workload="wwww", zone="z"}' has 3 label names; limit 2`);
    expect(fresh(shortValues)).toBe(`stream '{alpha="a", service_name="wwww", workload="wwww", zone="z"}' has label value too long: 'wwww'`);
  });
});
