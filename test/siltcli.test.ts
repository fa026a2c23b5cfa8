/**
 * siltcli end to end: the real CLI (spawned with tsx) against a running Silt, each output
 * checked against a brute-force reference computed from the pushed entries.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/cli/main.js';
import { LokiClient } from '../src/cli/client.js';
import { exportRange, progressLine } from '../src/cli/export.js';
import { genEntries, labelKey, REPO_ROOT, type GenEntry } from './support/genlogs.js';
import { NO_INGEST_ENRICHMENT, startInProcess, tempDir, type InProcess, pushEntries } from './support/silt.js';

let silt: InProcess;
const gen = genEntries({ lines: 6000, streams: 30, rate: 200 });
/** Many lines at one nanosecond (two streams), with neighbours just before and after. */
const T0 = gen[0]!.tsNs + 5_000_000_000n;
const same: GenEntry[] = [];
for (let i = 0; i < 1200; i++) same.push({ labels: { job: 'same-ts', shard: i % 2 === 0 ? 'a' : 'b' }, tsNs: T0, line: `tick ${i} shard=${i % 2 === 0 ? 'a' : 'b'}` });
for (let i = 0; i < 150; i++) same.push({ labels: { job: 'same-ts', shard: 'a' }, tsNs: T0 - 1000n + BigInt(i), line: `before ${i}` });
for (let i = 0; i < 150; i++) same.push({ labels: { job: 'same-ts', shard: 'b' }, tsNs: T0 + 1n + BigInt(i), line: `after ${i}` });
const entries = [...gen, ...same];
const START = gen[0]!.tsNs;
const END = gen.at(-1)!.tsNs + 1n;
const FROM = isoNs(START);
const TO = isoNs(END);

/** Independent RFC3339Nano (UTC) formatting: Date for the seconds, the ns fraction trimmed. */
function isoNs(ns: bigint): string {
  const base = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return base + (frac ? '.' + frac : '') + 'Z';
}

beforeAll(async () => {
  // Retention on: as in Loki, the compactor's delete API is only served with retention enabled.
  silt = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT, '-compactor.retention-enabled=true']);
  const r = await pushEntries(silt.url, entries);
  expect(r.status).toBe(204);
});
afterAll(async () => {
  await silt?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns the real CLI. */
function cli(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'cmd/siltcli.ts'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, LOKI_ADDR: silt.url, NO_COLOR: '', ...opts.env }, maxBuffer: 1 << 28 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(opts.stdin ?? '');
  });
}

/** Runs the CLI in this process (same code as the binary, minus the process wrapper). */
async function run(args: string[], opts: { stdin?: string } = {}): Promise<Run> {
  const io = memIo();
  io.env = { LOKI_ADDR: silt.url };
  io.readStdin = () => Promise.resolve(opts.stdin ?? '');
  const code = await runCli(args, io);
  return { code, stdout: io.out, stderr: io.err };
}

const fmtLabels = (ls: Record<string, string>): string => '{' + Object.keys(ls).sort().map((k) => `${k}=${JSON.stringify(ls[k])}`).join(', ') + '}';
const byTs = (a: GenEntry, b: GenEntry): number => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0);
const rows = (es: GenEntry[]): string[] => es.map((e) => `${e.tsNs}|${labelKey(e.labels)}|${e.line}`);

describe('query', () => {
  it('pages far past 5000 lines with --batch; default output, common labels once on stderr', async () => {
    const want = gen.filter((e) => e.labels['cluster'] !== undefined).sort(byTs).slice(0, 5500);
    const r = await cli(['query', '{cluster=~".+"}', '--from', FROM, '--to', TO, '--limit', '5500', '--batch', '1000', '--forward', '-z', 'UTC']);
    expect(r.code, r.stderr).toBe(0);
    // The labels column is padded per page: squeeze the padding out (multi-line entries keep their own lines).
    const got = r.stdout.replace(/^(\S+Z \{[^}]*\}) +/gm, '$1 ');
    expect(got).toBe(want.map((e) => `${isoNs(e.tsNs)} ${fmtLabels(e.labels)} ${e.line.trim()}\n`).join(''));
    expect(r.stderr.match(/query_range\?/g)).toHaveLength(6);
  });

  it.each([
    ['forward', true],
    ['backward', false],
  ])('%s: 1200 lines at one nanosecond page with --batch 100, none repeated or lost', async (_name, forward) => {
    const args = ['query', '{job="same-ts"}', '--from', FROM, '--to', TO, '--limit', '0', '--batch', '100', '-o', 'jsonl', '-q', '--include-common-labels', ...(forward ? ['--forward'] : [])];
    const r = forward ? await cli(args) : await run(args);
    expect(r.code, r.stderr).toBe(0);
    const got = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { labels: Record<string, string>; line: string; timestamp: string });
    expect(got).toHaveLength(same.length);
    const gotRows = got.map((g) => `${g.timestamp}|${labelKey(g.labels)}|${g.line}`);
    expect(new Set(gotRows).size).toBe(same.length);
    expect([...gotRows].sort()).toEqual(same.map((e) => `${isoNs(e.tsNs)}|${labelKey(e.labels)}|${e.line}`).sort());
    // Order by ns, through the entries' own nanoseconds.
    const nsOf = new Map(same.map((e) => [isoNs(e.tsNs), e.tsNs]));
    const ns = got.map((g) => nsOf.get(g.timestamp)!);
    for (let i = 1; i < ns.length; i++) expect(forward ? ns[i]! >= ns[i - 1]! : ns[i]! <= ns[i - 1]!).toBe(true);
  });

  it('raw output, --no-labels and --include-label', async () => {
    const want = gen.filter((e) => e.labels['app'] === 'oauth-proxy').sort(byTs).reverse().slice(0, 30);
    const raw = await run(['query', '{app="oauth-proxy"}', '--from', FROM, '--to', TO, '-o', 'raw', '-q']);
    expect(raw.stdout).toBe(want.map((e) => e.line + '\n').join(''));
    const inc = await run(['query', '{app="oauth-proxy"}', '--from', FROM, '--to', TO, '--include-label', 'pod', '-q', '-z', 'UTC', '--limit', '3']);
    expect(inc.stdout.trimEnd().split('\n').map((l) => l.replace(/\} +/, '} '))).toEqual(want.slice(0, 3).map((e) => `${isoNs(e.tsNs)} {pod=${JSON.stringify(e.labels['pod'])}} ${e.line}`));
  });

  it('common labels are printed once for all pages; each page is one logged request', async () => {
    const want = gen.filter((e) => e.labels['app'] === 'oauth-proxy').sort(byTs).reverse().slice(0, 60);
    const r = await run(['query', '{app="oauth-proxy"}', '--from', FROM, '--to', TO, '--limit', '60', '--batch', '10', '-z', 'UTC', '--output-timestamp-format', 'rfc3339']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/Common labels: /g)).toHaveLength(1);
    expect(r.stderr).toContain('Common labels: {app="oauth-proxy", container="oauth-proxy", namespace="identity"}');
    expect(r.stderr.match(/query_range\?/g)).toHaveLength(6);
    const st = await run(['query', '{app="oauth-proxy"}', '--from', FROM, '--to', TO, '--limit', '5', '-q', '--stats']);
    expect(st.stderr).toMatch(/^Summary\.totalEntriesReturned +5$/m);
    const common = new Set(['app', 'container', 'namespace']);
    const shown = (e: GenEntry): Record<string, string> => Object.fromEntries(Object.entries(e.labels).filter(([k]) => !common.has(k)));
    const rfc3339 = (ns: bigint): string => new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19) + 'Z';
    expect(r.stdout.replace(/^(\S+Z \{[^}]*\}) +/gm, '$1 ')).toBe(want.map((e) => `${rfc3339(e.tsNs)} ${fmtLabels(shown(e))} ${e.line.trim()}\n`).join(''));
  });

  it('metric queries print the matrix; instant-query the vector (brute-force count)', async () => {
    const q = 'sum(count_over_time({cluster=~".+"}[1h]))';
    const r = await run(['instant-query', q, '--now', TO, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(Number(v[0].value[1])).toBe(gen.filter((e) => e.tsNs > END - 3_600_000_000_000n && e.tsNs <= END).length);
    const m = await run(['query', 'sum by (cluster) (count_over_time({cluster=~".+"}[10s]))', '--from', FROM, '--to', TO, '--step', '10s', '-q']);
    const matrix = JSON.parse(m.stdout);
    expect(new Set(matrix.map((s: any) => s.metric.cluster))).toEqual(new Set(gen.map((e) => e.labels['cluster'])));
  });

  it('errors: a bad query is the server 400 text, exit 1; unknown flags and unreachable servers too', async () => {
    const bad = await cli(['query', '{app="x"', '-q']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Query failed: error response from server: 400 parse error at line 1/);
    const flag = await run(['query', '{app="x"}', '--nope']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/unknown long flag '--nope'/);
    // A port nobody listens on.
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    const down = await run(['labels', '--addr', `http://127.0.0.1:${port}`, '-q']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`error sending request to http://127\\.0\\.0\\.1:${port}/loki/api/v1/labels.*ECONNREFUSED`));
    const since = await run(['labels', '--since', '1 hour']);
    expect(since.code).toBe(1);
    expect(since.stderr).toMatch(/time: invalid duration "1 hour"/);
  });
});

describe('other commands', () => {
  it('labels, label values, series', async () => {
    const names = await run(['labels', '--from', FROM, '--to', TO, '-q']);
    expect(names.stdout.trimEnd().split('\n')).toEqual([...new Set(entries.flatMap((e) => Object.keys(e.labels)))].sort());
    const apps = await run(['labels', 'app', '--from', FROM, '--to', TO, '-q']);
    expect(apps.stdout.trimEnd().split('\n')).toEqual([...new Set(gen.map((e) => e.labels['app']!))].sort());
    const series = await run(['series', '{cluster="prod-eu-west-1"}', '--from', FROM, '--to', TO, '-q']);
    expect(new Set(series.stdout.trimEnd().split('\n'))).toEqual(new Set(gen.filter((e) => e.labels['cluster'] === 'prod-eu-west-1').map((e) => fmtLabels(e.labels))));
  });

  it('stats, volume and volume_range', async () => {
    const stats = await run(['stats', '{cluster=~".+"}', '--from', FROM, '--to', TO, '-q']);
    expect(stats.stdout).toMatch(new RegExp(`^\\{\\n  bytes: [0-9.]+[kM]?B\\n  chunks: \\d+\\n  streams: 30\\n  entries: ${gen.length}\\n\\}\\n$`));
    const vol = await run(['volume', '{cluster=~".+"}', '--from', FROM, '--to', TO, '-q']);
    const want = new Map<string, number>();
    for (const e of gen) if (e.tsNs <= END) want.set(e.labels['cluster']!, (want.get(e.labels['cluster']!) ?? 0) + Buffer.byteLength(e.line));
    expect(new Map(JSON.parse(vol.stdout).map((s: any) => [s.metric.cluster, Number(s.value[1])]))).toEqual(want);
    const vr = await run(['volume_range', '{cluster=~".+"}', '--from', FROM, '--to', TO, '--step', '5s', '--targetLabels', 'namespace', '-q']);
    const series = JSON.parse(vr.stdout);
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) expect(Object.keys(s.metric)).toEqual(['namespace']);
  });

  it('detected-fields and field values', async () => {
    const lines = gen.filter((e) => e.labels['app'] === 'oauth-proxy');
    const statuses = new Set(lines.map((e) => /status=(\d+)/.exec(e.line)?.[1]).filter((s) => s !== undefined));
    const r = await run(['detected-fields', '{app="oauth-proxy"}', '--from', FROM, '--to', TO, '--line-limit', '5000', '-q']);
    expect(r.stdout).toContain(`label: status\t\ttype: int\t\tcardinality: ${statuses.size}\n`);
    const v = await run(['detected-fields', '{app="oauth-proxy"}', 'status', '--from', FROM, '--to', TO, '--line-limit', '5000', '-q']);
    expect(v.stdout.trimEnd().split('\n')).toEqual([...statuses].sort());
  });

  it('fmt formats stdin; a parse error is exit 1', async () => {
    expect((await cli(['fmt'], { stdin: '{ app = "x" }|="y"' })).stdout).toBe('{app="x"} |= "y"\n');
    const bad = await run(['fmt'], { stdin: '{app=' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unable to format logql: failed to parse the query: parse error/);
  });

  it('export streams the whole range as CSV and JSONL (no progress bar without a TTY)', async () => {
    const want = gen.filter((e) => e.labels['app'] === 'coredns').sort(byTs);
    const csv = await cli(['export', '{app="coredns"}', '--from', FROM, '--to', TO, '--format', 'csv', '--batch', '50']);
    expect(csv.code, csv.stderr).toBe(0);
    const csvLines = csv.stdout.trimEnd().split('\n');
    expect(csvLines[0]).toBe('timestamp,ts_ns,labels,line');
    expect(csvLines.slice(1).map((l) => l.split(',')[1])).toEqual(want.map((e) => e.tsNs.toString()));
    expect(csv.stderr).not.toContain('[#');
    expect(csv.stderr).toContain(`exported ${want.length} lines`);
    const jl = await run(['export', '{app="coredns"}', '--from', FROM, '--to', TO, '--batch', '40', '-q']);
    const got = jl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(got.map((g: any) => `${g.ts_ns}|${labelKey(g.labels)}|${g.line}`)).toEqual(rows(want));
    expect(got.every((g: any) => g.timestamp === isoNs(BigInt(g.ts_ns)))).toBe(true);
  });

  it('delete: the client side of POST/GET/DELETE /loki/api/v1/delete', async () => {
    // A selector matching none of the pushed streams: the delete must not hide lines other tests read.
    const r = await run(['delete', 'create', '{app="deleted-by-siltcli-test"}', '--from', FROM, '--to', TO]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Delete request created successfully');
    const list = await run(['delete', 'list', '-q']);
    expect(list.stdout).toContain('Query: {app="deleted-by-siltcli-test"}');
  });

  it('--tail over the WebSocket endpoint, or a clear error when the server has none', async () => {
    const probe = await fetch(`${silt.url}/loki/api/v1/tail?query=${encodeURIComponent('{app="x"}')}`);
    if (probe.status === 404) {
      const r = await cli(['query', '{app="coredns"}', '--tail', '-q']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/tail: the server refused the WebSocket at ws:\/\/127\.0\.0\.1:\d+\/loki\/api\/v1\/tail\?.*HTTP 404 \(this server has no tail endpoint\)/);
      return;
    }
    // The endpoint exists: tail, push one line, and expect to see it.
    const io = memIo();
    let stop!: () => void;
    io.interrupted = new Promise<void>((r) => (stop = r));
    const running = runCli(['query', '{job="tail-test"}', '--tail', '-q', '-o', 'raw', '--addr', silt.url], io);
    await new Promise((r) => setTimeout(r, 500));
    await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'tail-test' }, values: [[String(Date.now() * 1e6), 'hello tail']] }] }) });
    for (let i = 0; i < 50 && !io.out.includes('hello tail'); i++) await new Promise((r) => setTimeout(r, 100));
    stop();
    expect(await running).toBe(0);
    expect(io.out).toContain('hello tail\n');
  });
});

/** In-memory streams for runCli. */
function memIo(tty = false): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: {} as Record<string, string | undefined>,
    stdout: { isTTY: tty, write: (s: string) => void (io.out += s) },
    stderr: { isTTY: tty, columns: 80, write: (s: string) => void (io.err += s) },
    readStdin: () => Promise.resolve(''),
    interrupted: new Promise<void>(() => {}),
    nowMs: () => Date.now(),
  };
  return io;
}

describe('in process', () => {
  it('colours by level only on a terminal', async () => {
    const args = ['query', '{app="oauth-proxy"} |= "level=error"', '--from', FROM, '--to', TO, '-q', '--limit', '3', '--addr', silt.url];
    const plain = memIo(false);
    expect(await runCli(args, plain)).toBe(0);
    expect(plain.out).not.toContain('\u001b[');
    const tty = memIo(true);
    expect(await runCli(args, tty)).toBe(0);
    expect(tty.out).toContain('\u001b[31mts=');
  });

  it('export draws a progress bar on a terminal', async () => {
    let progress = '';
    let out = '';
    const client = new LokiClient({ addr: silt.url, orgId: '', username: '', password: '', bearerToken: '', bearerTokenFile: '', queryTags: '', headers: [], quiet: true, log: () => {} });
    const n = await exportRange(client, { query: '{app="coredns"}', startNs: START, endNs: END, batch: 20, format: 'jsonl', write: (s) => void (out += s), progress: (s) => (progress += s), columns: 80 });
    expect(n).toBe(out.trimEnd().split('\n').length);
    expect(progress).toContain('\r[');
    expect(progress).toContain(`100% ${n} lines`);
    expect(progressLine(0.5, 1234, 2_500_000, 60)).toMatch(/^\[#+\.+\] {2}50% 1,234 lines 2\.5MB$/);
  });

  it('sends org id, basic auth, query tags and custom headers', async () => {
    let seen: IncomingHttpHeaders = {};
    const srv = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"success","data":["a"]}');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const addr = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const io = memIo();
    io.env = { LOKI_ADDR: addr, LOKI_ORG_ID: 'tenant-1' };
    expect(await runCli(['labels', '-q', '--username', 'u', '--password', 'p', '--query-tags', 'source=siltcli', '--header', 'X-Extra: 1'], io)).toBe(0);
    expect(io.out).toBe('a\n');
    expect(seen['x-scope-orgid']).toBe('tenant-1');
    expect(seen['authorization']).toBe('Basic ' + Buffer.from('u:p').toString('base64'));
    expect(seen['x-query-tags']).toBe('source=siltcli');
    expect(seen['x-extra']).toBe('1');
    const both = memIo();
    both.env = { LOKI_ADDR: addr };
    expect(await runCli(['labels', '--username', 'u', '--password', 'p', '--bearer-token', 't'], both)).toBe(1);
    expect(both.err).toMatch(/at most one of HTTP basic auth/);
    srv.close();
  });
});
