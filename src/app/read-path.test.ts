import { crc32 } from 'node:zlib';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ChunkStore, MemoryObjectClient } from '../storage/index.js';
import { chunkKey, type ChunkRef } from '../storage/chunk-ref.js';
import { registerCacheMetrics } from './read-path.js';

describe('registerCacheMetrics', () => {
  it('reports the chunk cache’s slabs as silt_cache_memory_bytes beside the bytes it caches', async () => {
    const client = new MemoryObjectClient();
    const store = new ChunkStore(client, { cacheBytes: 16 << 20, slabBytes: 4 << 20 });
    const registry = new Registry();
    registerCacheMetrics(registry, { chunks: store.cache, chunk_tails: store.indexCache });
    for (let i = 0; i < 5; i++) {
      const bytes = Buffer.alloc(10_001 + i, i);
      const ref: ChunkRef = { tenant: 'fake', fingerprint: (i + 1).toString(16).padStart(16, '0'), fromNs: 1n, throughNs: 2n, checksum: crc32(bytes), sizeBytes: bytes.length, entries: 1, uncompressedBytes: bytes.length };
      await client.put(chunkKey(ref), bytes);
      await store.get(ref);
    }
    const value = async (name: string, cache: string): Promise<number> => (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels['cache'] === cache)!.value;
    const cached = 5 * 10_001 + (0 + 1 + 2 + 3 + 4);
    expect(await value('silt_cache_size_bytes', 'chunks')).toBe(cached);
    // Each chunk's room is one byte longer (the size check), 8-byte aligned: 10,002–10,006 → 10,008.
    expect(await value('silt_cache_memory_bytes', 'chunks')).toBe(5 * 10_008);
    expect(await value('silt_cache_memory_bytes', 'chunk_tails')).toBe(await value('silt_cache_size_bytes', 'chunk_tails'));
  });
});
