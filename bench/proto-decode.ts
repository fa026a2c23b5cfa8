/**
 * The protobuf push decoders in-process, on generator entries in bodies of 1000 entries: Loki's
 * PushRequest (decodePushRequestProto, the ingest hot path) and OTLP logs (decodeOtlpLogsProto).
 * Reports CPU ns per entry (process user + system time, steadier than wall time on a shared
 * machine) and MB/s of uncompressed body, min and median over the runs.
 *
 * Usage: node --single-threaded-gc --no-allocation-site-pretenuring --import tsx bench/proto-decode.ts [lines=100000] [runs=5] [baseline-dir]
 * `--single-threaded-gc` keeps GC helper threads out of the CPU time. Without
 * `--no-allocation-site-pretenuring`, V8 now and then pretenures a decoder's output objects
 * (they survive a scavenge mid-body), which makes that decoder several times slower for the
 * rest of the process whatever its code: useless for comparing two versions. `npx tsx` works too.
 *
 * With `baseline-dir` (a directory holding other versions of src/distributor/decode-proto.ts and
 * decode-otlp.ts, their imports made absolute), each run times the baseline and then the current
 * decoders, alternating which goes first, and both are reported.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeOtlpLogsProto } from '../src/distributor/decode-otlp.js';
import { decodePushRequestProto } from '../src/distributor/decode-proto.js';
import { ProtoWriter } from '../src/util/protobuf.js';
import { genEntries, toStreams } from '../test/support/genlogs.js';
import { encodePushRaw, labelString } from '../test/support/protobuf.js';

const lines = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 5);
const baselineDir = process.argv[4];
const BATCH = 1000;

const entries = genEntries({ lines, streams: 1000, startMs: 1_704_067_200_000 });

/** A fixed64 field. */
function fixed64Field(w: ProtoWriter, field: number, v: bigint): void {
  w.tag(field, 1);
  w.ensure(8);
  w.buf.writeBigUInt64LE(v, w.length);
  w.length += 8;
}

/** An OTLP ExportLogsServiceRequest as collectors send it: a ResourceLogs per stream. */
function encodeOtlp(streams: ReturnType<typeof toStreams>): Buffer {
  const w = new ProtoWriter(1 << 20);
  for (const s of streams) {
    w.begin(1, 256 + s.values.length * 200); // ResourceLogs
    w.begin(1, 200); // Resource
    for (const [k, v] of Object.entries(s.stream)) {
      w.begin(1, k.length + v.length + 8); // KeyValue
      w.stringField(1, k);
      w.begin(2, v.length + 2); // AnyValue
      w.stringField(1, v);
      w.end();
      w.end();
    }
    w.end();
    w.begin(2, s.values.length * 200); // ScopeLogs
    w.begin(1, 16); // InstrumentationScope
    w.stringField(1, 'bench');
    w.end();
    for (const [ts, line] of s.values) {
      w.begin(2, line.length + 64); // LogRecord
      fixed64Field(w, 1, BigInt(ts)); // time_unix_nano
      w.uintField(2, 9); // severity_number INFO
      w.stringField(3, 'INFO');
      w.begin(5, line.length + 4); // body
      w.stringField(1, line);
      w.end();
      fixed64Field(w, 11, BigInt(ts) + 1000n); // observed_time_unix_nano
      w.end();
    }
    w.end();
    w.end();
  }
  return w.finish();
}

const pushBodies: Buffer[] = [];
const otlpBodies: Buffer[] = [];
for (let i = 0; i < entries.length; i += BATCH) {
  const streams = toStreams(entries.slice(i, i + BATCH));
  pushBodies.push(encodePushRaw(streams.map((s) => ({ labels: labelString(s.stream), entries: s.values.map(([ts, line]) => ({ tsNs: BigInt(ts), line })) }))));
  otlpBodies.push(encodeOtlp(streams));
}
const mb = (bodies: Buffer[]): number => bodies.reduce((n, b) => n + b.length, 0) / 1e6;

interface Decoders {
  push: (b: Buffer) => unknown;
  otlp: (b: Buffer) => unknown;
}
const current: Decoders = { push: decodePushRequestProto, otlp: decodeOtlpLogsProto };
let baseline: Decoders | null = null;
if (baselineDir !== undefined) {
  const p = (await import(pathToFileURL(path.resolve(baselineDir, 'decode-proto.ts')).href)) as { decodePushRequestProto: Decoders['push'] };
  const o = (await import(pathToFileURL(path.resolve(baselineDir, 'decode-otlp.ts')).href)) as { decodeOtlpLogsProto: Decoders['otlp'] };
  baseline = { push: p.decodePushRequestProto, otlp: o.decodeOtlpLogsProto };
}

let sink = 0;
type Loop = (bodies: Buffer[], decode: (b: Buffer) => unknown, reps: number) => number;
/**
 * A timing loop of its own per decoder: V8 inlines the decoder into a hot loop, and one loop
 * shared by two decoders would make one of them a polymorphic call (and the pair unfair).
 */
function newLoop(): Loop {
  return new Function('bodies', 'decode', 'reps', 'let n = 0; for (let r = 0; r < reps; r++) for (let i = 0; i < bodies.length; i++) if (decode(bodies[i]) !== null) n++; return n;') as Loop;
}
const loops = new Map<unknown, Loop>();

/** CPU ns per entry of one pass over all bodies (each body decoded `reps` times). */
function time(kind: 'push' | 'otlp', d: Decoders, reps: number): number {
  const decode = kind === 'push' ? d.push : d.otlp;
  let loop = loops.get(decode);
  if (loop === undefined) loops.set(decode, (loop = newLoop()));
  const t0 = process.cpuUsage();
  sink += loop(kind === 'push' ? pushBodies : otlpBodies, decode, reps);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / (reps * entries.length);
}

const variants: [string, Decoders][] = baseline === null ? [['current', current]] : [['baseline', baseline], ['current', current]];
const samples = new Map<string, number[]>();
const REPS = 3;
// Warm-up: let each decoder reach its optimised code before timing.
for (const [, d] of variants) for (const k of ['push', 'otlp'] as const) time(k, d, 1);
for (let run = 0; run < runs; run++) {
  const order = run % 2 === 0 ? variants : [...variants].reverse();
  for (const k of ['push', 'otlp'] as const) {
    for (const [name, d] of order) {
      const key = `${k}:${name}`;
      const list = samples.get(key) ?? [];
      list.push(time(k, d, REPS));
      samples.set(key, list);
    }
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result: Record<string, unknown> = {};
for (const [key, xs] of samples) {
  const kind = key.startsWith('push') ? 'push' : 'otlp';
  const bytesPerEntry = (mb(kind === 'push' ? pushBodies : otlpBodies) * 1e6) / entries.length;
  const min = Math.min(...xs);
  result[key] = {
    ns_per_entry_min: Number(min.toFixed(1)),
    ns_per_entry_median: Number(median(xs).toFixed(1)),
    mb_per_s_best: Number(((bytesPerEntry / min) * 1e3).toFixed(0)),
  };
}
console.log(JSON.stringify({ bench: 'proto-decode', lines: entries.length, runs, push_mb: Number(mb(pushBodies).toFixed(1)), otlp_mb: Number(mb(otlpBodies).toFixed(1)), ...result, sink: sink > 0 }));
