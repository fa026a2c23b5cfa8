/**
 * Rewrites chunks of one stream: merges several into chunks of a target size, drops entries
 * that delete requests remove, and drops exact duplicates (same ts, line and structured
 * metadata, as queries deduplicate them). Entries keep their order: by timestamp, and entries
 * with equal timestamps in the order of the input chunks and blocks.
 */
import { crc32 } from '../util/crc32.js';
import { decodeChunk, MemChunk, type ChunkOptions } from '../chunk/index.js';
import type { StructuredMetadata } from '../model/index.js';
import type { ChunkRef } from '../storage/index.js';
import type { StreamDeleter } from './delete-filter.js';

/** One entry, its line a view into a decoded block. */
interface Entry {
  tsNs: bigint;
  line: Buffer;
  metadata: StructuredMetadata;
}

/** A written chunk and its ref. */
export interface RewrittenChunk {
  ref: ChunkRef;
  bytes: Buffer;
}

/** What a rewrite produced. */
export interface RewriteResult {
  chunks: RewrittenChunk[];
  /** Entries kept. */
  kept: number;
  /** Entries removed by the deleter. */
  deleted: number;
  /** Exact duplicates dropped. */
  duplicates: number;
}

/** Identity of an entry within one timestamp: structured metadata and line bytes. */
function entryKey(e: Entry): string {
  let k = '';
  for (const l of e.metadata) k += l.name + '\u0001' + l.value + '\u0002';
  return k + '\u0000' + e.line.toString('latin1');
}

/** Entries appended between turns of the event loop (a turn also comes after each input chunk). */
const APPEND_TURN_ENTRIES = 20_000;

const nextTurn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * Reads every entry of `inputs` (encoded chunks of one stream), drops deleted entries and
 * exact duplicates, and writes the rest into new chunks cut at `opts.targetSizeBytes`.
 * Deterministic: the same inputs give byte-identical chunks (so content-derived keys repeat
 * and a re-run after a crash rewrites the same objects). With `opts.sealer`, blocks are
 * compressed and filtered there; either way the event loop gets a turn after each input chunk
 * and every APPEND_TURN_ENTRIES entries (the compactor shares the process with pushes and
 * queries in `-target=all`).
 */
export async function rewriteChunks(
  tenant: string,
  fingerprint: string,
  inputs: readonly Buffer[],
  deleter: StreamDeleter | null,
  opts: ChunkOptions,
): Promise<RewriteResult> {
  const entries: Entry[] = [];
  let deleted = 0;
  let sorted = true;
  let sel = new Uint8Array(1024);
  for (let k = 0; k < inputs.length; k++) {
    if (k > 0) await nextTurn();
    const chunk = decodeChunk(inputs[k]!);
    const nBlocks = chunk.blockMetas().length;
    for (let b = 0; b < nBlocks; b++) {
      const blk = chunk.readBlock(b);
      const n = blk.n;
      if (sel.length < n) sel = new Uint8Array(Math.max(n, sel.length * 2));
      sel.fill(1, 0, n);
      if (deleter !== null) deleter.apply(blk, 0, n, sel);
      for (let i = 0; i < n; i++) {
        if (sel[i] !== 1) {
          deleted++;
          continue;
        }
        const tsNs = blk.baseNs + BigInt(blk.tsRel[i]!);
        if (sorted && entries.length > 0 && entries[entries.length - 1]!.tsNs > tsNs) sorted = false;
        entries.push({ tsNs, line: blk.lines.subarray(blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!), metadata: blk.metadata(i) });
      }
    }
  }
  // Array.prototype.sort is stable: equal timestamps keep input order.
  if (!sorted) entries.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));

  const chunks: RewrittenChunk[] = [];
  let cur: MemChunk | null = null;
  let kept = 0;
  let duplicates = 0;
  const finish = async (): Promise<void> => {
    if (cur === null || cur.entries() === 0) return;
    // The head is cut here so that its seal, too, runs on the sealer; encode() then has none left.
    cur.cutBlock();
    await cur.whenSealed();
    const bytes = cur.encode();
    chunks.push({
      bytes,
      ref: {
        tenant,
        fingerprint,
        fromNs: cur.minTsNs(),
        throughNs: cur.maxTsNs(),
        checksum: crc32(bytes),
        sizeBytes: bytes.length,
        entries: cur.entries(),
        uncompressedBytes: cur.uncompressedBytes(),
      },
    });
    cur = null;
  };
  // Duplicates have equal timestamps, so only the current run of equal timestamps is compared;
  // keys are built only for runs longer than one entry.
  let runFirst: Entry | null = null;
  let runKeys: Set<string> | null = null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (runFirst === null || runFirst.tsNs !== e.tsNs) {
      runFirst = e;
      runKeys = null;
    } else {
      runKeys ??= new Set([entryKey(runFirst)]);
      const k = entryKey(e);
      if (runKeys.has(k)) {
        duplicates++;
        continue;
      }
      runKeys.add(k);
    }
    cur ??= new MemChunk(opts);
    cur.append(e.tsNs, e.line, e.metadata);
    kept++;
    if (cur.isFull()) await finish();
    else if (kept % APPEND_TURN_ENTRIES === 0) await nextTurn();
  }
  await finish();
  return { chunks, kept, deleted, duplicates };
}
