/**
 * A real Redis server for tests (Debian `redis-server`, /usr/bin/redis-server) on 127.0.0.1,
 * a free port and a fresh temp directory, no persistence. It inherits the environment, so the
 * run's SILT_TEST_RUN marks it for the global teardown (test/global-setup.ts) even when a test
 * dies before `stop()`; `stop()` kills it and removes the directory. It can be frozen (SIGSTOP)
 * to test timeouts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './prometheus.js';

export const REDIS_BIN = process.env['REDIS_BIN'] ?? '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  /** `127.0.0.1:<port>` (Loki's `redis.endpoint`). */
  readonly endpoint: string;
  pause(): void;
  resume(): void;
  /** Kills it and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Whether something accepts and answers PING on the port. */
function pong(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write((password !== '' ? `AUTH ${password}\r\n` : '') + 'PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('+PONG')) done(true);
      else if (buf.includes('-')) done(false);
    });
  });
}

export async function startRedis(opts: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'silt-redis-'));
  const password = opts.password ?? '';
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')];
  if (password !== '') args.push('--requirepass', password);
  const proc = spawn(REDIS_BIN, args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await pong(port, password))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, endpoint: `127.0.0.1:${port}`, pause: () => proc.kill('SIGSTOP'), resume: () => proc.kill('SIGCONT'), stop };
}
