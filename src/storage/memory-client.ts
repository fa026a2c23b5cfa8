/** An in-memory ObjectClient for unit tests. Stores private copies of every body. */
import { NotFoundError } from '../errors.js';
import { compareKeys, rollUp, throwIfAborted, validateKey, validateRange } from './object-client.js';
import type { ListResult, ObjectClient, ObjectInfo, ReadOptions } from './object-client.js';

interface StoredObject {
  body: Buffer;
  modifiedMs: number;
}

/** Keeps objects in a Map. Same key rules and semantics as the other backends. */
export class MemoryObjectClient implements ObjectClient {
  readonly #objects = new Map<string, StoredObject>();

  async get(key: string, opts?: ReadOptions): Promise<Buffer> {
    validateKey(key);
    throwIfAborted(opts?.signal);
    const o = this.#objects.get(key);
    if (o === undefined) throw new NotFoundError(`object "${key}" not found`);
    return Buffer.from(o.body);
  }

  async getRange(key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    validateKey(key);
    validateRange(offset, length);
    throwIfAborted(opts?.signal);
    const o = this.#objects.get(key);
    if (o === undefined) throw new NotFoundError(`object "${key}" not found`);
    const start = Math.min(offset, o.body.length);
    return Buffer.from(o.body.subarray(start, Math.min(o.body.length, start + length)));
  }

  async put(key: string, body: Buffer): Promise<void> {
    validateKey(key);
    this.#objects.set(key, { body: Buffer.from(body), modifiedMs: Date.now() });
  }

  async list(prefix: string, delimiter?: string, opts?: ReadOptions): Promise<ListResult> {
    throwIfAborted(opts?.signal);
    const found: ObjectInfo[] = [];
    for (const [key, o] of this.#objects) {
      if (key.startsWith(prefix)) found.push({ key, sizeBytes: o.body.length, modifiedMs: o.modifiedMs });
    }
    found.sort((a, b) => compareKeys(a.key, b.key));
    return rollUp(found, prefix, delimiter);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    this.#objects.delete(key);
  }

  async close(): Promise<void> {}

  /** Number of stored objects (test helper). */
  get size(): number {
    return this.#objects.size;
  }
}
