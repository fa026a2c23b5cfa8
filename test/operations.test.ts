/**
 * Loki's operational surface (issue #18, item 4) on a real Silt with S3 storage (fauxqs; s3rver
 * lists no common prefixes under `index/`, so its compactor would find no tables):
 * - every metric of the Loki mixin (grafana/loki production/loki-mixin) that Silt implements is
 *   on /metrics after pushes (HTTP and gRPC), flushes, queries, a rule group and a delete, with
 *   the mixin's type and labels; the list below is the data, with the mixin file that uses each;
 * - `/services`, `/loki/api/v1/status/buildinfo` and `/`;
 * - the access log (debug per request, info with the reason for 4xx, 429 included), logfmt,
 *   and the start-up lines naming the object store, the WAL and the bound addresses.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../src/app/app.js';
import { newLogger } from '../src/app/logger.js';
import { loadConfig } from '../src/config/config.js';
import { REPO_ROOT } from './support/genlogs.js';
import { encodePushRaw } from './support/protobuf.js';
import { s3Flags, startFauxqs, type S3Server } from './support/s3.js';
import { tempDir, testFlags } from './support/silt.js';

type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric Silt exports under Loki's name: its type, its exact label set, and where the mixin uses it. */
interface LokiMetric {
  name: string;
  type: MetricType;
  labels: string[];
  /** The mixin file(s) under production/loki-mixin that query it; 'not in the mixin' for Loki metrics asked for besides. */
  source: string;
}

const MIXIN_METRICS: LokiMetric[] = [
  { name: 'loki_request_duration_seconds', type: 'histogram', labels: ['method', 'route', 'status_code', 'ws'], source: 'alerts.libsonnet, recording_rules.libsonnet, dashboards/loki-writes.libsonnet, dashboards/loki-reads.libsonnet, dashboards/dashboard-loki-operational.json' },
  { name: 'loki_panic_total', type: 'counter', labels: [], source: 'alerts.libsonnet' },
  { name: 'loki_boltdb_shipper_compactor_running', type: 'gauge', labels: [], source: 'alerts.libsonnet' },
  { name: 'loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds', type: 'gauge', labels: [], source: 'alerts.libsonnet, dashboards/loki-retention.libsonnet' },
  { name: 'loki_boltdb_shipper_compact_tables_operation_total', type: 'counter', labels: ['status'], source: 'dashboards/loki-retention.libsonnet' },
  { name: 'loki_boltdb_shipper_compact_tables_operation_duration_seconds', type: 'gauge', labels: [], source: 'dashboards/loki-retention.libsonnet, dashboards/loki-deletion.libsonnet' },
  { name: 'loki_build_info', type: 'gauge', labels: ['version', 'revision', 'branch', 'goos', 'goarch', 'nodeversion'], source: 'dashboards/dashboard-utils.libsonnet (cluster and namespace variables), dashboards/loki-canary-dashboard.libsonnet' },
  { name: 'loki_distributor_bytes_received_total', type: 'counter', labels: ['tenant'], source: 'dashboards/loki-writes.libsonnet, dashboards/dashboard-loki-operational.json' },
  { name: 'loki_distributor_structured_metadata_bytes_received_total', type: 'counter', labels: ['tenant'], source: 'dashboards/loki-writes.libsonnet' },
  { name: 'loki_distributor_lines_received_total', type: 'counter', labels: ['tenant'], source: 'dashboards/dashboard-loki-operational.json' },
  { name: 'loki_distributor_ingester_append_failures_total', type: 'counter', labels: ['ingester'], source: 'dashboards/dashboard-loki-operational.json' },
  { name: 'loki_discarded_samples_total', type: 'counter', labels: ['reason', 'tenant'], source: 'dashboards/dashboard-loki-operational.json' },
  { name: 'loki_index_request_duration_seconds', type: 'histogram', labels: ['operation', 'status_code'], source: 'dashboards/loki-writes.libsonnet, dashboards/loki-reads.libsonnet, dashboards/dashboard-loki-operational.json' },
  { name: 'loki_s3_request_duration_seconds', type: 'histogram', labels: ['operation', 'status_code'], source: 'dashboards/dashboard-loki-operational.json' },
  { name: 'loki_ingester_memory_streams', type: 'gauge', labels: ['tenant'], source: 'dashboards/loki-chunks.libsonnet, dashboards/loki-writes-resources.libsonnet, dashboards/dashboard-loki-operational.json' },
  { name: 'loki_ingester_memory_chunks', type: 'gauge', labels: [], source: 'dashboards/loki-chunks.libsonnet' },
  { name: 'loki_ingester_streams_created_total', type: 'counter', labels: ['tenant'], source: 'dashboards/dashboard-loki-operational.json' },
  { name: 'loki_ingester_chunks_flushed_total', type: 'counter', labels: ['reason'], source: 'dashboards/loki-chunks.libsonnet, dashboards/dashboard-loki-operational.json, dashboards/dashboard-bloom-build.json' },
  { name: 'loki_ingester_flush_queue_length', type: 'gauge', labels: [], source: 'dashboards/loki-chunks.libsonnet' },
  { name: 'loki_ingester_chunk_utilization', type: 'histogram', labels: [], source: 'dashboards/loki-chunks.libsonnet, dashboards/dashboard-loki-operational.json' },
  { name: 'loki_ingester_chunk_age_seconds', type: 'histogram', labels: [], source: 'dashboards/loki-chunks.libsonnet' },
  { name: 'loki_ingester_chunk_entries', type: 'histogram', labels: [], source: 'dashboards/loki-chunks.libsonnet' },
  { name: 'loki_ingester_chunk_size_bytes', type: 'histogram', labels: [], source: 'dashboards/loki-chunks.libsonnet, dashboards/dashboard-loki-operational.json' },
  { name: 'loki_ingester_chunk_bounds_hours', type: 'histogram', labels: [], source: 'dashboards/loki-chunks.libsonnet' },
  { name: 'loki_objstore_bucket_operations_total', type: 'counter', labels: ['bucket', 'operation'], source: 'dashboards/loki-object-store.libsonnet' },
  { name: 'loki_objstore_bucket_operation_failures_total', type: 'counter', labels: ['bucket', 'operation'], source: 'dashboards/loki-object-store.libsonnet' },
  { name: 'loki_objstore_bucket_operation_duration_seconds', type: 'histogram', labels: ['bucket', 'operation'], source: 'dashboards/loki-object-store.libsonnet' },
  { name: 'loki_compactor_delete_requests_received_total', type: 'counter', labels: ['user'], source: 'dashboards/loki-deletion.libsonnet' },
  { name: 'loki_compactor_delete_requests_processed_total', type: 'counter', labels: ['user'], source: 'dashboards/loki-deletion.libsonnet' },
  { name: 'loki_compactor_deleted_lines', type: 'counter', labels: ['user'], source: 'dashboards/loki-deletion.libsonnet' },
  { name: 'loki_prometheus_rule_group_rules', type: 'gauge', labels: ['user', 'rule_group'], source: 'dashboards/loki-reads-resources.libsonnet' },
];

/** Loki metrics outside the mixin that Silt shares with Loki (server, ingester WAL, chunks). */
const OTHER_LOKI_METRICS: LokiMetric[] = [
  { name: 'loki_inflight_requests', type: 'gauge', labels: ['method', 'route'], source: 'not in the mixin' },
  { name: 'loki_request_message_bytes', type: 'histogram', labels: ['method', 'route'], source: 'not in the mixin' },
  { name: 'loki_response_message_bytes', type: 'histogram', labels: ['method', 'route'], source: 'not in the mixin' },
  { name: 'loki_ingester_wal_records_logged_total', type: 'counter', labels: [], source: 'not in the mixin' },
  { name: 'loki_ingester_wal_logged_bytes_total', type: 'counter', labels: [], source: 'not in the mixin' },
  { name: 'loki_ingester_wal_recovered_entries_total', type: 'counter', labels: [], source: 'not in the mixin' },
  { name: 'loki_ingester_wal_replay_active', type: 'gauge', labels: [], source: 'not in the mixin' },
  { name: 'loki_ingester_wal_replay_duration_seconds', type: 'gauge', labels: [], source: 'not in the mixin' },
  { name: 'loki_ingester_chunks_flush_failures_total', type: 'counter', labels: [], source: 'not in the mixin' },
  { name: 'loki_ingester_chunks_stored_total', type: 'counter', labels: ['tenant'], source: 'not in the mixin' },
  { name: 'loki_ingester_chunk_stored_bytes_total', type: 'counter', labels: ['tenant'], source: 'not in the mixin' },
  { name: 'loki_ingester_chunk_compression_ratio', type: 'histogram', labels: [], source: 'not in the mixin' },
  { name: 'loki_mutated_samples_total', type: 'counter', labels: ['reason', 'tenant'], source: 'not in the mixin' },
  { name: 'loki_discarded_bytes_total', type: 'counter', labels: ['reason', 'tenant'], source: 'not in the mixin' },
  { name: 'loki_objstore_bucket_last_successful_upload_time', type: 'gauge', labels: ['bucket'], source: 'not in the mixin' },
  { name: 'loki_prometheus_rule_group_interval_seconds', type: 'gauge', labels: ['user', 'rule_group'], source: 'not in the mixin' },
  { name: 'loki_prometheus_rule_group_last_evaluation_timestamp_seconds', type: 'gauge', labels: ['user', 'rule_group'], source: 'not in the mixin' },
  { name: 'loki_prometheus_rule_group_last_duration_seconds', type: 'gauge', labels: ['user', 'rule_group'], source: 'not in the mixin' },
];

/** One sample of the text exposition format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The `# TYPE` of every metric family and every sample, from Prometheus' text format. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t !== null) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]!}"`) as string;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The samples of a metric family (histograms: their `_bucket`, `_sum` and `_count` series). */
function family(samples: Sample[], name: string, type: MetricType): Sample[] {
  if (type !== 'histogram') return samples.filter((s) => s.name === name);
  return samples.filter((s) => s.name === `${name}_bucket` || s.name === `${name}_sum` || s.name === `${name}_count`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const PUSHER: grpc.ServiceDefinition = {
  Push: { path: '/logproto.Pusher/Push', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
};

/** One push over gRPC with a real @grpc/grpc-js client; resolves with the status code. */
function grpcPush(port: number, body: Buffer): Promise<number> {
  const Client = grpc.makeGenericClientConstructor(PUSHER, 'Pusher');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as { Push: (b: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void }).Push(body, new grpc.Metadata(), (err) => {
      client.close();
      resolve(err ? err.code : 0);
    });
  });
}

/** A logger destination that keeps every line written. */
function collector(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

describe('Loki mixin metrics on /metrics', () => {
  let s3: S3Server;
  let app: App;
  let url = '';
  let text = '';
  const dir = tempDir('silt-ops-');

  beforeAll(async () => {
    s3 = await startFauxqs();
    const cfg = loadConfig(
      testFlags(
        dir,
        s3Flags(s3, [
          '-compactor.retention-enabled=true',
          '-compactor.delete-request-cancel-period=0s',
          '-querier.cache-results=true',
          '-ruler.evaluation-interval=1s',
          // Long lines are truncated (loki_mutated_*), not refused.
          '-distributor.max-line-size=100B',
          '-distributor.max-line-size-truncate=true',
          '-log.level=error',
        ]),
      ),
    );
    app = new App(cfg, newLogger(cfg.server));
    await app.start();
    url = `http://127.0.0.1:${app.httpPort}`;

    const nowMs = Date.now();
    const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();
    // HTTP pushes: lines with structured metadata, one too old (discarded, 400).
    const body = {
      streams: [
        { stream: { job: 'ops', app: 'a' }, values: [[ns(nowMs - 20_000), 'keep me', { trace_id: 't1' }], [ns(nowMs - 19_000), 'a secret line'], [ns(nowMs - 18_000), 'keep me too']] },
        { stream: { job: 'ops', app: 'b' }, values: [[ns(nowMs - 17_000), 'another secret'], [ns(nowMs - 16_500), 'long '.repeat(40)]] },
      ],
    };
    const push = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(push.status).toBe(204);
    const old = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'ops' }, values: [['1', 'ancient']] }] }) });
    expect(old.status).toBe(400);
    // gRPC push.
    expect(await grpcPush(app.grpcPort, encodePushRaw([{ labels: '{job="ops", app="grpc"}', entries: [{ tsNs: BigInt(nowMs - 16_000) * 1_000_000n, line: 'over grpc' }] }]))).toBe(0);
    // Flush: chunks and index in S3.
    expect((await fetch(`${url}/flush`, { method: 'POST' })).status).toBe(204);
    // Queries of several kinds (read the index in S3 and the chunks).
    const start = ns(nowMs - 60_000);
    const end = ns(nowMs);
    for (const q of [
      `/loki/api/v1/query_range?${new URLSearchParams({ query: '{job="ops"}', start, end })}`,
      `/loki/api/v1/query_range?${new URLSearchParams({ query: 'sum(count_over_time({job="ops"}[1m]))', start, end, step: '10' })}`,
      `/loki/api/v1/labels?${new URLSearchParams({ start, end })}`,
      `/loki/api/v1/label/app/values?${new URLSearchParams({ start, end })}`,
      `/loki/api/v1/series?${new URLSearchParams({ 'match[]': '{job="ops"}', start, end })}`,
    ]) {
      const r = await fetch(url + q);
      expect(r.status, `${q}: ${await r.clone().text()}`).toBe(200);
    }
    // A rule group, and a delete request the compactor processes.
    const rules = await fetch(`${url}/loki/api/v1/rules/ops`, { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: 'name: g\nrules:\n  - record: ops:lines\n    expr: sum(count_over_time({job="ops"}[1m]))\n' });
    expect(rules.status).toBe(202);
    const del = await fetch(`${url}/loki/api/v1/delete?${new URLSearchParams({ query: '{job="ops"} |= "secret"', start: String(Math.floor(nowMs / 1000) - 3600), end: String(Math.floor(nowMs / 1000)) })}`, { method: 'POST' });
    expect(del.status, await del.text()).toBe(204);
    const run = await app.compactor!.runOnce({ minChunkAgeMs: 0 });
    expect(run.deleteRequestsProcessed, JSON.stringify(run)).toBe(1);
    // The rule group is loaded and evaluated once.
    for (let i = 0; i < 50 && !/loki_prometheus_rule_group_last_duration_seconds\{/.test(text); i++) {
      await sleep(100);
      text = await (await fetch(`${url}/metrics`)).text();
    }
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await s3?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([...MIXIN_METRICS, ...OTHER_LOKI_METRICS])('$name ($type {$labels}) from $source', (m) => {
    const { types, samples } = parseExposition(text);
    expect(types.get(m.name), `# TYPE of ${m.name}`).toBe(m.type);
    const series = family(samples, m.name, m.type);
    expect(series.length, `${m.name} has no series`).toBeGreaterThan(0);
    const labels = new Set(series.flatMap((s) => Object.keys(s.labels)).filter((l) => l !== 'le'));
    expect([...labels].sort()).toEqual([...m.labels].sort());
  });

  it('has the series the mixin selects: routes, gRPC push, flush reasons, index operations, S3 operations', () => {
    const { samples } = parseExposition(text);
    const has = (name: string, labels: Record<string, string>): boolean => samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    const count = 'loki_request_duration_seconds_count';
    expect(has(count, { method: 'POST', route: 'loki_api_v1_push', status_code: '204', ws: 'false' })).toBe(true);
    expect(has(count, { method: 'POST', route: 'loki_api_v1_push', status_code: '400' })).toBe(true);
    expect(has(count, { method: 'gRPC', route: '/logproto.Pusher/Push', status_code: 'success', ws: 'false' })).toBe(true);
    expect(has(count, { method: 'GET', route: 'loki_api_v1_query_range', status_code: '200' })).toBe(true);
    expect(has(count, { method: 'GET', route: 'loki_api_v1_label_name_values', status_code: '200' })).toBe(true);
    expect(has(count, { method: 'GET', route: 'loki_api_v1_labels', status_code: '200' })).toBe(true);
    expect(has(count, { method: 'GET', route: 'loki_api_v1_series', status_code: '200' })).toBe(true);
    expect(has(count, { method: 'POST', route: 'loki_api_v1_rules_namespace', status_code: '202' })).toBe(true);
    expect(has(count, { method: 'POST', route: 'loki_api_v1_delete', status_code: '204' })).toBe(true);
    expect(has('loki_ingester_chunks_flushed_total', { reason: 'forced' })).toBe(true);
    expect(has('loki_index_request_duration_seconds_count', { operation: 'index_chunk', status_code: '200' })).toBe(true);
    expect(has('loki_index_request_duration_seconds_count', { operation: 'chunk_refs', status_code: '200' })).toBe(true);
    expect(has('loki_s3_request_duration_seconds_count', { operation: 'S3.PutObject', status_code: '200' })).toBe(true);
    expect(has('loki_objstore_bucket_operations_total', { bucket: s3.bucket, operation: 'upload' })).toBe(true);
    expect(has('loki_discarded_samples_total', { reason: 'greater_than_max_sample_age', tenant: 'fake' })).toBe(true);
    expect(has('loki_compactor_deleted_lines', { user: 'fake' })).toBe(true);
    expect(samples.find((s) => s.name === 'loki_compactor_deleted_lines')!.value).toBe(2);
    expect(samples.find((s) => s.name === 'loki_distributor_lines_received_total' && s.labels['tenant'] === 'fake')!.value).toBe(7);
    expect(has('loki_mutated_samples_total', { reason: 'line_too_long', tenant: 'fake' })).toBe(true);
    expect(samples.find((s) => s.name === 'loki_distributor_structured_metadata_bytes_received_total')!.value).toBe('trace_id'.length + 't1'.length);
    expect(samples.find((s) => s.name === 'loki_boltdb_shipper_compactor_running')!.value).toBe(1);
    expect(samples.find((s) => s.name === 'loki_prometheus_rule_group_rules')).toMatchObject({ labels: { user: 'fake', rule_group: 'ops;g' }, value: 1 });
    expect(samples.find((s) => s.name === 'loki_build_info')!.labels['version']).toBe((JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('keeps no silt_* duplicate of a Loki metric', () => {
    const { types } = parseExposition(text);
    for (const gone of ['silt_request_duration_seconds', 'silt_request_total', 'silt_ingester_memory_streams', 'silt_distributor_bytes_received_total', 'silt_discarded_samples_total', 'silt_s3_request_duration_seconds', 'silt_ingester_unflushed_chunks', 'silt_compactor_runs_total']) {
      expect(types.has(gone), gone).toBe(false);
    }
  });
});

describe('operations endpoints, access log and start-up lines', () => {
  let app: App;
  let url = '';
  const log = collector();
  const dir = tempDir('silt-ops-log-');

  beforeAll(async () => {
    // Auth on (tenants in the access log), a tiny ingestion rate (a 429), logfmt at debug.
    const cfg = loadConfig(testFlags(dir, ['-auth.enabled=true', '-distributor.ingestion-rate-limit-mb=0.0001', '-distributor.ingestion-burst-size-mb=0.0001', '-log.level=debug', '-log.format=logfmt']));
    app = new App(cfg, newLogger(cfg.server, log));
    await app.start();
    url = `http://127.0.0.1:${app.httpPort}`;
  });

  afterAll(async () => {
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Log lines (logfmt) whose msg starts with `prefix`. */
  const lines = (prefix: string): string[] => log.lines.filter((l) => l.includes(`msg="${prefix}`) || l.includes(`msg=${prefix}`));

  it('says where data, WAL and object store are, and every bound address', () => {
    const data = lines('data:');
    expect(data).toHaveLength(1);
    expect(data[0]).toContain(`objectStore="filesystem ${path.join(dir, 'chunks')}"`);
    expect(data[0]).toContain(`wal=${path.join(dir, 'wal')}`);
    const http = lines('HTTP server listening on');
    expect(http).toHaveLength(1);
    expect(http[0]).toContain(`addr=127.0.0.1:${app.httpPort} port=${app.httpPort}`);
    const grpcLine = lines('gRPC server listening on');
    expect(grpcLine).toHaveLength(1);
    expect(grpcLine[0]).toContain(`msg="gRPC server listening on 127.0.0.1:${app.grpcPort}"`);
    expect(log.lines.every((l) => /^level=(debug|info|warn|error) ts=\d{4}-\d\d-\d\dT[\d:.]+Z /.test(l) && l.endsWith('\n'))).toBe(true);
  });

  it('logs every request at debug, and 4xx with the reason at info (401, 400, 429)', async () => {
    const push = (tenant: string | null, body: unknown): Promise<Response> =>
      fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(tenant !== null ? { 'X-Scope-OrgID': tenant } : {}) }, body: JSON.stringify(body) });
    const now = (BigInt(Date.now()) * 1_000_000n).toString();
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    expect((await push(null, { streams: [] })).status).toBe(401);
    const bad = await fetch(`${url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{job=' })}`, { headers: { 'X-Scope-OrgID': 'team-a' } });
    expect(bad.status).toBe(400);
    const badText = (await bad.text()).trim();
    const limited = await push('team-a', { streams: [{ stream: { job: 'x' }, values: [[now, 'x'.repeat(1000)]] }] });
    expect(limited.status).toBe(429);
    const limitedText = (await limited.text()).trim();

    const ready = lines('GET /ready (200)');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatch(/^level=debug .*component=http .*method=GET route=ready path=\/ready status=200 durationMs=[\d.]+ tenant=""\n$/);
    const unauthorized = lines('POST /loki/api/v1/push (401)');
    expect(unauthorized).toHaveLength(1);
    expect(unauthorized[0]).toMatch(/^level=info .*route=loki_api_v1_push .*status=401 .*err="no org id"/);
    const parse = lines('GET /loki/api/v1/query_range (400)');
    expect(parse).toHaveLength(1);
    expect(parse[0]).toMatch(/^level=info .*tenant=team-a /);
    expect(parse[0]).toContain(`err=${JSON.stringify(badText)}`);
    const rate = lines('POST /loki/api/v1/push (429)');
    expect(rate).toHaveLength(1);
    expect(rate[0]).toMatch(/^level=info .*tenant=team-a /);
    expect(rate[0]).toContain(`err=${JSON.stringify(limitedText)}`);
    expect(limitedText).toContain('ingestion rate limit');
  });

  it('serves /services, buildinfo and an index page', async () => {
    const services = await fetch(`${url}/services`);
    expect(services.status).toBe(200);
    expect(await services.text()).toBe(
      ['server', 'runtime-config', 'ingester', 'distributor', 'querier', 'query-frontend', 'compactor', 'ruler'].map((m) => `${m} => Running\n`).join(''),
    );
    const info = (await (await fetch(`${url}/loki/api/v1/status/buildinfo`)).json()) as Record<string, string>;
    expect(Object.keys(info).sort()).toEqual(['branch', 'buildDate', 'buildUser', 'goVersion', 'nodeVersion', 'revision', 'version']);
    expect(info['version']).toBe((JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    expect(info['goVersion']).toBe('');
    expect(info['nodeVersion']).toBe(process.version);
    let revision = 'unknown';
    let branch = 'unknown';
    try {
      revision = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
      branch = execFileSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout (or no git): Silt says unknown too
    }
    expect({ revision: info['revision'], branch: info['branch'] }).toEqual({ revision, branch });
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    const html = await index.text();
    for (const href of ['/ready', '/metrics', '/services', '/config', '/loki/api/v1/status/buildinfo', '/loki/api/v1/labels']) expect(html).toContain(`href="${href}"`);
    expect(html).toContain(`Silt ${info['version']}`);
  });
});
