/**
 * Ring settings as loaded by src/config (the `common.ring`, `common.replication_factor`,
 * `ingester.lifecycler` and `ruler.ring` entries of the settings table, Loki's names), and
 * the constructors' configs derived from them. The ring does not import src/config: the
 * loaded config object is read by path here, so this file is the one place that knows those
 * paths on the ring side.
 */
import { hostname } from 'node:os';
import { InvalidError } from '../errors.js';
import { DEFAULT_MAX_UNREACHABLE_MS } from './consts.js';
import type { EtcdKvConfig } from './etcd-kv.js';
import type { LifecyclerConfig } from './lifecycler.js';
import type { RingOptions } from './ring.js';

/** Every ring setting, durations in ms. */
export interface RingSettings {
  /** `common.replication_factor`: ingesters each stream is written to; 0 = auto (the wiring picks 3 with etcd, 1 in one process). */
  readonly replicationFactor: number;
  /** `common.ring.kvstore.store`: `inmemory` (one process, StaticRing) or `etcd`. */
  readonly store: 'inmemory' | 'etcd';
  /** `common.ring.kvstore.prefix`. */
  readonly prefix: string;
  /** `common.ring.kvstore.etcd.endpoints`. */
  readonly etcdEndpoints: readonly string[];
  /** `common.ring.kvstore.etcd.dial_timeout`. */
  readonly etcdDialTimeoutMs: number;
  /** `common.ring.kvstore.etcd.max_unreachable_period` (Silt): after this long without etcd the ring is stale. */
  readonly etcdMaxUnreachableMs: number;
  /** `common.ring.heartbeat_period`. */
  readonly heartbeatPeriodMs: number;
  /** `common.ring.heartbeat_timeout`: unhealthy after this; also the lease TTL. */
  readonly heartbeatTimeoutMs: number;
  /** `ingester.lifecycler.*`. */
  readonly lifecycler: {
    /** Resolved: the hostname when the setting is empty. */
    readonly id: string;
    readonly address: string;
    /** 0: the gRPC listen port. */
    readonly port: number;
    readonly numTokens: number;
    readonly joinAfterMs: number;
    readonly finalSleepMs: number;
    readonly tokensFilePath: string;
  };
  /** `ruler.ring.num_tokens`. */
  readonly rulerNumTokens: number;
}

/** The defaults, matching the settings table (for code that builds rings without a config file). */
export const DEFAULT_RING_SETTINGS: RingSettings = {
  replicationFactor: 0,
  store: 'inmemory',
  prefix: 'collectors/',
  etcdEndpoints: [],
  etcdDialTimeoutMs: 10_000,
  etcdMaxUnreachableMs: DEFAULT_MAX_UNREACHABLE_MS,
  heartbeatPeriodMs: 15_000,
  heartbeatTimeoutMs: 60_000,
  lifecycler: { id: '', address: '127.0.0.1', port: 0, numTokens: 128, joinAfterMs: 0, finalSleepMs: 0, tokensFilePath: '' },
  rulerNumTokens: 128,
};

function at(cfg: unknown, path: string): unknown {
  let cur: unknown = cfg;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * Reads the ring settings from a loaded `SiltConfig` (any object with those paths). Throws
 * `InvalidError` if a path is missing or mistyped, which means the settings table and this
 * file disagree.
 */
export function ringSettingsFrom(cfg: unknown): RingSettings {
  const num = (p: string): number => {
    const v = at(cfg, p);
    if (typeof v !== 'number') throw new InvalidError(`ring config: ${p} missing or not a number`);
    return v;
  };
  const str = (p: string): string => {
    const v = at(cfg, p);
    if (typeof v !== 'string') throw new InvalidError(`ring config: ${p} missing or not a string`);
    return v;
  };
  const store = str('common.ring.kvstore.store');
  if (store !== 'inmemory' && store !== 'etcd') throw new InvalidError(`ring config: unknown common.ring.kvstore.store ${JSON.stringify(store)}`);
  const endpoints = at(cfg, 'common.ring.kvstore.etcd.endpoints');
  if (!Array.isArray(endpoints) || !endpoints.every((e) => typeof e === 'string')) throw new InvalidError('ring config: common.ring.kvstore.etcd.endpoints missing or not a list');
  const id = str('ingester.lifecycler.id');
  return {
    replicationFactor: num('common.replication_factor'),
    store,
    prefix: str('common.ring.kvstore.prefix'),
    etcdEndpoints: endpoints as string[],
    etcdDialTimeoutMs: num('common.ring.kvstore.etcd.dial_timeout'),
    etcdMaxUnreachableMs: num('common.ring.kvstore.etcd.max_unreachable_period'),
    heartbeatPeriodMs: num('common.ring.heartbeat_period'),
    heartbeatTimeoutMs: num('common.ring.heartbeat_timeout'),
    lifecycler: {
      id: id !== '' ? id : hostname(),
      address: str('ingester.lifecycler.address'),
      port: num('ingester.lifecycler.port'),
      numTokens: num('ingester.lifecycler.num_tokens'),
      joinAfterMs: num('ingester.lifecycler.join_after'),
      finalSleepMs: num('ingester.lifecycler.final_sleep'),
      tokensFilePath: str('ingester.lifecycler.tokens_file_path'),
    },
    rulerNumTokens: num('ruler.ring.num_tokens'),
  };
}

/** Problems with the settings, one message each (empty when valid). */
export function validateRingSettings(s: RingSettings): string[] {
  const errors: string[] = [];
  if (s.store === 'etcd') {
    if (s.etcdEndpoints.length === 0) errors.push('common.ring.kvstore.etcd.endpoints must list at least one endpoint when common.ring.kvstore.store is etcd');
    if (s.heartbeatTimeoutMs <= 0) errors.push('common.ring.heartbeat_timeout must be positive with the etcd store: it is the lease TTL');
    if (s.etcdDialTimeoutMs <= 0) errors.push('common.ring.kvstore.etcd.dial_timeout must be positive');
  }
  if (s.heartbeatPeriodMs <= 0) errors.push('common.ring.heartbeat_period must be positive');
  if (s.heartbeatTimeoutMs > 0 && s.heartbeatPeriodMs >= s.heartbeatTimeoutMs) errors.push('common.ring.heartbeat_period must be shorter than common.ring.heartbeat_timeout, or every member flaps unhealthy');
  if (s.lifecycler.id.includes('/')) errors.push(`ingester.lifecycler.id ${JSON.stringify(s.lifecycler.id)} must not contain "/"`);
  return errors;
}

/** `EtcdKv` settings. */
export function etcdKvConfig(s: RingSettings): EtcdKvConfig {
  return { endpoints: s.etcdEndpoints, prefix: s.prefix, dialTimeoutMs: s.etcdDialTimeoutMs };
}

/** The rings a Silt process can join; the value is the ring's key name, as in Loki. */
export const RING_NAMES = { ingester: 'ring', ruler: 'rulers', compactor: 'compactor' } as const;

/**
 * The lifecycler of this process in `ring`. The advertised gRPC address is
 * `ingester.lifecycler.address` with `ingester.lifecycler.port` (or `grpcPort` when 0), the
 * HTTP one uses `httpPort`; the ruler uses `ruler.ring.num_tokens`, the compactor ring one
 * token (membership only). Only the ingester persists tokens to the tokens file.
 */
export function lifecyclerConfig(s: RingSettings, ring: keyof typeof RING_NAMES, ports: { grpcPort: number; httpPort: number }): LifecyclerConfig {
  const l = s.lifecycler;
  const host = l.address.includes(':') && !l.address.startsWith('[') ? `[${l.address}]` : l.address; // IPv6
  return {
    ringName: RING_NAMES[ring],
    id: l.id,
    addr: `${host}:${l.port !== 0 ? l.port : ports.grpcPort}`,
    httpAddr: `http://${host}:${ports.httpPort}`,
    numTokens: ring === 'ingester' ? l.numTokens : ring === 'ruler' ? s.rulerNumTokens : 1,
    heartbeatPeriodMs: s.heartbeatPeriodMs,
    heartbeatTimeoutMs: s.heartbeatTimeoutMs,
    joinAfterMs: ring === 'ingester' ? l.joinAfterMs : 0,
    finalSleepMs: ring === 'ingester' ? l.finalSleepMs : 0,
    tokensFilePath: ring === 'ingester' ? l.tokensFilePath : '',
  };
}

/** `Ring` options for reading `ring`. The probe runs at the heartbeat period, at most every 5 s. */
export function ringOptions(s: RingSettings, ring: keyof typeof RING_NAMES): RingOptions {
  return { ringName: RING_NAMES[ring], heartbeatTimeoutMs: s.heartbeatTimeoutMs, probePeriodMs: Math.min(s.heartbeatPeriodMs, 5000), maxUnreachableMs: s.etcdMaxUnreachableMs };
}
