/**
 * SelectStreams in process vs over gRPC: an Ingester (default chunk settings, snappy, no WAL)
 * holds N generator entries (with `detected_level` metadata, as the distributor adds it); the querier-side call is timed through LocalIngesterClient and
 * through GrpcIngesterClient → server on 127.0.0.1 → LocalIngesterClient (same process, so
 * both sides' CPU counts), with head blocks sent raw and snappy-compressed. "select" is the
 * call alone (for gRPC: server encode, transfer, client decode of chunk metas and heads);
 * "select+read" also decompresses every cut block and walks every entry, as a query would.
 * Bytes on the wire are the SelectStreams messages' sizes (before HTTP/2 framing); encode and
 * decode are the codec alone (best run). Variants run interleaved; other figures are medians.
 * Usage: npx tsx bench/grpc-select.ts [entries=100000] [streams=20] [runs=7]
 */
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { Registry } from 'prom-client';
import { defaultConfig } from '../src/config/config.js';
import type { MemStream } from '../src/ingester/client.js';
import { GrpcIngesterClient } from '../src/ingester/grpc/client.js';
import { serveIngester } from '../src/ingester/grpc/testing.js';
import { decodeSelectStreamsResponse, MemStreamEncoder } from '../src/ingester/grpc/wire.js';
import { Ingester } from '../src/ingester/ingester.js';
import { LocalIngesterClient } from '../src/ingester/local-client.js';
import { fingerprint, labelsToString, sortLabels, type PushEntry, type StructuredMetadata, type ValidStream } from '../src/model/index.js';
import { GENLOGS } from '../test/support/genlogs.js';

const entries = Number(process.argv[2] ?? 100_000);
const streamCount = Number(process.argv[3] ?? 20);
const runs = Number(process.argv[4] ?? 7);

// Generator entries from one hour ago on (1000 lines/s), grouped into streams.
const startMs = Date.now() - 3_600_000;
const out = execFileSync(process.execPath, [GENLOGS, '--format', 'jsonl', '--lines', String(entries), '--streams', String(streamCount), '--seed', '1', '--start', String(startMs), '--rate', '1000'], {
  maxBuffer: 1 << 30,
  stdio: ['ignore', 'pipe', 'ignore'],
}).toString('utf8');
const byKey = new Map<string, ValidStream>();
const LEVELS = new Map<string, StructuredMetadata>();
let textBytes = 0;
for (const l of out.split('\n')) {
  if (l === '') continue;
  const o = JSON.parse(l) as { labels: Record<string, string>; ts_ns: string; line: string; structured_metadata?: Record<string, string> };
  const labels = sortLabels(Object.entries(o.labels).map(([name, value]) => ({ name, value })));
  const key = labelsToString(labels);
  let s = byKey.get(key);
  if (s === undefined) byKey.set(key, (s = { labels, labelsString: key, fingerprint: fingerprint(labels), entries: [] }));
  const line = Buffer.from(o.line);
  textBytes += line.length;
  // As the distributor sends them: every entry carries detected_level (shared frozen arrays).
  const level = /level=(\w+)/.exec(o.line)?.[1] ?? 'unknown';
  let md = LEVELS.get(level);
  if (md === undefined) LEVELS.set(level, (md = Object.freeze([{ name: 'detected_level', value: level }])));
  s.entries.push({ tsNs: BigInt(o.ts_ns), line, metadata: md } satisfies PushEntry);
}

const base = defaultConfig();
const ingester = new Ingester({
  cfg: { ...base.ingester, block_sealer: 'inline', flush_check_period: 3_600_000, wal: { ...base.ingester.wal, enabled: false } },
  limits: () => ({ ...base.limits_config, per_stream_rate_limit: 1 << 30, per_stream_rate_limit_burst: 1 << 30, max_global_streams_per_user: 0 }),
  sink: { putChunk: () => Promise.resolve(), writeIndex: () => Promise.resolve() },
  logger: pino({ level: 'silent' }),
  registry: new Registry(),
});
await ingester.start();
const local = new LocalIngesterClient(ingester, 'bench');
const all = [...byKey.values()];
for (let i = 0; i < all.length; i += 10) await local.push('t', all.slice(i, i + 10));

const FROM = 0n;
const THROUGH = BigInt(Date.now() + 60_000) * 1_000_000n;

/** Reads every entry of a snapshot (cut blocks decompressed, head walked); returns the count. */
function readAll(streams: MemStream[]): number {
  let n = 0;
  for (const s of streams)
    for (const c of s.chunks) {
      if (c.cut !== null) for (let i = 0; i < c.cut.blockMetas().length; i++) n += c.cut.readBlock(i).n;
      if (c.head !== null) n += c.head.n;
    }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.floor(s.length / 2)]!.toFixed(1));
}

const snapshot = await local.selectStreams('t', [], FROM, THROUGH);
let cutEntries = 0;
let headEntries = 0;
let chunks = 0;
for (const s of snapshot)
  for (const c of s.chunks) {
    chunks++;
    cutEntries += c.cut?.entries() ?? 0;
    headEntries += c.head?.n ?? 0;
  }

/** One way to take the snapshot, and its samples. */
interface Variant {
  name: string;
  select: () => Promise<MemStream[]>;
  samples: { selectMs: number[]; selectCpuMs: number[]; selectReadMs: number[]; selectReadCpuMs: number[] };
  extra: Record<string, number>;
  close: () => Promise<void>;
}
const variants: Variant[] = [];
const samples = (): Variant['samples'] => ({ selectMs: [], selectCpuMs: [], selectReadMs: [], selectReadCpuMs: [] });
variants.push({ name: 'local', select: () => local.selectStreams('t', [], FROM, THROUGH), samples: samples(), extra: {}, close: () => Promise.resolve() });
for (const headCodec of ['none', 'snappy'] as const) {
  // The codec alone, without the transport: encode (server side) and decode (client side).
  const enc: number[] = [];
  const dec: number[] = [];
  let wire = 0;
  let messages = 0;
  for (let r = 0; r < runs + 2; r++) {
    const msgs: Buffer[] = [];
    let c0 = process.cpuUsage();
    new MemStreamEncoder({ headCodec, batchBytes: 1 << 20 }).encode(snapshot, (m) => msgs.push(m));
    let c = process.cpuUsage(c0);
    if (r >= 2) enc.push((c.user + c.system) / 1000);
    c0 = process.cpuUsage();
    for (const m of msgs) decodeSelectStreamsResponse(m);
    c = process.cpuUsage(c0);
    if (r >= 2) dec.push((c.user + c.system) / 1000);
    wire = msgs.reduce((n, m) => n + m.length, 0);
    messages = msgs.length;
  }
  const served = await serveIngester(local, { headCodec });
  const client = new GrpcIngesterClient(served.address, { timeoutMs: 60_000 });
  variants.push({
    name: `grpc_head_${headCodec}`,
    select: () => client.selectStreams('t', [], FROM, THROUGH),
    samples: samples(),
    // The codec's best run: back-to-back runs of it mostly measure the garbage of the previous one.
    extra: { encodeCpuMsMin: Number(Math.min(...enc).toFixed(1)), decodeCpuMsMin: Number(Math.min(...dec).toFixed(1)), wireMB: Number((wire / 1e6).toFixed(2)), messages },
    close: async () => {
      client.close();
      await served.close();
    },
  });
}

// Runs interleaved, so load from other processes on the host hits every variant alike. Wall
// and process CPU time (user + system, both ends of the call included) per call.
let readEntries = 0;
for (let r = 0; r < runs + 2; r++) {
  for (const v of variants) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await v.select();
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    readEntries = readAll(s);
    const t2 = performance.now();
    const c2 = process.cpuUsage(c0);
    if (r < 2) continue;
    v.samples.selectMs.push(t1 - t0);
    v.samples.selectCpuMs.push((c1.user + c1.system) / 1000);
    v.samples.selectReadMs.push(t2 - t0);
    v.samples.selectReadCpuMs.push((c2.user + c2.system) / 1000);
  }
}

const results: Record<string, unknown> = { entries: readEntries, streams: snapshot.length, chunks, cutEntries, headEntries, textMB: Number((textBytes / 1e6).toFixed(1)) };
for (const v of variants) {
  results[v.name] = { ...Object.fromEntries(Object.entries(v.samples).map(([k, xs]) => [k, median(xs)])), ...v.extra };
  await v.close();
}
console.log(JSON.stringify(results));
await ingester.stop(1000);
