import type { Labels, Matcher, ValidStream } from '../model/index.js';
import type { IngesterClient, IngesterTailer, MemStream, SelectOptions } from './client.js';
import type { Ingester } from './ingester.js';

/**
 * The ingester in the same process (`-target=all`, and what the ingester's gRPC service answers
 * from): no copies and no serialisation. Snapshots share the cut blocks' memory (immutable) and
 * copy only the head block, as before the interface was asynchronous.
 */
export class LocalIngesterClient implements IngesterClient {
  readonly #ing: Ingester;
  readonly #prefix: string;

  /** `instance` names this ingester in chunk ids (`<instance>/<n>`). */
  constructor(ingester: Ingester, instance = 'local') {
    this.#ing = ingester;
    this.#prefix = `${instance}/`;
  }

  push(tenant: string, streams: ValidStream[]): Promise<void> {
    return this.#ing.push(tenant, streams);
  }

  selectStreams(tenant: string, matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint, opts?: SelectOptions): Promise<MemStream[]> {
    return Promise.resolve(this.#ing.selectStreams(tenant, matchers, fromNs, throughNs, this.#prefix, opts?.shard ?? null));
  }

  storedKeys(_tenant: string, ids: readonly string[]): Promise<Map<string, string>> {
    const byNumber = new Map<number, string>();
    for (const id of ids) {
      if (!id.startsWith(this.#prefix)) continue;
      const n = Number(id.slice(this.#prefix.length));
      if (Number.isSafeInteger(n)) byNumber.set(n, id);
    }
    const out = new Map<string, string>();
    for (const [n, key] of this.#ing.storedKeys([...byNumber.keys()])) out.set(byNumber.get(n)!, key);
    return Promise.resolve(out);
  }

  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Promise<readonly string[]> {
    return Promise.resolve(this.#ing.labelNames(tenant, fromNs, throughNs, matchers));
  }

  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Promise<readonly string[]> {
    return Promise.resolve(this.#ing.labelValues(tenant, name, fromNs, throughNs, matchers));
  }

  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Promise<readonly Labels[]> {
    return Promise.resolve(this.#ing.series(tenant, fromNs, throughNs, matchers));
  }

  tail(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): Promise<() => void> {
    return Promise.resolve(this.#ing.tail(tenant, matchers, tailer));
  }

  tailersCount(tenant: string): Promise<number> {
    return Promise.resolve(this.#ing.tailersCount(tenant));
  }

  flush(): Promise<number> {
    return this.#ing.flushNow(true);
  }
}
