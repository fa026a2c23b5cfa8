/**
 * The WebAssembly byte kernels (src/wasm) against their TypeScript references, in-process, on
 * generator lines: the level-word scan of a push body and the token bloom filter of 256 KiB
 * blocks. Reports MB/s of line text for each, best of 5 rounds.
 * Usage: npx tsx bench/kernels.ts [lines=200000]
 */
import { buildBlockBloomJs } from '../src/chunk/bloom.js';
import { BLOOM_BITS_PER_TOKEN, BLOOM_HASHES, MAX_BLOOM_BYTES, MAX_BLOOM_TOKENS } from '../src/chunk/consts.js';
import { defaultLimits } from '../src/distributor/limits.js';
import { LevelDetector, scanLevelWords } from '../src/distributor/field-detection.js';
import { BlockBlooms, LevelWords } from '../src/wasm/kernels.js';
import { genEntries } from '../test/support/genlogs.js';

const lines = genEntries({ lines: Number(process.argv[2] ?? 200_000), streams: 1000 }).map((e) => Buffer.from(e.line));
const body = Buffer.concat(lines);
const offsets = new Int32Array(lines.length + 1);
for (let i = 0, at = 0; i < lines.length; i++) offsets[i + 1] = at += lines[i]!.length;
const mb = body.length / 1e6;

function best(fn: () => void): number {
  let ms = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
const rate = (ms: number): number => Number((mb / (ms / 1000)).toFixed(0));

const words = LevelWords.create(1 << 28)!;
const det = new LevelDetector(defaultLimits.logLevelFields, defaultLimits.logLevelFromJsonMaxDepth);
let sink = 0;
const scanJs = best(() => {
  for (let i = 0; i < lines.length; i++) sink += scanLevelWords(body, offsets[i]!, offsets[i + 1]!);
});
const scanWasm = best(() => {
  words.load(body);
  for (let i = 0; i < lines.length; i++) sink += words.scan(body, offsets[i]!, offsets[i + 1]!);
});
// The whole line read of the decode worker (JSON and logfmt fields, then the word scan).
const lineJs = best(() => {
  for (let i = 0; i < lines.length; i++) sink += det.fromLineAt(body, offsets[i]!, offsets[i + 1]!).length;
});
const lineWasm = best(() => {
  words.load(body);
  for (let i = 0; i < lines.length; i++) sink += det.fromLineAt(body, offsets[i]!, offsets[i + 1]!, words.scan).length;
});

// Blocks as the head block cuts them: ~256 KiB of whole lines.
const blocks: { lines: Buffer; offsets: Int32Array; n: number }[] = [];
for (let i = 0; i < lines.length; ) {
  let j = i;
  while (j < lines.length && offsets[j]! - offsets[i]! < 256 * 1024) j++;
  const base = offsets[i]!;
  blocks.push({ lines: body.subarray(base, offsets[j]!), offsets: offsets.slice(i, j + 1).map((o) => o - base), n: j - i });
  i = j;
}
const blooms = BlockBlooms.create(MAX_BLOOM_TOKENS, MAX_BLOOM_BYTES, 16 * 1024 * 1024)!;
const bloomJs = best(() => {
  for (const b of blocks) sink += buildBlockBloomJs(b.lines, b.offsets, b.n)?.length ?? 0;
});
const bloomWasm = best(() => {
  for (const b of blocks) sink += blooms.build(b.lines, b.offsets, b.n, BLOOM_BITS_PER_TOKEN, BLOOM_HASHES)?.length ?? 0;
});

console.log(
  JSON.stringify({
    bench: 'kernels',
    lines: lines.length,
    mb: Number(mb.toFixed(1)),
    level_words_mb_per_s: { ts: rate(scanJs), wasm: rate(scanWasm) },
    line_level_mb_per_s: { ts: rate(lineJs), wasm: rate(lineWasm) },
    block_bloom_mb_per_s: { ts: rate(bloomJs), wasm: rate(bloomWasm), blocks: blocks.length },
    sink: sink > 0,
  }),
);
