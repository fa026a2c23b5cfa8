/**
 * Builds a Silt store full of generator data for query benchmarks: generates N entries
 * (jsonl, plus an optional raw twin), ingests them straight into an in-process ingester
 * (WAL off; the HTTP path has its own benchmark) and flushes once, so chunks are cut by size
 * as in steady operation. The data ends 30 minutes ago; with query_ingesters_within=1s only
 * stored chunks are read.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { App } from '../src/app/app.js';
import { loadConfig } from '../src/config/config.js';
import { fingerprint, labelsFromObject, labelsToString, type ValidStream } from '../src/model/index.js';
import { GENLOGS } from '../test/support/genlogs.js';
import { tempDir } from './lib.js';

export interface StoreFixture {
  app: App;
  dir: string;
  /** Raw text twin for grep-style comparisons ('' when not asked for). */
  rawFile: string;
  entries: number;
  firstNs: bigint;
  lastNs: bigint;
  ingestSeconds: number;
  chunkBytes: number;
  indexBytes: number;
}

function sizeOf(p: string): number {
  let total = 0;
  for (const f of readdirSync(p, { withFileTypes: true, recursive: true })) if (f.isFile()) total += statSync(path.join(f.parentPath ?? f.path, f.name)).size;
  return total;
}

/**
 * `extraFlags` are appended to the config flags (e.g. S3 storage from `s3Flags`); chunk and
 * index sizes are then measured by listing the object store instead of the chunk directory.
 */
export async function buildStore(lines: number, opts: { codec?: string | undefined; raw?: boolean; name?: string; blockCache?: string; extraFlags?: string[] } = {}): Promise<StoreFixture> {
  const dir = tempDir(`silt-bench-${opts.name ?? 'store'}-`);
  const rawFile = opts.raw ? path.join(dir, 'logs.raw') : '';
  const jsonFile = path.join(dir, 'logs.jsonl');
  // The generator's default rate (1000 entries/s over 1000 streams): 5.3M entries span ~1.5h,
  // so each stream fills about one chunk, as a busy cluster's streams do.
  const rate = 1000;
  const startMs = Date.now() - Math.ceil(lines / rate) * 1000 - 30 * 60_000;
  const gen = (format: string, out: string): void => {
    execFileSync(process.execPath, [GENLOGS, '--format', format, '--lines', String(lines), '--streams', '1000', '--start', String(startMs), '--rate', String(rate), '--out', out], { stdio: 'ignore' });
  };
  if (rawFile) gen('raw', rawFile);
  gen('jsonl', jsonFile);
  const cfg = loadConfig([
    `-common.path-prefix=${dir}`,
    '-server.http-listen-address=127.0.0.1',
    '-server.http-listen-port=0',
    '-ingester.wal-enabled=false',
    // No codec given: Silt's default (ingester.chunk_encoding).
    ...(opts.codec === undefined ? [] : [`-ingester.chunk-encoding=${opts.codec}`]),
    '-ingester.max-global-streams-per-user=0',
    '-store.chunks-cache-size=4GiB',
    `-querier.block-cache-size=${opts.blockCache ?? '6GiB'}`,
    '-querier.query-ingesters-within=1s',
    '-validation.max-entries-limit=1000000',
    '-querier.max-query-series=100000',
    '-log.level=warn',
    // Benchmarks call app.querier in process: no querier threads (bench/threads.ts measures them).
    '-querier.threads=0',
    ...(opts.extraFlags ?? []),
  ]);
  const app = new App(cfg, pino({ level: 'warn' }));
  await app.start();
  const ing = app.ingester!;
  const t0 = performance.now();
  const rl = createInterface({ input: createReadStream(jsonFile), crlfDelay: Infinity });
  const byStream = new Map<string, ValidStream>();
  let n = 0;
  let firstNs = -1n;
  let lastNs = 0n;
  const pushBatch = async (): Promise<void> => {
    await ing.push('fake', [...byStream.values()]);
    byStream.clear();
  };
  for await (const l of rl) {
    const o = JSON.parse(l) as { labels: Record<string, string>; ts_ns: string; line: string };
    const key = JSON.stringify(o.labels);
    let s = byStream.get(key);
    if (!s) {
      const labels = labelsFromObject(o.labels);
      byStream.set(key, (s = { labels, labelsString: labelsToString(labels), fingerprint: fingerprint(labels), entries: [] }));
    }
    const ts = BigInt(o.ts_ns);
    if (firstNs < 0n) firstNs = ts;
    if (ts > lastNs) lastNs = ts;
    s.entries.push({ tsNs: ts, line: Buffer.from(o.line), metadata: [] });
    if (++n % 10_000 === 0) await pushBatch();
  }
  await pushBatch();
  await ing.flushNow(true);
  const ingestSeconds = (performance.now() - t0) / 1000;
  if (cfg.storage_config.object_store !== 'filesystem') {
    let indexBytes = 0;
    let chunkBytes = 0;
    for (const o of (await app.objects.list('')).objects) {
      if (o.key.startsWith('index/')) indexBytes += o.sizeBytes;
      else chunkBytes += o.sizeBytes;
    }
    return { app, dir, rawFile, entries: n, firstNs, lastNs, ingestSeconds, chunkBytes, indexBytes };
  }
  const chunksDir = cfg.storage_config.filesystem.directory;
  const indexBytes = sizeOf(path.join(chunksDir, 'index'));
  return { app, dir, rawFile, entries: n, firstNs, lastNs, ingestSeconds, chunkBytes: sizeOf(chunksDir) - indexBytes, indexBytes };
}
