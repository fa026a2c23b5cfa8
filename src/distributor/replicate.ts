/**
 * Replicated writes: each stream goes to the `replication_factor` ingesters its token maps to
 * on the ring, and a push is acknowledged once every stream is in the WAL of a quorum of them
 * (`floor(RF/2)+1`). A stream that more replicas fail than the ring allows fails the push
 * (5xx, or the replicas' own 4xx); what a quorum does not hold is never acknowledged. Calls
 * still running when the push is answered go on (a slow replica still gets its copy).
 */
import { SiltError, UnavailableError } from '../errors.js';
import type { ValidStream } from '../model/stream.js';
import type { IngesterPusher } from './distributor.js';

/** An ingester that holds a replica of a stream. */
export interface ReplicaInstance {
  readonly id: string;
  readonly addr: string;
}

/** The replicas of one token and how many may fail. */
export interface ReplicaSet {
  readonly instances: readonly ReplicaInstance[];
  readonly maxErrors: number;
}

/** What the replicator needs from the ring. `replicasFor` throws (Loki's text) without enough healthy ingesters. */
export interface WriteRing {
  replicasFor(token: number): ReplicaSet;
}

/** Per-ingester push clients, by address. */
export interface PusherFactory {
  get(addr: string): IngesterPusher;
}

export interface ReplicatingPusherOptions {
  ring: WriteRing;
  clients: PusherFactory;
  /** The ring token of a stream (Loki's TokenFor(tenant, labels)). */
  tokenFor: (tenant: string, labels: string) => number;
  /** Called for every failed call to an ingester (loki_distributor_ingester_append_failures_total). */
  onFailure?: (addr: string, err: unknown) => void;
}

interface StreamState {
  readonly needed: number;
  readonly maxErrors: number;
  ok: number;
  failed: number;
}

export class ReplicatingPusher implements IngesterPusher {
  readonly #o: ReplicatingPusherOptions;

  constructor(o: ReplicatingPusherOptions) {
    this.#o = o;
  }

  push(tenant: string, streams: ValidStream[]): Promise<void> {
    const o = this.#o;
    const perAddr = new Map<string, { streams: ValidStream[]; states: StreamState[] }>();
    const states: StreamState[] = [];
    try {
      for (const s of streams) {
        const set = o.ring.replicasFor(o.tokenFor(tenant, s.labelsString));
        const st: StreamState = { needed: set.instances.length - set.maxErrors, maxErrors: set.maxErrors, ok: 0, failed: 0 };
        states.push(st);
        for (const inst of set.instances) {
          let b = perAddr.get(inst.addr);
          if (!b) perAddr.set(inst.addr, (b = { streams: [], states: [] }));
          b.streams.push(s);
          b.states.push(st);
        }
      }
    } catch (e) {
      return Promise.reject(e instanceof SiltError ? e : new UnavailableError(e instanceof Error ? e.message : String(e)));
    }
    if (states.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let pending = states.length;
      let done = false;
      for (const [addr, b] of perAddr) {
        o.clients
          .get(addr)
          .push(tenant, b.streams)
          .then(
            () => {
              for (const st of b.states) {
                st.ok++;
                if (st.ok === st.needed && --pending === 0 && !done) {
                  done = true;
                  resolve();
                }
              }
            },
            (err: unknown) => {
              o.onFailure?.(addr, err);
              for (const st of b.states) {
                st.failed++;
                if (st.failed > st.maxErrors && !done) {
                  done = true;
                  reject(err instanceof Error ? err : new UnavailableError(String(err)));
                }
              }
            },
          );
      }
    });
  }
}
