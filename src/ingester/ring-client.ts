/**
 * The ingesters of a ring seen as one: every call goes to each healthy ingester (any of them
 * may hold any stream: replicas, and streams that moved when the ring changed), tolerating as
 * many failures as the replication factor allows, and the answers are merged. Copies of one
 * stream held by several replicas come back as several MemStreams; the querier's scan driver
 * (querier/sources.ts) reads each entry once.
 */
import { UnavailableError } from '../errors.js';
import { labelsToString, type Labels, type Matcher, type PushEntry } from '../model/index.js';
import type { CallOptions, IngesterClient, IngesterQuerier, IngesterTail, IngesterAdmin, IngesterTailer, MemStream, SelectOptions } from './client.js';

/** An ingester of the ring: its instance id (the prefix of its chunk ids) and gRPC address. */
export interface IngesterInstance {
  readonly id: string;
  readonly addr: string;
}

/** Which ingesters a read goes to, and how many of them may fail. */
export interface IngesterReadSet {
  readonly instances: readonly IngesterInstance[];
  readonly maxErrors: number;
}

/** What the fan-out needs from the ring: the ingesters to read from now (throws when too few are healthy). */
export interface IngesterReadRing {
  readSet(): IngesterReadSet;
}

/** A client per ingester address. */
export interface IngesterClientFactory {
  get(addr: string): IngesterClient;
}

/** Entries a merged tail remembers to drop the copies other replicas send. */
const TAIL_DEDUP_ENTRIES = 50_000;

export class RingIngesterQuerier implements IngesterQuerier, IngesterTail, IngesterAdmin {
  readonly #ring: IngesterReadRing;
  readonly #clients: IngesterClientFactory;

  constructor(ring: IngesterReadRing, clients: IngesterClientFactory) {
    this.#ring = ring;
    this.#clients = clients;
  }

  /** Calls `fn` on every ingester of the read set; fails when more than maxErrors fail. */
  async #all<T>(fn: (c: IngesterClient, inst: IngesterInstance) => Promise<T>): Promise<T[]> {
    const set = this.#ring.readSet();
    const settled = await Promise.allSettled(set.instances.map((inst) => fn(this.#clients.get(inst.addr), inst)));
    const out: T[] = [];
    const errors: unknown[] = [];
    for (const s of settled) {
      if (s.status === 'fulfilled') out.push(s.value);
      else errors.push(s.reason);
    }
    if (errors.length > set.maxErrors) {
      const first = errors[0];
      throw first instanceof Error ? first : new UnavailableError(String(first));
    }
    return out;
  }

  async selectStreams(tenant: string, matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint, opts?: SelectOptions): Promise<MemStream[]> {
    return (await this.#all((c) => c.selectStreams(tenant, matchers, fromNs, throughNs, opts))).flat();
  }

  async storedKeys(tenant: string, ids: readonly string[], opts?: CallOptions): Promise<Map<string, string>> {
    // Each id goes to the ingester whose instance id prefixes it.
    const byInstance = new Map<string, string[]>();
    for (const id of ids) {
      const inst = id.slice(0, id.lastIndexOf('/'));
      let l = byInstance.get(inst);
      if (!l) byInstance.set(inst, (l = []));
      l.push(id);
    }
    const out = new Map<string, string>();
    const answers = await this.#all(async (c, inst) => {
      const mine = byInstance.get(inst.id);
      return mine ? c.storedKeys(tenant, mine, opts) : new Map<string, string>();
    });
    for (const m of answers) for (const [k, v] of m) out.set(k, v);
    return out;
  }

  async labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly string[]> {
    return union(await this.#all((c) => c.labelNames(tenant, fromNs, throughNs, matchers, opts)));
  }

  async labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly string[]> {
    return union(await this.#all((c) => c.labelValues(tenant, name, fromNs, throughNs, matchers, opts)));
  }

  async series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<Labels[]> {
    const out = new Map<string, Labels>();
    for (const list of await this.#all((c) => c.series(tenant, fromNs, throughNs, matchers, opts))) for (const l of list) out.set(labelsToString(l), l);
    return [...out.values()];
  }

  /** Subscribes on every ingester; an entry sent by several replicas reaches `tailer` once. */
  async tail(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): Promise<() => void> {
    const seen = new Map<string, true>();
    const dedup: IngesterTailer = {
      onEntries(labels: Labels, entries: readonly PushEntry[]): void {
        const ls = labelsToString(labels);
        const fresh: PushEntry[] = [];
        for (const e of entries) {
          const k = `${e.tsNs}\u0000${ls}\u0000${e.line.toString('latin1')}`;
          if (seen.has(k)) continue;
          seen.set(k, true);
          if (seen.size > TAIL_DEDUP_ENTRIES) seen.delete(seen.keys().next().value!);
          fresh.push(e);
        }
        if (fresh.length > 0) tailer.onEntries(labels, fresh);
      },
    };
    let open = 0;
    let closed = false;
    const subs = await this.#all(async (c) => {
      const un = await c.tail(tenant, matchers, {
        onEntries: (l, e) => dedup.onEntries(l, e),
        onClose: (err) => {
          // The tail ends when the last ingester's stream ends.
          if (--open === 0 && !closed) tailer.onClose?.(err);
        },
      });
      open++;
      return un;
    });
    return () => {
      closed = true;
      for (const un of subs) un();
    };
  }

  /** The most tails any one ingester serves for `tenant` (each tail subscribes on every ingester). */
  async tailersCount(tenant: string, opts?: CallOptions): Promise<number> {
    return Math.max(0, ...(await this.#all((c) => c.tailersCount(tenant, opts))));
  }

  /** Flushes every ingester; resolves with the chunks still not stored, summed. */
  async flush(opts?: CallOptions): Promise<number> {
    let n = 0;
    for (const left of await this.#all((c) => c.flush(opts))) n += left;
    return n;
  }
}

function union(lists: readonly (readonly string[])[]): string[] {
  const s = new Set<string>();
  for (const l of lists) for (const v of l) s.add(v);
  return [...s].sort();
}
