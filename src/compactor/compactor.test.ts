import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type DeletionMode } from '../config/config.js';
import { IndexWriter, MemoryObjectClient } from '../storage/index.js';
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
