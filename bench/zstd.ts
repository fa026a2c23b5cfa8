/**
 * zstd on chunk blocks: generator line text cut into 256 KiB blocks (as the head block cuts
 * them), compressed and decompressed one block at a time, level 3, one core. Compares Silt's
 * codec (src/chunk/codec.ts: libzstd in WebAssembly) with, when installed (`npm i --no-save
 * zstd-napi @toondepauw/node-zstd`; not dependencies of Silt), the zstd-napi addon Silt used
 * before (decompressing into a buffer of the expected size, as the codec did) and the napi-rs
 * binding @toondepauw/node-zstd; and with the `zstd` CLI (Debian) on the same text as one file
 * (`zstd -3 -c`, `zstd -dc`; no per-block framing, process start included).
 * Reports MB/s of uncompressed text, best of 5 rounds after 3 untimed ones (so V8 has tiered the
 * WebAssembly up from its baseline compiler), and stored/raw ratio.
 * Usage: npx tsx bench/zstd.ts [lines=200000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compress, decompress } from '../src/chunk/codec.js';
import { genEntries } from '../test/support/genlogs.js';

const text = Buffer.from(genEntries({ lines: Number(process.argv[2] ?? 200_000), streams: 1000 }).map((e) => e.line + '\n').join(''));
const blocks: Buffer[] = [];
for (let i = 0; i < text.length; i += 256 * 1024) blocks.push(Buffer.from(text.subarray(i, i + 256 * 1024)));
const mb = text.length / 1e6;

function best(fn: () => void): number {
  for (let r = 0; r < 3; r++) fn();
  let ms = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
async function bestAsync(fn: () => Promise<void>): Promise<number> {
  for (let r = 0; r < 3; r++) await fn();
  let ms = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
const rate = (ms: number): number => Math.round(mb / (ms / 1000));
const ratio = (c: Buffer[]): number => Number((c.reduce((a, b) => a + b.length, 0) / text.length).toFixed(4));
function check(name: string, out: Buffer, i: number): void {
  if (!out.equals(blocks[i]!)) throw new Error(`${name}: block ${i} does not round-trip`);
}

interface Row {
  compress_mb_per_s: number;
  decompress_mb_per_s: number;
  ratio: number;
}
const results: Record<string, Row> = {};

{
  let c: Buffer[] = [];
  const ct = best(() => {
    c = blocks.map((b) => compress('zstd', b));
  });
  const dt = best(() => {
    for (let i = 0; i < c.length; i++) decompress('zstd', c[i]!, blocks[i]!.length);
  });
  c.forEach((x, i) => check('silt', decompress('zstd', x, blocks[i]!.length), i));
  results['silt codec (@foxglove/wasm-zstd)'] = { compress_mb_per_s: rate(ct), decompress_mb_per_s: rate(dt), ratio: ratio(c) };
}

try {
  const zn = (await import('zstd-napi' as string)) as { compress(b: Uint8Array): Buffer };
  const binding = (await import('zstd-napi/binding.js' as string)).default as { DCtx: new () => { decompress(out: Buffer, src: Uint8Array): number } };
  const ctx = new binding.DCtx();
  let c: Buffer[] = [];
  const ct = best(() => {
    c = blocks.map((b) => zn.compress(b));
  });
  const dt = best(() => {
    for (let i = 0; i < c.length; i++) ctx.decompress(Buffer.allocUnsafe(blocks[i]!.length), c[i]!);
  });
  // Frames of either library decode with the other.
  c.forEach((x, i) => check('wasm ← zstd-napi', decompress('zstd', x, blocks[i]!.length), i));
  blocks.forEach((b, i) => {
    const out = Buffer.allocUnsafe(b.length);
    ctx.decompress(out, compress('zstd', b));
    check('zstd-napi ← wasm', out, i);
  });
  results['zstd-napi 0.0.13 (native, node-gyp)'] = { compress_mb_per_s: rate(ct), decompress_mb_per_s: rate(dt), ratio: ratio(c) };
} catch (e) {
  if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
}

try {
  const { Encoder, Decoder } = (await import('@toondepauw/node-zstd' as string)) as {
    Encoder: new (level: number) => { encodeSync(b: Buffer): Buffer };
    Decoder: new () => { decodeSync(b: Buffer): Buffer };
  };
  const enc = new Encoder(3);
  const dec = new Decoder();
  let c: Buffer[] = [];
  const ct = best(() => {
    c = blocks.map((b) => enc.encodeSync(b));
  });
  const dt = best(() => {
    for (let i = 0; i < c.length; i++) dec.decodeSync(c[i]!);
  });
  c.forEach((x, i) => check('toondepauw', dec.decodeSync(x), i));
  results['@toondepauw/node-zstd (napi-rs)'] = { compress_mb_per_s: rate(ct), decompress_mb_per_s: rate(dt), ratio: ratio(c) };
} catch (e) {
  if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
}

try {
  const mz = (await import('@mongodb-js/zstd' as string)) as { compress(b: Buffer, level: number): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };
  let c: Buffer[] = [];
  const ct = await bestAsync(async () => {
    c = [];
    for (const b of blocks) c.push(await mz.compress(b, 3));
  });
  const dt = await bestAsync(async () => {
    for (const x of c) await mz.decompress(x);
  });
  results['@mongodb-js/zstd (async only, awaited per block)'] = { compress_mb_per_s: rate(ct), decompress_mb_per_s: rate(dt), ratio: ratio(c) };
} catch (e) {
  if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
}

// The CLI on the whole text as one file (its page cache warm), output to /dev/null.
const dir = mkdtempSync(path.join(tmpdir(), 'silt-bench-zstd-'));
try {
  const raw = path.join(dir, 'text');
  writeFileSync(raw, text);
  const zst = path.join(dir, 'text.zst');
  const run = (args: string[]): void => {
    const r = spawnSync('zstd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`zstd ${args.join(' ')}: ${r.stderr}`);
  };
  run(['-3', '-q', '-f', '-o', zst, raw]);
  const ct = best(() => run(['-3', '-T1', '-q', '-c', raw]));
  const dt = best(() => run(['-d', '-q', '-c', zst]));
  const size = spawnSync('stat', ['-c', '%s', zst]).stdout.toString().trim();
  results['zstd CLI (one file)'] = { compress_mb_per_s: rate(ct), decompress_mb_per_s: rate(dt), ratio: Number((Number(size) / text.length).toFixed(4)) };
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(JSON.stringify({ bench: 'zstd', mb: Number(mb.toFixed(1)), blocks: blocks.length, block_kib: 256, level: 3, results }, null, 1));
