/**
 * Live subscribers of one ingester (Loki's ingester `tailer`): each names a tenant and a
 * stream selector and is handed, synchronously inside the push, the entries just appended to
 * every matching stream. Nothing is buffered here; the subscriber decides what to keep.
 */
import { labelValue, type Labels, type Matcher, type PushEntry } from '../model/index.js';
import type { IngesterTailer } from './client.js';

interface Subscription {
  readonly matchers: readonly Matcher[];
  readonly tailer: IngesterTailer;
}

function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) if (!m.matches(labelValue(labels, m.name))) return false;
  return true;
}

/** The subscriptions of every tenant. */
export class Tailers {
  readonly #byTenant = new Map<string, Set<Subscription>>();

  /** Subscribes; the returned function unsubscribes (idempotent). */
  add(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): () => void {
    let set = this.#byTenant.get(tenant);
    if (set === undefined) this.#byTenant.set(tenant, (set = new Set()));
    const sub: Subscription = { matchers, tailer };
    set.add(sub);
    return () => {
      const s = this.#byTenant.get(tenant);
      if (s === undefined) return;
      s.delete(sub);
      if (s.size === 0) this.#byTenant.delete(tenant);
    };
  }

  /** Subscriptions of `tenant`. */
  count(tenant: string): number {
    return this.#byTenant.get(tenant)?.size ?? 0;
  }

  /** True when `tenant` has a subscriber (checked per push before any per-stream work). */
  has(tenant: string): boolean {
    return this.#byTenant.has(tenant);
  }

  /**
   * Hands `entries`, just appended to the stream `labels`, to every matching subscriber.
   * Lines are views into the push body, valid only during the call. A subscriber that throws
   * is the subscriber's problem: the push is not failed for it.
   */
  publish(tenant: string, labels: Labels, entries: readonly PushEntry[]): void {
    const set = this.#byTenant.get(tenant);
    if (set === undefined) return;
    for (const sub of set) {
      if (!matchesAll(labels, sub.matchers)) continue;
      try {
        sub.tailer.onEntries(labels, entries);
      } catch {
        // A broken subscriber must not fail the push; it is closed by its own session.
      }
    }
  }
}
