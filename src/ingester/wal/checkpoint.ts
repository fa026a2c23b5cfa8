/**
 * Checkpoint writer: streams a snapshot, read one stream at a time, into `checkpoint.N.tmp` in frames of about
 * CHECKPOINT_RECORD_TARGET_BYTES, ends it with an end record, fdatasyncs, renames to
 * `checkpoint.N` and fsyncs the directory. A crash at any point leaves either no `checkpoint.N`
 * or a complete one.
 */
import fs from 'node:fs';
import { UnavailableError } from '../../errors.js';
import { ByteWriter } from '../../util/bytes.js';
import { CHECKPOINT_MAGIC, CHECKPOINT_RECORD_TARGET_BYTES, CHECKPOINT_WRITE_CHUNK_BYTES, MAX_RECORD_BYTES } from './consts.js';
import { closeFd, fdatasync, fsyncDir, openFd, writeAll } from '../../util/fd.js';
import { checkpointPath, checkpointTmpPath, errMessage } from './files.js';
import {
  addCheckpointStream,
  beginCheckpointChunks,
  encodeCheckpointEnd,
  encodeFlushedRecord,
  endCheckpointChunks,
  type CheckpointChunk,
  type CheckpointStream,
  type FlushMark,
  type WalEntry,
} from './record.js';
import { fileHeader } from './scan.js';

/** One tenant's state in a snapshot. */
export interface CheckpointTenant {
  tenant: string;
  /**
   * Streams with their unflushed chunks, read lazily while the file is written (the event loop
   * runs between writes): each stream is captured when it is produced, in arrays of its own, and
   * not changed afterwards. So a checkpoint holds one stream's entries at a time, not the
   * tenant's (a whole tenant's entries as objects were ~3x its text, on the event loop for ~1 s
   * per 100 MB).
   */
  streams: Iterable<CheckpointStream>;
  /** Flush marks whose chunk is uploaded but whose index write is not confirmed yet. */
  marks: FlushMark[];
}

/** What `writeCheckpoint` wrote. */
export interface CheckpointWritten {
  path: string;
  sizeBytes: number;
  records: number;
  entries: number;
}

/** Rough encoded size of an entry, for cutting frames; exact only for ASCII metadata. */
function entrySizeEstimate(e: WalEntry): number {
  let n = 8 + 5 + e.line.length + 1;
  const md = e.metadata;
  for (let i = 0; i < md.length; i++) n += md[i]!.name.length + md[i]!.value.length + 2;
  return n;
}

/** Writes checkpoint `seq` into `dir`. Rejects with an UnavailableError naming the file; the temp file is removed. */
export async function writeCheckpoint(dir: string, seq: number, data: Iterable<CheckpointTenant>): Promise<CheckpointWritten> {
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
  /** Emits one frame holding `streams`, each with the pieces chosen for this frame. */
  const emit = (tenant: string, streams: CheckpointStream[]): void => {
    const frame = beginCheckpointChunks(w, tenant);
    for (const s of streams) {
      addCheckpointStream(w, s);
      for (const c of s.chunks) entries += c.entries.length;
    }
    const n = endCheckpointChunks(w, frame, streams.length);
    if (n > MAX_RECORD_BYTES) throw new RangeError(`checkpoint frame of ${n} bytes exceeds ${MAX_RECORD_BYTES}`);
    records++;
  };
  try {
    fd = await openFd(tmp, 'w');
    w.bytes(fileHeader(CHECKPOINT_MAGIC));
    for (const t of data) {
      for (const m of t.marks) {
        encodeFlushedRecord(w, m);
        records++;
      }
      // Streams go into frames of about CHECKPOINT_RECORD_TARGET_BYTES; a chunk larger than what
      // is left of a frame is cut into pieces, the later ones flagged as continuing it.
      let frame: CheckpointStream[] = [];
      let est = 0;
      for (const s of t.streams) {
        let cur: CheckpointStream = { ...s, chunks: [] };
        est += s.labels.length + s.fingerprint.length + 16;
        for (const c of s.chunks) {
          const es = c.entries;
          let i = 0;
          while (i < es.length) {
            let j = i;
            while (j < es.length && est < CHECKPOINT_RECORD_TARGET_BYTES) est += entrySizeEstimate(es[j++]!);
            if (j > i) {
              const piece: CheckpointChunk = { firstSeq: c.firstSeq, lastSeq: c.lastSeq, closed: c.closed, continues: i > 0, entries: es.slice(i, j) };
              cur.chunks.push(piece);
            }
            i = j;
            if (est >= CHECKPOINT_RECORD_TARGET_BYTES) {
              frame.push(cur);
              emit(t.tenant, frame);
              frame = [];
              cur = { ...s, chunks: [] };
              est = s.labels.length + s.fingerprint.length + 16;
              if (w.length >= CHECKPOINT_WRITE_CHUNK_BYTES) await flush();
            }
          }
        }
        if (cur.chunks.length > 0) frame.push(cur);
      }
      if (frame.length > 0) emit(t.tenant, frame);
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
