/**
 * `npm run cluster -- <up|down|status> --dir D [options]`: the command line over cluster.ts.
 * `supervise --dir D` is internal: the detached supervisor process that `up` starts.
 */
import path from 'node:path';
import { parseDurationMs } from '../../src/config/units.js';
import { readCluster, startCluster, stopCluster, type ClusterInfo, type ClusterOptions, type Role } from './cluster.js';
import { ROLES } from './plan.js';
import { runSupervisor } from './supervisor.js';

export const USAGE = `usage: npm run cluster -- <command> --dir D [options]

commands:
  up       start etcd, shared storage and every Silt role as its own process on 127.0.0.1;
           returns once every process answers GET /ready 200 (they keep running)
  down     stop the cluster in D (roles first, then etcd and S3) and wait until every pid is gone
  status   print D/cluster.json as a table

options of up:
  --ingesters N        ingester processes (default 3)
  --distributors N     distributor processes (default 2)
  --queriers N         querier processes (default 2)
  --backend N          compactor+ruler processes, Loki's -target=backend (default 1)
  --frontends N        query-frontend processes (default 0); queriers pull work from each, and
                       each answers every query endpoint
  --rf N               replication factor, common.replication_factor (default min(3, ingesters))
  --etcd-members 1|3   etcd cluster size (default 1)
  --s3                 shared storage in an s3rver process instead of D/shared/chunks
  --base-port P        use ports P, P+1, ... (default: free ports)
  --restart-delay T    restart a dead process after T (default 5s; a plain number is seconds)
  --stop-grace T       SIGTERM to SIGKILL for Silt processes on down (default 35s)
  --timeout T          longest wait for every /ready (default 90s)
  --runner R           auto (dist/ when newer than the sources, else tsx), dist or tsx
  --set K=V            extra YAML setting for every role (dotted path; V is YAML), repeatable;
                       --set ROLE:K=V for one role (distributor, ingester, querier, backend,
                       query-frontend)
  --clean              delete data of an earlier cluster in D (WAL, chunks, S3 objects, logs)

Files in D: cluster.json, plan.json, supervisor.pid, config/<name>.yaml, logs/<name>.log, data/<name>/.
`;

/** `5s`, `1500ms`, `1m`, or a plain number of seconds (as systemd's RestartSec). */
function durationMs(v: string, name: string): number {
  const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : parseDurationMs(v);
  if (ms === null || ms < 0) throw new TypeError(`Cannot parse ${name} "${v}": expected a duration such as 5s or 500ms`);
  return Math.round(ms);
}

function int(v: string, name: string): number {
  if (!/^\d+$/.test(v)) throw new TypeError(`Cannot parse ${name} "${v}": expected a whole number`);
  return Number(v);
}

/** Parses a YAML scalar or flow value of --set (`3`, `true`, `1m`, `[a, b]`). */
async function yamlValue(v: string): Promise<unknown> {
  const { parse } = await import('yaml');
  return parse(v) as unknown;
}

/** Parses `up`'s options. */
async function parseUp(args: string[]): Promise<ClusterOptions> {
  const opts: ClusterOptions = { dir: '' };
  const settings: Record<string, unknown> = {};
  const roleSettings: Partial<Record<Role, Record<string, unknown>>> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new TypeError(`Cannot parse argument "${a}": options start with --`);
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 's3' || name === 'clean') {
      opts[name] = eq < 0 || a.slice(eq + 1) !== 'false';
      continue;
    }
    let v: string;
    if (eq >= 0) v = a.slice(eq + 1);
    else {
      const next = args[++i];
      if (next === undefined) throw new TypeError(`Cannot parse --${name}: it needs a value`);
      v = next;
    }
    switch (name) {
      case 'dir': opts.dir = v; break;
      case 'ingesters': opts.ingesters = int(v, '--ingesters'); break;
      case 'distributors': opts.distributors = int(v, '--distributors'); break;
      case 'queriers': opts.queriers = int(v, '--queriers'); break;
      case 'backend': case 'backends': opts.backends = int(v, '--backend'); break;
      case 'frontends': case 'frontend': opts.frontends = int(v, '--frontends'); break;
      case 'rf': opts.replicationFactor = int(v, '--rf'); break;
      case 'base-port': opts.basePort = int(v, '--base-port'); break;
      case 'restart-delay': opts.restartDelayMs = durationMs(v, '--restart-delay'); break;
      case 'stop-grace': opts.stopGraceMs = durationMs(v, '--stop-grace'); break;
      case 'timeout': opts.readyTimeoutMs = durationMs(v, '--timeout'); break;
      case 'etcd-members': {
        const n = int(v, '--etcd-members');
        if (n !== 1 && n !== 3) throw new RangeError(`Cannot use --etcd-members ${n}: expected 1 or 3`);
        opts.etcdMembers = n;
        break;
      }
      case 'runner':
        if (v !== 'auto' && v !== 'dist' && v !== 'tsx') throw new TypeError(`Cannot parse --runner "${v}": expected auto, dist or tsx`);
        opts.runner = v;
        break;
      case 'set': {
        const m = /^(?:([a-z-]+):)?([A-Za-z0-9_.]+)=(.*)$/s.exec(v);
        if (m === null) throw new TypeError(`Cannot parse --set "${v}": expected path=value or role:path=value`);
        const value = await yamlValue(m[3]!);
        if (m[1] === undefined) settings[m[2]!] = value;
        else {
          const role = m[1] as Role;
          if (!ROLES.includes(role)) throw new TypeError(`Cannot parse --set "${v}": unknown role "${m[1]}"; expected one of ${ROLES.join(', ')}`);
          (roleSettings[role] ??= {})[m[2]!] = value;
        }
        break;
      }
      default:
        throw new TypeError(`Cannot parse option --${name}: unknown option`);
    }
  }
  if (Object.keys(settings).length > 0) opts.settings = settings;
  if (Object.keys(roleSettings).length > 0) opts.roleSettings = roleSettings;
  return opts;
}

/** `--dir D` from args (every command needs it). */
function dirOf(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--dir' && args[i + 1] !== undefined) return args[i + 1]!;
    if (a.startsWith('--dir=')) return a.slice(6);
  }
  return '';
}

/** The cluster as a table: one line per process. */
export function formatCluster(info: ClusterInfo): string {
  const rows: string[][] = [['NAME', 'PID', 'STATE', 'RESTARTS', 'HTTP', 'GRPC']];
  if (info.s3 !== null) rows.push(['s3', String(info.s3.pid), info.s3.state, '', info.s3.endpoint, '']);
  for (const m of info.etcdMembers) rows.push([m.name, String(m.pid), m.state, String(m.restarts), m.url, '']);
  for (const x of info.processes) rows.push([x.name, String(x.pid), x.state, String(x.restarts), x.http, x.grpc]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
  const storage = info.storage.type === 's3' ? `s3 bucket ${info.storage.bucket} at ${info.s3?.endpoint ?? '?'}` : `filesystem ${info.storage.directory}`;
  const lines = [`cluster in ${info.dir}: ${info.state} (supervisor pid ${info.supervisorPid}, runner ${info.runner}, replication factor ${info.replicationFactor}, storage ${storage})`, table];
  if (info.droppedSettings.length > 0) lines.push(`note: this Silt does not know these launcher settings yet, so they were left out of the role configs: ${info.droppedSettings.join(', ')}`);
  if (info.error !== null) lines.push(`error: ${info.error}`);
  return lines.join('\n') + '\n';
}

/** Runs one command; returns the exit code. `out`/`err` receive text (stdout/stderr by default). */
export async function runCli(argv: string[], out: (s: string) => void = (s) => void process.stdout.write(s), err: (s: string) => void = (s) => void process.stderr.write(s)): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    out(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const dir = dirOf(args);
  if (dir === '') {
    err(`${cmd}: --dir is required\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (cmd) {
      case 'up': {
        const opts = await parseUp(args);
        const info = await startCluster(opts);
        out(formatCluster(info));
        out(`cluster.json: ${path.join(info.dir, 'cluster.json')}; logs in ${path.join(info.dir, 'logs')}/\nstop with: npm run cluster -- down --dir ${dir}\n`);
        return 0;
      }
      case 'down': {
        const { wasRunning } = await stopCluster(dir);
        out(wasRunning ? `cluster in ${path.resolve(dir)} stopped\n` : `no cluster running in ${path.resolve(dir)}\n`);
        return 0;
      }
      case 'status': {
        const info = readCluster(dir);
        if (info === null) {
          out(`no cluster in ${path.resolve(dir)}\n`);
          return 1;
        }
        out(formatCluster(info));
        return 0;
      }
      case 'supervise':
        return await runSupervisor(path.resolve(dir));
      default:
        err(`unknown command "${cmd}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 1;
  }
}
