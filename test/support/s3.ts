/**
 * Real S3-compatible servers for tests, on 127.0.0.1 with free ports:
 * - `startS3rver()`: s3rver in a child process started with `--openssl-legacy-provider`
 *   (its listings of more than 1000 keys hash with MD5-based continuation tokens that
 *   Node 17+ refuses without it). `restart()` brings it back on the same port and data
 *   directory, for outage tests.
 * - `startFauxqs()`: fauxqs in this process; stricter about requests than s3rver.
 * Both answer path-style requests signed with any credentials.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './genlogs.js';

/** A running S3-compatible server. */
export interface S3Server {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Stops the server; the data stays until `cleanup` (s3rver). */
  stop(): Promise<void>;
  /** Removes stored data (after stop). */
  cleanup(): Promise<void>;
}

/** s3rver handle; `restart()` starts it again on the same port and directory. */
export interface S3rverServer extends S3Server {
  port: number;
  restart(): Promise<void>;
  /**
   * Freezes the server process (SIGSTOP): the kernel still accepts connections, but nothing
   * answers, like an overloaded or partitioned S3. `resume()` (SIGCONT) lets it answer again.
   */
  pause(): void;
  resume(): void;
  /** The s3rver process id (it changes on restart), for benchmarks that measure its CPU. */
  readonly pid: number;
}

/** Silt flags pointing storage at `s`. */
export function s3Flags(s: S3Server, extra: string[] = []): string[] {
  return [
    '-storage.object-store=s3',
    `-s3.endpoint=${s.endpoint}`,
    `-s3.buckets=${s.bucket}`,
    `-s3.region=${s.region}`,
    `-s3.access-key-id=${s.accessKeyId}`,
    `-s3.secret-access-key=${s.secretAccessKey}`,
    '-s3.force-path-style=true',
    ...extra,
  ];
}

const CHILD = `
const S3rver = require('s3rver');
const [dir, bucket, port] = process.argv.slice(1);
new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
  .run()
  .then((a) => process.stdout.write(JSON.stringify({ port: a.port }) + '\\n'), (e) => { process.stderr.write(String(e)); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
`;

async function spawnS3rver(dir: string, bucket: string, port: number): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, dir, bucket, String(port)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const got = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${err}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${err}`));
    });
  });
  return { proc, port: got };
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || (proc.signalCode !== null && proc.signalCode !== 'SIGSTOP')) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

/** Starts s3rver with one empty bucket in a fresh temp directory. */
export async function startS3rver(opts: { bucket?: string } = {}): Promise<S3rverServer> {
  const bucket = opts.bucket ?? 'silt-test';
  const dir = mkdtempSync(path.join(tmpdir(), 'silt-s3rver-'));
  let cur = await spawnS3rver(dir, bucket, 0);
  // Never leave an orphaned s3rver behind if the test process exits without cleanup.
  process.once('exit', () => cur.proc.kill('SIGKILL'));
  const server: S3rverServer = {
    endpoint: `http://127.0.0.1:${cur.port}`,
    port: cur.port,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    stop: () => kill(cur.proc),
    pause: () => void cur.proc.kill('SIGSTOP'),
    resume: () => void cur.proc.kill('SIGCONT'),
    get pid() {
      return cur.proc.pid ?? 0;
    },
    restart: async () => {
      await kill(cur.proc);
      // The port was ours a moment ago; retry briefly in case the OS has not released it.
      for (let i = 0; ; i++) {
        try {
          cur = await spawnS3rver(dir, bucket, server.port);
          return;
        } catch (e) {
          if (i >= 20) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    cleanup: async () => {
      await kill(cur.proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Starts fauxqs (S3 part) in this process with one empty bucket. */
export async function startFauxqs(opts: { bucket?: string } = {}): Promise<S3Server> {
  const { startFauxqs: start } = await import('fauxqs');
  const bucket = opts.bucket ?? 'silt-test';
  const srv = await start({ port: 0, host: '127.0.0.1', logger: false });
  srv.createBucket(bucket);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await srv.stop();
  };
  return {
    endpoint: `http://127.0.0.1:${srv.port}`,
    bucket,
    accessKeyId: 'test',
    secretAccessKey: 'test',
    region: 'us-east-1',
    stop,
    cleanup: stop,
  };
}
