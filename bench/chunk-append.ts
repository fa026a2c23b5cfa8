/**
 * MemChunk.append alone: generator-like 200-byte lines with a `detected_level` pair into new
 * chunks round-robin, as the ingester sees pushes over many streams; the head columns in the
 * ingester's column arena (ADR 0024 item 7) and, alternated with it, in an ArrayBuffer per head.
 * Each round makes `streams` new chunks, appends `entries` entries across them, then closes them
 * (cutAndRelease, untimed) so the arena's regions are reused by the next round, as an ingester's
 * are after flushes. Prints ns per entry and MB/s of line text, min / median over `rounds`.
 * Usage: npx tsx bench/chunk-append.ts [entries=1000000] [streams=1000] [rounds=5]
 * (`120000 10000`: 12 entries per stream, as bench/rss.ts holds.)
 */
import { ColumnArena, MemChunk, defaultChunkOptions } from '../src/chunk/index.js';

const n = Number(process.argv[2] ?? 1_000_000);
const streams = Number(process.argv[3] ?? 1000);
const rounds = Number(process.argv[4] ?? 5);
const lines: Buffer[] = [];
for (let i = 0; i < 997; i++) lines.push(Buffer.from(`192.168.${i % 255}.${(i * 7) % 255} - - [22/Nov/2026:10:00:00 +0000] "GET /api/v1/items/${i * 31} HTTP/1.1" 200 ${1000 + i} "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" rt=0.0${i % 10}`));
const level = Object.freeze([Object.freeze({ name: 'detected_level', value: 'info' })]);
const arena = new ColumnArena();
const base = 1_700_000_000_000_000_000n;
const bytes = lines.reduce((a, l, i) => a + l.length * Math.floor((n - i + 996) / 997), 0);

function round(inArena: boolean, r: number): number {
  const opts = { ...defaultChunkOptions(), ...(inArena ? { arena } : {}) };
  const chunks = Array.from({ length: streams }, () => new MemChunk(opts));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) chunks[i % streams]!.append(base + BigInt(i) * 1000n + BigInt(r) * 10_000_000_000n, lines[i % 997]!, level);
  const s = (performance.now() - t0) / 1000;
  for (const c of chunks) c.cutAndRelease();
  return s;
}

const times: Record<'arena' | 'own', number[]> = { arena: [], own: [] };
for (let r = 0; r < rounds; r++) {
  // Alternated, the first of each pair swapped every round.
  for (const mode of r % 2 === 0 ? (['arena', 'own'] as const) : (['own', 'arena'] as const)) times[mode].push(round(mode === 'arena', r));
}
for (const mode of ['arena', 'own'] as const) {
  const t = times[mode].sort((a, b) => a - b);
  const med = t[Math.floor(t.length / 2)]!;
  console.log(
    JSON.stringify({ bench: 'chunk-append', heads: mode, streams, entries: n, ns_per_entry_min: Math.round((t[0]! * 1e9) / n), ns_per_entry_median: Math.round((med * 1e9) / n), mb_per_s_max: Number((bytes / 1e6 / t[0]!).toFixed(1)), mb_per_s_median: Number((bytes / 1e6 / med).toFixed(1)) }),
  );
}
