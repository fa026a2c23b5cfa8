/**
 * Graceful shutdown of a real process (issue #17): SIGTERM under load closes idle keep-alive
 * connections at once, lets requests in flight finish with `Connection: close`, flushes and
 * exits 0 within seconds, and every acknowledged push is in storage, exactly once. A second
 * signal exits at once; `server.graceful_shutdown_timeout` bounds a shutdown whose flush hangs
 * (S3 frozen), which exits non-zero naming what it left to the WAL.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { s3Flags, startS3rver, type S3rverServer } from './support/s3.js';
import { queryRange, startChild, tempDir, type ChildSilt } from './support/silt.js';

const BIG_LIMIT = ['-validation.max-entries-limit=1000000'];
/** Lines per push of the busy clients. */
const LINES_PER_PUSH = 5;
/** Timestamps start 10 minutes ago; clients are 10 s apart. */
const BASE_NS = BigInt(Date.now() - 600_000) * 1_000_000n;

const children: ChildSilt[] = [];
const s3servers: S3rverServer[] = [];
const dirs: string[] = [];

/** A temp dir that afterEach removes (once the processes using it are gone). */
function dataDir(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
}

/** Starts Silt as a child process that afterEach kills if the test leaves it running. */
async function start(dir: string, extra: string[]): Promise<ChildSilt> {
  const silt = await startChild(dir, [...BIG_LIMIT, ...extra]);
  children.push(silt);
  return silt;
}

function running(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (running(c.proc)) c.proc.kill('SIGKILL');
    await c.exited;
  }
  for (const s of s3servers.splice(0)) {
    s.resume();
    await s.cleanup();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Answer {
  status: number;
  connection: string | undefined;
  text: string;
}

/** One HTTP request through `agent` (keep-alive), with the `Connection` header of the answer. */
function send(agent: Agent, base: string, method: string, p: string, body?: string, onSocket?: (s: Socket) => void): Promise<Answer> {
  const u = new URL(p, base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
      res.on('error', reject);
    });
    if (onSocket) req.once('socket', onSocket);
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A request whose headers and first body bytes go out now and the rest on `finish()`: it is
 * in flight at the server for as long as the caller likes.
 */
function sendInTwoParts(base: string, p: string, body: string): { answer: Promise<Answer>; finish(): void } {
  const u = new URL(p, base);
  const bytes = Buffer.from(body);
  const half = bytes.length >> 1;
  let req!: ReturnType<typeof httpRequest>;
  const answer = new Promise<Answer>((resolve, reject) => {
    const headers = { 'Content-Type': 'application/json', 'Content-Length': bytes.length };
    req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: new Agent({ keepAlive: true }), headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(bytes.subarray(0, half));
  });
  return { answer, finish: () => req.end(bytes.subarray(half)) };
}

const lineOf = (client: number, batch: number, i: number): string => `client=${client} batch=${batch} i=${i}`;

/** A push body of client `c`'s batch `b`: LINES_PER_PUSH lines, timestamps unique per client. */
function pushBody(c: number, b: number): string {
  const values: [string, string][] = [];
  for (let i = 0; i < LINES_PER_PUSH; i++) values.push([(BASE_NS + BigInt(c) * 10_000_000_000n + BigInt(b * LINES_PER_PUSH + i) * 1000n).toString(), lineOf(c, b, i)]);
  return JSON.stringify({ streams: [{ stream: { job: 'shutdown', client: `c${c}` }, values }] });
}

/** Every line of job="shutdown", and what count_over_time says their number is. */
async function stored(url: string): Promise<{ lines: string[]; counted: number }> {
  const startNs = BASE_NS - 1_000_000_000n;
  const endNs = BigInt(Date.now()) * 1_000_000n;
  const r = await queryRange(url, { query: '{job="shutdown"}', start: startNs.toString(), end: endNs.toString(), limit: '1000000', direction: 'forward' });
  const lines: string[] = [];
  for (const s of r.data.result) for (const [, line] of s.values) lines.push(line);
  const q = new URLSearchParams({ query: 'sum(count_over_time({job="shutdown"}[1h]))', time: endNs.toString() });
  const m = (await (await fetch(`${url}/loki/api/v1/query?${q}`)).json()) as { data: { result: { value: [number, string] }[] } };
  return { lines: lines.sort(), counted: m.data.result.length === 0 ? 0 : Number(m.data.result[0]!.value[1]) };
}

/** The JSON log lines of a process whose `msg` matches. */
function logLines(silt: ChildSilt, msg: RegExp): { msg: string; [k: string]: unknown }[] {
  return silt
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string })
    .filter((l) => msg.test(l.msg));
}

describe('graceful shutdown', () => {
  it('exits within seconds under load, idle keep-alive clients included, and keeps every acknowledged push exactly once', async () => {
    const dir = dataDir('silt-shutdown-');
    const silt = await start(dir, []);

    // 50 idle clients: one request each on a keep-alive connection, then silence.
    const idleAgent = new Agent({ keepAlive: true, maxSockets: 50 });
    const idleSockets: Socket[] = [];
    const idleAnswers = await Promise.all(Array.from({ length: 50 }, () => send(idleAgent, silt.url, 'GET', '/ready', undefined, (s) => idleSockets.push(s))));
    expect(idleAnswers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(idleSockets).size).toBe(50);
    const idleClosedAt: number[] = [];
    for (const s of idleSockets) s.once('close', () => idleClosedAt.push(Date.now()));
    // A live tail that never sees a line: a WebSocket must not hold the shutdown either.
    const tail = new WebSocket(`${silt.url.replace('http:', 'ws:')}/loki/api/v1/tail?${new URLSearchParams({ query: '{job="nothing"}' })}`);
    const tailClosed = new Promise<{ code: number; at: number }>((resolve) => tail.once('close', (code) => resolve({ code, at: Date.now() })));
    await new Promise((resolve, reject) => {
      tail.once('open', resolve);
      tail.once('error', reject);
    });

    // 10 busy clients pushing in a loop, each on its own keep-alive connection.
    const acked: string[] = [];
    const statuses = new Map<number, number>();
    let closeAnswers = 0;
    /** When each busy client found the server gone (its connection closed, a new one refused). */
    const busyEndedAt: number[] = [];
    let stop = false;
    const busyAgents = Array.from({ length: 10 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const busy = busyAgents.map(async (agent, c) => {
      for (let b = 0; !stop; b++) {
        let a: Answer;
        try {
          a = await send(agent, silt.url, 'POST', '/loki/api/v1/push', pushBody(c, b));
        } catch {
          busyEndedAt.push(Date.now());
          return; // the server is gone (refused or reset): this push was not acknowledged
        }
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        if (a.connection === 'close') closeAnswers++;
        if (a.status === 204) for (let i = 0; i < LINES_PER_PUSH; i++) acked.push(lineOf(c, b, i));
      }
    });
    // One more push stays in flight across the signal: its body is completed only after it.
    const slow = sendInTwoParts(silt.url, '/loki/api/v1/push', pushBody(10, 0));
    await new Promise((r) => setTimeout(r, 1500));
    const ackedBefore = acked.length;

    const t0 = Date.now();
    silt.proc.kill('SIGTERM');
    setTimeout(() => slow.finish(), 300);
    const slowAnswer = await slow.answer;
    if (slowAnswer.status === 204) for (let i = 0; i < LINES_PER_PUSH; i++) acked.push(lineOf(10, 0, i));
    const exit = await silt.exited;
    const exitMs = Date.now() - t0;
    stop = true;
    await Promise.all(busy);
    idleAgent.destroy();
    for (const a of busyAgents) a.destroy();
    const idleClosedMs = Math.max(...idleClosedAt) - t0;
    const busyEndedMs = Math.max(...busyEndedAt) - t0;
    console.log(
      `shutdown under load: exit after ${exitMs} ms; idle sockets closed after ${idleClosedMs} ms; busy clients cut off after ${busyEndedMs} ms; ` +
        `${acked.length} lines acknowledged; statuses ${JSON.stringify([...statuses])}; ${closeAnswers} busy answers with Connection: close`,
    );

    expect(exit, silt.stdout()).toEqual({ code: 0, signal: null });
    // The promise is at most 10 s for requests in flight plus the flush; here requests end at
    // once, and this small data set flushes in about a second.
    expect(exitMs).toBeLessThan(10_000);
    expect(logLines(silt, /^shutdown complete$/)).toHaveLength(1);
    // Idle keep-alive connections are closed at once, not after the 120 s idle timeout.
    expect(idleClosedAt).toHaveLength(50);
    expect(idleClosedMs).toBeLessThan(2_000);
    // Busy keep-alive connections are closed after their request in flight, not held open by
    // clients that keep sending on them.
    expect(busyEndedAt).toHaveLength(10);
    expect(busyEndedMs).toBeLessThan(2_000);
    // The tail was told the server is going away (1001), not cut off.
    const tailEnd = await tailClosed;
    expect(tailEnd.code).toBe(1001);
    expect(tailEnd.at - t0).toBeLessThan(2_000);
    // A request in flight when the signal came finished, telling its client to reconnect.
    // (Busy clients' requests may or may not be in flight at that instant; see the log line.)
    expect(ackedBefore).toBeGreaterThan(0);
    expect(slowAnswer).toMatchObject({ status: 204, connection: 'close' });

    // Restart without any WAL: what the first process acknowledged must all be in storage.
    const again = await start(dir, ['-ingester.wal-enabled=false', `-ingester.wal-dir=${path.join(dir, 'no-wal')}`]);
    const got = await stored(again.url);
    expect(got.lines.length).toBe(acked.length);
    expect(got.lines).toEqual(acked.sort());
    expect(got.counted).toBe(acked.length);
  });

  /** Starts s3rver and Silt on it, pushes 4 batches to each of 3 streams (3 chunks), and freezes S3. */
  async function onFrozenS3(extra: string[]): Promise<{ silt: ChildSilt; dir: string; s3: S3rverServer; acked: string[] }> {
    const s3 = await startS3rver();
    s3servers.push(s3);
    const dir = dataDir('silt-shutdown-s3-');
    const flags = s3Flags(s3, ['-s3.http.response-header-timeout=20s', ...extra]);
    const silt = await start(dir, flags);
    const acked: string[] = [];
    const agent = new Agent({ keepAlive: false });
    for (let c = 0; c < 3; c++) {
      for (let b = 0; b < 4; b++) {
        const a = await send(agent, silt.url, 'POST', '/loki/api/v1/push', pushBody(c, b));
        expect(a.status, a.text).toBe(204);
        for (let i = 0; i < LINES_PER_PUSH; i++) acked.push(lineOf(c, b, i));
      }
    }
    agent.destroy();
    s3.pause();
    return { silt, dir, s3, acked };
  }

  it('exits at once on a second signal while the first shutdown is still flushing', async () => {
    const { silt } = await onFrozenS3(['-server.graceful-shutdown-timeout=60s']);
    silt.proc.kill('SIGTERM');
    // The flush waits on the frozen S3: the process is still shutting down a second later.
    await new Promise((r) => setTimeout(r, 1000));
    expect(running(silt.proc), silt.stdout()).toBe(true);
    const t0 = Date.now();
    silt.proc.kill('SIGTERM');
    const exit = await silt.exited;
    const exitMs = Date.now() - t0;
    console.log(`second SIGTERM: exit after ${exitMs} ms`);
    expect(exit).toEqual({ code: 1, signal: null });
    // At once: ~50 ms on an idle machine (the first shutdown alone would take up to 60 s).
    expect(exitMs).toBeLessThan(1_500);
    const lines = logLines(silt, /second SIGTERM during shutdown/);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe('second SIGTERM during shutdown: exiting now with 3 chunks not flushed; the WAL keeps them');
  });

  it('ends a shutdown whose flush hangs at server.graceful_shutdown_timeout, and the WAL keeps the data', async () => {
    const { silt, dir, s3, acked } = await onFrozenS3(['-server.graceful-shutdown-timeout=2s']);
    const t0 = Date.now();
    silt.proc.kill('SIGTERM');
    const exit = await silt.exited;
    const exitMs = Date.now() - t0;
    console.log(`graceful_shutdown_timeout=2s with S3 frozen: exit after ${exitMs} ms`);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(exitMs).toBeGreaterThanOrEqual(2_000);
    expect(exitMs).toBeLessThan(3_500);
    const lines = logLines(silt, /graceful shutdown timed out/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'graceful shutdown timed out after 2s: 3 chunks not flushed; the WAL keeps them', unflushedChunks: 3 });
    expect(logLines(silt, /^shutdown complete$/)).toHaveLength(0);
    // One line says it all: no stack trace of a failed flush attempt anywhere.
    expect(silt.stdout()).not.toContain('"stack"');

    // S3 back: a restart replays the WAL and has every acknowledged line, once.
    s3.resume();
    const again = await start(dir, s3Flags(s3));
    const got = await stored(again.url);
    expect(got.lines).toEqual(acked.sort());
    expect(got.counted).toBe(acked.length);
  });
});
