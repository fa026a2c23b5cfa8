/**
 * Vitest global setup and teardown for the whole run.
 *
 * Setup: one run directory under the OS temp dir; TMPDIR points into it, so every temp dir a
 * test, a Silt child or a service makes (s3rver, Prometheus, ...) lands there. Every process
 * started by the run inherits SILT_TEST_RUN.
 *
 * Teardown: kills, by PID, every process still alive whose environment carries this run's
 * SILT_TEST_RUN (Silt children, s3rver, Prometheus, Alertmanager, ... even when a test failed
 * before its own cleanup), then removes the run directory. A run leaves nothing behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const RUN_VAR = 'SILT_TEST_RUN';

export function setup(): () => void {
  const runDir = mkdtempSync(path.join(tmpdir(), 'silt-test-run-'));
  const runId = path.basename(runDir);
  process.env[RUN_VAR] = runId;
  process.env['TMPDIR'] = runDir;
  return () => teardown(runId, runDir);
}

/**
 * PIDs of live processes started with `RUN_VAR=runId`, other than this process, its parent and
 * its direct children (vitest's own workers and esbuild, which vitest ends itself; what tests
 * start are children of the workers, or orphans once a worker is gone).
 */
export function runProcesses(runId: string): number[] {
  const marker = `${RUN_VAR}=${runId}\0`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out; // no procfs: nothing to find
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid || pid === process.ppid || parentOf(pid) === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    if (env.includes(marker)) out.push(pid);
  }
  return out;
}

/** The parent PID from /proc/<pid>/stat, or -1. */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: read after its end.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

function teardown(runId: string, runDir: string): void {
  const left = runProcesses(runId);
  for (const pid of left) {
    try {
      // SIGCONT first: a test may have left a server stopped with SIGSTOP.
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (left.length > 0) process.stderr.write(`test teardown: killed ${left.length} process(es) the tests left running: ${left.join(' ')}\n`);
  rmSync(runDir, { recursive: true, force: true });
}
