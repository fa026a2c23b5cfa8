/**
 * A chunk the ingester has uploaded stays in its memory for `chunk_retain_period`. Queries read
 * it there and skip its stored copy, so no entry is read, counted or fetched twice.
 *
 * Order matters: take the ingester snapshot first, then read the index, then ask for the stored
 * copies (`storedCopies` reads each view's key as it is then). The ingester records a chunk's key
 * as soon as its upload succeeds, before any index segment names it, so every chunk of the
 * snapshot that the index read found already has its key by the time it is asked for, even when
 * its flush finished while the query was reading the index. (Asking at snapshot time missed
 * exactly those: the chunk was counted from memory and again from the store.) A chunk that has
 * left memory was indexed before it left. */
import type { MemStreamView } from '../ingester/client.js';
import { chunkKey, type ChunkRef } from '../storage/index.js';

/** Object keys of the stored copies of the chunks an ingester snapshot still holds. */
export function storedCopies(streams: readonly MemStreamView[]): Set<string> {
  const keys = new Set<string>();
  for (const s of streams) for (const c of s.chunks) if (c.storedKey !== null) keys.add(c.storedKey);
  return keys;
}

/** `refs` without the chunks whose stored copy is in `copies` (read from memory instead). */
export function withoutCopies(refs: ChunkRef[], copies: ReadonlySet<string>): ChunkRef[] {
  return copies.size === 0 ? refs : refs.filter((r) => !copies.has(chunkKey(r)));
}
