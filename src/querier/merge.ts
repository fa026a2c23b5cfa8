/**
 * Entry-level merge of overlapping copies of one stream (replicas, chunks cut differently),
 * dropping exact duplicates: per timestamp, each distinct (line, structured metadata) is kept
 * as many times as the source holding it most often holds it. A line pushed twice on purpose
 * is kept twice; the same line held by three replicas is kept once.
 */
import { EMPTY_METADATA, type DecodedBlock } from '../chunk/index.js';
import type { StructuredMetadata } from '../model/index.js';

/** Entries per merged block (the scan's selection bitmaps stay small). */
const MERGED_BLOCK_ENTRIES = 8192;
/** Largest ts span of a merged block, so ts - base stays an exact double. */
const MAX_SPAN_NS = 1n << 50n;

interface Entry {
  tsNs: bigint;
  line: Buffer;
  md: StructuredMetadata;
  key: string;
  src: number;
}

/** Merges `sources` (each a list of blocks) into sorted blocks without cross-source duplicates. */
export function mergeDedup(sources: readonly (readonly DecodedBlock[])[]): { blocks: DecodedBlock[]; duplicates: number } {
  const all: Entry[] = [];
  sources.forEach((blocks, src) => {
    for (const b of blocks) {
      for (let i = 0; i < b.n; i++) {
        const line = b.lines.subarray(b.lineOffsets[i]!, b.lineOffsets[i + 1]!);
        const md = b.metadata(i);
        let key = line.toString('latin1');
        if (md.length > 0) key += '\u0000' + md.map((l) => `${l.name}\u0001${l.value}`).join('\u0002');
        all.push({ tsNs: b.baseNs + BigInt(b.tsRel[i]!), line, md, key, src });
      }
    }
  });
  // Stable: equal timestamps keep source order, then each source's own order.
  all.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  const kept: Entry[] = [];
  let duplicates = 0;
  for (let i = 0; i < all.length; ) {
    let j = i + 1;
    while (j < all.length && all[j]!.tsNs === all[i]!.tsNs) j++;
    if (j - i === 1) kept.push(all[i]!);
    else {
      // Per key: how many times each source holds it; keep the largest count.
      const counts = new Map<string, Map<number, number>>();
      for (let k = i; k < j; k++) {
        const e = all[k]!;
        let m = counts.get(e.key);
        if (!m) counts.set(e.key, (m = new Map()));
        m.set(e.src, (m.get(e.src) ?? 0) + 1);
      }
      const emitted = new Map<string, number>();
      for (let k = i; k < j; k++) {
        const e = all[k]!;
        const max = Math.max(...counts.get(e.key)!.values());
        const n = emitted.get(e.key) ?? 0;
        if (n < max) {
          kept.push(e);
          emitted.set(e.key, n + 1);
        } else duplicates++;
      }
    }
    i = j;
  }
  const blocks: DecodedBlock[] = [];
  for (let i = 0; i < kept.length; ) {
    const base = kept[i]!.tsNs;
    let j = i;
    while (j < kept.length && j - i < MERGED_BLOCK_ENTRIES && kept[j]!.tsNs - base < MAX_SPAN_NS) j++;
    blocks.push(new EntriesBlock(kept.slice(i, j), base));
    i = j;
  }
  return { blocks, duplicates };
}

/** A DecodedBlock over merged entries (sorted by ts). */
class EntriesBlock implements DecodedBlock {
  readonly n: number;
  readonly baseNs: bigint;
  readonly tsRel: Float64Array;
  readonly lineOffsets: Int32Array;
  readonly lines: Buffer;
  readonly #md: StructuredMetadata[];

  constructor(entries: readonly Entry[], baseNs: bigint) {
    this.n = entries.length;
    this.baseNs = baseNs;
    this.tsRel = new Float64Array(this.n);
    this.lineOffsets = new Int32Array(this.n + 1);
    let bytes = 0;
    entries.forEach((e, i) => {
      this.tsRel[i] = Number(e.tsNs - baseNs);
      bytes += e.line.length;
      this.lineOffsets[i + 1] = bytes;
    });
    this.lines = Buffer.allocUnsafe(bytes);
    entries.forEach((e, i) => e.line.copy(this.lines, this.lineOffsets[i]!));
    this.#md = entries.map((e) => e.md);
  }

  metadata(i: number): StructuredMetadata {
    const md = this.#md[i]!;
    return md.length === 0 ? EMPTY_METADATA : md.map((l) => ({ name: l.name, value: l.value }));
  }
}
