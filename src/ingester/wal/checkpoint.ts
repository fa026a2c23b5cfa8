/**
 * Checkpoint writer: streams a materialised snapshot into `checkpoint.N.tmp` in frames of about
 * CHECKPOINT_RECORD_TARGET_BYTES, ends it with an end record, fdatasyncs, renames to
 * `checkpoint.N` and fsyncs the directory. A crash at any point leaves either no `checkpoint.N`
 * or a complete one.
 */
import fs from 'node:fs';
import { UnavailableError } from '../../errors.js';
import { ByteWriter } from '../../util/bytes.js';
import {
  CHECKPOINT_MAGIC,
  CHECKPOINT_RECORD_TARGET_BYTES,
  CHECKPOINT_WRITE_CHUNK_BYTES,
  MAX_RECORD_BYTES,
  RECORD_ENTRIES,
} from './consts.js';
import { checkpointPath, checkpointTmpPath, closeFd, errMessage, fdatasync, fsyncDir, openFd, writeAll } from './files.js';
import { beginFrame, encodeCheckpointEnd, encodeStream, endFrame, type WalEntry, type WalStream } from './record.js';
import { fileHeader } from './scan.js';

/** One tenant's state in a snapshot; `streams[i].entries` are private copies of the arrays. */
export interface CheckpointTenant {
  tenant: string;
  streams: WalStream[];
}

/** What `writeCheckpoint` wrote. */
export interface CheckpointWritten {
  path: string;
  sizeBytes: number;
  records: number;
  entries: number;
}

/**
 * Copies the snapshot's arrays synchronously so later mutation of the caller's in-memory
 * streams cannot leak into the checkpoint. Entry objects and line bytes are shared, not copied:
 * the ingester must never mutate an entry after handing it over.
 */
export function materializeSnapshot(snapshot: Iterable<{ tenant: string; streams: readonly WalStream[] }>): CheckpointTenant[] {
  const out: CheckpointTenant[] = [];
  for (const t of snapshot) {
    const streams: WalStream[] = [];
    for (let i = 0; i < t.streams.length; i++) {
      const s = t.streams[i]!;
      if (s.entries.length === 0) continue;
      streams.push({ labels: s.labels, fingerprint: s.fingerprint, entries: s.entries.slice() });
    }
    if (streams.length > 0) out.push({ tenant: t.tenant, streams });
  }
  return out;
}

/** Rough encoded size of an entry, for cutting frames; exact only for ASCII metadata. */
function entrySizeEstimate(e: WalEntry): number {
  let n = 8 + 5 + e.line.length + 1;
  const md = e.metadata;
  for (let i = 0; i < md.length; i++) n += md[i]!.name.length + md[i]!.value.length + 2;
  return n;
}

interface Piece {
  stream: WalStream;
  from: number;
  to: number;
}

/** Writes checkpoint `seq` into `dir`. Rejects with an UnavailableError naming the file; the temp file is removed. */
export async function writeCheckpoint(dir: string, seq: number, data: readonly CheckpointTenant[]): Promise<CheckpointWritten> {
  const tmp = checkpointTmpPath(dir, seq);
  const final = checkpointPath(dir, seq);
  let fd = -1;
  let off = 0;
  let records = 0;
  let entries = 0;
  const w = new ByteWriter(CHECKPOINT_WRITE_CHUNK_BYTES + CHECKPOINT_RECORD_TARGET_BYTES);
  const flush = async (): Promise<void> => {
    if (w.length === 0) return;
    await writeAll(fd, w.buf, 0, w.length, off);
    off += w.length;
    w.reset();
  };
  const emit = (tenant: string, pieces: Piece[]): void => {
    const start = beginFrame(w, RECORD_ENTRIES);
    w.string(tenant);
    w.uvarint(pieces.length);
    for (const p of pieces) {
      encodeStream(w, p.stream, p.from, p.to);
      entries += p.to - p.from;
    }
    const n = endFrame(w, start);
    if (n > MAX_RECORD_BYTES) throw new RangeError(`checkpoint frame of ${n} bytes exceeds ${MAX_RECORD_BYTES}`);
    records++;
  };
  try {
    fd = await openFd(tmp, 'w');
    w.bytes(fileHeader(CHECKPOINT_MAGIC));
    for (const t of data) {
      let pieces: Piece[] = [];
      let est = 0;
      for (const s of t.streams) {
        const es = s.entries;
        let i = 0;
        est += s.labels.length + s.fingerprint.length + 8;
        while (i < es.length) {
          let j = i;
          while (j < es.length && est < CHECKPOINT_RECORD_TARGET_BYTES) est += entrySizeEstimate(es[j++]!);
          pieces.push({ stream: s, from: i, to: j });
          i = j;
          if (est >= CHECKPOINT_RECORD_TARGET_BYTES) {
            emit(t.tenant, pieces);
            pieces = [];
            est = 0;
            if (w.length >= CHECKPOINT_WRITE_CHUNK_BYTES) await flush();
          }
        }
      }
      if (pieces.length > 0) emit(t.tenant, pieces);
      if (w.length >= CHECKPOINT_WRITE_CHUNK_BYTES) await flush();
    }
    encodeCheckpointEnd(w, records, entries);
    await flush();
    await fdatasync(fd);
    const closing = fd;
    fd = -1;
    await closeFd(closing);
    await fs.promises.rename(tmp, final);
    await fsyncDir(dir);
  } catch (e) {
    if (fd >= 0) await closeFd(fd).catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw new UnavailableError(`wal: writing checkpoint ${tmp} failed: ${errMessage(e)}`, { cause: e });
  }
  return { path: final, sizeBytes: off, records, entries };
}
