import { afterAll, describe, expect, it } from 'vitest';
import { tokenHash } from './bloom.js';
import { CODECS, type Codec } from './codec.js';
import { MemChunk } from './mem-chunk.js';
import { type BlockSealer, type SealedBlock, type SealJob, WorkerBlockSealer, sealBlockSync } from './sealer.js';
import { chunkEntries, Rng, tokenProbe } from './testing.js';

const T0 = 1_700_000_000_000_000_000n;
const worker = new WorkerBlockSealer();
afterAll(() => worker.close());

/** Appends the same pseudo-random entries (some out of order, some with metadata) to `c`. */
function fill(c: MemChunk, seed: number, n: number): void {
  fill2(c, seed, n, 0);
}

/** `fill`'s entries from..from+n of the sequence of `seed` (fill(c, s, a) then fill2(c, s, b, a) appends what fill(c, s, a + b) does). */
function fill2(c: MemChunk, seed: number, n: number, from: number): void {
  const rng = new Rng(seed);
  for (let i = 0; i < from + n; i++) {
    const ts = T0 + BigInt(i * 1000 - (rng.int(10) === 0 ? rng.int(5000) : 0));
    const line = Buffer.from(`level=${['info', 'warn', 'error'][rng.int(3)]} user=u${rng.int(500)} msg="request ${i}" took=${rng.int(900)}ms ${rng.int(20) === 0 ? 'NEEDLE' + i : ''}`);
    const md = rng.int(7) === 0 ? [{ name: 'trace_id', value: `t${rng.int(50)}` }] : [];
    if (i >= from) c.append(ts, line, md);
  }
}

function pair(codec: Codec, sealer: BlockSealer): [MemChunk, MemChunk] {
  const opts = { codec, blockSizeBytes: 4096, targetSizeBytes: 1 << 24 };
  return [new MemChunk(opts), new MemChunk({ ...opts, sealer })];
}

describe('block sealing off the event loop', () => {
  for (const codec of CODECS) {
    it(`${codec}: a worker-sealed chunk encodes to the same bytes as an inline one, and reads the same before sealing`, async () => {
      const [inline, async] = pair(codec, worker);
      fill(inline, 7, 3000);
      fill(async, 7, 3000);
      // Right after the cuts most blocks are still pending: reads come from their payloads.
      const metas = async.blockMetas();
      expect(metas.length).toBeGreaterThan(10);
      expect(metas.some((m) => m.offset === -1)).toBe(true);
      expect(chunkEntries(async)).toEqual(chunkEntries(inline));
      await async.whenSealed();
      expect(async.blockMetas()).toEqual(inline.blockMetas());
      expect(async.compressedBytes()).toBe(inline.compressedBytes());
      expect(async.isFull()).toBe(inline.isFull());
      expect(async.encode().equals(inline.encode())).toBe(true);
    });
  }

  it('token filters arrive with the seal: a pending block may match anything, a sealed one skips', async () => {
    const [, c] = pair('snappy', worker);
    fill(c, 3, 2000);
    const absent = new Uint32Array([tokenHash(Buffer.from('nosuchtoken'), 0, 11)]);
    const n = c.blockMetas().length;
    const pending = c.blockMetas().map((m, i) => (m.offset === -1 ? i : -1)).filter((i) => i >= 0);
    for (const i of pending) expect(c.blockMayContainAll(i, tokenProbe(absent))).toBe(true);
    await c.whenSealed();
    for (let i = 0; i < n; i++) expect(c.blockMayContainAll(i, tokenProbe(absent))).toBe(false);
  });

  it('encode() without waiting seals inline and ignores the late results', async () => {
    const [inline, async] = pair('gzip', worker);
    fill(inline, 11, 2500);
    fill(async, 11, 2500);
    const bytes = async.encode();
    expect(bytes.equals(inline.encode())).toBe(true);
    // Late replies from the worker must not change anything.
    await new Promise((r) => setTimeout(r, 300));
    expect(async.encode().equals(bytes)).toBe(true);
    await async.whenSealed();
  });

  it('a shed sealer: chunks seal inline at once, the worker stops after its pending blocks, and comes back unshed', async () => {
    const own = new WorkerBlockSealer();
    try {
      const [inline, async] = pair('lz4', own);
      fill(inline, 13, 3000);
      fill(async, 13, 1500);
      expect(own.running).toBe(true);
      const pending = async.blockMetas().filter((m) => m.offset === -1).length;
      expect(pending).toBeGreaterThan(0);
      own.shed(true);
      expect(own.inline).toBe(true);
      // Blocks cut from now on are sealed at the cut; the earlier ones still arrive from the worker.
      const before = async.blockMetas().length;
      fill2(async, 13, 1500, 1500);
      const metas = async.blockMetas();
      expect(metas.length).toBeGreaterThan(before);
      for (const m of metas.slice(before)) expect(m.offset).not.toBe(-1);
      await async.whenSealed();
      expect(async.encode().equals(inline.encode())).toBe(true);
      // The worker ended once its last pending block was answered.
      for (let i = 0; i < 100 && own.running; i++) await new Promise((r) => setTimeout(r, 10));
      expect(own.running).toBe(false);
      // Still shed: more cuts start no worker.
      const [, more] = pair('lz4', own);
      fill(more, 19, 1000);
      expect(more.blockMetas().every((m) => m.offset !== -1)).toBe(true);
      expect(own.running).toBe(false);
      own.shed(false);
      const [, again] = pair('lz4', own);
      fill(again, 17, 1000);
      expect(own.running).toBe(true);
      expect(again.blockMetas().some((m) => m.offset === -1)).toBe(true);
      await again.whenSealed();
    } finally {
      await own.close();
    }
  });

  it('a failing sealer falls back to sealing inline, in order', async () => {
    let calls = 0;
    const flaky: BlockSealer = {
      seal(job: SealJob): Promise<SealedBlock> {
        calls++;
        // Every third job fails; the others complete in reverse order of submission.
        if (calls % 3 === 0) return Promise.reject(new Error('boom'));
        return new Promise((resolve) => setTimeout(() => resolve(sealBlockSync(job)), 50 - (calls % 40)));
      },
    };
    const [inline, async] = pair('lz4', flaky);
    fill(inline, 5, 2000);
    fill(async, 5, 2000);
    await async.whenSealed();
    expect(calls).toBeGreaterThan(5);
    expect(async.encode().equals(inline.encode())).toBe(true);
  });

  it('the worker seals many chunks concurrently and keeps each chunk in order', async () => {
    const chunks = Array.from({ length: 20 }, () => pair('snappy', worker));
    chunks.forEach(([a, b], k) => {
      fill(a, 100 + k, 800);
      fill(b, 100 + k, 800);
    });
    await Promise.all(chunks.map(([, b]) => b.whenSealed()));
    for (const [a, b] of chunks) expect(b.encode().equals(a.encode())).toBe(true);
  });

  it('isFull() answers the same after every append whatever the sealer and its speed (replicas cut chunks alike)', async () => {
    // Sealers from instant to never: a chunk's "full" moment must not depend on which seals arrived.
    const slow = (maxDelayMs: number): BlockSealer => ({
      seal: (job) => new Promise((resolve) => setTimeout(() => resolve(sealBlockSync(job)), Math.floor(Math.random() * maxDelayMs))),
    });
    const never: BlockSealer = { seal: () => new Promise<SealedBlock>(() => {}) };
    const sealers: (BlockSealer | null)[] = [null, worker, slow(5), slow(60), never];
    const rng = new Rng(99);
    const entries = Array.from({ length: 6000 }, (_, i) => ({
      ts: T0 + BigInt(i * 1000 - (rng.int(10) === 0 ? rng.int(5000) : 0)),
      line: Buffer.from(`level=${['info', 'warn'][rng.int(2)]} user=u${rng.int(500)} msg="request ${i}" took=${rng.int(900)}ms`),
      md: rng.int(9) === 0 ? [{ name: 'trace_id', value: `t${rng.int(50)}` }] : [],
    }));
    const runs = await Promise.all(
      sealers.map(async (sealer, k) => {
        const c = new MemChunk({ codec: 'snappy', blockSizeBytes: 2048, targetSizeBytes: 24 * 1024, ...(sealer === null ? {} : { sealer }) });
        const full: boolean[] = [];
        let chunks = 0;
        let cur = c;
        const bytes: Buffer[] = [];
        for (let i = 0; i < entries.length; i++) {
          // Each run yields to the event loop at its own moments, so seals land at different appends.
          if ((i * (k + 3)) % 97 === 0) await new Promise((r) => setTimeout(r, k));
          const isFull = cur.isFull();
          full.push(isFull);
          if (isFull) {
            bytes.push(cur.encode());
            chunks++;
            cur = new MemChunk({ codec: 'snappy', blockSizeBytes: 2048, targetSizeBytes: 24 * 1024, ...(sealer === null ? {} : { sealer }) });
          }
          const e = entries[i]!;
          cur.append(e.ts, e.line, e.md);
        }
        return { full, chunks, bytes };
      }),
    );
    expect(runs[0]!.chunks).toBeGreaterThan(3);
    for (const r of runs.slice(1)) {
      expect(r.full).toEqual(runs[0]!.full);
      expect(r.bytes.length).toBe(runs[0]!.bytes.length);
      r.bytes.forEach((b, i) => expect(b.equals(runs[0]!.bytes[i]!)).toBe(true));
    }
  });

  it('the worker itself seals what MemChunk cuts, without falling back inline', async () => {
    // A sealer that records whether the worker answered: a fallback would hide a worker that
    // cannot read the payload.
    let answered = 0;
    const counting: BlockSealer = {
      seal: (job: SealJob) => {
        const before = Buffer.from(job.payload);
        return worker.seal(job).then((r) => {
          // The payload stays readable (the transfer moved a copy).
          expect(job.payload.equals(before)).toBe(true);
          answered++;
          return r;
        });
      },
    };
    for (const codec of CODECS) {
      const [inline, async] = pair(codec, counting);
      fill(inline, 21, 1500);
      fill(async, 21, 1500);
      await async.whenSealed();
      expect(async.encode().equals(inline.encode())).toBe(true);
    }
    expect(answered).toBeGreaterThan(20);
  });
});
