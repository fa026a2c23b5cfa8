/**
 * Process and file helpers shared by the launcher and the supervisor (Linux: reads /proc).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';

/** `/proc/<pid>/stat` fields after the command name: [state, ppid, pgrp, …], or null when gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: read after its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Whether `pid` is a running process; a zombie (exited, not yet reaped) counts as gone. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X';
}

/** The process group of `pid`, or -1. */
export function processGroupOf(pid: number): number {
  const f = statFields(pid);
  return f === null ? -1 : Number(f[2]);
}

/** The command line of `pid`, arguments joined by spaces ('' when gone). */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Sends `sig`, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Writes `text` to `file` atomically: readers see the old or the new content, never a part. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await sleep(everyMs);
  }
}

/** GET `url` with a short timeout: the status (0 when nothing answered) and the start of the body. */
export async function httpGet(url: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.text()).trim().slice(0, 200) };
  } catch (e) {
    return { status: 0, body: (e as Error).message };
  }
}

/** GET `url` with a short timeout; the status, or 0 when nothing answered. */
export async function httpStatus(url: string, timeoutMs = 1000): Promise<number> {
  return (await httpGet(url, timeoutMs)).status;
}

/** Whether something accepts TCP connections on host:port. */
export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** The last `maxLines` lines of a file ('' when unreadable). */
export function tail(file: string, maxLines = 20): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-maxLines).join('\n');
  } catch {
    return '';
  }
}
