/**
 * The ingester's write-ahead log: append-only segments with group commit, periodic checkpoints
 * of the in-memory state, and replay before the ingester reports ready. Layout and durability
 * guarantees are in README.md.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { InvalidError, SiltError, TooLargeError, UnavailableError } from '../../errors.js';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { writeCheckpoint, type CheckpointTenant } from './checkpoint.js';
import {
  BATCH_BUFFER_INITIAL_BYTES,
  BATCH_BUFFER_KEEP_BYTES,
  CHECKPOINT_MAGIC,
  FILE_HEADER_BYTES,
  FRAME_HEADER_BYTES,
  MAX_RECORD_BYTES,
  RECORD_CHECKPOINT_CHUNKS,
  RECORD_CHECKPOINT_END,
  RECORD_ENTRIES,
  RECORD_ENTRIES_DICT,
  RECORD_ENTRIES_SEQ,
  RECORD_FLUSHED,
  SEGMENT_MAGIC,
} from './consts.js';
import { closeFd, fdatasync, fsyncDir, ftruncate, openFd, writeAll } from '../../util/fd.js';
import { errMessage, listWalDir, segmentPath, type WalFile } from './files.js';
import {
  decodeCheckpointChunks,
  decodeCheckpointEnd,
  decodeEntriesPayload,
  decodeFlushed,
  DictTables,
  encodeEntriesDictRecord,
  encodeFlushedRecord,
  WalDict,
  type CheckpointChunk,
  type DecodedRecord,
  type FlushMark,
  type WalEntry,
  type WalStream,
} from './record.js';
import { checkFileHeader, fileHeader, scanFrames } from './scan.js';

export type { CheckpointChunk, CheckpointStream, FlushMark, WalEntry, WalStream } from './record.js';

/** When an append counts as durable. See README.md for what each policy survives. */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** WAL settings (the ingester's `wal` config section). */
export interface WalConfig {
  /** false: append/checkpoint are no-ops, replay is empty, nothing touches the disk. */
  enabled: boolean;
  /** Directory holding segments and checkpoints; created if missing. One Wal per dir. */
  dir: string;
  /** Durability policy of append(). */
  fsync: FsyncPolicy;
  /** Upper bound between a write and its fdatasync under 'interval'. */
  fsyncIntervalMs: number;
  /** A segment is cut once it holds at least this many bytes. */
  segmentSizeBytes: number;
}

/** Defaults: WAL on, fsync every group commit, 128 MiB segments. */
export const defaultWalConfig: Readonly<WalConfig> = Object.freeze({
  enabled: true,
  dir: 'wal',
  fsync: 'always',
  fsyncIntervalMs: 1000,
  segmentSizeBytes: 128 * 1024 * 1024,
});

/** What replay() found. Counts include the checkpoint's records and entries. */
export interface WalReplayResult {
  /** onRecord calls (checkpoint frames + segment records). */
  records: number;
  /** Entries passed to onRecord in total. */
  entries: number;
  /** Segment files read. */
  segments: number;
  /** Entries that came from the checkpoint. */
  checkpointEntries: number;
  /** Bytes cut off the torn tail of the last segment (a crash mid-write). */
  truncatedBytes: number;
  /** One line per damaged region: file, offset, reason and what replay did about it. */
  corruptions: string[];
  /** Entries left out because a flush mark or the checkpoint says they are stored or already applied. */
  skippedEntries: number;
  /**
   * Flush marks found (checkpoint and segments, one per chunk): their chunks are stored but may
   * not be indexed yet. The ingester indexes them again (idempotent: refs are content keys).
   */
  marks: FlushMark[];
  /** First sequence number the ingester may assign: above every one found. */
  nextSeq: number;
}

/**
 * What replay hands the ingester per stream: the entries to apply, and either their sequence
 * numbers (segment records) or the chunk they belonged to (checkpoint pieces).
 */
export interface ReplayStream {
  labels: string;
  fingerprint: string;
  /** Lines are views into a per-file buffer: copy them to keep them. */
  entries: readonly WalEntry[];
  /** Segment records: `seqs[i]` is the sequence number of `entries[i]`. */
  seqs: readonly number[] | null;
  /** Checkpoint pieces: the chunk, its sequence range and flags (`entries` are its entries). */
  chunk: Omit<CheckpointChunk, 'entries'> | null;
}

/** Counters for metrics. */
export interface WalStats {
  /** Record bytes written to segments since open. */
  bytesWritten: number;
  /** Records written to segments since open. */
  records: number;
  /** fdatasync calls on segments since open. */
  fsyncs: number;
  /** Sequence number of the segment appends currently go to. */
  segment: number;
  /** Bytes of segments and checkpoints on disk (tracked, not re-statted). */
  diskBytes: number;
  /** Duration of the last segment fdatasync. */
  lastFsyncMs: number;
  /** Time spent in segment writes and in segment fdatasyncs since open (ms): how busy the single writer is. */
  writeMs: number;
  fsyncMs: number;
  /** Failed segment writes or fsyncs since open. */
  writeErrors: number;
}

/** A snapshot item handed to checkpoint(): a tenant's unflushed chunks and unconfirmed flush marks. */
export type WalSnapshotTenant = CheckpointTenant;

const RESOLVED: Promise<void> = Promise.resolve();
/**
 * Segment open flags under fsync 'always': each write returns once its data is on disk, as after
 * an fdatasync. Null where the platform has no O_DSYNC: writes are then followed by fdatasync.
 */
const DSYNC_WRITE_FLAGS: number | null =
  typeof fs.constants.O_DSYNC === 'number' ? fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DSYNC : null;
const noop = (): void => undefined;

/** Records queued for one write(+fdatasync). All appends in a batch share its promise. */
class Batch {
  readonly seq: number;
  readonly w: ByteWriter;
  records = 0;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;

  constructor(seq: number, w: ByteWriter) {
    this.seq = seq;
    this.w = w;
    let res: () => void = noop;
    let rej: (e: Error) => void = noop;
    this.promise = new Promise<void>((a, b) => {
      res = a;
      rej = b;
    });
    this.resolve = res;
    this.reject = rej;
    // Callers get their own handlers; this only stops an unobserved rejection from crashing the process.
    this.promise.catch(noop);
  }
}

/** The write-ahead log of one ingester. Not safe for two processes on one dir. */
export class Wal {
  private readonly cfg: Readonly<WalConfig>;
  /** Segment new appends are assigned to. */
  private seq: number;
  /** Bytes assigned to `seq` so far, header included. */
  private assignedBytes = FILE_HEADER_BYTES;
  private readonly queue: Batch[] = [];
  private inflight: Batch | null = null;
  private readonly pool: ByteWriter[] = [];
  private pumping = false;
  private pumpDone: Promise<void> = RESOLVED;

  private fd: number | null = null;
  private fileSeq = -1;
  private fileOffset = 0;
  /** Bytes written to `fd` and not yet fdatasync'd. */
  private fileDirty = false;
  /** A failed write may have left bytes past fileOffset that a truncate could not remove yet. */
  private needsTruncate = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncDue = false;

  /** Dictionary of the segment `dictSeq` (see WalDict); replaced when appends move to another segment. */
  private dict: WalDict | null = null;
  private dictSeq = -1;

  private checkpointing: Promise<void> | null = null;
  private closed = false;
  private appended = false;

  private bytesWritten = 0;
  private recordsWritten = 0;
  private fsyncs = 0;
  private lastFsyncMs = 0;
  private writeMs = 0;
  private fsyncMs = 0;
  private writeErrors = 0;
  private diskBytes: number;

  private constructor(cfg: Readonly<WalConfig>, seq: number, diskBytes: number) {
    this.cfg = cfg;
    this.seq = seq;
    this.diskBytes = diskBytes;
  }

  /** Opens (creating if needed) the WAL dir and removes leftovers of an interrupted checkpoint. Call replay() next. */
  static async open(cfg: WalConfig): Promise<Wal> {
    const c: Readonly<WalConfig> = Object.freeze({ ...cfg });
    if (!c.enabled) return new Wal(c, 0, 0);
    if (!(c.segmentSizeBytes > FILE_HEADER_BYTES)) throw new InvalidError(`wal: segmentSizeBytes must be > ${FILE_HEADER_BYTES}, got ${c.segmentSizeBytes}`);
    if (c.fsync === 'interval' && !(c.fsyncIntervalMs > 0)) throw new InvalidError(`wal: fsyncIntervalMs must be > 0, got ${c.fsyncIntervalMs}`);
    if (c.fsync !== 'always' && c.fsync !== 'interval' && c.fsync !== 'never') throw new InvalidError(`wal: unknown fsync policy "${String(c.fsync)}"`);
    await fs.promises.mkdir(c.dir, { recursive: true });
    const listing = await listWalDir(c.dir);
    let maxSeq = 0;
    let diskBytes = 0;
    for (const f of listing.tmps) {
      maxSeq = Math.max(maxSeq, f.seq);
      await fs.promises.unlink(f.path).catch(noop);
    }
    for (const f of [...listing.segments, ...listing.checkpoints]) {
      maxSeq = Math.max(maxSeq, f.seq);
      diskBytes += f.sizeBytes;
    }
    // Never append to an existing segment: it may end in a torn record that replay truncates.
    return new Wal(c, maxSeq + 1, diskBytes);
  }

  /**
   * Encodes one record into the pending batch and returns a promise that resolves once it is
   * durable per the fsync policy. Streams carry the sequence number of their first entry
   * (`firstSeq`); apply the entries to memory once the promise resolves, in resolution order
   * (see checkpoint()). `streams` is only read during this call.
   */
  append(tenant: string, streams: readonly WalStream[]): Promise<void> {
    return this.#enqueue(tenant, (w, dict) => encodeEntriesDictRecord(w, tenant, streams, dict));
  }

  /**
   * Logs a flush mark: `m`'s chunk is uploaded and holds exactly the stream's entries numbered
   * firstSeq..lastSeq. Resolves once durable; only then may the chunk be indexed.
   */
  appendFlushed(m: FlushMark): Promise<void> {
    return this.#enqueue(m.tenant, (w) => encodeFlushedRecord(w, m));
  }

  #enqueue(tenant: string, encode: (w: ByteWriter, dict: WalDict) => number): Promise<void> {
    if (!this.cfg.enabled) return RESOLVED;
    if (this.closed) return Promise.reject(new UnavailableError(`wal: ${this.cfg.dir} is closed`));
    this.appended = true;
    if (this.assignedBytes >= this.cfg.segmentSizeBytes) this.rotate();
    let b = this.queue[this.queue.length - 1];
    if (b === undefined || b.seq !== this.seq) {
      b = new Batch(this.seq, this.pool.pop() ?? new ByteWriter(BATCH_BUFFER_INITIAL_BYTES));
      this.queue.push(b);
      this.kick();
    }
    let dict = this.dict;
    if (dict === null || this.dictSeq !== this.seq) {
      dict = this.dict = new WalDict();
      this.dictSeq = this.seq;
    }
    const w = b.w;
    const start = w.length;
    let n: number;
    try {
      n = encode(w, dict);
    } catch (e) {
      w.length = start;
      this.dropDict();
      return Promise.reject(new InvalidError(`wal: cannot encode record for tenant "${tenant}": ${errMessage(e)}`, { cause: e }));
    }
    if (n - FRAME_HEADER_BYTES > MAX_RECORD_BYTES) {
      w.length = start;
      this.dropDict();
      return Promise.reject(new TooLargeError(`wal: record of ${n} bytes exceeds the limit of ${MAX_RECORD_BYTES}`));
    }
    this.assignedBytes += n;
    b.records++;
    return b.promise;
  }

  /**
   * Takes a checkpoint. In the calling tick it cuts the segment: records appended before this call
   * stay below the boundary, later ones go above. Once every record below the boundary is written
   * and the callbacks waiting on them have run (the ingester applies entries to memory when their
   * record is durable), it calls `snapshot()` and takes its tenants and flush marks at once, then
   * writes `checkpoint.<boundary>` reading each tenant's streams one at a time (each is captured
   * when produced, so later streams may be captured after later pushes), and deletes older
   * segments and checkpoints. The snapshot may thus hold entries of records above the boundary:
   * their sequence numbers are at or below the stream's `appliedSeq` (captured with its chunks),
   * and replay skips them in the segments. Entry objects and line bytes must not be mutated
   * afterwards.
   * While one checkpoint runs, further calls return its promise without calling their snapshot.
   */
  checkpoint(snapshot: () => Iterable<WalSnapshotTenant>): Promise<void> {
    if (!this.cfg.enabled) return RESOLVED;
    if (this.checkpointing !== null) return this.checkpointing;
    if (this.closed) return Promise.reject(new UnavailableError(`wal: ${this.cfg.dir} is closed`));
    const boundary = this.rotate();
    const lastOld = this.queue[this.queue.length - 1] ?? this.inflight;
    const p = this.runCheckpoint(boundary, snapshot, lastOld).finally(() => {
      this.checkpointing = null;
    });
    this.checkpointing = p;
    return p;
  }

  private async runCheckpoint(boundary: number, snapshot: () => Iterable<WalSnapshotTenant>, lastOld: Batch | null): Promise<void> {
    // Let the records below the boundary settle so no old segment is (re)created after we delete it.
    if (lastOld !== null) await lastOld.promise.then(noop, noop);
    // A macrotask boundary: every callback of those records (memory apply) has run by now.
    await new Promise<void>((r) => setImmediate(r));
    // Tenants and flush marks now; each tenant's streams one at a time as the file is written.
    const data = [...snapshot()];
    if (!this.pumping && this.fd !== null && this.fileSeq < boundary) await this.closeFile(true);
    const written = await writeCheckpoint(this.cfg.dir, boundary, data);
    this.diskBytes += written.sizeBytes;
    const listing = await listWalDir(this.cfg.dir);
    for (const f of [...listing.segments, ...listing.checkpoints]) {
      if (f.seq < boundary) await this.removeFile(f);
    }
  }

  private async removeFile(f: WalFile): Promise<void> {
    try {
      await fs.promises.unlink(f.path);
      this.diskBytes -= f.sizeBytes;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UnavailableError(`wal: deleting ${f.path} failed: ${errMessage(e)}`, { cause: e });
    }
  }

  /**
   * Replays the newest checkpoint, then every later segment in order. Call once after open()
   * and before the first append(). Two passes: the first collects the flush marks of the
   * segments, the second hands over only entries no mark covers (nor, for segment records, the
   * checkpoint's `appliedSeq`), so what a flush made durable never comes back as unflushed.
   * Damage is reported, never thrown: a torn tail of the last segment is truncated
   * (truncatedBytes); other damage is listed in `corruptions` and replay resyncs to the next
   * valid record (or the next file). Lines passed to onRecord are views into a per-file buffer:
   * copy them to keep them.
   */
  async replay(onRecord: (tenant: string, streams: ReplayStream[]) => void): Promise<WalReplayResult> {
    const res: WalReplayResult = { records: 0, entries: 0, segments: 0, checkpointEntries: 0, truncatedBytes: 0, corruptions: [], skippedEntries: 0, marks: [], nextSeq: 1 };
    if (!this.cfg.enabled) return res;
    if (this.appended) throw new SiltError('internal', 'wal: replay() must run before the first append()');
    const listing = await listWalDir(this.cfg.dir);
    const ckpt = listing.checkpoints[listing.checkpoints.length - 1];
    const fromSeq = ckpt?.seq ?? 0;
    const segs = listing.segments.filter((f) => f.seq >= fromSeq);
    const r = new ByteReader(Buffer.alloc(0));
    const marks = new FlushMarks();
    let maxSeq = 0;

    // Pass 1: the segments' flush marks. Damage is reported by pass 2.
    for (const f of segs) {
      const buf = await this.readWalFile(f.path);
      if (buf.length < FILE_HEADER_BYTES || buf.readUInt32BE(0) !== SEGMENT_MAGIC) continue;
      checkFileHeader(buf, SEGMENT_MAGIC, f.path);
      scanFrames(buf, FILE_HEADER_BYTES, buf.length, (type, ps, pe) => {
        if (type !== RECORD_FLUSHED) return null;
        r.reset(buf, ps, pe);
        try {
          marks.add(decodeFlushed(r));
        } catch {
          // Reported by pass 2.
        }
        return null;
      });
    }

    // Pass 2. Older files have no sequence numbers: their entries get consecutive ones, in the
    // same order on every replay, below any a version 3 writer assigned after replaying them.
    let legacySeq = 0;
    const applied = new Map<string, number>();
    const one: ReplayStream[] = [{ labels: '', fingerprint: '', entries: [], seqs: null, chunk: null }];
    /** Applies one segment record's streams, leaving out what marks or the checkpoint cover. */
    const applySegmentRecord = (rec: DecodedRecord): void => {
      const out: ReplayStream[] = [];
      for (const st of rec.streams) {
        const key = streamKey(rec.tenant, st.fingerprint);
        const floor = applied.get(key) ?? -1;
        const es = st.entries;
        const seqs: number[] = new Array<number>(es.length);
        let first = st.firstSeq;
        if (first === undefined) {
          first = legacySeq + 1;
          legacySeq += es.length;
        }
        let kept: WalEntry[] | null = null;
        let keptSeqs: number[] | null = null;
        for (let i = 0; i < es.length; i++) {
          const q = first + i;
          seqs[i] = q;
          if (q > maxSeq) maxSeq = q;
          if (q <= floor || marks.covers(key, q)) {
            res.skippedEntries++;
            if (kept === null) {
              kept = es.slice(0, i);
              keptSeqs = seqs.slice(0, i);
            }
            continue;
          }
          if (kept !== null) {
            kept.push(es[i]!);
            keptSeqs!.push(q);
          }
        }
        const entries = kept ?? es;
        // Streams left empty by skipping are dropped; a stream logged with no entries is kept.
        if (entries.length > 0 || es.length === 0) out.push({ labels: st.labels, fingerprint: st.fingerprint, entries, seqs: keptSeqs ?? seqs, chunk: null });
      }
      res.records++;
      res.entries += rec.entries;
      if (out.length > 0) onRecord(rec.tenant, out);
    };

    if (ckpt !== undefined) {
      const buf = await this.readWalFile(ckpt.path);
      const bad = checkFileHeader(buf, CHECKPOINT_MAGIC, ckpt.path);
      if (bad !== null) {
        res.corruptions.push(`${ckpt.path}: offset 0: ${bad}; checkpoint skipped`);
      } else {
        let sawEnd = false;
        const problems = scanFrames(buf, FILE_HEADER_BYTES, buf.length, (type, ps, pe) => {
          r.reset(buf, ps, pe);
          try {
            switch (type) {
              case RECORD_CHECKPOINT_END:
                decodeCheckpointEnd(r);
                sawEnd = true;
                return null;
              case RECORD_FLUSHED: {
                const m = decodeFlushed(r);
                marks.add(m);
                if (m.lastSeq > maxSeq) maxSeq = m.lastSeq;
                res.records++;
                return null;
              }
              case RECORD_CHECKPOINT_CHUNKS: {
                const rec = decodeCheckpointChunks(r);
                res.records++;
                res.entries += rec.entries;
                res.checkpointEntries += rec.entries;
                for (const st of rec.streams) {
                  const key = streamKey(rec.tenant, st.fingerprint);
                  if (st.appliedSeq > (applied.get(key) ?? -1)) applied.set(key, st.appliedSeq);
                  if (st.appliedSeq > maxSeq) maxSeq = st.appliedSeq;
                  for (const c of st.chunks) {
                    if (c.lastSeq > maxSeq) maxSeq = c.lastSeq;
                    // A chunk is one run of the stream's sequence numbers: a mark covers all of it or none.
                    if (marks.covers(key, c.firstSeq)) {
                      res.skippedEntries += c.entries.length;
                      continue;
                    }
                    const o = one[0]!;
                    o.labels = st.labels;
                    o.fingerprint = st.fingerprint;
                    o.entries = c.entries;
                    o.seqs = null;
                    o.chunk = { firstSeq: c.firstSeq, lastSeq: c.lastSeq, closed: c.closed, continues: c.continues };
                    onRecord(rec.tenant, one);
                  }
                }
                return null;
              }
              case RECORD_ENTRIES: {
                const rec = decodeEntriesPayload(r, null);
                res.checkpointEntries += rec.entries;
                applySegmentRecord(rec);
                return null;
              }
              default:
                return `unknown record type ${type}`;
            }
          } catch (e) {
            return `undecodable record: ${errMessage(e)}`;
          }
        });
        for (const p of problems) res.corruptions.push(describe(ckpt.path, p.offset, p.reason, p.resumeAt, 'rest of the checkpoint skipped'));
        if (!sawEnd) res.corruptions.push(`${ckpt.path}: no end record; checkpoint incomplete`);
      }
    }
    // Files the newest checkpoint covers: left over by a crash between rename and delete.
    for (const f of listing.checkpoints) if (f.seq < fromSeq) await this.removeFile(f);
    for (const f of listing.segments) if (f.seq < fromSeq) await this.removeFile(f);

    for (let i = 0; i < segs.length; i++) {
      const f = segs[i]!;
      const last = i === segs.length - 1;
      const buf = await this.readWalFile(f.path);
      res.segments++;
      const bad = checkFileHeader(buf, SEGMENT_MAGIC, f.path);
      if (bad !== null) {
        if (last && (buf.length <= FILE_HEADER_BYTES || isAllZero(buf))) {
          // Crash right after creating the segment: nothing in it was ever acknowledged.
          await this.removeFile(f);
          res.truncatedBytes += buf.length;
        } else {
          res.corruptions.push(`${f.path}: offset 0: ${bad}; segment skipped`);
        }
        continue;
      }
      // Dictionary frames refer to definitions made earlier in the same file.
      const tables = new DictTables();
      const problems = scanFrames(buf, FILE_HEADER_BYTES, buf.length, (type, ps, pe) => {
        r.reset(buf, ps, pe);
        let rec: DecodedRecord;
        try {
          if (type === RECORD_FLUSHED) {
            const m = decodeFlushed(r);
            if (m.lastSeq > maxSeq) maxSeq = m.lastSeq;
            res.records++;
            return null;
          }
          if (type === RECORD_ENTRIES) rec = decodeEntriesPayload(r, null);
          else if (type === RECORD_ENTRIES_DICT) rec = decodeEntriesPayload(r, tables);
          else if (type === RECORD_ENTRIES_SEQ) rec = decodeEntriesPayload(r, tables, true);
          else return `unknown record type ${type}`;
        } catch (e) {
          return `undecodable record: ${errMessage(e)}`;
        }
        applySegmentRecord(rec);
        return null;
      });
      const tail = problems[problems.length - 1];
      const torn = last && tail !== undefined && tail.resumeAt < 0;
      for (let k = 0; k < problems.length - (torn ? 1 : 0); k++) {
        const p = problems[k]!;
        res.corruptions.push(describe(f.path, p.offset, p.reason, p.resumeAt, 'skipped to the next segment'));
      }
      if (torn) {
        // A write cut short by a crash: nothing from the bad frame on was acknowledged.
        await this.truncateFile(f.path, tail.offset);
        res.truncatedBytes += buf.length - tail.offset;
        this.diskBytes -= buf.length - tail.offset;
      }
    }
    res.marks = marks.all();
    res.nextSeq = Math.max(maxSeq, legacySeq) + 1;
    return res;
  }

  private async readWalFile(p: string): Promise<Buffer> {
    try {
      return await fs.promises.readFile(p);
    } catch (e) {
      throw new UnavailableError(`wal: reading ${p} failed: ${errMessage(e)}`, { cause: e });
    }
  }

  private async truncateFile(p: string, lenBytes: number): Promise<void> {
    try {
      await fs.promises.truncate(p, lenBytes);
    } catch (e) {
      throw new UnavailableError(`wal: truncating torn tail of ${p} failed: ${errMessage(e)}`, { cause: e });
    }
  }

  /** Writes out everything queued, fdatasyncs (unless policy 'never') and closes the segment. Later appends reject. */
  async close(): Promise<void> {
    if (!this.cfg.enabled || this.closed) return;
    this.closed = true;
    if (this.checkpointing !== null) await this.checkpointing.catch(noop);
    while (this.pumping) await this.pumpDone;
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (this.fd !== null) await this.closeFile(true);
  }

  /** Counters for metrics; cheap. */
  stats(): WalStats {
    return {
      bytesWritten: this.bytesWritten,
      records: this.recordsWritten,
      fsyncs: this.fsyncs,
      segment: this.seq,
      diskBytes: this.diskBytes,
      lastFsyncMs: this.lastFsyncMs,
      writeMs: this.writeMs,
      fsyncMs: this.fsyncMs,
      writeErrors: this.writeErrors,
    };
  }

  /** Starts assigning appends to a new segment; returns its seq. */
  private rotate(): number {
    this.seq++;
    this.assignedBytes = FILE_HEADER_BYTES;
    return this.seq;
  }

  /**
   * A record was rolled back after the dictionary assigned ids in it: later records must not refer
   * to them. Appends move to a new segment (one dictionary per file, so an id never means two things).
   */
  private dropDict(): void {
    this.dict = null;
    this.rotate();
  }

  /**
   * Batch `failed` did not reach the file, so definitions in it are lost: every queued batch of the
   * same segment may refer to them and fails too (none was acknowledged), and appends move to a
   * new segment with a new dictionary.
   */
  private poison(failed: Batch, e: Error): void {
    for (let i = 0; i < this.queue.length; ) {
      const q = this.queue[i]!;
      if (q.seq !== failed.seq) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      q.reject(e);
      this.recycle(q.w);
    }
    if (this.dictSeq === failed.seq) this.dropDict();
  }

  /** Starts the writer on the next microtask, so appends made in this tick share one batch. */
  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pumpDone = Promise.resolve().then(() => this.pump());
  }

  /** The single writer: batches go out strictly in queue order. Never throws. */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.syncDue) {
        this.syncDue = false;
        if (this.fd !== null && this.fileDirty) await this.syncFile().catch(() => this.writeErrors++);
        continue;
      }
      const b = this.queue.shift();
      if (b === undefined) {
        this.pumping = false;
        return;
      }
      this.inflight = b;
      await this.writeBatch(b);
      this.inflight = null;
    }
  }

  private async writeBatch(b: Batch): Promise<void> {
    const path = segmentPath(this.cfg.dir, b.seq);
    try {
      if (b.records === 0) {
        b.resolve();
        return;
      }
      if (this.fd === null || this.fileSeq !== b.seq) await this.switchTo(b.seq, path);
      const fd = this.fd!;
      const startOff = this.fileOffset;
      const len = b.w.length;
      try {
        const t0 = performance.now();
        await writeAll(fd, b.w.buf, 0, len, startOff);
        const ms = performance.now() - t0;
        this.writeMs += ms;
        this.fileOffset = startOff + len;
        if (this.cfg.fsync === 'always' && DSYNC_WRITE_FLAGS !== null) {
          // Opened with O_DSYNC: the write was also the fdatasync.
          this.fsyncs++;
          this.lastFsyncMs = ms;
        } else {
          this.fileDirty = true;
          if (this.cfg.fsync === 'always') await this.syncFile();
        }
      } catch (e) {
        // Roll back so the next batch overwrites the failed bytes (possibly a torn record, or
        // pages whose writeback failed and can no longer be trusted after a failed fsync).
        this.fileOffset = startOff;
        this.needsTruncate = !(await tryTruncate(fd, startOff));
        throw e;
      }
      if (this.needsTruncate) this.needsTruncate = !(await tryTruncate(fd, this.fileOffset));
      if (this.cfg.fsync === 'interval') this.scheduleSync();
      this.bytesWritten += len;
      this.diskBytes += len;
      this.recordsWritten += b.records;
      b.resolve();
    } catch (e) {
      this.writeErrors++;
      const err = new UnavailableError(`wal: writing ${b.records} record(s) to ${path} failed: ${errMessage(e)}`, { cause: e });
      b.reject(err);
      this.poison(b, err);
    } finally {
      this.recycle(b.w);
    }
  }

  /** Keeps a written (or failed) batch's buffer for a later batch, if it is not oversized and the pool has room. */
  private recycle(w: ByteWriter): void {
    if (w.buf.length <= BATCH_BUFFER_KEEP_BYTES && this.pool.length < 4) {
      w.reset();
      this.pool.push(w);
    }
  }

  /** Closes the current segment (fdatasync first if asked and the policy syncs) and opens segment `seq`. */
  private async switchTo(seq: number, path: string): Promise<void> {
    if (this.fd !== null) await this.closeFile(true);
    // Under 'always' every write is durable when it returns (O_DSYNC): one system call and one
    // completion on the event loop per group commit instead of a write and then an fdatasync.
    const fd = await openFd(path, this.cfg.fsync === 'always' && DSYNC_WRITE_FLAGS !== null ? DSYNC_WRITE_FLAGS : 'w');
    try {
      await writeAll(fd, fileHeader(SEGMENT_MAGIC), 0, FILE_HEADER_BYTES, 0);
      // The new name must survive power loss before anything in the file is acknowledged.
      if (this.cfg.fsync !== 'never') await fsyncDir(this.cfg.dir);
    } catch (e) {
      await closeFd(fd).catch(noop);
      // Nothing in it was acknowledged; an empty leftover would later read as a damaged segment.
      await fs.promises.unlink(path).catch(noop);
      throw e;
    }
    this.fd = fd;
    this.fileSeq = seq;
    this.fileOffset = FILE_HEADER_BYTES;
    this.fileDirty = true;
    this.needsTruncate = false;
    this.diskBytes += FILE_HEADER_BYTES;
  }

  /**
   * Detaches the current segment synchronously (so the writer may open the next one meanwhile),
   * then truncates leftovers, fdatasyncs if asked and the policy syncs, and closes it.
   */
  private async closeFile(sync: boolean): Promise<void> {
    const fd = this.fd;
    if (fd === null) return;
    const dirty = this.fileDirty;
    const truncateTo = this.needsTruncate ? this.fileOffset : -1;
    this.fd = null;
    this.fileSeq = -1;
    this.fileDirty = false;
    this.needsTruncate = false;
    if (truncateTo >= 0) await tryTruncate(fd, truncateTo);
    if (sync && dirty && this.cfg.fsync !== 'never') {
      try {
        await this.fdatasyncTimed(fd);
      } catch {
        this.writeErrors++;
      }
    }
    await closeFd(fd).catch(noop);
  }

  private async syncFile(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return;
    await this.fdatasyncTimed(fd);
    if (this.fd === fd) this.fileDirty = false;
  }

  private async fdatasyncTimed(fd: number): Promise<void> {
    const t0 = performance.now();
    await fdatasync(fd);
    this.fsyncs++;
    this.lastFsyncMs = performance.now() - t0;
    this.fsyncMs += this.lastFsyncMs;
  }

  /** 'interval': arrange one fdatasync at most fsyncIntervalMs from now. */
  private scheduleSync(): void {
    if (this.syncTimer !== null) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.syncDue = true;
      this.kick();
    }, this.cfg.fsyncIntervalMs);
    this.syncTimer.unref();
  }
}

/** Key of a stream in replay's maps. */
function streamKey(tenant: string, fingerprint: string): string {
  return `${tenant}\u0000${fingerprint}`;
}

/** Flush marks by stream, one per chunk, for "is this entry already stored?" during replay. */
class FlushMarks {
  readonly #byStream = new Map<string, FlushMark[]>();

  add(m: FlushMark): void {
    const key = streamKey(m.tenant, m.fingerprint);
    let list = this.#byStream.get(key);
    if (list === undefined) this.#byStream.set(key, (list = []));
    // The same chunk may be marked in a segment and carried in the checkpoint.
    for (const o of list) if (o.firstSeq === m.firstSeq && o.lastSeq === m.lastSeq) return;
    list.push(m);
  }

  /** True when a mark of the stream covers sequence number `seq`. */
  covers(key: string, seq: number): boolean {
    const list = this.#byStream.get(key);
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!;
      if (seq >= m.firstSeq && seq <= m.lastSeq) return true;
    }
    return false;
  }

  all(): FlushMark[] {
    return [...this.#byStream.values()].flat();
  }
}

function describe(path: string, offset: number, reason: string, resumeAt: number, giveUp: string): string {
  const action = resumeAt < 0 ? `no valid record after it; ${giveUp}` : `skipped ${resumeAt - offset} bytes, resumed at offset ${resumeAt}`;
  return `${path}: offset ${offset}: ${reason}; ${action}`;
}

/** Best-effort ftruncate; false when it failed (the caller keeps the file flagged and retries later). */
async function tryTruncate(fd: number, lenBytes: number): Promise<boolean> {
  try {
    await ftruncate(fd, lenBytes);
    return true;
  } catch {
    return false;
  }
}

function isAllZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
