/**
 * Crashes against a real process: `kill -9` right after `POST /flush`, during a flush, during a
 * WAL checkpoint, during compaction and at random moments, under sustained pushes of lines with
 * unique ids. After every crash, log queries, metric queries and /index/stats must count each
 * stored line exactly once, every acknowledged line must be there, and nothing may appear that
 * no client sent. (Before WAL flush marks, replay brought flushed entries back as unflushed and
 * they were stored twice: metric queries counted 4,000 for 2,000 lines.)
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePush } from './support/protobuf.js';
import { getJson, queryRange, startChild, tempDir, type ChildSilt } from './support/silt.js';

const NS_PER_MS = 1_000_000n;

/** Loki's instant query; the value of the single sample of a `sum(...)`, 0 when the vector is empty. */
async function instantSum(url: string, query: string, timeNs: bigint): Promise<number> {
  const r = await getJson(`${url}/loki/api/v1/query?${new URLSearchParams({ query, time: timeNs.toString() })}`);
  const v = r.data.result as { value: [number, string] }[];
  return v.length === 0 ? 0 : Number(v[0]!.value[1]);
}

/** The last point of a range query of a `sum(...)`. */
async function rangeSumLast(url: string, query: string, startNs: bigint, endNs: bigint): Promise<number> {
  const r = await queryRange(url, { query, start: startNs.toString(), end: endNs.toString(), step: '60s' });
  const m = r.data.result as { values: [number, string][] }[];
  if (m.length === 0) return 0;
  const vals = m[0]!.values;
  return Number(vals[vals.length - 1]![1]);
}

/** Every line of the selector in [start, end], paged forward by the query limit. */
async function allLines(url: string, selector: string, startNs: bigint, endNs: bigint): Promise<string[]> {
  const r = await queryRange(url, { query: selector, start: startNs.toString(), end: endNs.toString(), limit: '1000000', direction: 'forward' });
  const out: string[] = [];
  for (const s of r.data.result as { values: [string, string][] }[]) for (const [, line] of s.values) out.push(line);
  return out;
}

async function indexStatsEntries(url: string, selector: string, startNs: bigint, endNs: bigint): Promise<number> {
  const r = await getJson(`${url}/loki/api/v1/index/stats?${new URLSearchParams({ query: selector, start: startNs.toString(), end: endNs.toString() })}`);
  return r.entries as number;
}

/** Counts every way: instant and range metric queries, the log query and index stats. */
async function counts(url: string, selector: string, startNs: bigint, endNs: bigint): Promise<{ instant: number; range: number; log: number; distinct: number; stats: number }> {
  const lines = await allLines(url, selector, startNs, endNs);
  const metric = `sum(count_over_time(${selector}[2h]))`;
  return {
    instant: await instantSum(url, metric, endNs),
    range: await rangeSumLast(url, metric, endNs - 600_000_000_000n, endNs),
    log: lines.length,
    distinct: new Set(lines).size,
    stats: await indexStatsEntries(url, selector, startNs, endNs),
  };
}

async function kill9(s: ChildSilt): Promise<void> {
  s.proc.kill('SIGKILL');
  await s.exited;
}

const BASE_FLAGS = ['-validation.max-entries-limit=1000000', '-querier.max-query-series=1000000', '-log.level=info'];

describe('crash torture', () => {
  it('flush then kill -9, twice: each line is counted once by metric queries, log queries and index stats', async () => {
    const dir = tempDir('silt-dup-');
    const baseNs = BigInt(Date.now() - 10 * 60_000) * NS_PER_MS;
    const push = async (url: string, from: number, n: number): Promise<void> => {
      const entries = Array.from({ length: n }, (_, i) => ({ tsNs: baseNs + BigInt(from + i) * 1000n, line: `dup line ${from + i}` }));
      const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: encodePush([{ labels: '{job="dup"}', entries }]) });
      expect(r.status).toBe(204);
    };
    const check = async (url: string, want: number): Promise<void> => {
      const endNs = BigInt(Date.now()) * NS_PER_MS;
      expect(await counts(url, '{job="dup"}', baseNs - 1n, endNs)).toEqual({ instant: want, range: want, log: want, distinct: want, stats: want });
    };
    let silt = await startChild(dir, BASE_FLAGS);
    try {
      await push(silt.url, 0, 2000);
      expect((await fetch(`${silt.url}/flush`, { method: 'POST' })).status).toBe(204);
      await kill9(silt);
      silt = await startChild(dir, BASE_FLAGS);
      await check(silt.url, 2000);
      await push(silt.url, 2000, 2000);
      await check(silt.url, 4000);
      expect((await fetch(`${silt.url}/flush`, { method: 'POST' })).status).toBe(204);
      await kill9(silt);
      silt = await startChild(dir, BASE_FLAGS);
      await check(silt.url, 4000);
      // And once more without a flush in between: memory and store together, still once.
      await kill9(silt);
      silt = await startChild(dir, BASE_FLAGS);
      await check(silt.url, 4000);
    } finally {
      await kill9(silt);
    }
  });

  it('kill -9 after /flush, during a flush, a checkpoint, a compaction and at random: acknowledged lines exactly once', async () => {
    const dir = tempDir('silt-torture-');
    const walDir = path.join(dir, 'wal');
    // Small chunks, frequent flushes, checkpoints and compactions: every kill lands near one.
    const flags = [
      ...BASE_FLAGS,
      '-ingester.chunk-target-size=12KiB',
      '-ingester.chunks-block-size=4KiB',
      '-ingester.flush-check-period=150ms',
      '-ingester.checkpoint-duration=600ms',
      '-ingester.chunks-retain-period=0s', // so the compactor may merge chunks 10 s after their flush
      '-compactor.compaction-interval=700ms',
      '-compactor.merge-chunk-target-size=48KiB',
      '-log.level=debug', // for the compactor's 'compaction run started' line
    ];
    const baseNs = BigInt(Date.now() - 30 * 60_000) * NS_PER_MS;
    let tsCounter = 0n;
    const acked = new Set<string>();
    const unknown = new Set<string>();
    const sent = new Set<string>();
    const modes = ['after-flush', 'during-flush', 'during-checkpoint', 'during-compaction', 'random'] as const;
    const killedIn: string[] = [];
    /** After a restart: acknowledged ⊆ stored ⊆ sent, and every count equals the distinct lines stored. */
    const check = async (url: string, after: string): Promise<void> => {
      const endNs = BigInt(Date.now()) * NS_PER_MS;
      const lines = await allLines(url, '{job="torture"}', baseNs, endNs);
      const ids = lines.map((l) => /^id=(\S+)/.exec(l)![1]!);
      const stored = new Set(ids);
      const missing = [...acked].filter((id) => !stored.has(id));
      expect(missing.slice(0, 5), `after ${after}: ${missing.length} acknowledged lines missing`).toEqual([]);
      const invented = [...stored].filter((id) => !sent.has(id));
      expect(invented, `after ${after}`).toEqual([]);
      const notAcked = [...stored].filter((id) => !acked.has(id) && !unknown.has(id));
      expect(notAcked, `after ${after}: stored but refused`).toEqual([]);
      const c = await counts(url, '{job="torture"}', baseNs, endNs);
      if (c.instant !== stored.size) {
        const dups = await getJson(`${url}/loki/api/v1/query?${new URLSearchParams({ query: 'sum by (id) (count_over_time({job="torture"} | logfmt [2h])) > 1', time: endNs.toString() })}`);
        const list = (dups.data.result as { metric: { id: string } }[]).map((x) => x.metric.id);
        console.error(`after ${after}: ${list.length} ids counted more than once, e.g. ${list.slice(0, 10).join(' ')}`);
      }
      expect(c, `after ${after}`).toEqual({ instant: stored.size, range: stored.size, log: stored.size, distinct: stored.size, stats: stored.size });
    };
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const mode = modes[round % modes.length]!;
      const silt = await startChild(dir, flags);
      if (round > 0) {
        try {
          await check(silt.url, `kill ${round} (${killedIn[round - 1]})`);
        } catch (e) {
          await kill9(silt);
          throw e;
        }
      }
      let stop = false;
      let n = 0;
      const pusher = async (p: number): Promise<void> => {
        while (!stop) {
          const ids: string[] = [];
          const streams = Array.from({ length: 4 }, (_, s) => ({ labels: `{job="torture", s="${s}"}`, entries: [] as { tsNs: bigint; line: string }[] }));
          for (let i = 0; i < 40; i++) {
            const id = `r${round}-p${p}-n${n++}`;
            ids.push(id);
            tsCounter += 1000n;
            streams[i % 4]!.entries.push({ tsNs: baseNs + tsCounter, line: `id=${id} level=info msg="torture line ${i}"` });
          }
          for (const id of ids) sent.add(id);
          try {
            const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: encodePush(streams) });
            for (const id of ids) (r.status === 204 ? acked : unknown).add(id);
            if (r.status !== 204) {
              // Anything but 204 must leave no trace; 503 while shutting down is the only one expected.
              expect([503]).toContain(r.status);
            }
          } catch {
            for (const id of ids) unknown.add(id);
            return;
          }
        }
      };
      const pushers = [0, 1, 2].map((p) => pusher(p));
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 800));
      let when: string = mode;
      switch (mode) {
        case 'after-flush':
          await fetch(`${silt.url}/flush`, { method: 'POST' });
          break;
        case 'during-flush':
          void fetch(`${silt.url}/flush`, { method: 'POST' }).catch(() => undefined);
          await new Promise((r) => setTimeout(r, Math.random() * 40));
          break;
        case 'during-checkpoint':
          // A checkpoint is being written while its temp file exists.
          when = (await waitFor(() => readdirSync(walDir).some((f) => f.endsWith('.tmp')), 5000)) ? mode : 'random (no checkpoint seen)';
          break;
        case 'during-compaction': {
          const seen = silt.stdout().split('compaction run started').length - 1;
          when = (await waitFor(() => silt.stdout().split('compaction run started').length - 1 > seen, 5000)) ? mode : 'random (no compaction seen)';
          break;
        }
        case 'random':
          break;
      }
      await kill9(silt);
      stop = true;
      await Promise.all(pushers);
      killedIn.push(when);
    }
    // At least one kill landed in each named phase (checkpoints and compactions run often enough).
    for (const m of modes) expect(killedIn, `kills: ${killedIn.join(', ')}`).toContain(m);
    expect(acked.size).toBeGreaterThan(1000);

    const silt = await startChild(dir, flags);
    try {
      await check(silt.url, `kill ${rounds} (${killedIn[rounds - 1]})`);
      // Once everything is flushed, still once.
      expect((await fetch(`${silt.url}/flush`, { method: 'POST' })).status).toBe(204);
      await check(silt.url, 'the final flush');
    } finally {
      await kill9(silt);
    }
  }, 240_000);

  it('a checkpoint of ~15 MB written while pushes land, then kill -9: each acknowledged line once', async () => {
    // The checkpoint reads a tenant's streams one at a time as it writes them (4 MiB at a time,
    // the event loop free in between), so pushes land on streams it has read and on streams it has
    // not: replay must take each line once from the checkpoint or the segments after it.
    const dir = tempDir('silt-ckpt-load-');
    const walDir = path.join(dir, 'wal');
    const flags = [...BASE_FLAGS, '-ingester.checkpoint-duration=1500ms', '-ingester.flush-check-period=1h', '-distributor.ingestion-rate-limit-mb=1000', '-distributor.ingestion-burst-size-mb=1000'];
    const baseNs = BigInt(Date.now() - 20 * 60_000) * NS_PER_MS;
    const STREAMS = 200;
    const pad = 'x'.repeat(900);
    let next = 0;
    const acked: string[] = [];
    const push = async (url: string, streams: number[]): Promise<void> => {
      const ids: string[] = [];
      const body = streams.map((k) => {
        const id = String(next++);
        ids.push(id);
        return { labels: `{job="ckpt", s="${k}"}`, entries: [{ tsNs: baseNs + BigInt(next) * 1000n, line: `id=${id} ${pad}` }] };
      });
      const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: encodePush(body) });
      expect(r.status).toBe(204);
      acked.push(...ids);
    };
    const all = Array.from({ length: STREAMS }, (_, k) => k);
    const writing = (): boolean => readdirSync(walDir).some((f) => f.endsWith('.tmp'));
    const finished = (): string[] => readdirSync(walDir).filter((f) => /^checkpoint\.\d+$/.test(f));
    let silt = await startChild(dir, flags);
    try {
      for (let r = 0; r < 80; r++) await push(silt.url, all);
      // Wait for a checkpoint to start, push to streams spread over the set while it is written.
      expect(await waitFor(writing, 10_000)).toBe(true);
      const done = finished().join();
      let during = 0;
      while (writing()) {
        await push(silt.url, all.filter((k) => (k + during) % 10 === 0));
        during++;
      }
      expect(during).toBeGreaterThan(0);
      expect(await waitFor(() => finished().join() !== done, 5000)).toBe(true);
      await push(silt.url, all.filter((k) => k % 7 === 0));
      await kill9(silt);
      silt = await startChild(dir, flags);
      const endNs = BigInt(Date.now()) * NS_PER_MS;
      const ids = (await allLines(silt.url, '{job="ckpt"}', baseNs, endNs)).map((l) => /^id=(\S+)/.exec(l)![1]!);
      expect(ids.length - new Set(ids).size, 'lines replayed twice').toBe(0);
      expect([...ids].sort(), `${acked.length} acknowledged, ${during} pushes during the checkpoint`).toEqual([...acked].sort());
    } finally {
      await kill9(silt);
    }
  }, 60_000);
});

/** Polls `cond` every 2 ms until true (returns true) or `timeoutMs` passes (false). */
async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}
