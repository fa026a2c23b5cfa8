/** Test helpers for chunks: reading entries out of blocks and a seeded PRNG. Not used by production code. */
import type { StructuredMetadata } from '../model/stream.js';
import { blockEntryTs } from './block.js';
import type { DecodedBlock, ReadableChunk } from './types.js';
import { seededRandom } from '../util/random.js';
import { BlockProbe } from './needle.js';

/** One entry copied out of a block. */
export interface TestEntry {
  tsNs: bigint;
  line: Buffer;
  metadata: StructuredMetadata;
}

/** Copies every entry of a block, in block order. */
export function blockEntries(b: DecodedBlock): TestEntry[] {
  const out: TestEntry[] = [];
  for (let i = 0; i < b.n; i++) {
    out.push({
      tsNs: blockEntryTs(b, i),
      line: Buffer.from(b.lines.subarray(b.lineOffsets[i]!, b.lineOffsets[i + 1]!)),
      metadata: b.metadata(i).map((l) => ({ name: l.name, value: l.value })),
    });
  }
  return out;
}

/** Entries of every cut block, block after block (plus the head when given). */
export function chunkEntries(c: ReadableChunk, head: DecodedBlock | null = null): TestEntry[][] {
  const out: TestEntry[][] = [];
  for (let i = 0; i < c.blockMetas().length; i++) out.push(blockEntries(c.readBlock(i)));
  if (head !== null) out.push(blockEntries(head));
  return out;
}

/** Deterministic PRNG (mulberry32): same seed, same sequence. */
export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** A probe of token hashes alone (no needle grams), as token-filter tests use. */
export function tokenProbe(hashes: Uint32Array): BlockProbe {
  return new BlockProbe(hashes, new Uint32Array(0));
}
