/**
 * Chunk codecs for the storage-cost goal (issue #20 goal 7): generator line text grouped by
 * stream and cut into blocks as head blocks cut them (one stream's lines, in time order, up to
 * the block size), compressed and decompressed one block at a time on one core. For each codec,
 * level and block size: stored / raw, compress MB/s, decompress MB/s, and decompress-and-search
 * MB/s (`Buffer.indexOf` of an absent needle over every decompressed block: the no-skip scan's
 * floor). Baseline in the same run: `zstd -3` of the whole raw text as one file (the goal's
 * yardstick) and `zstd -dc | rg -F -c` over it.
 *
 * Codecs: Silt's (src/chunk/codec.ts: snappy, lz4, zstd level 3) and, for the default choice,
 * zstd at other levels (the same WebAssembly libzstd), gzip and brotli from node:zlib.
 * Timings: 3 rounds, each the best of 3 passes after an untimed one (V8 tiers WebAssembly up);
 * min / median over the rounds. Usage: npx tsx bench/codecs.ts [lines=500000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { compress, decompress } from '../src/chunk/codec.js';
import { genEntries, labelKey } from '../test/support/genlogs.js';
import { requireTools } from './lib.js';

requireTools('rg', 'zstd');

const lines = Number(process.argv[2] ?? 500_000);
const entries = genEntries({ lines, streams: 1000 });
const byStream = new Map<string, Buffer[]>();
let rawBytes = 0;
for (const e of entries) {
  const k = labelKey(e.labels);
  let a = byStream.get(k);
  if (!a) byStream.set(k, (a = []));
  const b = Buffer.from(e.line + '\n');
  a.push(b);
  rawBytes += b.length;
}
const streamText = [...byStream.values()].map((a) => Buffer.concat(a));
const wholeText = Buffer.from(entries.map((e) => e.line + '\n').join(''));
entries.length = 0;

function cut(blockBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (const t of streamText) for (let o = 0; o < t.length; o += blockBytes) out.push(t.subarray(o, o + blockBytes));
  return out;
}

const wasm = await import('@foxglove/wasm-zstd');
await wasm.isLoaded;
interface Variant {
  name: string;
  c: (b: Buffer) => Buffer;
  d: (b: Buffer, n: number) => Buffer;
}
const zstdAt = (level: number): Variant => ({ name: `zstd-${level} (wasm)`, c: (b) => Buffer.from(wasm.compress(b, level)), d: (b, n) => Buffer.from(wasm.decompress(b, n)) });
const variants: Variant[] = [
  { name: 'snappy (silt)', c: (b) => compress('snappy', b), d: (b, n) => decompress('snappy', b, n) },
  { name: 'lz4 (silt)', c: (b) => compress('lz4', b), d: (b, n) => decompress('lz4', b, n) },
  zstdAt(1),
  { name: 'zstd-3 (silt)', c: (b) => compress('zstd', b), d: (b, n) => decompress('zstd', b, n) },
  zstdAt(6),
  { name: 'gzip-6 (node:zlib)', c: (b) => zlib.gzipSync(b, { level: 6 }), d: (b) => zlib.gunzipSync(b) },
  ...[4, 6].map(
    (q): Variant => ({
      name: `brotli-${q} (node:zlib)`,
      c: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
      d: (b) => zlib.brotliDecompressSync(b),
    }),
  ),
];

function bestOf(fn: () => void): number {
  fn();
  let ms = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
const mbs = (bytes: number, ms: number): number => Math.round(bytes / 1e6 / (ms / 1000));
/** Rates: best (highest) / median over the rounds (the time's min / median). */
const bestMed = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => b - a);
  return `${s[0]} / ${s[Math.floor(s.length / 2)]}`;
};
const NEEDLE = Buffer.from('qzxqzxqzx');

const rows: string[] = [];
for (const blockBytes of [256 * 1024, 1024 * 1024]) {
  const blocks = cut(blockBytes);
  for (const v of variants) {
    const cs: number[] = [];
    const ds: number[] = [];
    const ss: number[] = [];
    let stored = 0;
    for (let round = 0; round < 3; round++) {
      let comp: Buffer[] = [];
      cs.push(mbs(rawBytes, bestOf(() => (comp = blocks.map((b) => v.c(b))))));
      stored = comp.reduce((a, b) => a + b.length, 0);
      ds.push(mbs(rawBytes, bestOf(() => comp.forEach((c, i) => v.d(c, blocks[i]!.length)))));
      let hits = 0;
      ss.push(
        mbs(
          rawBytes,
          bestOf(() => {
            for (let i = 0; i < comp.length; i++) if (v.d(comp[i]!, blocks[i]!.length).indexOf(NEEDLE) >= 0) hits++;
          }),
        ),
      );
      if (hits !== 0) throw new Error('needle found');
      comp.forEach((c, i) => {
        if (!v.d(c, blocks[i]!.length).equals(blocks[i]!)) throw new Error(`${v.name}: block ${i} does not round-trip`);
      });
    }
    rows.push(`| ${v.name} | ${blockBytes / 1024} KiB | ${(stored / rawBytes).toFixed(4)} | ${bestMed(cs)} | ${bestMed(ds)} | ${bestMed(ss)} |`);
    console.error(rows.at(-1));
  }
}

// Baselines on the whole text as one file: zstd -3 size, and zstd -dc | rg -F -c.
const dir = mkdtempSync(path.join(tmpdir(), 'silt-bench-codecs-'));
let baseline = '';
try {
  const raw = path.join(dir, 'text');
  writeFileSync(raw, wholeText);
  const zst = path.join(dir, 'text.zst');
  const r = spawnSync('zstd', ['-3', '-q', '-f', '-o', zst, raw]);
  if (r.status !== 0) throw new Error(`zstd: ${r.stderr}`);
  const zstBytes = Number(spawnSync('stat', ['-c', '%s', zst]).stdout.toString().trim());
  const pipe = (): void => {
    const p = spawnSync('sh', ['-c', `zstd -dc '${zst}' | rg -F -c '${NEEDLE.toString()}'; true`]);
    if (p.status !== 0) throw new Error(`pipe: ${p.stderr}`);
  };
  const rg = (): void => {
    spawnSync('rg', ['-F', '-c', NEEDLE.toString(), raw]);
  };
  const ps: number[] = [];
  const rs: number[] = [];
  for (let round = 0; round < 3; round++) {
    ps.push(mbs(rawBytes, bestOf(pipe)));
    rs.push(mbs(rawBytes, bestOf(rg)));
  }
  baseline = `| \`zstd -3\` of the whole text (one file); search: \`zstd -dc \\| rg -F -c\` | — | ${(zstBytes / rawBytes).toFixed(4)} | — | — | ${bestMed(ps)} |\n| \`rg -F -c\` on the raw text (page cache warm) | — | 1 | — | — | ${bestMed(rs)} |`;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${lines} entries, ${(rawBytes / 1e6).toFixed(1)} MB of line text, ${byStream.size} streams; load ${loadavg()[0]!.toFixed(1)}\n`);
console.log('| codec | block | stored / raw | compress MB/s | decompress MB/s | decompress + search MB/s |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log(baseline);
