/**
 * Rule evaluation load: 1,000 rules (10 groups of 100, half alerting, half recording) over
 * 1,000 streams of 60 lines each (the last minute), evaluated by a Silt child process every
 * `interval`. Each rule selects the 20 streams of one app. Reports, over `cycles` evaluation
 * cycles, the wall time of a group cycle (Prometheus' evaluationTime), the CPU the process
 * used per cycle, and whether every group was evaluated at every aligned slot.
 * Usage: npx tsx bench/ruler-eval.ts [rules=1000] [streams=1000] [interval_s=10] [cycles=3]
 */
import { stringify } from 'yaml';
import { encodePush } from '../test/support/protobuf.js';
import { seededRandom } from '../src/util/random.js';
import { cpuSeconds, percentile, post, startChild, tempDir, UNLIMITED } from './lib.js';

const RULES = Number(process.argv[2] ?? 1000);
const STREAMS = Number(process.argv[3] ?? 1000);
const INTERVAL_S = Number(process.argv[4] ?? 10);
const CYCLES = Number(process.argv[5] ?? 3);
const APPS = 50;
const PER_GROUP = 100;
const LINES_PER_STREAM = 60;

const silt = await startChild(tempDir('silt-bench-ruler-eval-'), [...UNLIMITED, `-ruler.evaluation-interval=${INTERVAL_S}s`, '-querier.max-concurrent=8']);
const rand = seededRandom(11);

// 1,000 streams, one line per second over the last minute, about 10% ERROR.
const now = Date.now();
let lines = 0;
for (let s0 = 0; s0 < STREAMS; s0 += 100) {
  const streams = [];
  for (let s = s0; s < Math.min(STREAMS, s0 + 100); s++) {
    const entries = [];
    for (let i = 0; i < LINES_PER_STREAM; i++) {
      const level = rand() < 0.1 ? 'ERROR' : 'INFO';
      entries.push({ tsNs: BigInt(now - (LINES_PER_STREAM - i) * 1000) * 1_000_000n, line: `ts=${i} level=${level} msg="request handled" stream=s${s} duration=${Math.round(rand() * 500)}ms` });
      lines++;
    }
    streams.push({ labels: `{app="app-${s % APPS}", stream="s${s}", env="prod"}`, entries });
  }
  const r = await post(`${silt.url}/loki/api/v1/push`, encodePush(streams), { 'Content-Type': 'application/x-protobuf' });
  if (r.status !== 204) throw new Error(r.body);
}

for (let g = 0; g * PER_GROUP < RULES; g++) {
  const rules = [];
  for (let j = 0; j < PER_GROUP && g * PER_GROUP + j < RULES; j++) {
    const k = g * PER_GROUP + j;
    const app = `app-${k % APPS}`;
    if (k % 2 === 0) rules.push({ alert: `Errors${k}`, expr: `sum by (stream) (count_over_time({app="${app}"} |= "ERROR" [1m])) > ${k % 7}`, labels: { severity: 'warning' } });
    else rules.push({ record: `bench:rule${k}:lines_rate1m`, expr: `sum by (app) (rate({app="${app}"} |= "request" [1m]))` });
  }
  const r = await fetch(`${silt.url}/loki/api/v1/rules/bench`, { method: 'POST', body: stringify({ name: `group-${g}`, rules }) });
  if (r.status !== 202) throw new Error(await r.text());
}

interface GroupStatus {
  name: string;
  lastEvaluation: string;
  evaluationTime: number;
  rules: { health: string; lastError: string }[];
}
const status = async (): Promise<GroupStatus[]> => ((await (await fetch(`${silt.url}/prometheus/api/v1/rules`)).json()) as { data: { groups: GroupStatus[] } }).data.groups;

// Skip the first cycle (JIT warm-up, caches), then watch CYCLES cycles.
const seen = new Map<string, Set<string>>();
const times: number[] = [];
let firstSlot = '';
let cpu0 = 0;
for (;;) {
  const gs = await status();
  const slots = new Set(gs.map((g) => g.lastEvaluation));
  if (slots.size === 1 && !slots.has('0001-01-01T00:00:00Z')) {
    const slot = gs[0]!.lastEvaluation;
    if (firstSlot === '') {
      firstSlot = slot;
      cpu0 = cpuSeconds(silt.proc.pid!);
    } else if (slot !== firstSlot && !seen.get('all')?.has(slot)) {
      seen.set('all', (seen.get('all') ?? new Set()).add(slot));
      for (const g of gs) times.push(g.evaluationTime * 1000);
      const bad = gs.flatMap((g) => g.rules).filter((r) => r.health !== 'ok');
      if (bad.length > 0) throw new Error(`${bad.length} rules failed: ${bad[0]!.lastError}`);
    }
  }
  if ((seen.get('all')?.size ?? 0) >= CYCLES) break;
  await new Promise((r) => setTimeout(r, 200));
}
const cpu = cpuSeconds(silt.proc.pid!) - cpu0;
const slots = [...seen.get('all')!].map((s) => Date.parse(s)).sort((a, b) => a - b);
const gaps = slots.slice(1).map((s, i) => (s - slots[i]!) / 1000);
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'ruler_eval',
    rules: RULES,
    groups: Math.ceil(RULES / PER_GROUP),
    streams: STREAMS,
    lines,
    interval_s: INTERVAL_S,
    cycles: CYCLES,
    slot_gaps_s: gaps,
    group_cycle_ms_p50: Math.round(percentile(times, 50)),
    group_cycle_ms_max: Math.round(times.at(-1)!),
    cpu_s_per_cycle: Number((cpu / CYCLES).toFixed(2)),
    within_interval: times.at(-1)! < INTERVAL_S * 1000 && gaps.every((g) => g === INTERVAL_S),
  }),
);
silt.proc.kill('SIGKILL');
await silt.exited;
process.exit(0);
