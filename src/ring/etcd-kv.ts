/**
 * The ring's key-value store: etcd v3 through the `etcd3` client. This file is the only
 * importer of `etcd3` (and of `cockatiel`, its fault-handling library); the lifecycler, the
 * ring watcher and leader election use the small typed API below, with keys relative to the
 * configured prefix (Loki's `collectors/`).
 */
import { ConsecutiveBreaker, circuitBreaker, handleWhen, retry } from 'cockatiel';
import type { Etcd3, ICompare, IKeyValue, IRequestOp, IWatchResponse } from 'etcd3';
import { InvalidError } from '../errors.js';
import { lazyModule } from '../util/lazy-module.js';

/** etcd3, loaded when the first EtcdKv is built (util/lazy-module.ts). */
const etcd3 = lazyModule<typeof import('etcd3')>('etcd3');

/** Connection settings (`common.ring.kvstore.*`). */
export interface EtcdKvConfig {
  /** `host:port` or `http://host:port`, one per member. */
  readonly endpoints: readonly string[];
  /** Prepended to every key, e.g. `collectors/`. */
  readonly prefix: string;
  /**
   * Longest wait for one request, connecting included (etcd3 has no separate dial timeout,
   * so Loki's `dial_timeout` bounds the whole call). Streams are not bounded by it.
   */
  readonly dialTimeoutMs: number;
}

/** One stored key. */
export interface KeyValue {
  /** Key without the prefix. */
  readonly key: string;
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Lease id ('0': none). */
  readonly lease: string;
}

/** One condition of a transaction, on a key (or every key under it with `prefix`). */
export interface TxnCompare {
  readonly key: string;
  readonly prefix?: boolean;
  readonly target: 'mod' | 'create' | 'version' | 'lease' | 'value';
  readonly result: '=' | '!=' | '<' | '>';
  /** A revision, version or lease id for those targets; the bytes for `value`. */
  readonly value: number | string;
}

/** One operation of a transaction branch. */
export type TxnOp = { readonly op: 'put'; readonly key: string; readonly value: Buffer | string; readonly lease?: string } | { readonly op: 'delete'; readonly key: string } | { readonly op: 'get'; readonly key: string; readonly prefix?: boolean };

/** What a transaction did; `gets[i]` holds the keys read by the i-th `get` of the branch that ran. */
export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
  readonly gets: readonly (readonly KeyValue[])[];
}

/** A change seen by a watch. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
}

/** Callbacks of a watch; called in order, never after `cancel()`. */
export interface WatchHandlers {
  /** A batch of changes, all at `revision`. */
  onEvents(events: readonly WatchEvent[], revision: number): void;
  /**
   * The watch stopped (stream error, server gone, or the start revision was compacted);
   * nothing more arrives and the caller must list again and start a new watch.
   */
  onClosed(err: Error): void;
}

/** A running watch. */
export interface WatchHandle {
  /** Stops it; idempotent, never throws, does not wait for the server. */
  cancel(): void;
}

/** The lease is gone on the server (expired or revoked): keys attached to it were deleted. */
export class LeaseLostError extends Error {
  constructor(leaseId: string, options?: { cause?: unknown }) {
    super(`etcd lease ${leaseId} is expired or revoked`, options);
    this.name = 'LeaseLostError';
  }
}

const CMP_TARGET = { mod: 'Mod', create: 'Create', version: 'Version', lease: 'Lease', value: 'Value' } as const;
const CMP_RESULT = { '=': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;

/** The next key after every key starting with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}

/** Wraps one etcd client; `close()` releases it. */
export class EtcdKv {
  /** Prepended to every key. */
  readonly prefix: string;
  /** As configured. */
  readonly endpoints: readonly string[];
  /** Deadline of each unary call, connecting included. */
  readonly dialTimeoutMs: number;
  readonly #client: Etcd3;
  readonly #prefixBuf: Buffer;
  #closed = false;

  constructor(cfg: EtcdKvConfig) {
    if (cfg.endpoints.length === 0) throw new InvalidError('common.ring.kvstore.etcd.endpoints must list at least one etcd endpoint when common.ring.kvstore.store is etcd');
    if (!(cfg.dialTimeoutMs > 0)) throw new InvalidError('common.ring.kvstore.etcd.dial_timeout must be positive');
    this.prefix = cfg.prefix;
    this.endpoints = [...cfg.endpoints];
    this.dialTimeoutMs = cfg.dialTimeoutMs;
    this.#prefixBuf = Buffer.from(cfg.prefix);
    const timeout = cfg.dialTimeoutMs;
    this.#client = new (etcd3().Etcd3)({
      hosts: cfg.endpoints.map((e) => (e.includes('://') ? e : `http://${e}`)),
      // Unary calls get a deadline, so a frozen or partitioned member fails the call instead
      // of hanging it; streams (watch, keep-alive) are bounded by their users.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: {
        // A member that failed 3 calls in a row is skipped for a second, then tried again
        // (etcd3's default waits 5 s, which only delays recovery after an outage).
        host: () => circuitBreaker(handleWhen(etcd3().isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
        // One more attempt per other member, so a dead member fails over within one call.
        global: retry(handleWhen(etcd3().isRecoverableError), { maxAttempts: Math.max(0, cfg.endpoints.length - 1) }),
      },
      grpcOptions: {
        // Find a dead connection within seconds, as Loki's client does with its keepalive.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': Math.max(1000, 2 * timeout),
        'grpc.keepalive_permit_without_calls': 1,
      },
    });
  }

  /** The value at `key`, or null. */
  async get(key: string): Promise<KeyValue | null> {
    const r = await this.#client.kv.range({ key: this.#key(key) });
    return r.kvs[0] ? this.#kv(r.kvs[0]) : null;
  }

  /**
   * Every key under `keyPrefix`, sorted by key, and the store revision they were read at.
   * With `keysOnly` the values are empty (cheap when only revisions matter).
   */
  async list(keyPrefix: string, opts: { keysOnly?: boolean } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const k = this.#key(keyPrefix);
    const r = await this.#client.kv.range({ key: k, range_end: prefixEnd(k), keys_only: opts.keysOnly === true });
    return { kvs: r.kvs.map((kv) => this.#kv(kv)), revision: Number(r.header.revision) };
  }

  /** How many keys are under `keyPrefix`, and the store revision. Cheap: no values move. */
  async count(keyPrefix: string): Promise<{ count: number; revision: number }> {
    const k = this.#key(keyPrefix);
    const r = await this.#client.kv.range({ key: k, range_end: prefixEnd(k), count_only: true });
    return { count: Number(r.count), revision: Number(r.header.revision) };
  }

  /** Stores `value` at `key`, attached to `lease` if given. Throws `LeaseLostError` if the lease is gone. */
  async put(key: string, value: Buffer | string, lease?: string): Promise<void> {
    try {
      await this.#client.kv.put({ key: this.#key(key), value: Buffer.from(value), ...(lease !== undefined ? { lease } : {}) });
    } catch (e) {
      throw this.#leaseError(e, lease);
    }
  }

  /** Deletes `key`; returns whether it existed. */
  async delete(key: string): Promise<boolean> {
    const r = await this.#client.kv.deleteRange({ key: this.#key(key) });
    return Number(r.deleted) > 0;
  }

  /**
   * Runs `success` if every comparison holds, else `failure`, atomically. Throws
   * `LeaseLostError` if a put names a lease that is gone.
   */
  async txn(compare: readonly TxnCompare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    const cmp: ICompare[] = compare.map((c) => {
      const key = this.#key(c.key);
      const out: ICompare = { key, target: CMP_TARGET[c.target], result: CMP_RESULT[c.result] };
      if (c.prefix) out.range_end = prefixEnd(key);
      switch (c.target) {
        case 'mod':
          out.mod_revision = c.value;
          break;
        case 'create':
          out.create_revision = c.value;
          break;
        case 'version':
          out.version = c.value;
          break;
        case 'lease':
          out.lease = c.value;
          break;
        case 'value':
          out.value = Buffer.from(String(c.value));
          break;
      }
      return out;
    });
    const ops = (list: readonly TxnOp[]): IRequestOp[] =>
      list.map((o): IRequestOp => {
        const key = this.#key(o.key);
        switch (o.op) {
          case 'put':
            return { request_put: { key, value: Buffer.from(o.value), ...(o.lease !== undefined ? { lease: o.lease } : {}) } };
          case 'delete':
            return { request_delete_range: { key } };
          case 'get':
            return { request_range: o.prefix ? { key, range_end: prefixEnd(key) } : { key } };
        }
      });
    let r;
    try {
      r = await this.#client.kv.txn({ compare: cmp, success: ops(success), failure: ops(failure) });
    } catch (e) {
      const lease = [...success, ...failure].find((o) => o.op === 'put' && o.lease !== undefined);
      throw this.#leaseError(e, lease?.op === 'put' ? lease.lease : undefined);
    }
    const gets: KeyValue[][] = [];
    for (const resp of r.responses) if (resp.response_range) gets.push(resp.response_range.kvs.map((kv) => this.#kv(kv)));
    return { succeeded: r.succeeded, revision: Number(r.header.revision), gets };
  }

  /** Grants a lease of `ttlSec` seconds (etcd may raise it to its minimum); returns its id. */
  async grantLease(ttlSec: number): Promise<string> {
    const r = await this.#client.leaseClient.leaseGrant({ TTL: ttlSec });
    return r.ID;
  }

  /**
   * Renews lease `id` once. Returns the TTL granted (seconds); throws `LeaseLostError` when
   * etcd says the lease no longer exists. Bounded by the dial timeout.
   */
  async keepAlive(id: string): Promise<number> {
    const stream = await this.#client.leaseClient.leaseKeepAlive({ deadline: Date.now() + this.dialTimeoutMs });
    const ttl = await new Promise<number>((resolve, reject) => {
      stream.on('data', (res) => resolve(Number(res.TTL)));
      stream.on('error', reject);
      stream.on('end', () => reject(new Error('etcd keep-alive stream ended without an answer')));
      stream.write({ ID: id });
      // Half-close rather than cancel: etcd3 counts a cancelled writable stream as a failed
      // host and resets its connections. The server then ends the stream; the deadline bounds it.
    }).finally(() => stream.end());
    if (ttl <= 0) throw new LeaseLostError(id);
    return ttl;
  }

  /** Revokes lease `id`, deleting its keys; a lease already gone is not an error. */
  async revokeLease(id: string): Promise<void> {
    try {
      await this.#client.leaseClient.leaseRevoke({ ID: id });
    } catch (e) {
      if (!(e instanceof etcd3().EtcdLeaseInvalidError)) throw e;
    }
  }

  /**
   * Watches every key under `keyPrefix` from `fromRevision` on (the revision after a `list`,
   * so nothing between the two is missed). Resolves once the stream is open; the watch is
   * not retried: on any failure `onClosed` fires once and the caller starts over.
   */
  async watch(keyPrefix: string, fromRevision: number, h: WatchHandlers): Promise<WatchHandle> {
    const k = this.#key(keyPrefix);
    const stream = await this.#client.watchClient.watch();
    let done = false;
    // end() before cancel(): a cancelled stream that is still writable counts as a host failure in etcd3.
    const stop = (): void => {
      try {
        stream.end();
        stream.cancel();
      } catch {
        // already torn down
      }
    };
    const close = (err: Error): void => {
      if (done) return;
      done = true;
      stop();
      h.onClosed(err);
    };
    stream.on('data', (res: IWatchResponse) => {
      if (done) return;
      if (res.canceled) {
        const why = Number(res.compact_revision) > 0 ? `revision ${fromRevision} compacted (now ${res.compact_revision})` : res.cancel_reason || 'canceled by the server';
        close(new Error(`etcd watch of ${keyPrefix}: ${why}`));
        return;
      }
      if (!res.events || res.events.length === 0) return;
      const events = res.events.map((ev): WatchEvent => ({ type: ev.type === 'Delete' ? 'delete' : 'put', kv: this.#kv(ev.kv) }));
      h.onEvents(events, Number(res.header.revision));
    });
    stream.on('error', (err: Error) => close(err));
    stream.on('end', () => close(new Error(`etcd watch of ${keyPrefix}: stream ended`)));
    stream.write({ create_request: { key: k, range_end: prefixEnd(k), start_revision: fromRevision } });
    return {
      cancel: () => {
        if (done) return;
        done = true;
        stop();
      },
    };
  }

  /** Closes the client: pending and later calls fail. Leases are not revoked (they expire). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  #key(k: string): Buffer {
    return Buffer.concat([this.#prefixBuf, Buffer.from(k)]);
  }

  #kv(kv: IKeyValue): KeyValue {
    const full = kv.key;
    const key = full.subarray(0, this.#prefixBuf.length).equals(this.#prefixBuf) ? full.subarray(this.#prefixBuf.length).toString() : full.toString();
    return { key, value: kv.value, createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision), lease: kv.lease };
  }

  #leaseError(e: unknown, lease: string | undefined): unknown {
    return e instanceof etcd3().EtcdLeaseInvalidError && lease !== undefined ? new LeaseLostError(lease, { cause: e }) : e;
  }
}
