/**
 * Promise wrappers over raw-fd `fs` calls, for the WAL and the filesystem object client: no
 * FileHandle objects (an object put through `fs/promises` cost the event loop ~1.3–1.5x more,
 * bench/RESULTS.md).
 * Every call goes through the `fs` module object at call time so tests can inject failures.
 */
import fs from 'node:fs';

/** Opens a file with the given flags (e.g. 'w' = create/truncate, write only). */
export function openFd(p: string, flags: string | number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(p, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.close(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes `buf[off, off+len)` at file `position`, looping over short writes. */
export async function writeAll(fd: number, buf: Uint8Array, off: number, len: number, position: number): Promise<void> {
  while (len > 0) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.write(fd, buf, off, len, position, (err, written) => (err ? reject(err) : resolve(written)));
    });
    if (n <= 0) throw new Error(`short write: 0 of ${len} bytes`);
    off += n;
    position += n;
    len -= n;
  }
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

export function ftruncate(fd: number, lenBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.ftruncate(fd, lenBytes, (err) => (err ? reject(err) : resolve()));
  });
}

/** fsyncs a directory so created, renamed and deleted names survive power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => {
      fs.fsync(fd, (err) => {
        // Some filesystems refuse fsync on a directory; there is nothing better to do there.
        if (err && err.code !== 'EINVAL' && err.code !== 'EISDIR') reject(err);
        else resolve();
      });
    });
  } finally {
    await closeFd(fd).catch(() => undefined);
  }
}

/** Renames `from` to `to` (replacing it). */
export function renamePath(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.rename(from, to, (err) => (err ? reject(err) : resolve()));
  });
}
