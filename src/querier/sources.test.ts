import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemChunk } from '../chunk/index.js';
import { ChunkStore, FilesystemObjectClient, chunkKey, type ChunkRef, type ReadOptions } from '../storage/index.js';
import { NO_DEADLINE } from './deadline.js';
import type { Store } from './querier.js';
import { StoredPrefetch } from './sources.js';

const T0 = 1_700_000_000_000_000_000n;

describe('StoredPrefetch with lent chunk bytes', () => {
  it.each([false, true])('hands each chunk over intact however long its turn takes, while later reads reuse the memory given back (decodeAhead %s)', async (decodeAhead) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'silt-prefetch-'));
    try {
      const client = new FilesystemObjectClient(dir);
      const chunks = new ChunkStore(client, { cacheBytes: 0 });
      // Chunks smaller and smaller: a read takes the smallest free buffer that holds it, so
      // memory given back too early (before its chunk's turn) is what the next read takes.
      const refs: ChunkRef[] = [];
      const lines: string[][] = [];
      for (let c = 0; c < 12; c++) {
        const chunk = new MemChunk({ codec: 'none', blockSizeBytes: 4096, targetSizeBytes: 1 << 24 });
        const mine: string[] = [];
        for (let i = 0; i < 2400 - c * 150; i++) {
          const line = `chunk ${c} line ${i} ${'abcdefghij'.repeat(3)}`;
          chunk.append(T0 + BigInt(i), Buffer.from(line), []);
          mine.push(line);
        }
        const bytes = chunk.encode();
        const ref: ChunkRef = { tenant: 'fake', fingerprint: c.toString(16).padStart(16, '0'), fromNs: T0, throughNs: T0 + 10_000n, checksum: crc32(bytes), sizeBytes: bytes.length, entries: mine.length, uncompressedBytes: bytes.length };
        await client.put(chunkKey(ref), bytes);
        refs.push(ref);
        lines.push(mine);
      }
      const store = { getChunkForScan: (r: ChunkRef, o?: ReadOptions) => chunks.getForScan(r, o) } as unknown as Store;
      const fetch = new StoredPrefetch(refs, { store, deadline: NO_DEADLINE, concurrency: 4, candidate: () => true, byIndex: false, decodeAhead, blocks: null, lend: true });
      for (let i = 0; i < refs.length; i++) {
        const got = await fetch.get(i);
        if (got === null || got instanceof Error || 'skip' in got) throw new Error(`chunk ${i}: ${String(got)}`);
        // Reads started for later chunks finish meanwhile.
        await new Promise((r) => setTimeout(r, 20));
        const read: string[] = [];
        for (let b = 0; b < got.chunk.blockMetas().length; b++) {
          const blk = got.blocks?.get(b) ?? got.chunk.readBlock(b);
          expect(got.blocks?.has(b) ?? false).toBe(decodeAhead);
          for (let e = 0; e < blk.n; e++) read.push(blk.lines.toString("utf8", blk.lineOffsets[e], blk.lineOffsets[e + 1]));
        }
        expect(read, `chunk ${i}`).toEqual(lines[i]);
        got.release();
      }
      expect(chunks.lendBuffers!.allocated).toBeLessThanOrEqual(6);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
