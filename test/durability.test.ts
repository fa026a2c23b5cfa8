/**
 * Durability against a real process: `kill -9` while pushes are in flight loses no
 * acknowledged line (WAL replay), and a graceful SIGTERM flushes chunks so a restart without
 * any WAL still has every line.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePush } from './support/protobuf.js';
import { queryRange, startChild, tempDir } from './support/silt.js';

const STREAMS = 20;
const BIG_LIMIT = ['-validation.max-entries-limit=1000000'];

function batchBody(batch: number, size: number, baseNs: bigint): Buffer {
  const streams = Array.from({ length: STREAMS }, (_, s) => ({ labels: `{job="kill", stream="s${s}"}`, entries: [] as { tsNs: bigint; line: string }[] }));
  for (let i = 0; i < size; i++) {
    const s = streams[i % STREAMS]!;
    s.entries.push({ tsNs: baseNs + BigInt(batch * size + i), line: `batch=${batch} i=${i} payload=${'x'.repeat(i % 50)}` });
  }
  return encodePush(streams);
}

/** All lines of job="kill" between two times, paged forward. */
async function allLines(url: string, startNs: bigint, endNs: bigint): Promise<Set<string>> {
  const r = await queryRange(url, { query: '{job="kill"}', start: startNs.toString(), end: endNs.toString(), limit: '1000000', direction: 'forward' });
  const out = new Set<string>();
  for (const s of r.data.result) for (const [, line] of s.values) out.add(line);
  return out;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { withFileTypes: true, recursive: true })) if (f.isFile()) n += statSync(path.join(f.parentPath ?? f.path, f.name)).size;
  return n;
}

describe('durability', () => {
  it('kill -9 during pushes loses no acknowledged line', async () => {
    const dir = tempDir('silt-kill-');
    const baseNs = BigInt(Date.now() - 60_000) * 1_000_000n;
    const size = 200;
    for (const killAfterMs of [700, 1500]) {
      const silt = await startChild(dir, BIG_LIMIT);
      const acked: number[] = [];
      let next = killAfterMs * 1000; // distinct batch numbers per round
      let stop = false;
      const pushers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const b = next++;
          try {
            const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: batchBody(b, size, baseNs) });
            if (r.status === 204) acked.push(b);
          } catch {
            return; // connection died with the process
          }
        }
      });
      // The kill comes killAfterMs after the first acknowledgement (on a loaded machine the
      // first push can take longer than that).
      const t0 = Date.now();
      while (acked.length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, killAfterMs));
      silt.proc.kill('SIGKILL');
      stop = true;
      await Promise.all(pushers);
      expect((await silt.exited).signal).toBe('SIGKILL');
      expect(acked.length).toBeGreaterThan(0);

      const again = await startChild(dir, BIG_LIMIT);
      const lines = await allLines(again.url, baseNs, baseNs + 10n ** 15n);
      const missing: string[] = [];
      for (const b of acked) for (let i = 0; i < size; i++) if (!lines.has(`batch=${b} i=${i} payload=${'x'.repeat(i % 50)}`)) missing.push(`${b}/${i}`);
      expect(missing.slice(0, 5), `${missing.length} acknowledged lines lost`).toEqual([]);
      again.proc.kill('SIGKILL');
      await again.exited;
    }
  });

  it('SIGTERM flushes chunks; a restart without WAL still has every line', async () => {
    const dir = tempDir('silt-term-');
    const baseNs = BigInt(Date.now() - 60_000) * 1_000_000n;
    const silt = await startChild(dir, BIG_LIMIT);
    for (let b = 0; b < 10; b++) {
      const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: batchBody(b, 300, baseNs) });
      expect(r.status).toBe(204);
    }
    silt.proc.kill('SIGTERM');
    expect((await silt.exited).code).toBe(0);
    expect(dirBytes(path.join(dir, 'chunks'))).toBeGreaterThan(0);

    // No WAL at all on the second start: everything must come from stored chunks.
    const again = await startChild(dir, [...BIG_LIMIT, '-ingester.wal-enabled=false', `-ingester.wal-dir=${path.join(dir, 'no-wal')}`]);
    const lines = await allLines(again.url, baseNs, baseNs + 10n ** 15n);
    expect(lines.size).toBe(3000);
    for (let b = 0; b < 10; b++) for (let i = 0; i < 300; i++) expect(lines.has(`batch=${b} i=${i} payload=${'x'.repeat(i % 50)}`)).toBe(true);
    again.proc.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });
});
