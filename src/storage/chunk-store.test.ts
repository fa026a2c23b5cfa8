import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkCorruptError, InvalidError, NotFoundError } from '../errors.js';
import { chunkKey, validateChunkRef } from './chunk-ref.js';
import type { ChunkRef } from './chunk-ref.js';
import { ChunkStore, slabBytesFor } from './chunk-store.js';
import { FilesystemObjectClient } from './fs-client.js';
import { MemoryObjectClient } from './memory-client.js';
import type { ObjectClient } from './object-client.js';

function refFor(bytes: Buffer, over: Partial<ChunkRef> = {}): ChunkRef {
  return {
    tenant: 'fake',
    fingerprint: '00000000deadbeef',
    fromNs: 1_700_000_000_000_000_000n,
    throughNs: 1_700_000_060_000_000_000n,
    checksum: crc32(bytes),
    sizeBytes: bytes.length,
    entries: 10,
    uncompressedBytes: bytes.length * 4,
    ...over,
  };
}

/** Calls `seen` with every ranged read `client` answers (tail reads), then reads as before. */
function watchRangeReads(client: MemoryObjectClient, seen: (key: string, offset: number, length: number) => void): void {
  const getRange = client.getRange.bind(client);
  client.getRange = (key, offset, length, opts) => {
    seen(key, offset, length);
    return getRange(key, offset, length, opts);
  };
}

describe('chunkKey', () => {
  it('is content-derived and readable', () => {
    const ref = refFor(Buffer.from('x'), { checksum: 0xab });
    expect(chunkKey(ref)).toBe('fake/chunks/00000000deadbeef/17979cfe362a0000-17979d0c2e715800-000000ab');
    expect(chunkKey({ ...ref, checksum: 0xac })).not.toBe(chunkKey(ref));
  });

  it('validates refs', () => {
    const ok = refFor(Buffer.from('x'));
    expect(() => validateChunkRef(ok)).not.toThrow();
    const bad: Partial<ChunkRef>[] = [
      { tenant: '' },
      { tenant: 'a/b' },
      { fingerprint: 'XYZ' },
      { fromNs: -1n },
      { throughNs: ok.fromNs - 1n },
      { sizeBytes: -1 },
      { entries: 1.5 },
      { checksum: 2 ** 32 },
    ];
    for (const b of bad) expect(() => validateChunkRef({ ...ok, ...b }), JSON.stringify(b, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toThrow(InvalidError);
  });
});

describe('ChunkStore', () => {
  it('round-trips and caches verified bytes', async () => {
    const client = new MemoryObjectClient();
    const store = new ChunkStore(client, { cacheBytes: 1000 });
    const bytes = Buffer.from('chunk-bytes');
    const ref = refFor(bytes);
    await store.put(ref, bytes);
    expect((await store.get(ref)).equals(bytes)).toBe(true);
    expect((await store.get(ref)).equals(bytes)).toBe(true);
    expect([store.cache.hits, store.cache.misses]).toEqual([1, 1]);
  });

  it('shares one fetch between concurrent gets', async () => {
    const client = new MemoryObjectClient();
    let gets = 0;
    const orig = client.get.bind(client);
    client.get = (k: string) => {
      gets++;
      return orig(k);
    };
    const store = new ChunkStore(client, { cacheBytes: 0 });
    const bytes = Buffer.from('abc');
    const ref = refFor(bytes);
    await store.put(ref, bytes);
    await Promise.all([store.get(ref), store.get(ref), store.get(ref)]);
    expect(gets).toBe(1);
  });

  it('refuses to store bytes that disagree with the ref', async () => {
    const store = new ChunkStore(new MemoryObjectClient());
    const bytes = Buffer.from('abc');
    await expect(store.put(refFor(bytes, { checksum: 1 }), bytes)).rejects.toBeInstanceOf(InvalidError);
    await expect(store.put(refFor(bytes, { sizeBytes: 4 }), bytes)).rejects.toBeInstanceOf(InvalidError);
  });

  it('detects corruption and missing chunks', async () => {
    const client = new MemoryObjectClient();
    const store = new ChunkStore(client);
    const bytes = Buffer.from('good bytes');
    const ref = refFor(bytes);
    await expect(store.get(ref)).rejects.toBeInstanceOf(NotFoundError);
    const flipped = Buffer.from(bytes);
    flipped[3]! ^= 0x10;
    await client.put(chunkKey(ref), flipped);
    await expect(store.get(ref)).rejects.toBeInstanceOf(ChunkCorruptError);
    await client.put(chunkKey(ref), bytes.subarray(1));
    await expect(store.get(ref)).rejects.toBeInstanceOf(ChunkCorruptError);
    expect(store.cache.count).toBe(0); // failures are not cached
    await client.put(chunkKey(ref), bytes);
    expect((await store.get(ref)).equals(bytes)).toBe(true);
  });
});

describe('ChunkStore.getIndex', () => {
  it('reads block metas from the tail only, and agrees with the full chunk', async () => {
    const { MemChunk, decodeChunk } = await import('../chunk/index.js');
    for (const lines of [5, 3000]) {
      const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 2048, targetSizeBytes: 1 << 22 });
      for (let i = 0; i < lines; i++) c.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`entry ${i} word${i % 97} ${'pad '.repeat(i % 9)}`), []);
      const bytes = c.encode();
      const client = new MemoryObjectClient();
      const ranges: number[] = [];
      watchRangeReads(client, (_key, _offset, length) => ranges.push(length));
      const store = new ChunkStore(client, { cacheBytes: 0 });
      const ref = refFor(bytes);
      await store.put(ref, bytes);
      const idx = await store.getIndex(ref);
      expect(idx.blockMetas()).toEqual(decodeChunk(bytes).blockMetas());
      expect(ranges.reduce((a, b) => a + b, 0)).toBeLessThan(Math.max(bytes.length, 64 * 1024) + 1);
      await store.getIndex(ref);
      expect(ranges.length).toBeLessThanOrEqual(2); // the second call is served from the index cache
    }
  });

  it('caches only the metas and filters, whatever the read, and reads again from the metas when the guess is short', async () => {
    const { MemChunk, decodeChunk, chunkTailGuess } = await import('../chunk/index.js');
    const { FOOTER_BYTES } = await import('../chunk/consts.js');
    for (const [lines, blockSize] of [
      [40, 65_536], // one block: the tail is a small part of the chunk
      [4000, 4096], // many blocks with filters: the tail may outgrow the guess
    ] as const) {
      const c = new MemChunk({ codec: 'snappy', blockSizeBytes: blockSize, targetSizeBytes: 1 << 24 });
      for (let i = 0; i < lines; i++) c.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`entry ${i} id=${(i * 2654435761) % 1e9} ${'pad '.repeat(i % 9)}`), []);
      const bytes = c.encode();
      const tailBytes = bytes.length - bytes.readUInt32BE(bytes.length - FOOTER_BYTES);
      const client = new MemoryObjectClient();
      const reads: [number, number][] = [];
      watchRangeReads(client, (_key, offset, length) => reads.push([offset, length]));
      const store = new ChunkStore(client, { cacheBytes: 1 << 26 });
      const ref = refFor(bytes);
      await store.put(ref, bytes);
      const idx = await store.getIndex(ref);
      const full = decodeChunk(bytes);
      expect(idx.blockMetas()).toEqual(full.blockMetas());
      expect(store.indexCache.sizeBytes).toBe(tailBytes);
      const guess = chunkTailGuess(bytes.length);
      if (tailBytes <= guess) expect(reads).toEqual([[bytes.length - guess, guess]]);
      else expect(reads).toEqual([[bytes.length - guess, guess], [bytes.length - tailBytes, tailBytes]]);
      // A chunk in the chunk cache answers without a read, and is parsed only once.
      const cached = new ChunkStore(client, { cacheBytes: 1 << 26 });
      await cached.get(ref);
      reads.length = 0;
      expect((await cached.getIndex(ref)).blockMetas()).toEqual(full.blockMetas());
      expect(await cached.getIndex(ref)).toBe(await cached.getIndex(ref));
      expect(reads).toEqual([]);
    }
  });
});

describe('ChunkStore cache under repeated scans', () => {
  it('keeps serving its share of a scan larger than the cache (tail reads do not count as uses)', async () => {
    const { MemChunk } = await import('../chunk/index.js');
    const client = new MemoryObjectClient();
    let fetches = 0;
    const get = client.get.bind(client);
    client.get = (key, opts) => {
      fetches++;
      return get(key, opts);
    };
    const refs: ChunkRef[] = [];
    for (let c = 0; c < 40; c++) {
      const chunk = new MemChunk({ codec: 'none', blockSizeBytes: 4096, targetSizeBytes: 1 << 22 });
      for (let i = 0; i < 200; i++) chunk.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`chunk ${c} entry ${i} ${'x'.repeat(40)}`), []);
      const bytes = chunk.encode();
      const ref = refFor(bytes, { fingerprint: c.toString(16).padStart(16, '0') });
      await client.put(chunkKey(ref), bytes);
      refs.push(ref);
    }
    const total = refs.reduce((a, r) => a + r.sizeBytes, 0);
    // Room for about half of the chunks: a query reads each chunk's tail, then the chunk, in order.
    const store = new ChunkStore(client, { cacheBytes: Math.floor(total / 2) });
    const perPass: number[] = [];
    for (let pass = 0; pass < 8; pass++) {
      const before = fetches;
      for (const ref of refs) {
        await store.getIndex(ref);
        expect((await store.get(ref)).length).toBe(ref.sizeBytes);
      }
      perPass.push(fetches - before);
    }
    // Least recently used order would fetch all 40 on every pass; the cache keeps ~20 of them.
    expect(perPass[0]).toBe(40);
    for (const n of perPass.slice(1)) expect(n).toBeLessThanOrEqual(24);
    expect(store.cache.rejections).toBeGreaterThan(0);
  });
});

describe('ChunkStore tail cache under repeated needle queries', () => {
  it('keeps serving its share of the tails when they outgrow it', async () => {
    // Needle queries that rule every chunk out read each chunk's tail and nothing else, in the
    // same order query after query. With least-recently-used order alone a cache holding half
    // of the tails kept none of them by the time each came round again.
    const { MemChunk } = await import('../chunk/index.js');
    const client = new MemoryObjectClient();
    // Chunks whose tail was read (a tail longer than the first guess takes two reads).
    const tailReads = new Set<string>();
    watchRangeReads(client, (key) => tailReads.add(key));
    const refs: ChunkRef[] = [];
    for (let c = 0; c < 40; c++) {
      const chunk = new MemChunk({ codec: 'snappy', blockSizeBytes: 4096, targetSizeBytes: 1 << 24 });
      for (let i = 0; i < 8000; i++) chunk.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`chunk ${c} entry ${i} id=${((c * 8000 + i) * 2654435761) % 1e9} trace=${((i + 7) * 40503 * (c + 1)) % 1e7}`), []);
      const bytes = chunk.encode();
      const ref = refFor(bytes, { fingerprint: c.toString(16).padStart(16, '0') });
      await client.put(chunkKey(ref), bytes);
      refs.push(ref);
    }
    // What the tails take once cached.
    const measure = new ChunkStore(client, { cacheBytes: 1 << 30 });
    for (const ref of refs) await measure.getIndex(ref);
    const tails = measure.indexCache.sizeBytes;
    expect(tails).toBeGreaterThan(2 * 1024 * 1024); // above the tail cache's 1 MiB floor, twice over
    // A chunk cache whose tail share (a quarter) holds about half of the tails; no chunk body is read.
    const store = new ChunkStore(client, { cacheBytes: 2 * tails });
    const perPass: number[] = [];
    for (let pass = 0; pass < 6; pass++) {
      tailReads.clear();
      for (const ref of refs) expect((await store.getIndex(ref)).blockMetas().length).toBeGreaterThan(0);
      perPass.push(tailReads.size);
    }
    expect(perPass[0]).toBe(40);
    // Least recently used order alone reads all 40 again on every pass; the cache keeps ~20.
    for (const n of perPass.slice(1)) expect(n).toBeLessThanOrEqual(26);
    expect(store.indexCache.rejections).toBeGreaterThan(0);
  });

  it('drops a tail once its chunk is held whole, and answers from the chunk', async () => {
    const { MemChunk } = await import('../chunk/index.js');
    const client = new MemoryObjectClient();
    let reads = 0;
    watchRangeReads(client, () => reads++);
    const chunk = new MemChunk({ codec: 'snappy', blockSizeBytes: 4096, targetSizeBytes: 1 << 24 });
    for (let i = 0; i < 2000; i++) chunk.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`entry ${i} id=${(i * 2654435761) % 1e9}`), []);
    const bytes = chunk.encode();
    const ref = refFor(bytes);
    await client.put(chunkKey(ref), bytes);
    const store = new ChunkStore(client, { cacheBytes: 1 << 26 });
    const metas = (await store.getIndex(ref)).blockMetas();
    expect(store.indexCache.has(chunkKey(ref))).toBe(true);
    await store.get(ref);
    expect(store.indexCache.has(chunkKey(ref))).toBe(false);
    expect(store.indexCache.sizeBytes).toBe(0);
    reads = 0;
    expect((await store.getIndex(ref)).blockMetas()).toEqual(metas);
    expect(reads).toBe(0);
  });
});

describe('ChunkStore cache memory (slabs)', () => {
  const chunkOf = (i: number, n: number): Buffer => {
    const b = Buffer.alloc(n, i & 0xff);
    b.writeUInt32LE(i, 0);
    return b;
  };
  const putAll = async (client: ObjectClient, n: number, size: number): Promise<ChunkRef[]> => {
    const refs: ChunkRef[] = [];
    for (let i = 0; i < n; i++) {
      const bytes = chunkOf(i, size);
      const ref = refFor(bytes, { fingerprint: (i + 1).toString(16).padStart(16, '0') });
      await client.put(chunkKey(ref), bytes);
      refs.push(ref);
    }
    return refs;
  };

  it('keeps caches of 1 GiB and more in slabs of an eighth (at most 512 MiB), smaller ones in a Buffer per chunk', () => {
    const MiB = 1024 * 1024;
    expect(slabBytesFor(256 * MiB)).toBe(0);
    expect(slabBytesFor(1024 * MiB - 1)).toBe(0);
    expect(slabBytesFor(1024 * MiB)).toBe(128 * MiB);
    expect(slabBytesFor(3000 * MiB)).toBe(375 * MiB);
    expect(slabBytesFor(64 * 1024 * MiB)).toBe(512 * MiB);
    expect(new ChunkStore(new MemoryObjectClient(), { cacheBytes: 256 * MiB }).slabs).toBeNull();
    expect(new ChunkStore(new MemoryObjectClient(), { cacheBytes: 0, slabBytes: 4 * MiB }).slabs).toBeNull();
    expect(new ChunkStore(new MemoryObjectClient(), { cacheBytes: 2048 * MiB }).slabs!.slabBytes).toBe(256 * MiB);
  });

  it('reads the chunks it keeps into one slab, from a filesystem (read in place) and from a backend that answers its own memory (copied)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'silt-slabs-'));
    try {
      for (const client of [new FilesystemObjectClient(dir), new MemoryObjectClient()]) {
        const store = new ChunkStore(client, { cacheBytes: 16 << 20, slabBytes: 4 << 20 });
        const refs = await putAll(client, 20, 100_000);
        const got = await Promise.all(refs.map((r) => store.get(r)));
        for (const [i, b] of got.entries()) expect(b.equals(chunkOf(i, 100_000)), `chunk ${i}`).toBe(true);
        // 2 MB of chunks in the first slab: one slab, no other memory held by the cache.
        expect(store.slabs!.slabsMade).toBe(1);
        expect(new Set(got.map((b) => b.buffer)).size).toBe(1);
        expect(store.slabs!.liveBytes).toBe(store.cache.sizeBytes);
        expect(store.slabs!.liveBytes).toBe(20 * 100_000);
        // Cached: the same bytes again, without another slab.
        expect(await store.get(refs[3]!)).toBe(got[3]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('holds at most about a slab more than it caches while chunks come and go, and every chunk reads back right', async () => {
    const client = new MemoryObjectClient();
    const size = 32 * 1024;
    const store = new ChunkStore(client, { cacheBytes: 16 << 20, slabBytes: 4 << 20 });
    const slabs = store.slabs!;
    expect(slabs.slabBytes).toBe(4 << 20);
    const rounds = 80;
    const perRound = 16;
    const refs = await putAll(client, rounds * perRound, size);
    let maxHeld = 0;
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < perRound; j++) {
        const i = r * perRound + j;
        expect((await store.get(refs[i]!)).equals(chunkOf(i, size)), `chunk ${i}`).toBe(true);
      }
      // All but each round's first chunk leave the cache (as evictions would): every slab
      // keeps a few cached chunks and is mostly dead room.
      for (let j = 1; j < perRound; j++) store.cache.delete(chunkKey(refs[r * perRound + j]!));
      expect(slabs.liveBytes).toBe(store.cache.sizeBytes);
      maxHeld = Math.max(maxHeld, slabs.heldBytes);
    }
    // Without moving chunks out of emptied slabs the run holds every slab it made (~10: 40 MiB).
    expect(slabs.slabsMade).toBeGreaterThanOrEqual(10);
    expect(maxHeld).toBeLessThanOrEqual(store.cache.maxBytes + 2 * slabs.slabBytes);
    expect(slabs.copiedBytes).toBeGreaterThan(0);
    for (let r = 0; r < rounds; r++) {
      const i = r * perRound;
      expect((await store.get(refs[i]!)).equals(chunkOf(i, size)), `hot chunk ${i}`).toBe(true);
    }
  });

  it('counts a cached chunk read outside the slabs in the cache’s memory', async () => {
    const client = new MemoryObjectClient();
    const size = 4 << 20;
    const store = new ChunkStore(client, { cacheBytes: 4 * size, slabBytes: 8 << 20 });
    const refs = await putAll(client, 5, size);
    for (let k = 0; k < 3; k++) for (let i = 0; i < 4; i++) await store.get(refs[i]!);
    // The full cache would not take a fifth chunk asked for less often: it is read into memory of its own…
    const pending = store.get(refs[4]!);
    await Promise.resolve(); // the read has started
    // …and the cache has room for it by the time the read ends.
    for (let i = 0; i < 4; i++) store.cache.delete(chunkKey(refs[i]!));
    expect((await pending).equals(chunkOf(4, size))).toBe(true);
    expect(store.cache.has(chunkKey(refs[4]!))).toBe(true);
    expect(store.slabs!.liveBytes).toBe(0);
    expect(store.cache.memoryBytes).toBe(store.slabs!.heldBytes + size);
  });

  it('moves a chunk out of an emptied slab without making it recently used', async () => {
    const client = new MemoryObjectClient();
    const size = 32 * 1024;
    const store = new ChunkStore(client, { cacheBytes: 16 << 20, slabBytes: 4 << 20 });
    const slabs = store.slabs!;
    const refs = await putAll(client, 900, size);
    const key = (i: number): string => chunkKey(refs[i]!);
    // Chunk 0 stays alone in the first slab, and one chunk in the second (the others that
    // share them leave the cache): two slabs of dead room.
    const first = await store.get(refs[0]!);
    let next = 1;
    while (slabs.slabsMade < 3) {
      const before = slabs.slabsMade;
      await store.get(refs[next]!);
      if (slabs.slabsMade === before) store.cache.delete(key(next));
      next++;
    }
    // New chunks until the dead room makes the slabs move the emptiest slab's (the first's) chunk.
    while (slabs.copiedBytes === 0 && next < refs.length) await store.get(refs[next++]!);
    expect(store.cache.evictions).toBe(0);
    const moved = store.cache.peek(key(0))!.bytes;
    expect(moved.buffer).not.toBe(first.buffer);
    expect(moved.equals(first)).toBe(true);
    // Fill the cache, then bring in chunks asked for three times (a full cache's admission
    // wants more requests than those of what it evicts): the least recently used goes first.
    while (store.cache.sizeBytes + size <= store.cache.maxBytes) await store.get(refs[next++]!);
    const oldestOther = [...Array(next).keys()].find((i) => i > 0 && store.cache.has(key(i)))!;
    store.cache.get(key(next));
    store.cache.get(key(next));
    await store.get(refs[next]!);
    expect(store.cache.has(key(next))).toBe(true);
    // Chunk 0 was asked for first and once: moving it did not make it recently used.
    expect(store.cache.has(key(0))).toBe(false);
    expect(store.cache.has(key(oldestOther))).toBe(true);
  });
});

describe('ChunkStore.getForScan', () => {
  const withFs = async (fn: (client: FilesystemObjectClient) => Promise<void>): Promise<void> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'silt-lend-'));
    try {
      await fn(new FilesystemObjectClient(dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const put = async (client: ObjectClient, bytes: Buffer, fp: number): Promise<ChunkRef> => {
    const ref = refFor(bytes, { fingerprint: fp.toString(16).padStart(16, '0') });
    await client.put(chunkKey(ref), bytes);
    return ref;
  };
  const body = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255));

  it('lends memory for chunks the cache will not keep, and reuses it once released', () =>
    withFs(async (client) => {
      const store = new ChunkStore(client, { cacheBytes: 0 });
      const refs = await Promise.all([1, 2, 3].map((i) => put(client, body(300_000 + i * 1000, i), i)));
      const a = await store.getForScan(refs[0]!);
      expect(a.lent).toBe(true);
      expect(a.bytes.equals(body(301_000, 1))).toBe(true);
      const b = await store.getForScan(refs[1]!);
      expect(b.bytes.buffer).not.toBe(a.bytes.buffer);
      a.release();
      a.release();
      const c = await store.getForScan(refs[2]!);
      expect(c.lent).toBe(true);
      expect(c.bytes.buffer).toBe(a.bytes.buffer);
      expect(c.bytes.equals(body(303_000, 3))).toBe(true);
      // The lease still held is untouched; the second release of `a` gave nothing twice.
      expect(b.bytes.equals(body(302_000, 2))).toBe(true);
      expect((await store.getForScan(refs[0]!)).bytes.buffer).not.toBe(c.bytes.buffer);
      expect(store.lendBuffers!.allocated).toBe(3);
      expect(store.cache.count).toBe(0);
    }));

  it('reads a chunk the cache takes as get does, and lends nothing from a backend that ignores `into`', async () => {
    await withFs(async (client) => {
      const store = new ChunkStore(client, { cacheBytes: 10 << 20 });
      const ref = await put(client, body(200_000, 9), 9);
      const first = await store.getForScan(ref);
      expect(first.lent).toBe(false);
      expect(first.bytes.equals(body(200_000, 9))).toBe(true);
      expect(store.cache.count).toBe(1);
      expect((await store.getForScan(ref)).bytes).toBe(first.bytes);
      expect(store.lendBuffers!.allocated).toBe(0);
    });
    const mem = new MemoryObjectClient();
    const store = new ChunkStore(mem, { cacheBytes: 0 });
    const ref = await put(mem, body(1000, 4), 4);
    const got = await store.getForScan(ref);
    expect([got.lent, got.bytes.equals(body(1000, 4))]).toEqual([false, true]);
    // The buffer it took went back unused.
    expect(store.lendBuffers!.freeBytes).toBeGreaterThan(0);
  });

  it('fails a chunk whose object is longer, shorter or damaged, and a missing one', () =>
    withFs(async (client) => {
      const store = new ChunkStore(client, { cacheBytes: 0 });
      const bytes = body(10_000, 5);
      const ref = refFor(bytes, { fingerprint: '0000000000000005' });
      for (const stored of [Buffer.concat([bytes, Buffer.from('x')]), bytes.subarray(0, 9999), Buffer.concat([bytes, Buffer.alloc(70_000)])]) {
        await client.put(chunkKey(ref), stored);
        await expect(store.getForScan(ref)).rejects.toBeInstanceOf(ChunkCorruptError);
      }
      const damaged = Buffer.from(bytes);
      damaged[77]! ^= 1;
      await client.put(chunkKey(ref), damaged);
      await expect(store.getForScan(ref)).rejects.toBeInstanceOf(ChunkCorruptError);
      await expect(store.getForScan({ ...ref, fingerprint: '0000000000000006' })).rejects.toBeInstanceOf(NotFoundError);
    }));
});

describe('ChunkStore.getBlocksForScan', () => {
  it('reads only the header and the blocks asked for, caches nothing, and leaves cached chunks to the cache', async () => {
    const { MemChunk, decodeChunk, chunkPieceRanges } = await import('../chunk/index.js');
    // Blocks far enough apart that reads of a few of them skip the rest.
    const c = new MemChunk({ codec: 'none', blockSizeBytes: 20 * 1024, targetSizeBytes: 1 << 22 });
    for (let i = 0; i < 8000; i++) c.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`entry ${i} word${i % 97} ${'pad '.repeat(i % 9)}`), []);
    const bytes = c.encode();
    const full = decodeChunk(bytes);
    const n = full.blockMetas().length;
    expect(n).toBeGreaterThan(10);
    const client = new MemoryObjectClient();
    const reads: [number, number][] = [];
    watchRangeReads(client, (_key, offset, length) => reads.push([offset, length]));
    const store = new ChunkStore(client, { cacheBytes: 10 << 20 });
    const ref = refFor(bytes);
    await store.put(ref, bytes);
    const index = await store.getIndex(ref);
    reads.length = 0;
    const want = [1, 2, 7, n - 1];
    const got = (await store.getBlocksForScan(ref, index, want))!;
    // What chunkPieceRanges asks for (a getRange each from a backend without getRanges).
    expect(reads).toEqual(chunkPieceRanges(index, want)!.map((r) => [r.at, r.length]));
    expect(got.bytes).toBe(reads.reduce((a, [, l]) => a + l, 0));
    expect(got.bytes).toBeLessThan(bytes.length);
    for (const b of want) expect(got.chunk.readBlock(b)).toEqual(full.readBlock(b));
    expect(() => got.chunk.readBlock(0)).toThrow(RangeError);
    expect([store.blockReads, store.blockReadBytes, store.cache.count]).toEqual([1, got.bytes, 0]);
    // Once the cache holds the chunk, it answers: no reads by block.
    await store.get(ref);
    expect(await store.getBlocksForScan(ref, index, want)).toBeNull();
    // An index read from the chunk itself cannot be completed by pieces.
    const other = new ChunkStore(client, { cacheBytes: 0 });
    expect(await other.getBlocksForScan(ref, decodeChunk(bytes), want)).toBeNull();
  });

  it('fails with ChunkCorruptError when the object is shorter or its blocks damaged', async () => {
    const { MemChunk } = await import('../chunk/index.js');
    const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 2048, targetSizeBytes: 1 << 22 });
    for (let i = 0; i < 1000; i++) c.append(1_700_000_000_000_000_000n + BigInt(i), Buffer.from(`entry ${i} ${'pad '.repeat(i % 9)}`), []);
    const bytes = c.encode();
    const client = new MemoryObjectClient();
    const store = new ChunkStore(client, { cacheBytes: 0 });
    const ref = refFor(bytes);
    await store.put(ref, bytes);
    const index = await store.getIndex(ref);
    const last = index.blockMetas().length - 1;
    const damaged = Buffer.from(bytes);
    damaged[index.blockMetas()[1]!.offset + 3]! ^= 0x10;
    await client.put(chunkKey(ref), damaged);
    const got = (await store.getBlocksForScan(ref, index, [1]))!;
    expect(() => got.chunk.readBlock(1)).toThrow(ChunkCorruptError);
    await client.put(chunkKey(ref), bytes.subarray(0, index.blockMetas()[last]!.offset + 2));
    await expect(store.getBlocksForScan(ref, index, [last])).rejects.toBeInstanceOf(ChunkCorruptError);
    await client.delete(chunkKey(ref));
    await expect(store.getBlocksForScan(ref, index, [0])).rejects.toBeInstanceOf(NotFoundError);
  });
});
