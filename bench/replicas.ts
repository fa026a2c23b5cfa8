/**
 * Stored bytes with replication (issue #19 §4): the same generator pushes go to 1 ingester, and
 * to 3 ingesters sharing one object store (as a distributor with replication_factor 3 sends
 * them), and the chunk bytes in the store are compared. Each replica has its own wall clock
 * (entry time plus a few ms of network skew) and runs its flush loop at its own phase, as
 * separate processes would.
 * Usage: npx tsx bench/replicas.ts [lines=250000] [streams=1000] [rate=1000] [sealer=worker]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sharedBlockSealer } from '../src/chunk/index.js';
import { defaultConfig } from '../src/config/config.js';
import { Ingester } from '../src/ingester/ingester.js';
import { fingerprint, labelsFromObject, labelsToString, type ValidStream } from '../src/model/index.js';
import { ChunkStore, IndexWriter, MemoryObjectClient } from '../src/storage/index.js';
import { GENLOGS } from '../test/support/genlogs.js';
import { tempDir } from '../test/support/silt.js';

const lines = Number(process.argv[2] ?? 250_000);
const streams = Number(process.argv[3] ?? 1000);
const rate = Number(process.argv[4] ?? 1000);
const sealer = (process.argv[5] ?? 'worker') as 'worker' | 'inline';
const TENANT = 'fake';
const FLUSH_CHECK_MS = 30_000;

const file = path.join(tempDir('silt-bench-replicas-'), 'push.jsonl');
execFileSync(process.execPath, [GENLOGS, '--format', 'loki-json', '--lines', String(lines), '--streams', String(streams), '--batch', '1000', '--start', '1704067200000', '--rate', String(rate), '--out', file], { stdio: 'ignore' });
const batches: { streams: ValidStream[]; newestMs: number }[] = [];
let lineBytes = 0;
for (const doc of readFileSync(file, 'utf8').split('\n')) {
  if (doc === '') continue;
  const req = JSON.parse(doc) as { streams: { stream: Record<string, string>; values: [string, string][] }[] };
  let newest = 0n;
  const vs = req.streams.map((s) => {
    const labels = labelsFromObject(s.stream);
    return {
      labels,
      labelsString: labelsToString(labels),
      fingerprint: fingerprint(labels),
      entries: s.values.map(([ts, line]) => {
        const tsNs = BigInt(ts);
        if (tsNs > newest) newest = tsNs;
        lineBytes += Buffer.byteLength(line);
        return { tsNs, line: Buffer.from(line), metadata: [] };
      }),
    };
  });
  batches.push({ streams: vs, newestMs: Number(newest / 1_000_000n) });
}
rmSync(file);

/** Pushes every batch to `replicas` ingesters sharing one store; returns the store's chunk and index bytes. */
async function run(replicas: number): Promise<{ chunks: number; chunkBytes: number; indexBytes: number }> {
  const objects = new MemoryObjectClient();
  const base = defaultConfig();
  const limits = { ...base.limits_config, per_stream_rate_limit: 0, max_streams_per_user: 0, max_global_streams_per_user: 0 };
  const reps = [];
  for (let k = 0; k < replicas; k++) {
    const chunks = new ChunkStore(objects);
    const index = new IndexWriter(objects, `ingester-${k}`);
    const clock = { nowMs: 0 };
    const ing = new Ingester({
      cfg: { ...base.ingester, block_sealer: sealer, flush_check_period: 3600_000, wal: { ...base.ingester.wal, enabled: false } },
      limits: () => limits,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      nowMs: () => clock.nowMs,
      sink: { putChunk: (ref, bytes) => chunks.put(ref, bytes), writeIndex: (t, s, r) => index.writeSegments(t, s, r) },
    });
    await ing.start();
    // Network skew of a few ms, flush loop at its own phase.
    reps.push({ ing, clock, skewMs: 3 * k, nextFlushMs: 0, phaseMs: (FLUSH_CHECK_MS / replicas) * k });
  }
  for (const b of batches) {
    for (const r of reps) {
      r.clock.nowMs = b.newestMs + r.skewMs;
      if (r.nextFlushMs === 0) r.nextFlushMs = r.clock.nowMs + r.phaseMs;
      await r.ing.push(TENANT, b.streams);
      if (r.clock.nowMs >= r.nextFlushMs) {
        await r.ing.flushNow(false);
        r.nextFlushMs += FLUSH_CHECK_MS;
      }
    }
  }
  // Quiet: every replica's idle flush, then shutdown.
  for (const r of reps) {
    r.clock.nowMs += 31 * 60_000;
    await r.ing.flushNow(false);
    await r.ing.stop(10_000);
  }
  const c = await objects.list(`${TENANT}/chunks/`);
  const i = await objects.list('index/');
  return { chunks: c.objects.length, chunkBytes: c.objects.reduce((a, o) => a + o.sizeBytes, 0), indexBytes: i.objects.reduce((a, o) => a + o.sizeBytes, 0) };
}

const one = await run(1);
const three = await run(3);
await sharedBlockSealer().close();
const mb = (n: number): string => (n / 1e6).toFixed(2);
const spanH = (batches[batches.length - 1]!.newestMs - batches[0]!.newestMs) / 3600_000;
console.log(`data: ${lines} entries, ${streams} streams, ${mb(lineBytes)} MB of line text over ${spanH.toFixed(1)} h of entry time; sealer ${sealer}`);
console.log(`RF=1: ${one.chunks} chunks, ${mb(one.chunkBytes)} MB; index ${mb(one.indexBytes)} MB`);
console.log(`RF=3: ${three.chunks} chunks, ${mb(three.chunkBytes)} MB; index ${mb(three.indexBytes)} MB`);
console.log(`chunk bytes RF=3 / RF=1: ${(three.chunkBytes / one.chunkBytes).toFixed(3)}; with index: ${((three.chunkBytes + three.indexBytes) / (one.chunkBytes + one.indexBytes)).toFixed(3)}`);
