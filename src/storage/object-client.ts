/**
 * Object storage as S3 sees it: flat keys with '/' separators, whole-object atomic puts,
 * ranged reads and prefix listing. Every backend (memory, filesystem, S3) implements
 * `ObjectClient` and runs `runObjectClientContract` from `object-client.contract.ts`.
 */
import { InvalidError } from '../errors.js';

/** One stored object as returned by `list`. */
export interface ObjectInfo {
  /** Full key. */
  key: string;
  /** Object length in bytes. */
  sizeBytes: number;
  /** Last modification time, ms since the epoch. */
  modifiedMs: number;
}

/** Result of `list`: objects and (with a delimiter) common prefixes, both sorted by key. */
export interface ListResult {
  /** Objects directly under the prefix (all objects under it when no delimiter is given). */
  objects: ObjectInfo[];
  /** With a delimiter: distinct `prefix + … + delimiter` groups, like S3's CommonPrefixes. */
  prefixes: string[];
}

/**
 * Options of a read. `signal` ends the read early: once it aborts, the backend stops its work
 * (S3: the HTTP request is aborted and no retry follows) and the read rejects with the
 * signal's reason. A read made for a query carries the query's deadline this way.
 */
export interface ReadOptions {
  signal?: AbortSignal | undefined;
  /**
   * `get` only: memory the backend may read the object into instead of allocating. A backend
   * that does (the filesystem, when the object is shorter than `into`) answers a view of it;
   * others ignore it. The caller owns `into` and must not reuse it while the answer is in use.
   */
  into?: Buffer | undefined;
}

/**
 * Object storage, as S3 sees it. Keys use '/' separators and must pass `validateKey`
 * (backends reject others with InvalidError). `get`/`getRange` of a missing key reject with
 * NotFoundError; `delete` of a missing key resolves (it is idempotent). Returned Buffers are
 * owned by the caller. Reads take ReadOptions (an abort signal).
 */
export interface ObjectClient {
  /** The whole object. */
  get(key: string, opts?: ReadOptions): Promise<Buffer>;
  /**
   * Bytes `[offset, min(offset + length, size))`: a range running past the end is cut short,
   * and one starting at or past the end yields an empty Buffer. Negative or non-integer
   * arguments reject with InvalidError.
   */
  getRange(key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer>;
  /** Creates or replaces an object atomically: readers see the old or the new body, never a mix. */
  put(key: string, body: Buffer): Promise<void>;
  /**
   * Objects whose key starts with `prefix` (any string, not only whole segments), sorted by
   * key in UTF-8 byte order. With `delimiter`, keys containing it after the prefix are rolled
   * up into `prefixes` (S3 CommonPrefixes). Returns everything: no paging.
   */
  list(prefix: string, delimiter?: string, opts?: ReadOptions): Promise<ListResult>;
  /** Removes an object; resolves when it is absent already. */
  delete(key: string): Promise<void>;
  /** Releases resources. Idempotent. */
  close(): Promise<void>;
}

/**
 * The error a read rejects with once its signal aborted: the signal's reason when it is an
 * Error (a query's deadline aborts with QueryTimeoutError), else a generic AbortError.
 */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error('object store read aborted');
  e.name = 'AbortError';
  return e;
}

/** Throws `abortReason(signal)` when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/** Longest key accepted, in UTF-8 bytes (S3's limit). */
export const MAX_KEY_BYTES = 1024;

/**
 * Throws InvalidError unless `key` is a safe relative '/'-separated path: non-empty, at most
 * MAX_KEY_BYTES, no leading/trailing '/', no empty, '.' or '..' segments, no NUL or '\'.
 * The rules are stricter than S3's so that every key maps one-to-one onto a file path.
 */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidError('invalid object key "": empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidError(`invalid object key "${key.slice(0, 64)}…": longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (key.includes('\0') || key.includes('\\')) throw new InvalidError(`invalid object key "${key}": contains NUL or '\\'`);
  const segments = key.split('/');
  for (const s of segments) {
    if (s === '') throw new InvalidError(`invalid object key "${key}": empty segment or leading/trailing '/'`);
    if (s === '.' || s === '..') throw new InvalidError(`invalid object key "${key}": '.' or '..' segment`);
  }
}

/** Throws InvalidError unless offset and length are non-negative safe integers. */
export function validateRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidError(`invalid range: offset ${offset}, length ${length}`);
  }
}

/**
 * Compares strings by UTF-8 byte order (= code point order), which is how S3 sorts keys.
 * Plain `<` compares UTF-16 units and disagrees only for surrogates vs U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (D800–DFFF) above E000–FFFF so the order matches code points.
    if (x >= 0xd800 && y >= 0xd800) {
      if (x < 0xe000) x += 0x2000;
      else x -= 0x800;
      if (y < 0xe000) y += 0x2000;
      else y -= 0x800;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Splits sorted objects under `prefix` into direct objects and S3-style common prefixes.
 * `objects` must all start with `prefix` and be sorted by key.
 */
export function rollUp(objects: readonly ObjectInfo[], prefix: string, delimiter: string | undefined): ListResult {
  if (delimiter === undefined || delimiter === '') return { objects: [...objects], prefixes: [] };
  const direct: ObjectInfo[] = [];
  const prefixes: string[] = [];
  let last = '';
  for (const o of objects) {
    const at = o.key.indexOf(delimiter, prefix.length);
    if (at < 0) {
      direct.push(o);
      continue;
    }
    const p = o.key.slice(0, at + delimiter.length);
    if (p !== last) {
      prefixes.push(p);
      last = p;
    }
  }
  return { objects: direct, prefixes };
}
