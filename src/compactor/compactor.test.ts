import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type DeletionMode } from '../config/config.js';
import { decodeChunk } from '../chunk/index.js';
import { chunkKey, IndexWriter, MemoryObjectClient } from '../storage/index.js';
import { loadTable } from './markers.js';
import { Compactor } from './compactor.js';
import { DeleteRequestsStore } from './delete-requests.js';
import { flushChunks, testLabels, visibleRows } from './testing.js';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 22, 12);
const T0 = BigInt(NOW - 5 * H) * 1_000_000n;

async function setup(mode: DeletionMode, cancelPeriodMs: number): Promise<{ client: MemoryObjectClient; store: DeleteRequestsStore; compactor: Compactor }> {
  const client = new MemoryObjectClient();
  const w = new IndexWriter(client, 'ing');
  for (let f = 0; f < 3; f++) {
    await flushChunks(client, w, 't', [{ labels: testLabels(1), entries: Array.from({ length: 10 }, (_, i) => ({ tsNs: T0 + BigInt(f * 10 + i) * 1_000_000_000n, line: `f${f} i${i} ${i % 2 ? 'odd' : 'even'}` })) }]);
  }
  const cfg = defaultConfig();
  const store = new DeleteRequestsStore(client, { nowMs: () => NOW });
  const compactor = new Compactor({
    cfg: { ...cfg.compactor, retention_enabled: true, delete_request_cancel_period: cancelPeriodMs, retention_delete_delay: 0 },
    ingester: cfg.ingester,
    limits: () => ({ ...cfg.limits_config, deletion_mode: mode }),
    client,
    deleteRequests: store,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    nowMs: () => NOW,
  });
  return { client, store, compactor };
}

const rows = (client: MemoryObjectClient): Promise<string[]> => visibleRows(client, 't', 0n, BigInt(NOW) * 1_000_000n);

describe('Compactor.runOnce', () => {
  it.each([
    ['filter-and-delete, past the cancel period', 'filter-and-delete', 0, true],
    ['filter-and-delete, within the cancel period', 'filter-and-delete', 24 * H, false],
    ['filter-only', 'filter-only', 0, false],
  ] as const)('%s', async (_name, mode, cancel, processed) => {
    const { client, store, compactor } = await setup(mode, cancel);
    const before = await rows(client);
    await store.add('t', '{stream="s1"} |= "odd"', 0, NOW - H);
    const r = await compactor.runOnce();
    expect(r.deleteRequestsProcessed).toBe(processed ? 1 : 0);
    expect((await store.list('t', true))[0]!.status).toBe(processed ? 'processed' : 'received');
    // Stored data loses the lines only when processed (queries hide them in every case).
    expect(await rows(client)).toEqual(processed ? before.filter((l) => !l.includes('odd')) : before);
    // The query-time filter hides them either way.
    const deleter = await store.deleterFor('t');
    expect(deleter?.forStream(testLabels(1))).not.toBeNull();
    expect(deleter?.forStream(testLabels(2))).toBeNull();
  });
});

describe('Compactor.runOnce: compactor.recompress_after (ADR 0038)', () => {
  it('recompresses the days that ended at least recompress_after ago, and only those', async () => {
    const D = 24 * H;
    /** Three days of data, two flushes each: 3 days ago, 2 days ago and today (NOW is noon). */
    const seeded = async (): Promise<MemoryObjectClient> => {
      const c = new MemoryObjectClient();
      const w = new IndexWriter(c, 'ing');
      for (const daysAgo of [3, 2, 0]) {
        const t0 = BigInt(NOW - daysAgo * D - 2 * H) * 1_000_000n;
        for (let f = 0; f < 2; f++) {
          await flushChunks(c, w, 't', [{ labels: testLabels(1), entries: Array.from({ length: 30 }, (_, i) => ({ tsNs: t0 + BigInt(f * 30 + i) * 1_000_000_000n, line: `day-${daysAgo} f${f} i${i} level=info msg="request served" took=${(i * 37) % 500}ms` })) }]);
        }
      }
      return c;
    };
    const client = await seeded();
    const cfg = defaultConfig();
    const registry = new Registry();
    const compactor = new Compactor({
      // The day 2 days ago ended 36 h before NOW: recompressed after 36 h, not after 37 h.
      cfg: { ...cfg.compactor, recompress_after: 36 * H, recompress_zstd_level: 9, recompress_block_size: 4096 },
      ingester: cfg.ingester,
      limits: () => cfg.limits_config,
      client,
      deleteRequests: new DeleteRequestsStore(client, { nowMs: () => NOW }),
      logger: pino({ level: 'silent' }),
      registry,
      nowMs: () => NOW,
    });
    const before = await rows(client);
    const r = await compactor.runOnce({ minChunkAgeMs: 0 });
    expect(r.totals.recompressed).toBe(4);
    expect(await rows(client)).toEqual(before);
    const day = (daysAgo: number): number => Math.floor((NOW - daysAgo * D) / D);
    const tags = new Map<number, string>();
    for (const d of [3, 2, 0]) {
      const { live } = await loadTable(client, 't', day(d));
      expect(live).toHaveLength(1);
      tags.set(d, live[0]!.recompressed);
      for (let j = 0; j < live[0]!.fromNs.length; j++) {
        const codec = decodeChunk(await client.get(chunkKey(live[0]!.refAt(0, j)))).codec;
        expect(codec).toBe(d === 0 ? cfg.ingester.chunk_encoding : 'zstd');
      }
    }
    expect(tags.get(3)).toBe(`zstd-9/4096/${cfg.ingester.chunk_target_size}`);
    expect(tags.get(2)).toBe(tags.get(3));
    expect(tags.get(0)).toBe('');
    const metrics = await registry.getSingleMetricAsString('silt_compactor_chunks_recompressed_total');
    expect(metrics).toMatch(/^silt_compactor_chunks_recompressed_total 4$/m);
    const bytes = await registry.getMetricsAsJSON();
    const rb = bytes.find((m) => m.name === 'silt_compactor_recompressed_bytes_total')!.values;
    const before_ = rb.find((v) => v.labels['stage'] === 'before')!.value;
    const after_ = rb.find((v) => v.labels['stage'] === 'after')!.value;
    expect(before_).toBeGreaterThan(0);
    expect(after_).toBeGreaterThan(0);
    // A second run has nothing to do.
    expect((await compactor.runOnce({ minChunkAgeMs: 0 })).totals.recompressed).toBe(0);
    // 37 h: the day 2 days ago is not old enough yet; 0 turns recompression off.
    for (const [after, n] of [[37 * H, 2], [0, 0]] as const) {
      const c = await seeded();
      const other = new Compactor({ cfg: { ...cfg.compactor, recompress_after: after }, ingester: cfg.ingester, limits: () => cfg.limits_config, client: c, deleteRequests: new DeleteRequestsStore(c, { nowMs: () => NOW }), logger: pino({ level: 'silent' }), registry: new Registry(), nowMs: () => NOW });
      expect((await other.runOnce({ minChunkAgeMs: 0 })).totals.recompressed, `after ${after}`).toBe(n);
    }
  });
});
