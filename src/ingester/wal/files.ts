/**
 * File-level helpers: names, directory listing, and promise wrappers over raw-fd `fs` calls.
 * Every call goes through the `fs` module object at call time so tests can inject failures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CHECKPOINT_PREFIX, SEQ_DIGITS, TMP_SUFFIX } from './consts.js';

/** A WAL file found in the directory. */
export interface WalFile {
  /** Sequence number parsed from the name. */
  seq: number;
  /** Absolute or dir-relative path as built from the configured dir. */
  path: string;
  /** Size in bytes when listed. */
  sizeBytes: number;
}

/** The WAL files in a directory, each list sorted by ascending seq. */
export interface WalListing {
  segments: WalFile[];
  checkpoints: WalFile[];
  /** Leftover `checkpoint.N.tmp` files from a crash mid-checkpoint. */
  tmps: WalFile[];
}

const SEGMENT_RE = /^\d+$/;
const CHECKPOINT_RE = /^checkpoint\.(\d+)$/;
const TMP_RE = /^checkpoint\.(\d+)\.tmp$/;

/** `00000042` */
export function segmentPath(dir: string, seq: number): string {
  return path.join(dir, String(seq).padStart(SEQ_DIGITS, '0'));
}

/** `checkpoint.00000042` */
export function checkpointPath(dir: string, seq: number): string {
  return path.join(dir, CHECKPOINT_PREFIX + String(seq).padStart(SEQ_DIGITS, '0'));
}

/** `checkpoint.00000042.tmp` */
export function checkpointTmpPath(dir: string, seq: number): string {
  return checkpointPath(dir, seq) + TMP_SUFFIX;
}

/** Lists and stats the WAL files in `dir`; other names are ignored. */
export async function listWalDir(dir: string): Promise<WalListing> {
  const out: WalListing = { segments: [], checkpoints: [], tmps: [] };
  const names = await fs.promises.readdir(dir);
  for (const name of names) {
    let list: WalFile[];
    let seq: number;
    let m: RegExpExecArray | null;
    if (SEGMENT_RE.test(name)) {
      list = out.segments;
      seq = Number(name);
    } else if ((m = CHECKPOINT_RE.exec(name)) !== null) {
      list = out.checkpoints;
      seq = Number(m[1]);
    } else if ((m = TMP_RE.exec(name)) !== null) {
      list = out.tmps;
      seq = Number(m[1]);
    } else {
      continue;
    }
    const p = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    if (!st.isFile()) continue;
    list.push({ seq, path: p, sizeBytes: st.size });
  }
  const bySeq = (a: WalFile, b: WalFile): number => a.seq - b.seq;
  out.segments.sort(bySeq);
  out.checkpoints.sort(bySeq);
  out.tmps.sort(bySeq);
  return out;
}

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

/** Message of an unknown thrown value. */
export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
