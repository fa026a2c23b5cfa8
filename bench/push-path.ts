/**
 * The push path in one process, without HTTP: decode → distributor → ingester (+ WAL), on
 * pre-built protobuf+snappy bodies. Shows where the event loop spends its time per MB.
 * Usage: npx tsx bench/push-path.ts [lines=300000] [wal=1]; SILT_FSYNC=always|interval|never sets the WAL's
 * fsync policy. Reports the time requests spent decoding, in the synchronous push and waiting for the WAL.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { pino } from 'pino';
import { App } from '../src/app/app.js';
import { loadConfig } from '../src/config/config.js';
import { defaultLimits, PushDecoder } from '../src/distributor/index.js';
import { testFlags } from '../test/support/silt.js';
import { mainThreadCpuSeconds, threadCores, threadCpuSeconds, protobufBatches, tempDir, UNLIMITED } from './lib.js';

const lines = Number(process.argv[2] ?? 300_000);
const wal = (process.argv[3] ?? '1') === '1';
const streamCount = Number(process.env['SILT_STREAMS'] ?? 1000);
const { bodies, lineBytes } = protobufBatches(lines, streamCount, 1000, Date.now() - Math.ceil(lines / 2000) * 1000 - 60_000, 2000);
const dir = tempDir('silt-bench-push-');
const cfg = loadConfig(testFlags(dir, [...UNLIMITED, `-ingester.wal-enabled=${wal}`, ...(process.env['SILT_FSYNC'] ? [`-ingester.wal-fsync=${process.env['SILT_FSYNC']}`] : [])]));
const app = new App(cfg, pino({ level: 'warn' }));
await app.start();
const dist = app.distributor!;
const max = cfg.limits_config.max_push_body_size;
// As the server decodes: protobuf bodies off-thread (SILT_DECODER=inline: on the event loop), lines read for detected_level.
const decoder = new PushDecoder({ worker: process.env['SILT_DECODER'] !== 'inline' });
const levels = { fields: defaultLimits.logLevelFields, maxDepth: defaultLimits.logLevelFromJsonMaxDepth };

const phase = { decode: 0, sync: 0, push: 0 };
// A promise chain, as the server's push route: an async function would keep the decoded request
// in its suspended frame while the WAL syncs, and the garbage collector would copy it again and again.
function one(body: Buffer): Promise<void> {
  const t0 = performance.now();
  return decoder.decode(body, 'application/x-protobuf', undefined, max, levels).then((req) => {
    const t1 = performance.now();
    const pr = dist.push('fake', req);
    const t2 = performance.now();
    phase.decode += t1 - t0;
    phase.sync += t2 - t1;
    return pr.then(() => {
      phase.push += performance.now() - t2;
    });
  });
}
const warm = Math.floor(bodies.length / 10);
for (let i = 0; i < warm; i++) await one(bodies[i]!);
phase.decode = phase.sync = phase.push = 0;
// SILT_PROFILE=<file>: a CPU profile of the measured phase only (setup and warm-up excluded).
const profileTo = process.env['SILT_PROFILE'];
const session = profileTo ? new Session() : undefined;
if (session) {
  session.connect();
  await new Promise<void>((res, rej) => session.post('Profiler.enable', () => session.post('Profiler.start', (e) => (e ? rej(e) : res()))));
}
// SILT_HEAP_PROFILE=<file>: a sampling heap profile (allocations) of the measured phase.
const heapTo = process.env['SILT_HEAP_PROFILE'];
const heapSession = heapTo ? new Session() : undefined;
if (heapSession) {
  heapSession.connect();
  await new Promise<void>((res, rej) => heapSession.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (e) => (e ? rej(e) : res())));
}
const cpu0 = process.cpuUsage();
const main0 = mainThreadCpuSeconds(process.pid);
const threads0 = threadCpuSeconds(process.pid);
const t0 = performance.now();
// 8 requests in flight, as the HTTP benchmark.
let next = warm;
await Promise.all(Array.from({ length: 8 }, async () => { for (;;) { const i = next++; if (i >= bodies.length) return; await one(bodies[i]!); } }));
const sec = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const mainCpu = mainThreadCpuSeconds(process.pid) - main0;
const threads = threadCores(threads0, threadCpuSeconds(process.pid), sec);
if (session && profileTo) {
  const { profile } = await new Promise<{ profile: object }>((res, rej) => session.post('Profiler.stop', (e, r) => (e ? rej(e) : res(r as { profile: object }))));
  writeFileSync(profileTo, JSON.stringify(profile));
}
if (heapSession && heapTo) {
  const { profile } = await new Promise<{ profile: object }>((res, rej) => heapSession.post('HeapProfiler.stopSampling', (e, r) => (e ? rej(e) : res(r as { profile: object }))));
  writeFileSync(heapTo, JSON.stringify(profile));
}
const mb = (lineBytes / bodies.length) * (bodies.length - warm) / 1e6;
console.log(JSON.stringify({ bench: 'push-path', wal, mb: Number(mb.toFixed(1)), seconds: Number(sec.toFixed(2)), mb_per_s: Number((mb / sec).toFixed(1)), cpu_cores: Number(((cpu.user + cpu.system) / 1e6 / sec).toFixed(2)), mb_per_main_cpu_s: Number((mb / mainCpu).toFixed(1)), decode_ms: Math.round(phase.decode), sync_ms: Math.round(phase.sync), durable_wait_ms: Math.round(phase.push), threads }));
process.exit(0);
