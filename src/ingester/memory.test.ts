import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../config/config.js';
import { RateLimitError } from '../errors.js';
import { fingerprint, labelsToString, sortLabels, type ValidStream } from '../model/index.js';
import type { ChunkRef } from '../storage/index.js';
import { MemorySink } from './client.contract.js';
import { Ingester, MEMORY_LIMIT_REASON, type IngesterConfig } from './ingester.js';


const MiB = 1024 * 1024;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

function stream(i: number, n: number, lineBytes: number, startNs: bigint): ValidStream {
  const ls = sortLabels([
    { name: 'app', value: 'mem' },
    { name: 'i', value: String(i) },
  ]);
  // Incompressible lines: cut blocks stay as big as the text.
  const line = (): Buffer => {
    const b = randomBytes(lineBytes);
    for (let j = 0; j < lineBytes; j++) b[j] = 33 + (b[j]! % 90);
    return b;
  };
  const entries = Array.from({ length: n }, (_, k) => ({ tsNs: startNs + BigInt(k), line: line(), metadata: [] }));
  return { labels: ls, labelsString: labelsToString(ls), fingerprint: fingerprint(ls), entries };
}

async function start(memoryLimit: number, softRatio = 0.8, sink = new MemorySink()): Promise<{ ing: Ingester; registry: Registry; sink: MemorySink }> {
  const base = defaultConfig();
  const cfg: IngesterConfig = { ...base.ingester, memory_limit: memoryLimit, memory_soft_limit_ratio: softRatio, chunk_target_size: 16 * MiB, block_sealer: 'inline', flush_check_period: 3_600_000, wal: { ...base.ingester.wal, enabled: false } };
  const registry = new Registry();
  const ing = new Ingester({ cfg, limits: () => ({ ...base.limits_config, per_stream_rate_limit: 0 }), sink, logger: pino({ level: 'silent' }), registry });
  await ing.start();
  return { ing, registry, sink };
}

async function metric(r: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await r.getSingleMetric(name)!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describe('ingester memory limit', () => {
  it('refuses a push past the hard mark with 429 and leaves no trace of it', async () => {
    const { ing, registry } = await start(2 * MiB);
    await ing.push('t', [stream(0, 100, 1000, NOW_NS)]);
    const before = ing.memoryStats();
    const err = await ing.push('t', [stream(1, 3000, 1000, NOW_NS)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).reason).toBe(MEMORY_LIMIT_REASON);
    expect((err as Error).message).toMatch(/^ingester memory limit reached: .* of 2\.0 MiB \(ingester\.memory_limit\) .* push of 3000 entries \(2\.9 MiB\) for user 't' refused and not stored/);
    // No stream was created, nothing appended.
    expect(ing.memoryStats()).toEqual(before);
    expect(await metric(registry, 'loki_discarded_samples_total', { reason: MEMORY_LIMIT_REASON })).toBe(3000);
    expect(await metric(registry, 'silt_ingester_memory_refused_pushes_total')).toBe(1);
    await ing.stop(1000);
  });

  it('flushes the biggest chunks early above the soft mark and takes pushes again', async () => {
    const { ing, registry, sink } = await start(4 * MiB, 0.5);
    // One big stream and many small ones: the big one goes first.
    await ing.push('t', [stream(0, 2500, 1000, NOW_NS)]);
    for (let i = 1; i <= 20; i++) await ing.push('t', [stream(i, 5, 100, NOW_NS)]);
    await ing.flushNow(false);
    expect(await metric(registry, 'silt_ingester_memory_early_flushes_total')).toBeGreaterThan(0);
    expect(await metric(registry, 'loki_ingester_chunks_flushed_total', { reason: 'memory' })).toBeGreaterThan(0);
    expect(sink.chunks.size).toBeGreaterThan(0);
    expect(sink.chunks.size).toBeLessThan(21);
    // The next cycle drops the flushed chunks at once (no retain period under pressure).
    await ing.flushNow(false);
    const used = await metric(registry, 'silt_ingester_memory_used_bytes');
    expect(used).toBeLessThan(2 * MiB);
    await ing.push('t', [stream(0, 2500, 1000, NOW_NS + 10_000n)]);
    await ing.stop(1000);
  });

  it('is under pressure while it holds more than the soft mark, and not once flushes freed it', async () => {
    // Uploads wait until the gate opens, so the early flush cannot free memory before the look.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    class GatedSink extends MemorySink {
      override async putChunk(ref: ChunkRef, bytes: Buffer): Promise<void> {
        await gate;
        return super.putChunk(ref, bytes);
      }
    }
    const { ing, registry } = await start(4 * MiB, 0.5, new GatedSink());
    expect(ing.underMemoryPressure).toBe(false);
    // Streams of 300 KB (cut blocks count compressed) until the soft mark (2 MiB) is passed.
    let i = 0;
    for (; i < 40 && !ing.underMemoryPressure; i++) {
      await ing.push('t', [stream(i, 300, 1000, NOW_NS)]);
      if (!ing.underMemoryPressure) expect(await metric(registry, 'silt_ingester_memory_used_bytes')).toBeLessThanOrEqual(2 * MiB);
    }
    expect(i).toBeGreaterThan(1);
    expect(ing.underMemoryPressure).toBe(true);
    expect(await metric(registry, 'silt_ingester_memory_used_bytes')).toBeGreaterThan(2 * MiB);
    open();
    await ing.flushNow(false);
    await ing.flushNow(false);
    expect(ing.underMemoryPressure).toBe(false);
    await ing.stop(1000);
  });

  it('counts memory without a limit, and reports the marks', async () => {
    const { ing, registry } = await start(0);
    await ing.push('t', [stream(0, 100, 1000, NOW_NS)]);
    // The columns the head grew out of wait for reuse (ADR 0040) and count until dropped.
    const withPool = await metric(registry, 'silt_ingester_memory_used_bytes');
    ing.forgetScratch();
    await new Promise((r) => setImmediate(r));
    const used = await metric(registry, 'silt_ingester_memory_used_bytes');
    expect(withPool).toBeGreaterThan(used + 100_000);
    expect(used).toBeGreaterThanOrEqual(100_000);
    expect(used).toBeLessThan(300_000);
    expect(await metric(registry, 'silt_ingester_memory_limit_bytes', { mark: 'hard' })).toBe(0);
    // No limit, no pressure, however much it holds.
    expect(ing.underMemoryPressure).toBe(false);
    await ing.stop(1000);
  });

  it('lays the heads of streams quiet for a whole check period out at their size, and keeps their entries', async () => {
    const base = defaultConfig();
    let nowMs = Date.now();
    const cfg: IngesterConfig = { ...base.ingester, block_sealer: 'inline', flush_check_period: 3_600_000, chunk_idle_period: 24 * 3_600_000, wal: { ...base.ingester.wal, enabled: false } };
    const registry = new Registry();
    const ing = new Ingester({ cfg, limits: () => ({ ...base.limits_config, per_stream_rate_limit: 0 }), sink: new MemorySink(), logger: pino({ level: 'silent' }), registry, nowMs: () => nowMs });
    await ing.start();
    // 40 streams of 20 entries of 130 bytes: each head's line region grew by 1.5x steps to 3456
    // bytes for 2600, its entry columns to 32 entries for 20.
    const pushed = Array.from({ length: 40 }, (_, i) => stream(i, 20, 130, NOW_NS));
    await ing.push('t', pushed);
    // Without the columns the heads grew out of (kept for reuse, ADR 0040): only the shrink counts below.
    ing.forgetScratch();
    // A scrape's figures are kept until the next macrotask: read each after one.
    const used = async (): Promise<number> => {
      await new Promise((r) => setImmediate(r));
      return metric(registry, 'silt_ingester_memory_used_bytes');
    };
    const full = await used();
    // Not quiet yet (the last append was now): nothing changes.
    await ing.flushNow(false);
    expect(await used()).toBe(full);
    // A whole check period later, with one stream taking an entry just before the cycle.
    nowMs += cfg.flush_check_period;
    await ing.push('t', [stream(0, 1, 100, NOW_NS + 1000n)]);
    const withOne = await used();
    await ing.flushNow(false);
    const shrunk = await used();
    // 39 quiet heads gave back ~1 KB each; stream 0 kept its slack.
    expect(withOne - shrunk).toBeGreaterThan(39 * 900);
    expect(withOne - shrunk).toBeLessThan(40 * 1100);
    // Every entry is still there, and the shrunk heads take appends again.
    const stats = ing.memoryStats();
    expect(stats.entries).toBe(40 * 20 + 1);
    await ing.push('t', [stream(5, 3, 100, NOW_NS + 2000n)]);
    expect(ing.memoryStats().entries).toBe(40 * 20 + 4);
    await ing.stop(1000);
  });
});

describe('per-stream rate limit buckets', () => {
  it('forgets full buckets in the flush cycle, and answers every push as buckets never forgotten do', async () => {
    const base = defaultConfig();
    let nowMs = Date.now();
    const cfg: IngesterConfig = { ...base.ingester, block_sealer: 'inline', flush_check_period: 3_600_000, chunk_idle_period: 24 * 3_600_000, max_chunk_age: 24 * 3_600_000, wal: { ...base.ingester.wal, enabled: false } };
    // 2,000 bytes a second, 5,000 at once: the pushes below leave buckets in debt as often as full.
    const limits = () => ({ ...base.limits_config, per_stream_rate_limit: 2000, per_stream_rate_limit_burst: 5000 });
    const make = async (): Promise<Ingester> => {
      const ing = new Ingester({ cfg, limits, sink: new MemorySink(), logger: pino({ level: 'silent' }), registry: new Registry(), nowMs: () => nowMs });
      await ing.start();
      return ing;
    };
    const forgetting = await make();
    const keeping = await make();
    const buckets = (ing: Ingester): number => {
      const inst = (ing as unknown as { tenants: Map<string, { streams: Map<string, { limiter: unknown }> }> }).tenants.get('t');
      return [...(inst?.streams.values() ?? [])].filter((s) => s.limiter !== null).length;
    };
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let forgotten = 0;
    let refused = 0;
    for (let step = 0; step < 400; step++) {
      // Mostly bursts (buckets run into debt), now and then a pause (they fill up again).
      nowMs += rnd() < 0.15 ? 4000 + Math.floor(rnd() * 3000) : Math.floor(rnd() * 400);
      const s = stream(Math.floor(rnd() * 5), 1 + Math.floor(rnd() * 4), 500 + Math.floor(rnd() * 700), NOW_NS + BigInt(step) * 1_000_000n);
      const a = await forgetting.push('t', [s]).then(() => 'ok', (e: unknown) => (e as Error).message);
      const b = await keeping.push('t', [s]).then(() => 'ok', (e: unknown) => (e as Error).message);
      expect(a, `step ${step}`).toBe(b);
      if (a !== 'ok') refused++;
      if (step % 7 === 6) {
        const before = buckets(forgetting);
        await forgetting.flushNow(false);
        forgotten += before - buckets(forgetting);
      }
    }
    // Both kinds of bucket met a flush cycle: some were full (forgotten), some in debt (refusals).
    expect(forgotten).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
    expect(buckets(keeping)).toBe(5);
    await forgetting.stop(1000);
    await keeping.stop(1000);
  });
});
