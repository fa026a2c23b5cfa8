/**
 * Live tail over a real WebSocket (the `ws` client against the node:http server): parameter
 * errors, history then live entries, categorize-labels, the legacy endpoint, the per-tenant
 * limit, and a paused client that must cost bounded memory and get dropped_entries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nowNs } from '../src/model/index.js';
import { MAX_PENDING_ENTRIES } from '../src/querier/tail.js';
import { startInProcess, tempDir, type InProcess } from './support/silt.js';

let silt: InProcess;
beforeAll(async () => {
  silt = await startInProcess(tempDir(), [
    '-querier.max-concurrent-tail-requests=3',
    '-distributor.ingestion-rate-limit-mb=100000',
    '-distributor.ingestion-burst-size-mb=100000',
    '-ingester.per-stream-rate-limit=100GB',
    '-ingester.per-stream-rate-limit-burst=100GB',
  ]);
});
afterAll(async () => {
  await silt?.stop();
});

const wsUrl = (path: string, params: Record<string, string>): string => `${silt.url.replace('http', 'ws')}${path}?${new URLSearchParams(params)}`;

async function push(streams: { stream: Record<string, string>; values: [string, string, Record<string, string>?][] }[]): Promise<void> {
  const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams }) });
  expect(r.status, await r.text()).toBe(204);
}

/** A tail client that collects frames. */
class Client {
  readonly ws: WebSocket;
  readonly frames: any[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly opened: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString()));
      this.#wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Lines received so far (v1 frames). */
  lines(): string[] {
    return this.frames.flatMap((f) => f.streams.flatMap((s: { values: string[][] }) => s.values.map((v) => v[1]!)));
  }

  async until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out; frames: ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

describe('tail parameters', () => {
  it.each([
    [{ query: '{app="t"}', delay_for: '6' }, "delay_for can't be greater than 5"],
    [{ query: '{app="t"}', limit: '0' }, 'limit must be a positive value'],
    [{ query: '{app="t"}', limit: 'x' }, 'strconv.Atoi: parsing "x": invalid syntax'],
    [{ query: '{app="t"' }, 'parse error'],
    [{ query: 'rate({app="t"}[1m])' }, 'unsupported query expression'],
  ])('%j → 400 %s', async (params, want) => {
    const r = await fetch(`${silt.url}/loki/api/v1/tail?${new URLSearchParams(params)}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toContain(want);
    const c = new Client(wsUrl('/loki/api/v1/tail', params));
    await expect(c.opened).rejects.toThrow('HTTP 400');
  });

  it('answers a plain GET with Loki\'s websocket error', async () => {
    const r = await fetch(`${silt.url}/loki/api/v1/tail?${new URLSearchParams({ query: '{app="t"}' })}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("'upgrade' token not found");
  });
});

describe('tail', () => {
  it('sends the newest `limit` history entries oldest first, then live matching entries', async () => {
    const t0 = nowNs() - 60_000_000_000n;
    await push([{ stream: { app: 'hist' }, values: Array.from({ length: 5 }, (_, i) => [(t0 + BigInt(i)).toString(), `old keep ${i}`] as [string, string]) }]);
    const c = new Client(wsUrl('/loki/api/v1/tail', { query: '{app="hist"} |= "keep"', limit: '3', start: (t0 - 1n).toString() }));
    await c.opened;
    await c.until(() => c.lines().length >= 3);
    expect(c.lines()).toEqual(['old keep 2', 'old keep 3', 'old keep 4']);
    const stream0 = c.frames[0].streams[0].stream;
    expect(stream0).toEqual({ app: 'hist', service_name: 'hist', detected_level: 'unknown' });

    const t1 = nowNs();
    const sent = performance.now();
    await push([
      { stream: { app: 'hist' }, values: [[t1.toString(), 'live keep a'], [(t1 + 1n).toString(), 'live drop b'], [(t1 + 2n).toString(), 'live keep c']] },
      { stream: { app: 'other' }, values: [[t1.toString(), 'other keep']] },
    ]);
    await c.until(() => c.lines().length >= 5);
    expect(performance.now() - sent).toBeLessThan(1000);
    expect(c.lines().slice(3)).toEqual(['live keep a', 'live keep c']);
    const last = c.frames.at(-1).streams.at(-1);
    expect(last.values.at(-1)).toEqual([(t1 + 2n).toString(), 'live keep c']);
    expect(c.frames.every((f) => f.dropped_entries === undefined)).toBe(true);
    c.close();
  });

  it('honours categorize-labels and delay_for', async () => {
    const c = new Client(wsUrl('/loki/api/v1/tail', { query: '{app="cat"}', delay_for: '1' }), { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    await c.opened;
    await new Promise((r) => setTimeout(r, 50));
    const t = nowNs();
    const sent = performance.now();
    await push([{ stream: { app: 'cat' }, values: [[t.toString(), 'level=warn msg=hi', { trace_id: 'abc' }]] }]);
    await c.until(() => c.lines().length >= 1, 4000);
    expect(performance.now() - sent).toBeGreaterThanOrEqual(900); // held back for delay_for
    const f = c.frames[0];
    expect(f.encodingFlags).toEqual(['categorize-labels']);
    expect(f.streams[0]).toEqual({ stream: { app: 'cat', service_name: 'cat' }, values: [[t.toString(), 'level=warn msg=hi', { structuredMetadata: { trace_id: 'abc', detected_level: 'warn' } }]] });
    c.close();
  });

  it('serves the legacy format on /api/prom/tail', async () => {
    const c = new Client(wsUrl('/api/prom/tail', { query: '{app="legacy"}' }));
    await c.opened;
    await new Promise((r) => setTimeout(r, 50));
    // Two hours old: before the default start (1h ago), so only a live delivery can bring it.
    const sec = Math.floor(Date.now() / 1000) - 7200;
    await push([{ stream: { app: 'legacy' }, values: [[`${sec}123456789`, 'x']] }]);
    await c.until(() => c.frames.length >= 1);
    const ts = new Date(sec * 1000).toISOString().slice(0, 19) + '.123456789Z';
    expect(c.frames[0]).toEqual({
      streams: [{ labels: '{app="legacy", detected_level="unknown", service_name="legacy"}', entries: [{ ts, line: 'x' }] }],
      dropped_entries: null,
    });
    c.close();
  });

  it('limits concurrent tails per tenant with Loki\'s message', async () => {
    const open = [0, 1, 2].map(() => new Client(wsUrl('/loki/api/v1/tail', { query: '{app="lim"}' })));
    await Promise.all(open.map((c) => c.opened));
    await new Promise((r) => setTimeout(r, 100));
    const extra = new Client(wsUrl('/loki/api/v1/tail', { query: '{app="lim"}' }));
    await extra.opened;
    await extra.until(() => extra.closed !== null);
    expect(extra.closed).toEqual({ code: 1011, reason: 'max concurrent tail requests limit exceeded, count > limit (4 > 3)' });
    for (const c of open) c.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(silt.app.tails!.size).toBe(0);
    const again = new Client(wsUrl('/loki/api/v1/tail', { query: '{app="lim"}' }));
    await again.opened;
    await new Promise((r) => setTimeout(r, 100));
    expect(again.closed).toBeNull();
    again.close();
  });

  it('keeps memory bounded for a paused client and reports dropped entries', async () => {
    const c = new Client(wsUrl('/loki/api/v1/tail', { query: '{app="slow"}' }));
    await c.opened;
    await new Promise((r) => setTimeout(r, 50));
    c.ws.pause();
    const slowSession = () => silt.app.tails!.sessions().find((s) => s.request.query === '{app="slow"}')!;
    const pad = 'p'.repeat(1000);
    const total = 30_000;
    const base = nowNs();
    for (let b = 0; b < total; b += 1000) {
      await push([{ stream: { app: 'slow' }, values: Array.from({ length: 1000 }, (_, i) => [(base + BigInt(b + i)).toString(), `${String(b + i).padStart(6, '0')} ${pad}`] as [string, string]) }]);
      const s = slowSession();
      expect(s.pendingCount).toBeLessThanOrEqual(MAX_PENDING_ENTRIES);
    }
    const session = slowSession();
    expect(session.droppedEntries).toBeGreaterThan(0);
    c.ws.resume();
    await c.until(() => session.pendingCount === 0 && c.lines().length === session.sentEntries, 10_000);
    const lines = c.lines();
    const seq = lines.map((l) => Number(l.slice(0, 6)));
    // In order, no duplicates, and what was neither sent nor queued was dropped.
    for (let i = 1; i < seq.length; i++) expect(seq[i]!).toBeGreaterThan(seq[i - 1]!);
    expect(lines.length + session.droppedEntries).toBe(total);
    const reported = c.frames.flatMap((f) => f.dropped_entries ?? []);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.length).toBeLessThanOrEqual(session.droppedEntries);
    expect(reported[0].labels).toEqual({ app: 'slow', service_name: 'slow', detected_level: 'unknown' });
    const sent = new Set(seq);
    for (const d of reported) expect(sent.has(Number(BigInt(d.timestamp) - base))).toBe(false);
    c.close();
  });

  it('closes a tail at querier.tail_max_duration with Loki\'s reason', async () => {
    const short = await startInProcess(tempDir(), ['-querier.tail-max-duration=1s']);
    try {
      const c = new Client(`${short.url.replace('http', 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{app="short"}' })}`);
      await c.opened;
      await c.until(() => c.closed !== null, 4000);
      expect(c.closed).toEqual({ code: 1011, reason: 'reached tail max duration limit' });
      expect(short.app.tails!.size).toBe(0);
    } finally {
      await short.stop();
    }
  });
});
