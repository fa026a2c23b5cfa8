import { afterEach, describe, expect, it } from 'vitest';
import { labelsKey } from './labels.js';
import { parseExpr, type SampleExpr } from '../syntax/index.js';
import { seededRandom } from '../../util/random.js';
import { evaluateMetric, type MetricResult } from './index.js';
import { rangeInternals } from './range.js';
import { MemSource, stubExtractors, type MemEntry } from './testing.js';

const SEC = 1_000_000_000n;
const T0 = 1_700_000_000n * SEC;

interface Case {
  query: string;
  entries: MemEntry[];
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
  instant: boolean;
  blockSize: number;
  shuffle: boolean;
}

type Outcome = { ok: true; r: MetricResult } | { ok: false; err: string };

async function evalWith(c: Case, accumulateAfter: number | null): Promise<Outcome> {
  rangeInternals.accumulateAfter = accumulateAfter;
  try {
    const r = await evaluateMetric(
      parseExpr(c.query) as SampleExpr,
      { startNs: c.startNs, endNs: c.endNs, stepNs: c.stepNs, instant: c.instant, maxSeries: 500 },
      new MemSource(c.entries, { blockSize: c.blockSize, shuffle: c.shuffle }),
      stubExtractors,
    );
    return { ok: true, r };
  } catch (e) {
    return { ok: false, err: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  } finally {
    rangeInternals.accumulateAfter = null;
  }
}

/** [labels, ts, value][] in result order. */
function flat(r: MetricResult): [string, number, number][] {
  if (r.type === 'vector') return r.samples.map((s) => [labelsKey(s.labels), s.tsMs, s.value]);
  if (r.type === 'matrix') return r.series.flatMap((s) => s.points.map((p): [string, number, number] => [labelsKey(s.labels), p.tsMs, p.value]));
  throw new Error(`unexpected ${r.type}`);
}

function sameValue(a: number, b: number, exact: boolean): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (exact || !Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

function compare(c: Case, slow: Outcome, fast: Outcome, exact: boolean): void {
  const what = JSON.stringify({ ...c, entries: c.entries.length }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  if (!slow.ok || !fast.ok) {
    expect(fast.ok ? 'ok' : fast.err, what).toBe(slow.ok ? 'ok' : slow.err);
    return;
  }
  expect(fast.r.type, what).toBe(slow.r.type);
  const a = flat(slow.r);
  const b = flat(fast.r);
  expect(b.length, what).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    expect(b[i]![0], what).toBe(a[i]![0]);
    expect(b[i]![1], what).toBe(a[i]![1]);
    if (!sameValue(a[i]![2], b[i]![2], exact)) expect(b[i]![2], `${what} point ${i}`).toBe(a[i]![2]);
  }
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function randomEntries(rnd: () => number, spanSec: number): MemEntry[] {
  const out: MemEntry[] = [];
  const streams = 1 + Math.floor(rnd() * 4);
  const dense = rnd() < 0.5;
  for (let s = 0; s < streams; s++) {
    const labels = { app: pick(rnd, ['a', 'b']), level: pick(rnd, ['info', 'warn', 'error']), pod: `p${s}` };
    const n = Math.floor(rnd() * (dense ? 400 : 40));
    const badRate = rnd() < 0.3 ? 0.02 : 0;
    for (let i = 0; i < n; i++) {
      // Whole seconds hit window bounds exactly; the rest are ns-precise.
      let ns = BigInt(Math.floor(rnd() * spanSec)) * SEC;
      if (rnd() < 0.5) ns += BigInt(Math.floor(rnd() * 1e9));
      const r = rnd();
      const line =
        r < badRate ? 'x=bad' : r < 0.1 ? 'no value here' : r < 0.2 ? `x=${Math.floor(rnd() * 100)}` : `x=${((rnd() - 0.3) * 10 ** Math.floor(rnd() * 6)).toString()} pad`;
      out.push({ labels, tsNs: T0 + ns, line });
    }
  }
  return out;
}

const RANGES = ['1s', '5s', '10s', '30s', '1m', '90s', '5m'];
const OFFSETS = ['', ' offset 5s', ' offset -5s', ' offset 1m', ' offset -90s', ' offset 1500ms'];
const STEPS_SEC = [1, 2, 5, 7, 15, 60, 120, 0.5];

describe('additive range aggregations: accumulator path vs sort-and-sweep', () => {
  afterEach(() => {
    rangeInternals.accumulateAfter = null;
  });

  it('matches on random layouts, ranges, steps and offsets', async () => {
    const rnd = seededRandom(20240611);
    let errors = 0;
    for (let iter = 0; iter < 400; iter++) {
      const spanSec = 30 + Math.floor(rnd() * 600);
      const entries = randomEntries(rnd, spanSec);
      if (entries.length === 0) continue;
      const range = pick(rnd, RANGES);
      const offset = pick(rnd, OFFSETS);
      const sel = pick(rnd, ['{app=~".+"}', '{app="a"}', '{level=~"info|warn"}']);
      const unwrapSel = `${sel} | unwrap x${rnd() < 0.5 ? ' | __error__=""' : ''}`;
      const inner = pick(rnd, [
        `count_over_time(${sel}[${range}]${offset})`,
        `rate(${sel}[${range}]${offset})`,
        `bytes_over_time(${sel}[${range}]${offset})`,
        `bytes_rate(${sel}[${range}]${offset})`,
        `sum_over_time(${unwrapSel} [${range}]${offset})`,
        `rate(${unwrapSel} [${range}]${offset})`,
        `count_over_time(${unwrapSel} [${range}]${offset})`,
        `sum by (level) (sum_over_time(${unwrapSel} [${range}]${offset}))`,
      ]);
      const query = pick(rnd, [inner, inner, `sum by (level) (${inner})`, `sum(${inner})`, `sum without (pod) (${inner})`]);
      const exact = !query.includes('unwrap');
      const instant = rnd() < 0.3;
      // Mostly whole seconds, so entries sit exactly on window bounds.
      const startMs = Math.floor((rnd() - 0.2) * spanSec) * 1000 + (rnd() < 0.2 ? Math.floor(rnd() * 1000) : 0);
      const startNs = T0 + BigInt(startMs) * 1_000_000n;
      const stepNs = BigInt(Math.round(pick(rnd, STEPS_SEC) * 1000)) * 1_000_000n;
      const endNs = instant ? startNs : startNs + BigInt(Math.floor(rnd() * 40)) * stepNs;
      const c: Case = { query, entries, startNs, endNs, stepNs, instant, blockSize: 1 + Math.floor(rnd() * 64), shuffle: rnd() < 0.5 };
      const slow = await evalWith(c, Infinity);
      if (!slow.ok) errors++;
      compare(c, slow, await evalWith(c, 0), exact);
      compare(c, slow, await evalWith(c, null), exact);
      compare(c, slow, await evalWith(c, 1 + Math.floor(rnd() * 50)), exact);
    }
    // The layouts exercise the pipeline-error path too.
    expect(errors).toBeGreaterThan(0);
  });
});
