import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectedEntries, streamOf } from './testdata/kill-records.js';
import { Wal } from './wal.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'testdata', 'kill-child.ts');
const repoRoot = path.resolve(here, '../../..');
const hasTsx = fs.existsSync(path.join(repoRoot, 'node_modules', 'tsx'));

/** Runs the child, SIGKILLs it `delayMs` after its first acknowledged record, returns the acked numbers. */
function runAndKill(dir: string, mode: string, delayMs: number): Promise<{ acked: number[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dir, mode], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    const guard = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      out += d;
      if (!armed) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.stderr.on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited with code ${code} signal ${signal}: ${err}`));
      // Only complete lines count: a number cut off mid-write was not fully reported.
      const lines = out.split('\n');
      lines.pop();
      resolve({ acked: lines.map(Number), stderr: err });
    });
  });
}

describe.skipIf(!hasTsx)('Wal under kill -9', () => {
  const cases = [
    { mode: 'plain', delayMs: 15 },
    { mode: 'plain', delayMs: 180 },
    { mode: 'checkpoint', delayMs: 90 },
    { mode: 'checkpoint', delayMs: 400 },
  ];
  it.each(cases)('loses no acknowledged record ($mode, kill after $delayMs ms)', async ({ mode, delayMs }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-wal-kill-'));
    try {
      const jitter = Math.floor(Math.random() * 40);
      const { acked, stderr } = await runAndKill(dir, mode, delayMs + jitter);
      expect(stderr).toBe('');
      expect(acked.length).toBeGreaterThan(0);

      const wal = await Wal.open({ enabled: true, dir, fsync: 'always', fsyncIntervalMs: 1000, segmentSizeBytes: 256 * 1024 });
      const seen = new Map<number, number>(); // seq -> entries seen
      const bad: string[] = [];
      const res = await wal.replay((tenant, streams) => {
        if (tenant !== 'kill') bad.push(`tenant ${tenant}`);
        for (const s of streams) {
          for (const e of s.entries) {
            const m = /^seq=(\d+) k=(\d+) /.exec(Buffer.from(e.line.subarray(0, 40)).toString('latin1'));
            if (!m) {
              bad.push('unparseable line');
              continue;
            }
            const seq = Number(m[1]);
            const want = expectedEntries(seq)[Number(m[2])];
            const ws = streamOf(seq);
            if (!want || want.tsNs !== e.tsNs || !Buffer.from(want.line).equals(e.line) || JSON.stringify(want.metadata) !== JSON.stringify(e.metadata) || ws.labels !== s.labels || ws.fingerprint !== s.fingerprint) {
              bad.push(`entry ${seq}/${m[2]} differs`);
            }
            seen.set(seq, (seen.get(seq) ?? 0) + 1);
          }
        }
      });
      await wal.close();
      expect(bad).toEqual([]);
      expect(res.corruptions).toEqual([]);
      const missing = acked.filter((seq) => seen.get(seq) !== expectedEntries(seq).length);
      expect(missing).toEqual([]);
      // No record appears twice (checkpoint boundary is exact), none partially.
      for (const [seq, n] of seen) if (n !== expectedEntries(seq).length) bad.push(`seq ${seq}: ${n} entries`);
      expect(bad).toEqual([]);
      console.log(`${mode} kill after ~${delayMs + jitter}ms: ${acked.length} acked, ${seen.size} replayed, ${res.segments} segments, ${res.checkpointEntries} from checkpoint, torn ${res.truncatedBytes} B`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
