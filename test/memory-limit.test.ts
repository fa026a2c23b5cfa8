/**
 * ingester.memory_limit against a real process (ADR 0024): a push flood past the soft mark makes
 * the ingester flush early; at the hard mark pushes get 429 with the memory-limit message; every
 * acknowledged entry is queryable afterwards (exact count) and no entry of a refused push is.
 */
import { describe, expect, it } from 'vitest';
import { encodePush } from './support/protobuf.js';
import { queryRange, startChild, startInProcess, tempDir } from './support/silt.js';

const STREAMS = 20;
const PER_PUSH = 400;
const LINE_PAD = 'x'.repeat(180);
const LIMIT_BYTES = 4 * 1024 * 1024;

function pushBody(push: number, entries: number, baseNs: bigint): Buffer {
  const streams = Array.from({ length: STREAMS }, (_, s) => ({ labels: `{job="mem", stream="s${s}"}`, entries: [] as { tsNs: bigint; line: string }[] }));
  for (let i = 0; i < entries; i++) {
    streams[i % STREAMS]!.entries.push({ tsNs: baseNs + BigInt(push * 100_000 + i), line: `push=${push} i=${i} ${LINE_PAD}` });
  }
  return encodePush(streams.filter((s) => s.entries.length > 0));
}

function metric(text: string, name: string, labels = ''): number {
  let n = 0;
  for (const l of text.split('\n')) if (l.startsWith(name + (labels === '' ? ' ' : '{')) && l.includes(labels)) n += Number(l.slice(l.lastIndexOf(' ') + 1));
  return n;
}

describe('ingester.memory_limit', () => {
  it('flushes early above the soft mark, refuses with 429 at the hard mark, and loses no acknowledged entry', async () => {
    const dir = tempDir('silt-memlimit-');
    const silt = await startChild(dir, [
      `-ingester.memory-limit=${LIMIT_BYTES}`,
      '-ingester.memory-soft-limit-ratio=0.5',
      // Only memory pressure flushes during the test: no idle or periodic flush comes first.
      '-ingester.flush-check-period=1h',
      '-ingester.chunks-idle-period=1h',
      '-ingester.concurrent-flushes=1',
      '-validation.max-entries-limit=1000000',
      '-ingester.per-stream-rate-limit=1GB',
      '-ingester.per-stream-rate-limit-burst=1GB',
      '-distributor.ingestion-rate-limit-mb=100000',
      '-distributor.ingestion-burst-size-mb=100000',
      '-validation.discover-log-levels=false',
      // A querier thread, shed with the block sealer while above the soft mark (ADR 0039).
      '-querier.threads=1',
    ]);
    try {
      const baseNs = BigInt(Date.now() - 600_000) * 1_000_000n;
      const acked = new Set<number>();
      const refused = new Set<number>();
      const messages: string[] = [];
      let next = 0;
      const post = async (p: number, entries: number): Promise<void> => {
        const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: pushBody(p, entries, baseNs) });
        const text = await r.text();
        if (r.status === 204) acked.add(p);
        else if (r.status === 429) {
          refused.add(p);
          messages.push(text);
        } else throw new Error(`push ${p}: ${r.status} ${text}`);
      };
      // A flood of ~16 MB of text (4x the limit) from 8 concurrent pushers.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let p = next++; p < 200; p = next++) {
            await post(p, PER_PUSH);
            // As agents do: back off after a 429 (the next push carries new entries).
            if (refused.has(p)) await new Promise((r) => setTimeout(r, 300));
          }
        }),
      );
      // One push bigger than the whole limit is refused whatever has been flushed.
      await post(1000, 25_000);
      expect(refused.has(1000)).toBe(true);
      // The flood itself reached the hard mark, and pushes were taken again once flushes freed memory.
      expect(refused.size).toBeGreaterThan(1);
      expect(Math.max(...acked)).toBeGreaterThan(Math.min(...[...refused].filter((p) => p !== 1000)));
      expect(acked.size).toBeGreaterThan(0);
      expect(messages[messages.length - 1]).toMatch(/^ingester memory limit reached: .* of 4\.0 MiB \(ingester\.memory_limit\) held by data not yet flushed to storage; push of 25000 entries \(.*\) for user 'fake' refused and not stored/);

      const m = await (await fetch(`${silt.url}/metrics`)).text();
      expect(metric(m, 'silt_ingester_memory_early_flushes_total')).toBeGreaterThan(0);
      expect(metric(m, 'loki_ingester_chunks_flushed_total', 'reason="memory"')).toBeGreaterThan(0);
      expect(metric(m, 'silt_ingester_memory_refused_pushes_total')).toBe(refused.size);
      expect(metric(m, 'loki_discarded_samples_total', 'reason="ingester_memory_limit"')).toBe([...refused].reduce((a, p) => a + (p === 1000 ? 25_000 : PER_PUSH), 0));
      expect(metric(m, 'silt_ingester_memory_limit_bytes', 'mark="hard"')).toBe(LIMIT_BYTES);
      // The limit also tightens the JS heap's growth between collections (ADR 0037).
      expect(silt.stdout()).toContain('"v8Flags":["--heap-growing-percent=100"]');
      // Above the soft mark the helper threads were shed (the query below runs on the process querier or, after the hold, on both).
      expect(silt.stdout()).toContain('helper threads (block sealer, push decoder, querier threads) stopped until it has been below for a while');
      // Admission counts line bytes; head columns grow ahead of them (factor 1.5), so a measurement may pass the mark by that slack.
      expect(metric(m, 'silt_ingester_memory_used_bytes')).toBeLessThanOrEqual(LIMIT_BYTES * 1.1);

      // Brute force: every acknowledged entry once, nothing of a refused push.
      const r = await queryRange(silt.url, { query: '{job="mem"}', start: (baseNs - 1n).toString(), end: (baseNs + 10n ** 9n * 60n).toString(), limit: '1000000', direction: 'forward' });
      const seen = new Map<number, number>();
      for (const s of r.data.result)
        for (const [, line] of s.values) {
          const p = Number(/^push=(\d+) /.exec(line)![1]);
          seen.set(p, (seen.get(p) ?? 0) + 1);
        }
      for (const p of acked) expect(seen.get(p), `push ${p}`).toBe(PER_PUSH);
      for (const p of refused) expect(seen.has(p), `refused push ${p}`).toBe(false);
      expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(acked.size * PER_PUSH);
    } finally {
      silt.proc.kill('SIGKILL');
      await silt.exited;
    }
  }, 120_000);
});

describe('query byte budget (limits_config.max_query_bytes_read, max_querier_bytes_read)', () => {
  it('refuses log and metric queries over the budget with Loki’s 400 texts, before reading', async () => {
    const silt = await startInProcess(tempDir('silt-qbytes-'), ['-frontend.max-query-bytes-read=10KiB', '-validation.discover-log-levels=false']);
    try {
      const baseNs = BigInt(Date.now() - 60_000) * 1_000_000n;
      const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: pushBody(1, 200, baseNs) });
      expect(r.status).toBe(204);
      const range = { start: (baseNs - 1n).toString(), end: (baseNs + 10n ** 9n * 60n).toString() };
      // One stream holds 10 lines of ~200 bytes: within the budget.
      const small = await fetch(`${silt.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{job="mem", stream="s1"}', ...range })}`);
      expect(small.status).toBe(200);
      for (const query of ['{job="mem"}', 'sum(count_over_time({job="mem"}[1m]))']) {
        const big = await fetch(`${silt.url}/loki/api/v1/query_range?${new URLSearchParams({ query, ...range, step: '60' })}`);
        expect(big.status, query).toBe(400);
        expect(await big.text()).toMatch(/^the query would read too many bytes \(query: \d+ KiB, limit: 10 KiB\); consider adding more specific stream selectors or reduce the time range of the query\n?$/);
      }
    } finally {
      await silt.stop();
    }
  });
});
