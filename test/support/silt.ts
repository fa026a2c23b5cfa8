/**
 * Starts Silt for tests: in-process (fast, for most tests) or as a real child process
 * (for kill -9 and restart tests). Everything listens on 127.0.0.1 with a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { REPO_ROOT, toStreams, type GenEntry } from './genlogs.js';

/** Directories made by tempDir in this process, removed when it exits. */
const tempDirs: string[] = [];

/**
 * A fresh directory under the OS temp dir, removed when this process exits (tests and
 * benchmarks write hundreds of MB each; leaving them filled the disk of a dev machine).
 */
export function tempDir(prefix = 'silt-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (tempDirs.length === 0) process.on('exit', removeTempDirs);
  tempDirs.push(dir);
  return dir;
}

function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: a child process may still hold files open on exit.
    }
  }
}

/** Base flags for a test instance rooted at `dir` (HTTP and gRPC on 127.0.0.1, free ports). */
export function testFlags(dir: string, extra: string[] = []): string[] {
  return [
    '-server.http-listen-address=127.0.0.1',
    '-server.http-listen-port=0',
    '-server.grpc-listen-address=127.0.0.1',
    '-server.grpc-listen-port=0',
    `-common.path-prefix=${dir}`,
    '-log.level=warn',
    ...extra,
  ];
}

/**
 * Turns off what the distributor adds on ingestion (service_name, detected_level), for tests
 * whose brute-force references model the query engine over exactly the labels pushed.
 * Ingest-time enrichment itself is tested with Loki's defaults (field-detection tests).
 */
export const NO_INGEST_ENRICHMENT: readonly string[] = ['-validation.discover-service-name=', '-validation.discover-log-levels=false'];

export interface InProcess {
  app: App;
  url: string;
  stop(): Promise<void>;
}

/** Starts an App in this process. */
export async function startInProcess(dir: string, extra: string[] = []): Promise<InProcess> {
  const cfg = loadConfig(testFlags(dir, extra));
  const app = new App(cfg, pino({ level: cfg.server.log_level }));
  await app.start();
  return { app, url: `http://127.0.0.1:${app.httpPort}`, stop: () => app.stop() };
}

export interface ChildSilt {
  proc: ChildProcess;
  url: string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Everything the process wrote to stdout so far (its JSON log lines). */
  stdout(): string;
}

/** The server's node flags, from the `#!/usr/bin/env -S node …` line of cmd/silt.ts. */
export function serverNodeFlags(): string[] {
  const first = readFileSync(path.join(REPO_ROOT, 'cmd/silt.ts'), 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node((?: --\S+)*)$/.exec(first);
  if (m === null) throw new Error(`cmd/silt.ts: unexpected first line ${JSON.stringify(first)}`);
  return m[1]!.split(' ').filter((a) => a !== '');
}

/**
 * Spawns the server of `root` (this checkout unless given: benchmarks run another one beside it)
 * as a real process (with the server's node flags) and waits until /ready answers 200: its
 * compiled `cmd/silt.js` with plain node where there is one (a build made by bench/build.sh,
 * run as `npm start` runs dist/), else `cmd/silt.ts` under tsx.
 */
export async function startChild(dir: string, extra: string[] = [], timeoutMs = 60_000, root = REPO_ROOT): Promise<ChildSilt> {
  // SILT_NODE_ARGS adds node flags to the child (benchmarks use it for --cpu-prof).
  const nodeArgs = [...serverNodeFlags(), ...(process.env['SILT_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '')];
  const compiled = path.join(root, 'cmd/silt.js');
  const entry = existsSync(compiled) ? [compiled] : ['--import', 'tsx', path.join(root, 'cmd/silt.ts')];
  const proc = spawn(process.execPath, [...nodeArgs, ...entry, ...testFlags(dir, ['-log.level=info', ...extra])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`silt did not start: ${err}${out}`)), timeoutMs);
      const onData = (): void => {
        // The HTTP listening line: `"port":N` in JSON, `port=N` with -log.format=logfmt.
        const m = /"port":(\d+)|\bport=(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          proc.stdout!.off('data', onData);
          resolve(Number(m[1] ?? m[2]));
        }
      };
      proc.stdout!.on('data', onData);
      void exited.then((e) => reject(new Error(`silt exited early (${JSON.stringify(e)}): ${err}${out}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${url}/ready`);
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until) throw new Error('silt never became ready');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { proc, url, exited, stderr: () => err, stdout: () => out };
  } catch (e) {
    // The caller gets no handle on a process that never became ready: stop it here.
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    throw e;
  }
}

/** GET helper returning parsed JSON and asserting a 200. */
/** Pushes generator entries to `base` as one Loki JSON push body; the response is the caller's to check. */
export function pushEntries(base: string, entries: readonly GenEntry[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ streams: toStreams(entries) }) });
}

export async function getJson(url: string): Promise<any> {
  const r = await fetch(url);
  const body = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url} -> ${r.status}: ${body}`);
  return JSON.parse(body);
}

/** Runs query_range and returns the flattened entries [labelsKey, ts, line]. */
export async function queryRange(base: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<any> {
  const r = await fetch(`${base}/loki/api/v1/query_range?${new URLSearchParams(params)}`, { headers });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`query_range -> ${r.status}: ${body}`);
  return JSON.parse(body);
}
