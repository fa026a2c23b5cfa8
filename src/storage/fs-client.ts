/**
 * An ObjectClient over a local directory. Key `a/b/c` is the file `<dir>/a/b/c`. Puts write
 * a temp file under `<dir>/.silt-tmp/`, fsync it, rename it into place and fsync the target
 * directory, so readers never see a partial object and a completed put survives a crash.
 * Deletes prune directories left empty so listings never report empty common prefixes.
 *
 * Limitation compared with S3: a key cannot also be a directory of other keys (`a` and
 * `a/b` cannot coexist); such a put rejects with InvalidError.
 */
import { randomBytes } from 'node:crypto';
import { close, open, read, readFile, promises as fsp } from 'node:fs';
import type { Dirent } from 'node:fs';
import * as path from 'node:path';
import { InvalidError, NotFoundError, UnavailableError } from '../errors.js';
import { closeFd, fsyncDir, fsyncFd, openFd, renamePath, writeAll } from '../util/fd.js';
import { mapLimit } from './map-limit.js';
import { abortReason, compareKeys, rollUp, throwIfAborted, validateKey, validateRange } from './object-client.js';
import type { ListResult, ObjectClient, ObjectInfo, ReadOptions } from './object-client.js';

/** Directory (under the root) holding in-flight temp files; never a valid first key segment. */
export const FS_TMP_DIR = '.silt-tmp';

/** Parallel stat/readdir calls per list, to stay well under the fd limit. */
const LIST_CONCURRENCY = 32;

/** Retries of a put whose target directory was pruned by a concurrent delete. */
const PUT_RETRIES = 5;

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Stores objects as files under `dir` (created on first put). */
export class FilesystemObjectClient implements ObjectClient {
  /** Absolute root directory. */
  readonly dir: string;
  readonly #tmpDir: string;
  #ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.#tmpDir = path.join(this.dir, FS_TMP_DIR);
  }

  #pathOf(key: string): string {
    validateKey(key);
    if (key === FS_TMP_DIR || key.startsWith(FS_TMP_DIR + '/')) {
      throw new InvalidError(`invalid object key "${key}": "${FS_TMP_DIR}" is reserved`);
    }
    return path.join(this.dir, ...key.split('/'));
  }

  #init(): Promise<void> {
    this.#ready ??= fsp.mkdir(this.#tmpDir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.#ready = undefined;
        throw new UnavailableError(`cannot create storage directory "${this.dir}"`, { cause: err });
      },
    );
    return this.#ready;
  }

  async get(key: string, opts?: ReadOptions): Promise<Buffer> {
    const file = this.#pathOf(key);
    const signal = opts?.signal;
    throwIfAborted(signal);
    const into = opts?.into;
    if (into !== undefined && into.length > 0) {
      const got = await this.#readInto(key, file, into, signal);
      if (got !== null) return got;
      // Larger than `into`: read it whole below.
    }
    // The callback API costs about half of fs.promises.readFile per small file, which
    // matters when a query opens thousands of chunks.
    return new Promise((resolve, reject) => {
      const done = (err: NodeJS.ErrnoException | null, data: Buffer): void => {
        if (signal?.aborted === true) reject(abortReason(signal));
        else if (err) reject(this.#readError(key, err));
        else resolve(data);
      };
      if (signal === undefined) readFile(file, done);
      else readFile(file, { signal }, done);
    });
  }

  getRange(key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    let file: string;
    const signal = opts?.signal;
    try {
      file = this.#pathOf(key);
      validateRange(offset, length);
      throwIfAborted(signal);
    } catch (e) {
      return Promise.reject(e);
    }
    // open + read + close with the callback API and no fstat: a read past the end simply
    // returns fewer bytes. Queries issue thousands of these for chunk tails.
    return new Promise((resolve, reject) => {
      open(file, 'r', (err, fd) => {
        if (err) return reject(signal?.aborted === true ? abortReason(signal) : this.#readError(key, err));
        const out = Buffer.allocUnsafe(length);
        let done = 0;
        const finish = (e: NodeJS.ErrnoException | null): void => {
          close(fd, () => {
            if (signal?.aborted === true) reject(abortReason(signal));
            else if (e) reject(this.#readError(key, e));
            else resolve(done === length ? out : out.subarray(0, done));
          });
        };
        const step = (): void => {
          if (done === length || signal?.aborted === true) return finish(null);
          read(fd, out, done, length - done, offset + done, (e, n) => {
            if (e) return finish(e);
            if (n === 0) return finish(null); // end of object
            done += n;
            step();
          });
        };
        step();
      });
    });
  }


  /**
   * The whole file in `into` (open, one read, close), or null when it may be longer than
   * `into`. A read from a regular file returns fewer bytes than asked only at its end, so a
   * file shorter than `into` takes one read; the close is not waited for.
   */
  #readInto(key: string, file: string, into: Buffer, signal: AbortSignal | undefined): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      open(file, 'r', (err, fd) => {
        if (err) return reject(signal?.aborted === true ? abortReason(signal) : this.#readError(key, err));
        read(fd, into, 0, into.length, 0, (e, n) => {
          close(fd, () => {});
          if (signal?.aborted === true) reject(abortReason(signal));
          else if (e) reject(this.#readError(key, e));
          else resolve(n < into.length ? into.subarray(0, n) : null);
        });
      });
    });
  }

  #readError(key: string, err: unknown): Error {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new NotFoundError(`object "${key}" not found`);
    return new UnavailableError(`cannot read object "${key}"`, { cause: err });
  }

  async put(key: string, body: Buffer): Promise<void> {
    const file = this.#pathOf(key);
    await this.#init();
    const dir = path.dirname(file);
    const tmp = path.join(this.#tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      // Raw-fd calls: an early-flush flood puts thousands of small chunks, and FileHandle calls
      // with a mkdir per put cost the event loop ~1.3–1.5x as much (bench/RESULTS.md, "helper
      // threads shed under memory pressure").
      const fd = await openFd(tmp, 'wx');
      try {
        await writeAll(fd, body, 0, body.length, 0);
        await fsyncFd(fd);
      } finally {
        await closeFd(fd);
      }
      // Renamed first: the directory exists for all but a key's first object; a missing one
      // (or one a concurrent delete pruned between mkdir and rename) is made and the rename retried.
      for (let attempt = 0; ; attempt++) {
        try {
          await renamePath(tmp, file);
          break;
        } catch (err) {
          if (errCode(err) !== 'ENOENT' || attempt >= PUT_RETRIES) throw err;
          await fsp.mkdir(dir, { recursive: true });
        }
      }
      await fsyncDir(dir);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      const code = errCode(err);
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
        throw new InvalidError(`cannot put object "${key}": it conflicts with an existing key or prefix`, { cause: err });
      }
      throw new UnavailableError(`cannot write object "${key}"`, { cause: err });
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.#pathOf(key);
    try {
      await fsp.unlink(file);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
      throw new UnavailableError(`cannot delete object "${key}"`, { cause: err });
    }
    // Prune directories the delete left empty, up to (not including) the root.
    let dir = path.dirname(file);
    while (dir.length > this.dir.length && dir.startsWith(this.dir)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        break; // not empty (or gone): stop
      }
      dir = path.dirname(dir);
    }
  }

  async list(prefix: string, delimiter?: string, opts?: ReadOptions): Promise<ListResult> {
    const signal = opts?.signal;
    throwIfAborted(signal);
    // Walk only the deepest directory the prefix names in full; filter its entries by the rest.
    const cut = prefix.lastIndexOf('/') + 1;
    const baseKey = prefix.slice(0, cut); // '' or 'a/b/'
    const rest = prefix.slice(cut);
    if (baseKey !== '') {
      try {
        this.#pathOf(baseKey.slice(0, -1));
      } catch {
        return { objects: [], prefixes: [] }; // no valid key can start with this prefix
      }
    }
    const baseDir = baseKey === '' ? this.dir : path.join(this.dir, ...baseKey.slice(0, -1).split('/'));
    const entries = (await readDir(baseDir)).filter(
      (e) => e.name.startsWith(rest) && !(baseKey === '' && e.name === FS_TMP_DIR),
    );

    if (delimiter === '/') {
      // Only one level: files are objects, non-empty directories are common prefixes.
      const files = entries.filter((e) => e.isFile()).map((e) => baseKey + e.name);
      const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
      const nonEmpty = await mapLimit(dirs, LIST_CONCURRENCY, (d) => hasFile(path.join(baseDir, d), signal));
      const prefixes = dirs.filter((_, i) => nonEmpty[i]).map((d) => baseKey + d + '/');
      prefixes.sort(compareKeys);
      return { objects: await this.#statAll(files, signal), prefixes };
    }

    const keys: string[] = [];
    const dirs: string[] = [];
    for (const e of entries) {
      if (e.isFile()) keys.push(baseKey + e.name);
      else if (e.isDirectory()) dirs.push(baseKey + e.name);
    }
    while (dirs.length > 0) {
      throwIfAborted(signal);
      const batch = dirs.splice(0, LIST_CONCURRENCY);
      const listed = await Promise.all(batch.map((d) => readDir(path.join(this.dir, ...d.split('/')))));
      for (let i = 0; i < batch.length; i++) {
        for (const e of listed[i]!) {
          const k = batch[i]! + '/' + e.name;
          if (e.isFile()) keys.push(k);
          else if (e.isDirectory()) dirs.push(k);
        }
      }
    }
    return rollUp(await this.#statAll(keys, signal), prefix, delimiter);
  }

  /** Stats keys (skipping ones deleted meanwhile) and sorts by key. */
  async #statAll(keys: string[], signal: AbortSignal | undefined): Promise<ObjectInfo[]> {
    const infos = await mapLimit(keys, LIST_CONCURRENCY, async (key): Promise<ObjectInfo | undefined> => {
      throwIfAborted(signal);
      try {
        const st = await fsp.stat(path.join(this.dir, ...key.split('/')));
        return st.isFile() ? { key, sizeBytes: st.size, modifiedMs: Math.floor(st.mtimeMs) } : undefined;
      } catch (err) {
        if (errCode(err) === 'ENOENT') return undefined;
        throw new UnavailableError(`cannot stat object "${key}"`, { cause: err });
      }
    });
    const out = infos.filter((o): o is ObjectInfo => o !== undefined);
    out.sort((a, b) => compareKeys(a.key, b.key));
    return out;
  }

  async close(): Promise<void> {}
}

async function readDir(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new UnavailableError(`cannot list directory "${dir}"`, { cause: err });
  }
}

/** True when the directory tree holds at least one regular file (stops at the first). */
async function hasFile(dir: string, signal: AbortSignal | undefined): Promise<boolean> {
  throwIfAborted(signal);
  const entries = await readDir(dir);
  if (entries.some((e) => e.isFile())) return true;
  for (const e of entries) if (e.isDirectory() && (await hasFile(path.join(dir, e.name), signal))) return true;
  return false;
}
