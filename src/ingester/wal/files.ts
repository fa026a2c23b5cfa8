/** File-level helpers: names and directory listing (the raw-fd calls are src/util/fd.ts). */
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

/** Message of an unknown thrown value. */
export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
