/**
 * Metadata at 100k streams, component level (issue #20 goal 5): CPU ms of the ingester's answer
 * plus the querier's merge and the JSON encoding, before (every stream visited, matchers and RE2
 * run on each, Set + sort, labelsToString/labelsToObject per series: the code before ADR 0025,
 * re-enacted here) and after (postings), in one process, 7 repetitions, min and median.
 * CPU time rather than wall time, so a busy machine disturbs it less. Answers are compared.
 * Usage: npx tsx bench/metadata-components.ts
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { defaultConfig } from '../src/config/config.js';
import { Ingester, type IngesterConfig } from '../src/ingester/ingester.js';
import { compileMatcher } from '../src/logql/log/matcher.js';
import { compileAnchored } from '../src/logql/syntax/regex.js';
import { fingerprint, labelsToString, labelsToObject, labelValue, seriesKey, sortLabels, type Labels, type Matcher, type ValidStream } from '../src/model/index.js';
import { seriesResponseBody, sortSeries } from '../src/querier/metadata.js';
import { sortedUnion } from '../src/util/sorted.js';
class Sink { putChunk() { return Promise.resolve(); } writeIndex() { return Promise.resolve(); } }
const base = defaultConfig();
const cfg: IngesterConfig = { ...base.ingester, block_sealer: 'inline', flush_check_period: 3_600_000, wal: { ...base.ingester.wal, enabled: false } };
const ing = new Ingester({ cfg, limits: () => ({ ...base.limits_config, max_global_streams_per_user: 0, max_streams_per_user: 0 }), sink: new Sink(), logger: pino({ level: 'silent' }), registry: new Registry() });
await ing.start();
const ts = BigInt(Date.now() - 60000) * 1_000_000n;
const streams: Labels[] = [];
for (let b = 0; b < 100000; b += 5000) {
  const ss: ValidStream[] = [];
  for (let i = b; i < b + 5000; i++) {
    const app = `app-${i % 500}`;
    const ls = sortLabels([{ name: 'namespace', value: `ns-${i % 20}` }, { name: 'app', value: app }, { name: 'container', value: `c-${i % 4}` }, { name: 'pod', value: `${app}-${((i * 2654435761) % 4294967296) >>> 0}-${i}` }, { name: 'env', value: i % 3 ? 'dev' : 'prod' }, { name: 'service_name', value: app }]);
    streams.push(ls);
    ss.push({ labels: ls, labelsString: labelsToString(ls), fingerprint: fingerprint(ls), entries: [{ tsNs: ts + BigInt(i), line: Buffer.from('x'), metadata: [] }] });
  }
  await ing.push('t', ss);
}
const from = ts - 3600_000_000_000n, to = ts + 3600_000_000_000n;
const time = (name: string, f: () => unknown): unknown => {
  const xs: number[] = [];
  let r: unknown;
  for (let i = 0; i < 7; i++) { const t = process.cpuUsage(); r = f(); const d = process.cpuUsage(t); xs.push((d.user + d.system) / 1000); }
  xs.sort((a, b) => a - b);
  console.log(`| ${name} | ${xs[0]!.toFixed(1)} | ${xs[3]!.toFixed(1)} |`);
  return r;
};
// The code before: every stream visited, matchers run on each, RE2 for every regex.
const oldRegex = (n: string, t: '=~', v: string): Matcher => { const re = compileAnchored(v); return { name: n, type: t, value: v, matches: (x: string) => re.test(x) }; };
const oldEach = (ms: readonly Matcher[], fn: (l: Labels) => void): void => { for (const l of streams) { if (ms.every((m) => m.matches(labelValue(l, m.name)))) fn(l); } };
const oldNames = (ms: readonly Matcher[]): string[] => { const s = new Set<string>(); oldEach(ms, (l) => { for (const x of l) s.add(x.name); }); return [...new Set([...s])].sort(); };
const oldValues = (n: string, ms: readonly Matcher[]): string[] => { const s = new Set<string>(); oldEach(ms, (l) => { const v = labelValue(l, n); if (v !== '') s.add(v); }); return [...new Set([...s])].sort(); };
const oldSeries = (ms: readonly Matcher[]): string => { const out = new Map<string, Labels>(); oldEach(ms, (l) => out.set(labelsToString(l), l)); const sorted = [...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]); return JSON.stringify({ status: 'success', data: sorted.map(labelsToObject) }); };
const newSeries = (ms: readonly Matcher[]): string => { const out = new Map<string, Labels>(); for (const l of ing.series('t', from, to, ms)) out.set(seriesKey(l), l); return seriesResponseBody(sortSeries(out)).toString(); };
const m = compileMatcher;
const cases: [string, () => unknown, () => unknown][] = [
  ['labels', () => oldNames([]), () => sortedUnion([], ing.labelNames('t', from, to, []))],
  ['labels {app="app-7"}', () => oldNames([m('app', '=', 'app-7')]), () => sortedUnion([], ing.labelNames('t', from, to, [m('app', '=', 'app-7')]))],
  ['labels {pod=~"app-1.*"}', () => oldNames([oldRegex('pod', '=~', 'app-1.*')]), () => sortedUnion([], ing.labelNames('t', from, to, [m('pod', '=~', 'app-1.*')]))],
  ['values pod', () => oldValues('pod', []), () => sortedUnion([], ing.labelValues('t', 'pod', from, to, []))],
  ['values pod {app="app-7"}', () => oldValues('pod', [m('app', '=', 'app-7')]), () => sortedUnion([], ing.labelValues('t', 'pod', from, to, [m('app', '=', 'app-7')]))],
  ['series {app="app-7"} + JSON', () => oldSeries([m('app', '=', 'app-7')]), () => newSeries([m('app', '=', 'app-7')])],
  ['series {namespace="ns-3"} + JSON', () => oldSeries([m('namespace', '=', 'ns-3')]), () => newSeries([m('namespace', '=', 'ns-3')])],
  ['series {pod=~"app-1.*"} + JSON', () => oldSeries([oldRegex('pod', '=~', 'app-1.*')]), () => newSeries([m('pod', '=~', 'app-1.*')])],
  ['series all + JSON', () => oldSeries([m('namespace', '=~', '.+')]), () => newSeries([m('namespace', '=~', '.+')])],
];
console.log('| shape (ingester + querier merge + encoding, 100k streams) | CPU ms min | CPU ms median |');
console.log('| --- | --- | --- |');
for (const [name, o, n] of cases) {
  const a = time(`${name}: scan (before)`, o);
  const b = time(`${name}: postings (after)`, n);
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${name}: answers differ`);
}
process.exit(0);
