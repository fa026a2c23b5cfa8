/**
 * Delete requests (Loki's GDPR deletion API), persisted in object storage one object per
 * request: `compactor/delete_requests/<tenant>/<request_id>.json`. One object per request
 * means every change is a single atomic put or delete, with no read-modify-write of a shared
 * list. Queriers read the list (cached for a few seconds, invalidated at once by changes made
 * through the same store) to hide deleted lines before the compactor removes them.
 */
import { randomBytes } from 'node:crypto';
import { InvalidError, LimitError, NotFoundError } from '../errors.js';
import { validateTenant, type ObjectClient, type ReadOptions } from '../storage/index.js';
import { DELETE_REQUESTS_CACHE_TTL_MS, DELETE_REQUESTS_PREFIX, MAX_DELETE_REQUESTS_PER_TENANT, MAX_JSON_OBJECT_BYTES } from './consts.js';
import { DeleteRule, TenantDeleter } from './delete-filter.js';

/** Loki's request states (pkg/compactor/deletion/deletionproto). */
export type DeleteRequestStatus = 'received' | 'processed';

/** One delete request as stored. Times are ms since the epoch, as Loki's model.Time. */
export interface DeleteRequest {
  request_id: string;
  tenant: string;
  query: string;
  /** Inclusive bounds, ms. */
  start_time: number;
  end_time: number;
  status: DeleteRequestStatus;
  created_at: number;
}

const NS_PER_MS = 1_000_000n;
const REQUEST_ID_RE = /^[0-9a-f]{8}$/;

function requestKey(tenant: string, id: string): string {
  return `${DELETE_REQUESTS_PREFIX}${tenant}/${id}.json`;
}

function parseStored(body: Buffer): DeleteRequest | null {
  try {
    const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const ok =
      typeof o['request_id'] === 'string' &&
      typeof o['tenant'] === 'string' &&
      typeof o['query'] === 'string' &&
      Number.isSafeInteger(o['start_time']) &&
      Number.isSafeInteger(o['end_time']) &&
      Number.isSafeInteger(o['created_at']) &&
      (o['status'] === 'received' || o['status'] === 'processed');
    return ok ? (o as unknown as DeleteRequest) : null;
  } catch {
    return null;
  }
}

interface CachedTenant {
  atMs: number;
  requests: DeleteRequest[];
  deleter: TenantDeleter | null;
}

/** Options of DeleteRequestsStore. */
export interface DeleteRequestsStoreOptions {
  /** How long a tenant's list is reused, ms (default DELETE_REQUESTS_CACHE_TTL_MS). */
  cacheTtlMs?: number;
  nowMs?: () => number;
  /** Called with the tenant after this store added, removed or marked one of its requests (other readers' caches are stale). */
  onChange?: (tenant: string) => void;
}

/** Reads and writes delete requests; the query-time filter source. */
export class DeleteRequestsStore {
  readonly #client: ObjectClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedTenant>();
  readonly #onChange: (tenant: string) => void;
  /** Requests stored objects failed to parse (logged by the caller via metrics). */
  corruptObjects = 0;

  constructor(client: ObjectClient, opts: DeleteRequestsStoreOptions = {}) {
    this.#client = client;
    this.#ttlMs = opts.cacheTtlMs ?? DELETE_REQUESTS_CACHE_TTL_MS;
    this.#now = opts.nowMs ?? Date.now;
    this.#onChange = opts.onChange ?? (() => undefined);
  }

  /** Forgets a tenant's cached list: another store (another querier of the process) changed its requests. */
  invalidate(tenant: string): void {
    this.#cache.delete(tenant);
  }

  #changed(tenant: string): void {
    this.#cache.delete(tenant);
    this.#onChange(tenant);
  }

  /** Stores a new request (status received) and returns it. */
  async add(tenant: string, query: string, startMs: number, endMs: number): Promise<DeleteRequest> {
    validateTenant(tenant);
    // Counting objects needs one list, not a read of every request.
    const { objects } = await this.#client.list(`${DELETE_REQUESTS_PREFIX}${tenant}/`);
    if (objects.length >= MAX_DELETE_REQUESTS_PER_TENANT) {
      throw new LimitError(`too many delete requests for tenant (limit ${MAX_DELETE_REQUESTS_PER_TENANT})`);
    }
    const req: DeleteRequest = {
      request_id: randomBytes(4).toString('hex'),
      tenant,
      query,
      start_time: startMs,
      end_time: endMs,
      status: 'received',
      created_at: this.#now(),
    };
    await this.#client.put(requestKey(tenant, req.request_id), Buffer.from(JSON.stringify(req)));
    this.#changed(tenant);
    return req;
  }

  /** One request; NotFoundError (Loki's text) when absent. */
  async get(tenant: string, id: string): Promise<DeleteRequest> {
    validateTenant(tenant);
    if (!REQUEST_ID_RE.test(id)) throw new NotFoundError('could not find delete request with given id');
    let body: Buffer;
    try {
      body = await this.#client.get(requestKey(tenant, id));
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError('could not find delete request with given id');
      throw e;
    }
    const r = parseStored(body);
    if (r === null) throw new NotFoundError('could not find delete request with given id');
    return r;
  }

  /** Removes a request (cancellation). */
  async remove(tenant: string, id: string): Promise<void> {
    validateTenant(tenant);
    if (!REQUEST_ID_RE.test(id)) throw new InvalidError(`invalid delete request id "${id}"`);
    await this.#client.delete(requestKey(tenant, id));
    this.#changed(tenant);
  }

  /** Marks a request processed (the compactor removed its lines from every chunk). */
  async markProcessed(req: DeleteRequest): Promise<void> {
    const done: DeleteRequest = { ...req, status: 'processed' };
    await this.#client.put(requestKey(req.tenant, req.request_id), Buffer.from(JSON.stringify(done)));
    this.#changed(req.tenant);
  }

  /** A tenant's requests sorted by creation time; `fresh` bypasses the cache. */
  async list(tenant: string, fresh = false): Promise<DeleteRequest[]> {
    return (await this.#tenant(tenant, fresh)).requests;
  }

  /** Tenants with at least one stored request. */
  async tenants(): Promise<string[]> {
    const { prefixes } = await this.#client.list(DELETE_REQUESTS_PREFIX, '/');
    return prefixes.map((p) => p.slice(DELETE_REQUESTS_PREFIX.length, -1)).filter((t) => t !== '');
  }

  /**
   * The query-time filter of a tenant: every stored request, pending or processed (late
   * flushes of old data must stay hidden too). Null when the tenant has none. `opts.signal`
   * (the query's deadline) aborts the reads.
   */
  async deleterFor(tenant: string, opts?: ReadOptions): Promise<TenantDeleter | null> {
    return (await this.#tenant(tenant, false, opts?.signal)).deleter;
  }

  /** Loki's cache generation number: changes whenever the tenant's requests change. */
  async cacheGenerationNumber(tenant: string): Promise<string> {
    const reqs = await this.list(tenant, true);
    let gen = 0;
    for (const r of reqs) gen = Math.max(gen, r.created_at);
    return gen === 0 ? '' : String(gen);
  }

  async #tenant(tenant: string, fresh: boolean, signal?: AbortSignal): Promise<CachedTenant> {
    validateTenant(tenant);
    const now = this.#now();
    const hit = this.#cache.get(tenant);
    if (!fresh && hit !== undefined && now - hit.atMs < this.#ttlMs) return hit;
    const prefix = `${DELETE_REQUESTS_PREFIX}${tenant}/`;
    const { objects } = await this.#client.list(prefix, undefined, { signal });
    const requests: DeleteRequest[] = [];
    for (const o of objects) {
      if (!o.key.endsWith('.json') || o.sizeBytes > MAX_JSON_OBJECT_BYTES) continue;
      let body: Buffer;
      try {
        body = await this.#client.get(o.key, { signal });
      } catch (e) {
        if (e instanceof NotFoundError) continue; // cancelled meanwhile
        throw e;
      }
      const r = parseStored(body);
      if (r === null || r.tenant !== tenant) {
        this.corruptObjects++;
        continue;
      }
      requests.push(r);
    }
    requests.sort((a, b) => a.created_at - b.created_at || (a.request_id < b.request_id ? -1 : 1));
    const rules: DeleteRule[] = [];
    for (const r of requests) {
      try {
        rules.push(new DeleteRule({ query: r.query, startNs: BigInt(r.start_time) * NS_PER_MS, endNs: BigInt(r.end_time) * NS_PER_MS }));
      } catch {
        this.corruptObjects++;
      }
    }
    const entry: CachedTenant = { atMs: now, requests, deleter: rules.length === 0 ? null : new TenantDeleter(rules) };
    this.#cache.set(tenant, entry);
    return entry;
  }
}

/** A request's rule (inclusive ns bounds). */
export function ruleOf(r: DeleteRequest): DeleteRule {
  return new DeleteRule({ query: r.query, startNs: BigInt(r.start_time) * NS_PER_MS, endNs: BigInt(r.end_time) * NS_PER_MS });
}
