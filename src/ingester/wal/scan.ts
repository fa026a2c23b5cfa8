/**
 * Walks the frames of a segment or checkpoint buffer, validating length and crc, and resyncs
 * past damage by searching for the next frame whose crc checks out.
 */
import {
  FILE_HEADER_BYTES,
  FORMAT_VERSION,
  FRAME_HEADER_BYTES,
  MAX_RECORD_BYTES,
  MAX_TENANT_BYTES,
  RECORD_CHECKPOINT_END,
  RECORD_CHECKPOINT_CHUNKS,
  RECORD_ENTRIES,
  RECORD_ENTRIES_DICT,
  RECORD_ENTRIES_SEQ,
  RECORD_FLUSHED,
} from './consts.js';
import { frameCrc } from './record.js';

/** One damaged region found by `scanFrames`. */
export interface FrameProblem {
  /** Offset of the first bad frame. */
  offset: number;
  /** What was wrong there. */
  reason: string;
  /** Offset where scanning resumed, or -1 when no valid frame follows (the rest is garbage or torn). */
  resumeAt: number;
}

/**
 * Called for each crc-valid frame with the payload range (after the type byte). Return null when
 * the payload was understood, or a reason string to report the frame as undecodable.
 */
export type FrameVisitor = (type: number, payloadStart: number, payloadEnd: number) => string | null;

/** A fresh 8-byte file header: magic, version, 3 reserved zero bytes. */
export function fileHeader(magic: number): Buffer {
  const h = Buffer.alloc(FILE_HEADER_BYTES);
  h.writeUInt32BE(magic, 0);
  h[4] = FORMAT_VERSION;
  return h;
}

/** Checks a file header; returns null when valid, else the reason. Throws on a newer format version. */
export function checkFileHeader(buf: Buffer, magic: number, path: string): string | null {
  if (buf.length < FILE_HEADER_BYTES) return `file too short for a header (${buf.length} bytes)`;
  const m = buf.readUInt32BE(0);
  if (m !== magic) return `bad magic 0x${m.toString(16)}`;
  const v = buf[4]!;
  if (v > FORMAT_VERSION) {
    // Not corruption: replaying would silently drop data a newer Silt wrote. Refuse instead.
    throw new Error(`wal: ${path} has format version ${v}, this build reads up to ${FORMAT_VERSION}`);
  }
  if (v === 0) return 'bad format version 0';
  return null;
}

/** Null when a complete, crc-valid frame starts at `pos`, else why not. */
function checkFrame(buf: Buffer, pos: number, end: number): string | null {
  if (end - pos < FRAME_HEADER_BYTES + 1) return `incomplete frame header (${end - pos} bytes left)`;
  const len = buf.readUInt32BE(pos);
  if (len < 1 || len > MAX_RECORD_BYTES) return `bad frame length ${len}`;
  if (pos + FRAME_HEADER_BYTES + len > end) return `frame of ${len} bytes runs past the end (${end - pos - FRAME_HEADER_BYTES} left)`;
  if (frameCrc(buf, pos, pos + FRAME_HEADER_BYTES + len) !== buf.readUInt32BE(pos + 4)) return 'crc mismatch';
  return null;
}

/**
 * Cheap structural test before paying for a crc during resync: known type, plausible length, and
 * for entries records a short printable tenant. Keeps the byte-by-byte search near linear.
 */
function plausibleFrame(buf: Buffer, q: number, end: number): boolean {
  if (end - q < FRAME_HEADER_BYTES + 2) return false;
  const len = buf.readUInt32BE(q);
  if (len < 2 || len > MAX_RECORD_BYTES || q + FRAME_HEADER_BYTES + len > end) return false;
  const type = buf[q + FRAME_HEADER_BYTES]!;
  if (type === RECORD_CHECKPOINT_END) return len <= 21;
  // Every other frame type starts with the tenant string.
  if (type !== RECORD_ENTRIES && type !== RECORD_ENTRIES_DICT && type !== RECORD_ENTRIES_SEQ && type !== RECORD_FLUSHED && type !== RECORD_CHECKPOINT_CHUNKS) return false;
  let p = q + FRAME_HEADER_BYTES + 1;
  const bodyEnd = q + FRAME_HEADER_BYTES + len;
  let tlen = buf[p++]!;
  if (tlen >= 0x80) {
    if (p >= bodyEnd) return false;
    const hi = buf[p++]!;
    if (hi >= 0x80) return false;
    tlen = (tlen & 0x7f) | (hi << 7);
  }
  if (tlen > MAX_TENANT_BYTES || p + tlen >= bodyEnd) return false;
  for (let i = p; i < p + tlen; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** First offset in (from, end) where a valid frame starts, or -1. */
function resync(buf: Buffer, from: number, end: number): number {
  for (let q = from; q + FRAME_HEADER_BYTES + 2 <= end; q++) {
    if (plausibleFrame(buf, q, end) && checkFrame(buf, q, end) === null) return q;
  }
  return -1;
}

/**
 * Visits every valid frame in `buf[start, end)` in order and returns the damaged regions. A frame
 * with a valid crc that the visitor rejects is skipped by its length (framing is intact); any other
 * damage resyncs to the next crc-valid frame. The caller decides whether a final problem with
 * `resumeAt === -1` is a torn tail (last segment) or corruption.
 */
export function scanFrames(buf: Buffer, start: number, end: number, visit: FrameVisitor): FrameProblem[] {
  const problems: FrameProblem[] = [];
  let pos = start;
  while (pos < end) {
    const bad = checkFrame(buf, pos, end);
    if (bad === null) {
      const next = pos + FRAME_HEADER_BYTES + buf.readUInt32BE(pos);
      const err = visit(buf[pos + FRAME_HEADER_BYTES]!, pos + FRAME_HEADER_BYTES + 1, next);
      if (err !== null) problems.push({ offset: pos, reason: err, resumeAt: next });
      pos = next;
      continue;
    }
    const q = resync(buf, pos + 1, end);
    problems.push({ offset: pos, reason: bad, resumeAt: q });
    if (q < 0) break;
    pos = q;
  }
  return problems;
}
