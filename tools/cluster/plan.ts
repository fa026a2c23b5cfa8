/**
 * The plan of a cluster: which processes, on which ports, with which config. `up` builds it
 * (ports, per-role YAML, command lines) and writes it to `<dir>/plan.json`; the supervisor
 * only executes it, so everything Silt-specific lives here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { ALL_SETTINGS, loadConfig } from '../../src/config/config.js';
import { DIST_ENTRY, distIsCurrent } from '../dist.mjs';

/** The repository root (tools/cluster/ is two levels down). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Roles the launcher starts; `backend` is the compactor+ruler process (Loki's -target=backend);
 * `query-frontend` processes answer every query endpoint and queriers pull their pieces.
 */
export type Role = 'distributor' | 'ingester' | 'querier' | 'backend' | 'query-frontend';
export const ROLES: readonly Role[] = ['distributor', 'ingester', 'querier', 'backend', 'query-frontend'];

/** Every address is on the loopback interface: a dev cluster never listens elsewhere. */
export const HOST = '127.0.0.1';

/** s3rver takes any signature; these are the credentials every role is given. */
export const S3_BUCKET = 'silt';
const S3_KEY = 'S3RVER';
const S3_REGION = 'us-east-1';

/** Options of `startCluster` and `npm run cluster -- up`. */
export interface ClusterOptions {
  /** Cluster directory: cluster.json, plan.json, configs, logs and data. */
  dir: string;
  ingesters?: number;
  distributors?: number;
  queriers?: number;
  /** Compactor+ruler processes (`--backend`); default 1. */
  backends?: number;
  /** Query-frontend processes (`--frontends`); default 0. Queriers pull work from every one. */
  frontends?: number;
  /** `common.replication_factor`; default min(3, ingesters). */
  replicationFactor?: number;
  /** etcd members: 1 or 3. */
  etcdMembers?: 1 | 3;
  /** Shared storage in an s3rver process instead of a directory. */
  s3?: boolean;
  /** Every port from here upward; default: free ports picked by the OS. */
  basePort?: number;
  /** Wait before a dead process is started again (systemd's RestartSec); default 5000. */
  restartDelayMs?: number;
  /** SIGTERM to SIGKILL for Silt processes on `down`; default 35000 (Silt's own limit is 30 s). */
  stopGraceMs?: number;
  /** Longest `up` waits for every `/ready`; default 90000. */
  readyTimeoutMs?: number;
  /** How Silt runs: compiled `dist/` or `tsx` on the sources; `auto` takes dist when it is newer than every source. */
  runner?: 'auto' | 'dist' | 'tsx';
  /** Extra YAML settings for every role, by dotted path (`ingester.chunk_idle_period: '1m'`). */
  settings?: Record<string, unknown>;
  /** Extra YAML settings per role, applied after `settings`. */
  roleSettings?: Partial<Record<Role, Record<string, unknown>>>;
  /** Remove the data of an earlier cluster in `dir` (WAL, chunks, S3 objects) before starting. */
  clean?: boolean;
}

/** How the supervisor checks that a unit is up. */
export type Probe = { type: 'http'; url: string } | { type: 'tcp'; host: string; port: number };

/** One supervised process. */
export interface UnitSpec {
  /** `ingester-0`, `etcd-1`, `s3`: also the log file name. */
  name: string;
  kind: 'role' | 'etcd' | 's3';
  /** Set for kind `role`. */
  role: Role | null;
  command: string;
  args: string[];
  /** Environment on top of the supervisor's (which carries SILT_TEST_RUN in tests). */
  env: Record<string, string>;
  probe: Probe;
  /** `http://127.0.0.1:P` (roles, etcd client URL, S3 endpoint). */
  http: string;
  /** `127.0.0.1:P` for roles; etcd's peer URL for members; empty for S3. */
  grpc: string;
  /** The role's YAML file; empty for services. */
  config: string;
}

/** S3 connection settings every role gets. */
export interface S3Info {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the supervisor runs, written to `<dir>/plan.json` by `up`. */
export interface Plan {
  dir: string;
  runner: 'dist' | 'tsx';
  replicationFactor: number;
  restartDelayMs: number;
  stopGraceMs: number;
  /** SIGTERM to SIGKILL for etcd and S3, stopped last. */
  serviceStopGraceMs: number;
  readyTimeoutMs: number;
  /** etcd client URLs. */
  etcd: string[];
  s3: S3Info | null;
  storage: { type: 'filesystem'; directory: string } | { type: 's3'; bucket: string };
  /** Launcher settings this Silt does not know yet (left out of the YAML), e.g. ring settings before they exist. */
  droppedSettings: string[];
  /** The target the backend processes run (`backend`, or `compactor,ruler` where backend is not a target yet). */
  backendTarget: string;
  /** Services (S3, etcd) first, then roles in start order. */
  units: UnitSpec[];
}

/** Layout of a cluster directory. */
export function clusterPaths(dir: string): { plan: string; cluster: string; pid: string; logs: string; config: string; data: string; etcd: string; s3: string; shared: string } {
  return {
    plan: path.join(dir, 'plan.json'),
    cluster: path.join(dir, 'cluster.json'),
    pid: path.join(dir, 'supervisor.pid'),
    logs: path.join(dir, 'logs'),
    config: path.join(dir, 'config'),
    data: path.join(dir, 'data'),
    etcd: path.join(dir, 'etcd'),
    s3: path.join(dir, 's3'),
    shared: path.join(dir, 'shared'),
  };
}

/** The server's node flags, from the `#!/usr/bin/env -S node …` line of cmd/silt.ts (as `npm start` and the tests). */
export function serverNodeFlags(): string[] {
  const first = readFileSync(path.join(REPO_ROOT, 'cmd/silt.ts'), 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node((?: --\S+)*)$/.exec(first);
  return m === null ? [] : m[1]!.split(' ').filter((a) => a !== '');
}

/**
 * `dist` when `dist/cmd/silt.js` exists and is newer than every source under src/ and cmd/
 * (a stale build would run old code), else `tsx`.
 */
export function pickRunner(want: 'auto' | 'dist' | 'tsx'): 'dist' | 'tsx' {
  if (want === 'dist') {
    if (!existsSync(DIST_ENTRY)) throw new Error(`runner dist: ${DIST_ENTRY} does not exist; run \`npm run build\` first`);
    return 'dist';
  }
  if (want === 'tsx') return 'tsx';
  return distIsCurrent() ? 'dist' : 'tsx';
}

/** Command line of a Silt process with config file `config`. */
export function siltCommand(runner: 'dist' | 'tsx', config: string): { command: string; args: string[] } {
  const entry = runner === 'dist' ? [DIST_ENTRY] : ['--import', 'tsx', path.join(REPO_ROOT, 'cmd/silt.ts')];
  return { command: process.execPath, args: [...serverNodeFlags(), ...entry, `-config.file=${config}`] };
}

/** Whether `port` on 127.0.0.1 can be bound now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * `n` ports: `base, base+1, …` (each checked free; a taken one is an error, so the layout stays
 * predictable), or with no base, ports the OS picks, all held at once so none repeats.
 */
export async function allocatePorts(n: number, base: number | undefined): Promise<number[]> {
  if (base !== undefined) {
    if (!Number.isInteger(base) || base < 1 || base + n - 1 > 65535) throw new RangeError(`Cannot use base port ${base}: ${n} ports from it must fit in 1..65535`);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    const free = await Promise.all(ports.map(canBind));
    const taken = ports.filter((_, i) => !free[i]);
    if (taken.length > 0) throw new Error(`Cannot use base port ${base}: port(s) ${taken.join(', ')} on ${HOST} are in use`);
    return ports;
  }
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen({ port: 0, host: HOST, exclusive: true }, () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const KNOWN = new Map(ALL_SETTINGS.map((s) => [s.path, s]));

/** Sets `obj[a][b][c] = value` for the dotted path `a.b.c`. */
function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** Whether this Silt's config schema has the setting `dotted` (the ring settings arrive with issue #19). */
export function isKnownSetting(dotted: string): boolean {
  return KNOWN.has(dotted);
}

/** Whether this Silt accepts `-target=<t>`. */
function acceptsTarget(t: string): boolean {
  try {
    loadConfig([`-target=${t}`]);
    return true;
  } catch {
    return false;
  }
}

/** The launcher's own settings for one role process, as dotted YAML paths. */
function roleSettings(a: { role: Role; target: string; name: string; dataDir: string; httpPort: number; grpcPort: number; rf: number; etcdEndpoints: string[]; s3: S3Info | null; sharedDir: string; frontends: string[] }): Record<string, unknown> {
  const s: Record<string, unknown> = {
    target: a.target,
    'server.http_listen_address': HOST,
    'server.http_listen_port': a.httpPort,
    'server.grpc_listen_address': HOST,
    'server.grpc_listen_port': a.grpcPort,
    'common.path_prefix': a.dataDir,
    'common.replication_factor': a.rf,
    'common.ring.kvstore.store': 'etcd',
    'common.ring.kvstore.prefix': 'collectors/',
    'common.ring.kvstore.etcd.endpoints': a.etcdEndpoints,
    'common.ring.heartbeat_period': '5s',
    'common.ring.heartbeat_timeout': '1m',
  };
  if (a.s3 !== null) {
    Object.assign(s, {
      'storage_config.object_store': 's3',
      'storage_config.aws.endpoint': a.s3.endpoint,
      'storage_config.aws.bucketnames': a.s3.bucket,
      'storage_config.aws.region': a.s3.region,
      'storage_config.aws.access_key_id': a.s3.accessKeyId,
      'storage_config.aws.secret_access_key': a.s3.secretAccessKey,
      'storage_config.aws.s3forcepathstyle': true,
      'storage_config.aws.insecure': true,
    });
  } else {
    Object.assign(s, { 'storage_config.object_store': 'filesystem', 'storage_config.filesystem.directory': a.sharedDir });
  }
  if (a.role === 'ingester') {
    Object.assign(s, {
      'ingester.wal.dir': path.join(a.dataDir, 'wal'),
      'ingester.lifecycler.id': a.name,
      'ingester.lifecycler.address': HOST,
      'ingester.lifecycler.port': a.grpcPort,
      'ingester.lifecycler.tokens_file_path': path.join(a.dataDir, 'tokens'),
    });
  }
  if (a.role === 'querier') {
    s['querier.query_ingesters_within'] = '3h';
    // Queriers pull pieces from every frontend (Loki's -querier.frontend-address).
    if (a.frontends.length > 0) s['frontend_worker.frontend_address'] = a.frontends.join(',');
  }
  if (a.role === 'backend') {
    s['compactor.working_directory'] = path.join(a.dataDir, 'compactor');
    // The ruler ring and the compactor election name each process by this id (default: the hostname, shared by every process here).
    Object.assign(s, { 'ingester.lifecycler.id': a.name, 'ingester.lifecycler.address': HOST });
  }
  return s;
}

/** Reads a positive integer option, with its name in the error. */
function count(v: number | undefined, def: number, name: string, min = 0): number {
  const n = v ?? def;
  if (!Number.isInteger(n) || n < min) throw new RangeError(`Cannot use ${name} ${n}: expected an integer >= ${min}`);
  return n;
}

/**
 * Builds the plan for `opts` (ports allocated, nothing started) and the YAML text of every
 * role, by file path. Every YAML is checked with Silt's own config loader.
 */
export async function buildPlan(opts: ClusterOptions): Promise<{ plan: Plan; files: Map<string, string> }> {
  const dir = path.resolve(opts.dir);
  const p = clusterPaths(dir);
  const counts: Record<Role, number> = {
    distributor: count(opts.distributors, 2, '--distributors'),
    ingester: count(opts.ingesters, 3, '--ingesters'),
    querier: count(opts.queriers, 2, '--queriers'),
    backend: count(opts.backends, 1, '--backend'),
    'query-frontend': count(opts.frontends, 0, '--frontends'),
  };
  const rf = count(opts.replicationFactor, Math.max(1, Math.min(3, counts.ingester)), '--rf', 1);
  if (counts.ingester > 0 && rf > counts.ingester) throw new RangeError(`Cannot use --rf ${rf}: only ${counts.ingester} ingester(s)`);
  const members = opts.etcdMembers ?? 1;
  if (members !== 1 && members !== 3) throw new RangeError(`Cannot use --etcd-members ${String(members)}: expected 1 or 3`);
  const roleCount = ROLES.reduce((n, r) => n + counts[r], 0);
  const ports = await allocatePorts(members * 2 + (opts.s3 ? 1 : 0) + roleCount * 2, opts.basePort);
  let next = 0;
  const take = (): number => ports[next++]!;
  const runner = pickRunner(opts.runner ?? 'auto');

  const units: UnitSpec[] = [];
  let s3: S3Info | null = null;
  if (opts.s3) {
    const port = take();
    s3 = { endpoint: `http://${HOST}:${port}`, bucket: S3_BUCKET, region: S3_REGION, accessKeyId: S3_KEY, secretAccessKey: S3_KEY };
    units.push({
      name: 's3',
      kind: 's3',
      role: null,
      command: process.execPath,
      // s3rver's listings past 1000 keys use MD5 continuation tokens that Node 17+ refuses without the legacy provider.
      args: ['--openssl-legacy-provider', '--import', 'tsx', path.join(REPO_ROOT, 'tools/cluster/s3-server.ts'), p.s3, S3_BUCKET, String(port)],
      env: {},
      probe: { type: 'tcp', host: HOST, port },
      http: s3.endpoint,
      grpc: '',
      config: '',
    });
  }

  const etcd = Array.from({ length: members }, (_, i) => ({ name: `etcd-${i}`, client: take(), peer: take() }));
  const initialCluster = etcd.map((m) => `${m.name}=http://${HOST}:${m.peer}`).join(',');
  const token = `silt-${path.basename(dir)}-${Date.now().toString(36)}`;
  for (const m of etcd) {
    const client = `http://${HOST}:${m.client}`;
    const peer = `http://${HOST}:${m.peer}`;
    units.push({
      name: m.name,
      kind: 'etcd',
      role: null,
      command: '/usr/bin/etcd',
      args: [
        `--name=${m.name}`,
        `--data-dir=${path.join(p.etcd, m.name)}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${token}`,
        '--logger=zap',
        '--log-outputs=stderr',
      ],
      env: {},
      // /health is 200 with {"health":"true"} only once the member sees a leader.
      probe: { type: 'http', url: `${client}/health` },
      http: client,
      grpc: peer,
      config: '',
    });
  }
  const etcdEndpoints = etcd.map((m) => `${HOST}:${m.client}`);

  const backendTarget = acceptsTarget('backend') ? 'backend' : 'compactor,ruler';
  const dropped = new Set<string>();
  const files = new Map<string, string>();
  // Frontends' ports first: every querier's config names them.
  const frontendPorts = Array.from({ length: counts['query-frontend'] }, () => ({ http: take(), grpc: take() }));
  const frontends = frontendPorts.map((f) => `${HOST}:${f.grpc}`);
  // Start order: ingesters first (distributors and queriers look them up in the ring); frontends last.
  for (const role of ['ingester', 'distributor', 'querier', 'backend', 'query-frontend'] as const) {
    for (let i = 0; i < counts[role]; i++) {
      const name = `${role}-${i}`;
      const fp = role === 'query-frontend' ? frontendPorts[i]! : null;
      const httpPort = fp ? fp.http : take();
      const grpcPort = fp ? fp.grpc : take();
      const dataDir = path.join(p.data, name);
      const own = roleSettings({ role, target: role === 'backend' ? backendTarget : role, name, dataDir, httpPort, grpcPort, rf, etcdEndpoints, s3, sharedDir: path.join(p.shared, 'chunks'), frontends });
      const doc: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(own)) {
        if (isKnownSetting(k)) setPath(doc, k, v);
        else dropped.add(k);
      }
      // What the caller asks for is written as given: Silt reports a setting it does not know.
      for (const [k, v] of Object.entries({ ...opts.settings, ...opts.roleSettings?.[role] })) setPath(doc, k, v);
      const config = path.join(p.config, `${name}.yaml`);
      files.set(config, `# ${name}: written by \`npm run cluster -- up\` (tools/cluster); changes are lost on the next up.\n${toYaml(doc)}`);
      const cmd = siltCommand(runner, config);
      units.push({ name, kind: 'role', role, ...cmd, env: {}, probe: { type: 'http', url: `http://${HOST}:${httpPort}/ready` }, http: `http://${HOST}:${httpPort}`, grpc: `${HOST}:${grpcPort}`, config });
    }
  }
  const plan: Plan = {
    dir,
    runner,
    replicationFactor: rf,
    restartDelayMs: count(opts.restartDelayMs, 5000, '--restart-delay'),
    stopGraceMs: count(opts.stopGraceMs, 35_000, 'stop grace'),
    serviceStopGraceMs: 10_000,
    readyTimeoutMs: count(opts.readyTimeoutMs, 90_000, '--timeout', 1),
    etcd: etcd.map((m) => `http://${HOST}:${m.client}`),
    s3,
    storage: s3 !== null ? { type: 's3', bucket: s3.bucket } : { type: 'filesystem', directory: path.join(p.shared, 'chunks') },
    droppedSettings: [...dropped].sort(),
    backendTarget,
    units,
  };
  return { plan, files };
}

/** Checks written role configs with Silt's loader; throws every problem at once. */
export function validateConfigs(configs: string[]): void {
  const errors: string[] = [];
  for (const c of configs) {
    try {
      loadConfig([`-config.file=${c}`]);
    } catch (e) {
      errors.push(`${path.basename(c)}: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(`Cannot start the cluster: Silt rejects the generated config\n${errors.join('\n')}`);
}
