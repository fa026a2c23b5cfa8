/**
 * Compactor figure (issue #4 item 5): one UTC day of generator data, flushed the way the
 * ingester flushes low-volume streams (a chunk per stream every max_chunk_age = 2h, or after
 * chunk_idle_period = 30m of silence, or when full at 1.5 MiB; one index segment per 30 s
 * flush cycle that flushed anything), stored on the filesystem object client. Then one
 * compactor run (index compaction + small-chunk merging). Prints chunks per GB of log text
 * before and after, and the run time.
 *
 *   npx tsx bench/compactor.ts [lines=1000000] [streams=200]
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { crc32 } from '../src/util/crc32.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { MemChunk } from '../src/chunk/index.js';
import { Compactor, DeleteRequestsStore, listTables } from '../src/compactor/index.js';
import { loadTable } from '../src/compactor/markers.js';
import { defaultConfig } from '../src/config/config.js';
import { fingerprint, labelsFromObject, sortLabels, type Labels } from '../src/model/index.js';
import { ChunkStore, FilesystemObjectClient, IndexWriter, type ChunkRef } from '../src/storage/index.js';
import { GENLOGS } from '../test/support/genlogs.js';
import { tempDir } from './lib.js';

const lines = Number(process.argv[2] ?? 1_000_000);
const streams = Number(process.argv[3] ?? 200);
const DAY_MS = 86_400_000;
const dayStartMs = Math.floor((Date.now() - 3 * DAY_MS) / DAY_MS) * DAY_MS;
const cfg = defaultConfig();
const MAX_AGE_NS = BigInt(cfg.ingester.max_chunk_age) * 1_000_000n;
const IDLE_NS = BigInt(cfg.ingester.chunk_idle_period) * 1_000_000n;
const CYCLE_NS = BigInt(cfg.ingester.flush_check_period) * 1_000_000n;

const dir = tempDir('silt-bench-compactor-');
const jsonl = path.join(dir, 'day.jsonl');
execFileSync(process.execPath, [GENLOGS, '--format', 'jsonl', '--lines', String(lines), '--streams', String(streams), '--start', String(dayStartMs + 1000), '--rate', String(lines / 86_000), '--out', jsonl], { stdio: 'ignore' });

const client = new FilesystemObjectClient(path.join(dir, 'store'));
const store = new ChunkStore(client, { cacheBytes: 0 });
const writer = new IndexWriter(client, 'ingester-1');
const opts = { codec: 'snappy' as const, blockSizeBytes: cfg.ingester.chunk_block_size, targetSizeBytes: cfg.ingester.chunk_target_size };

interface Open {
  labels: Labels;
  fp: string;
  chunk: MemChunk;
  firstNs: bigint;
  lastNs: bigint;
}
const open = new Map<string, Open>();
/** Chunks cut per flush cycle, written as one segment per cycle. */
let pending: { ref: ChunkRef; labels: Labels; bytes: Buffer }[] = [];
let cycle = -1n;
let rawBytes = 0;
let entries = 0;
let chunksBefore = 0;
let storedBefore = 0;
let segmentsBefore = 0;

async function writeCycle(): Promise<void> {
  if (pending.length === 0) return;
  for (const p of pending) await store.put(p.ref, p.bytes);
  const series = new Map<string, Labels>();
  for (const p of pending) series.set(p.ref.fingerprint, p.labels);
  await writer.writeSegments('bench', [...series].map(([fingerprint, labels]) => ({ fingerprint, labels })), pending.map((p) => p.ref));
  segmentsBefore++;
  pending = [];
}

function cut(o: Open): void {
  const bytes = o.chunk.encode();
  const ref: ChunkRef = { tenant: 'bench', fingerprint: o.fp, fromNs: o.chunk.minTsNs(), throughNs: o.chunk.maxTsNs(), checksum: crc32(bytes), sizeBytes: bytes.length, entries: o.chunk.entries(), uncompressedBytes: o.chunk.uncompressedBytes() };
  pending.push({ ref, labels: o.labels, bytes });
  chunksBefore++;
  storedBefore += bytes.length;
  open.delete(o.fp);
}

const t0 = performance.now();
const rl = createInterface({ input: createReadStream(jsonl), crlfDelay: Infinity });
for await (const l of rl) {
  if (l === '') continue;
  const e = JSON.parse(l) as { labels: Record<string, string>; ts_ns: string; line: string };
  const ts = BigInt(e.ts_ns);
  const c = ts / CYCLE_NS;
  if (c !== cycle) {
    // A flush cycle: cut chunks that are old or idle, then write what was cut.
    for (const o of [...open.values()]) if (ts - o.firstNs >= MAX_AGE_NS || ts - o.lastNs >= IDLE_NS) cut(o);
    await writeCycle();
    cycle = c;
  }
  const labels = sortLabels(labelsFromObject(e.labels));
  const fp = fingerprint(labels);
  let o = open.get(fp);
  if (o === undefined) open.set(fp, (o = { labels, fp, chunk: new MemChunk(opts), firstNs: ts, lastNs: ts }));
  const line = Buffer.from(e.line);
  o.chunk.append(ts, line, []);
  o.lastNs = ts;
  rawBytes += line.length;
  entries++;
  if (o.chunk.isFull()) cut(o);
}
for (const o of [...open.values()]) cut(o);
await writeCycle();
const buildS = (performance.now() - t0) / 1000;

const compactor = new Compactor({
  cfg: cfg.compactor,
  ingester: cfg.ingester,
  limits: () => cfg.limits_config,
  client,
  deleteRequests: new DeleteRequestsStore(client),
  logger: pino({ level: 'silent' }),
  registry: new Registry(),
});
const run = await compactor.runOnce();

let chunksAfter = 0;
let storedAfter = 0;
let entriesAfter = 0;
let segmentsAfter = 0;
for (const t of await listTables(client)) {
  const { all, live } = await loadTable(client, t.tenant, t.day);
  segmentsAfter += all.length;
  for (const seg of live) {
    for (let i = 0; i < seg.seriesCount; i++) {
      for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) {
        // A chunk crossing midnight is listed by both days: count it once, in its first day.
        if (Number(seg.fromNs[j]! / 86_400_000_000_000n) !== seg.day) continue;
        chunksAfter++;
        storedAfter += seg.chunkSizeBytes[j]!;
        entriesAfter += seg.entries[j]!;
      }
    }
  }
}
const gb = rawBytes / 1e9;
const result = {
  bench: 'compactor',
  date: new Date().toISOString().slice(0, 10),
  lines: entries,
  streams,
  rawMB: +(rawBytes / 1e6).toFixed(1),
  build: { seconds: +buildS.toFixed(1), segments: segmentsBefore },
  before: { chunks: chunksBefore, chunksPerGB: Math.round(chunksBefore / gb), storedMB: +(storedBefore / 1e6).toFixed(2), avgChunkKB: +(storedBefore / chunksBefore / 1024).toFixed(1) },
  after: { chunks: chunksAfter, chunksPerGB: Math.round(chunksAfter / gb), storedMB: +(storedAfter / 1e6).toFixed(2), avgChunkKB: +(storedAfter / chunksAfter / 1024).toFixed(1), segments: segmentsAfter, entries: entriesAfter },
  compaction: { seconds: +(run.durationMs / 1000).toFixed(2), tables: run.tables, merged: run.totals.merged, mergedInto: run.totals.mergedInto, marked: run.totals.marked },
};
console.log(JSON.stringify(result));
if (entriesAfter !== entries) {
  console.error(`entry count changed: ${entries} → ${entriesAfter}`);
  process.exit(1);
}
rmSync(dir, { recursive: true, force: true });
