/**
 * Starts the real Prometheus (remote-write receiver) and Alertmanager binaries for tests, on
 * 127.0.0.1 with free ports and temp directories. Call `stop()` in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { tempDir } from './silt.js';

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
export const ALERTMANAGER_BIN = process.env['ALERTMANAGER_BIN'] ?? '/usr/bin/prometheus-alertmanager';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ExternalServer {
  /** Base URL, e.g. http://127.0.0.1:9093. */
  url: string;
  proc: ChildProcess;
  /** Collected stderr (both binaries log there). */
  logs(): string;
  /** Stops the process only, keeping its port and data for `restart` (an outage). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory, and waits until it is ready. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitReady(url: string, proc: ChildProcess, logs: () => string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${proc.spawnfile} exited with ${proc.exitCode}: ${logs()}`);
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`${proc.spawnfile} not ready after ${timeoutMs} ms: ${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function start(bin: string, args: (port: number, dir: string) => string[], files: (dir: string) => void, timeoutMs: number): Promise<ExternalServer> {
  const dir = tempDir('silt-ext-');
  files(dir);
  const port = await freePort();
  let out = '';
  const spawnIt = (): { proc: ChildProcess; exited: Promise<void> } => {
    const proc = spawn(bin, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    return { proc, exited: new Promise<void>((r) => proc.once('exit', () => r())) };
  };
  let cur = spawnIt();
  const url = `http://127.0.0.1:${port}`;
  const kill = async (): Promise<void> => {
    const { proc, exited } = cur;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const server: ExternalServer = {
    url,
    get proc() {
      return cur.proc;
    },
    logs: () => out,
    kill,
    restart: async () => {
      await kill();
      // The port was this server's a moment ago; retry briefly in case the OS has not released it.
      for (let i = 0; ; i++) {
        cur = spawnIt();
        try {
          await waitReady(url, cur.proc, () => out, timeoutMs);
          return;
        } catch (e) {
          await kill();
          if (i >= 5) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    stop,
  };
  try {
    await waitReady(url, cur.proc, () => out, timeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }
  return server;
}

/** Alertmanager 0.25 with one receiver that drops everything, no clustering. */
export function startAlertmanager(timeoutMs = 30_000): Promise<ExternalServer> {
  return start(
    ALERTMANAGER_BIN,
    (port, dir) => [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    (dir) => writeFileSync(path.join(dir, 'am.yml'), 'route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n'),
    timeoutMs,
  );
}

/** Prometheus with the remote-write receiver and nothing to scrape. */
export function startPrometheus(timeoutMs = 30_000): Promise<ExternalServer> {
  return start(
    PROMETHEUS_BIN,
    (port, dir) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    (dir) => writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\nscrape_configs: []\n'),
    timeoutMs,
  );
}
