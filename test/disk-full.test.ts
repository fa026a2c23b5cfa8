/**
 * A full WAL disk against a real process: pushes answer 503 while the disk is full, and their
 * lines leave no trace (not in memory, not in storage, not after a crash and replay), so a
 * client's retry never stores a line twice. Acknowledged lines all survive. The WAL directory
 * is a small tmpfs, which needs root (mount); elsewhere the test is skipped and says why.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePush } from './support/protobuf.js';
import { getJson, queryRange, startChild, tempDir, type ChildSilt } from './support/silt.js';

const NS_PER_MS = 1_000_000n;

/** True when this process may mount a tmpfs (root with CAP_SYS_ADMIN). */
function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = tempDir('silt-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.splice(0)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
  }
});

const MOUNT_OK = canMount();

describe.runIf(MOUNT_OK)('WAL disk full', () => {
  it('refused pushes leave no trace; acknowledged ones survive a crash; pushes work again once space is back', async () => {
    const dir = tempDir('silt-diskfull-');
    const walDir = path.join(dir, 'wal-tmpfs');
    mkdirSync(walDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', walDir]);
    mounts.push(walDir);
    // Most of the space is taken by a file we delete later to "free the disk".
    const filler = path.join(walDir, 'filler');
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024, 1));
    const flags = ['-validation.max-entries-limit=1000000', '-querier.max-query-series=100000', `-ingester.wal-dir=${walDir}`, '-ingester.wal-segment-size=256KiB'];
    const baseNs = BigInt(Date.now() - 5 * 60_000) * NS_PER_MS;
    let n = 0;
    const acked = new Set<string>();
    const refused = new Set<string>();
    const statuses = new Map<number, number>();
    const pushOnce = async (url: string): Promise<number> => {
      const ids: string[] = [];
      const entries: { tsNs: bigint; line: string }[] = [];
      for (let i = 0; i < 100; i++) {
        const id = `n${n++}`;
        ids.push(id);
        entries.push({ tsNs: baseNs + BigInt(n) * 1000n, line: `id=${id} ${'x'.repeat(200)}` });
      }
      const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: encodePush([{ labels: '{job="full"}', entries }]) });
      const body = await r.text();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 204) for (const id of ids) acked.add(id);
      else {
        expect(r.status, body).toBe(503);
        expect(body).toMatch(/ENOSPC|no space/i);
        for (const id of ids) refused.add(id);
      }
      return r.status;
    };
    const storedIds = async (url: string): Promise<{ ids: string[]; metric: number }> => {
      const endNs = BigInt(Date.now()) * NS_PER_MS;
      const r = await queryRange(url, { query: '{job="full"}', start: (baseNs - 1n).toString(), end: endNs.toString(), limit: '1000000', direction: 'forward' });
      const ids: string[] = [];
      for (const s of r.data.result as { values: [string, string][] }[]) for (const [, line] of s.values) ids.push(/^id=(\S+)/.exec(line)![1]!);
      const m = await getJson(`${url}/loki/api/v1/query?${new URLSearchParams({ query: 'sum(count_over_time({job="full"}[1h]))', time: endNs.toString() })}`);
      const v = m.data.result as { value: [number, string] }[];
      return { ids, metric: v.length === 0 ? 0 : Number(v[0]!.value[1]) };
    };
    const expectExactly = async (url: string, when: string): Promise<void> => {
      const { ids, metric } = await storedIds(url);
      const set = new Set(ids);
      expect([...refused].filter((id) => set.has(id)), `${when}: refused lines stored`).toEqual([]);
      expect([...acked].filter((id) => !set.has(id)), `${when}: acknowledged lines missing`).toEqual([]);
      expect({ log: ids.length, metric }, when).toEqual({ log: acked.size, metric: acked.size });
    };

    let silt: ChildSilt | null = await startChild(dir, flags);
    try {
      // Fill the disk: push until several pushes in a row are refused.
      let refusedInARow = 0;
      for (let i = 0; i < 400 && refusedInARow < 5; i++) refusedInARow = (await pushOnce(silt.url)) === 204 ? 0 : refusedInARow + 1;
      expect(statuses.get(503) ?? 0, `statuses ${JSON.stringify([...statuses])}`).toBeGreaterThanOrEqual(5);
      expect(acked.size).toBeGreaterThan(0);
      await expectExactly(silt.url, 'while full');

      // Space comes back: pushes are acknowledged again.
      rmSync(filler);
      let ok = 0;
      for (let i = 0; i < 20; i++) if ((await pushOnce(silt.url)) === 204) ok++;
      expect(ok).toBe(20);
      await expectExactly(silt.url, 'after space came back');

      // A crash: replay brings back exactly the acknowledged lines.
      silt.proc.kill('SIGKILL');
      await silt.exited;
      silt = await startChild(dir, flags);
      await expectExactly(silt.url, 'after kill -9 and replay');
    } finally {
      if (silt !== null) {
        silt.proc.kill('SIGKILL');
        await silt.exited;
      }
    }
  });
});

describe.skipIf(MOUNT_OK)('WAL disk full (skipped)', () => {
  it.skip('needs root to mount a small tmpfs for the WAL (run the suite as root, as CI does)', () => undefined);
});
