/**
 * MemChunk.append alone: generator-like 200-byte lines into 1000 chunks round-robin, as
 * the ingester sees a push of 1000 streams. Usage: npx tsx bench/chunk-append.ts [entries]
 */
import { MemChunk, defaultChunkOptions } from '../src/chunk/index.js';

const n = Number(process.argv[2] ?? 1_000_000);
const lines: Buffer[] = [];
for (let i = 0; i < 997; i++) lines.push(Buffer.from(`192.168.${i % 255}.${(i * 7) % 255} - - [22/Nov/2026:10:00:00 +0000] "GET /api/v1/items/${i * 31} HTTP/1.1" 200 ${1000 + i} "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" rt=0.0${i % 10}`));
const chunks = Array.from({ length: 1000 }, () => new MemChunk(defaultChunkOptions('snappy')));
let bytes = 0;
const base = 1_700_000_000_000_000_000n;
for (let round = 0; round < 2; round++) {
  const t0 = performance.now();
  bytes = 0;
  for (let i = 0; i < n; i++) {
    const l = lines[i % 997]!;
    chunks[i % 1000]!.append(base + BigInt(i) * 1000n + BigInt(round) * 10_000_000_000n, l, []);
    bytes += l.length;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ bench: 'chunk-append', round, entries: n, mb_per_s: Number((bytes / 1e6 / s).toFixed(1)), ns_per_entry: Math.round((s * 1e9) / n) }));
}
