/**
 * `/patterns`: Drain clusters over every line of the range, one Drain per level as Loki's
 * pattern ingester keeps, with per-step line counts.
 */
import { InvalidError } from '../../errors.js';
import { compilePipeline } from '../../logql/log/index.js';
import { compileTemplate } from '../../logql/template/index.js';
import { parseExpr } from '../../logql/syntax/index.js';
import { Drain } from './drain.js';
import { detectLevel } from './level.js';
import type { DrilldownSource } from './types.js';

export interface PatternsRequest {
  tenant: string;
  query: string;
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
}

export interface PatternSeries {
  pattern: string;
  level: string;
  /** [unix seconds of the step's start, lines] in time order. */
  samples: [number, number][];
}

const NS_PER_MS = 1_000_000n;

export async function detectPatterns(src: DrilldownSource, req: PatternsRequest): Promise<PatternSeries[]> {
  const expr = parseExpr(req.query);
  if (expr.kind !== 'logSelector') throw new InvalidError('only log queries (a stream selector and a pipeline) are supported');
  if (req.stepNs <= 0n) throw new InvalidError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((req.endNs - req.startNs) / req.stepNs > 11_000n) {
    throw new InvalidError('exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter');
  }
  const pipeline = compilePipeline(expr, { template: compileTemplate, prefiltered: true });
  const stepMs = Number(req.stepNs / NS_PER_MS) || 1;
  const drains = new Map<string, Drain<Map<number, number>>>();
  await src.scanSelector(req.tenant, expr, req.startNs, req.endNs, (v) => {
    const { block, lo, hi, sel } = v;
    const sp = pipeline.noop ? null : pipeline.forStream(v.labels);
    const baseMs = Number(block.baseNs / NS_PER_MS);
    const baseRem = Number(block.baseNs % NS_PER_MS);
    for (let i = lo; i < hi; i++) {
      if (sel[i] !== 1) continue;
      let line = block.lines.subarray(block.lineOffsets[i]!, block.lineOffsets[i + 1]!);
      const md = block.metadata(i);
      if (sp) {
        const out = sp.process(block.baseNs + BigInt(block.tsRel[i]!), line, md);
        if (!out) continue;
        line = out.line;
      }
      const text = line.toString('utf8');
      const level = detectLevel(v.labels, md, text);
      let d = drains.get(level);
      if (!d) drains.set(level, (d = new Drain(() => new Map<number, number>())));
      const c = d.train(text);
      if (!c) continue;
      const ms = baseMs + Math.floor((baseRem + block.tsRel[i]!) / 1e6);
      const bucket = ms - (((ms % stepMs) + stepMs) % stepMs);
      c.data.set(bucket, (c.data.get(bucket) ?? 0) + 1);
    }
  });
  const out: (PatternSeries & { total: number })[] = [];
  for (const [level, d] of drains) {
    // Two clusters can end with the same template: their samples are summed.
    const byPattern = new Map<string, Map<number, number>>();
    for (const c of d.all()) {
      const p = c.pattern();
      let m = byPattern.get(p);
      if (!m) byPattern.set(p, (m = new Map()));
      for (const [t, n] of c.data) m.set(t, (m.get(t) ?? 0) + n);
    }
    for (const [pattern, m] of byPattern) {
      const samples = [...m].sort((a, b) => a[0] - b[0]).map(([t, n]): [number, number] => [Math.floor(t / 1000), n]);
      out.push({ pattern, level, samples, total: samples.reduce((a, s) => a + s[1], 0) });
    }
  }
  out.sort((a, b) => b.total - a.total || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
  return out.map(({ pattern, level, samples }) => ({ pattern, level, samples }));
}
