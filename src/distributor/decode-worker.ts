/**
 * Worker thread body of PushDecoder (push-decoder.ts): snappy-decompresses a protobuf push body,
 * gives each stream's label string an id (so the event loop decodes a stream's labels once, not
 * on every push) and, when asked, reads the level of every line (`LevelDetector.fromLine`). The
 * event loop only decodes the protobuf into entries. Input errors are answered, never thrown.
 */
import { parentPort } from 'node:worker_threads';
import { InvalidError } from '../errors.js';
import { LINE_LEVEL_NONE, lineLevelCode } from '../model/log-level.js';
import { uncompressSnappy } from './decode.js';
import { scanPushLines } from './decode-proto.js';
import { LevelDetector, type LevelWordScan, scanLevelWords } from './field-detection.js';
import type { DecodeJob, DecodeReply } from './push-decoder.js';
import { LevelWords } from '../wasm/kernels.js';

/** Bodies up to this size are copied into WebAssembly memory for the level-word scan (which then stays this large). */
const WASM_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** The WebAssembly level-word scan (null: unavailable, the TypeScript one serves). */
const words = LevelWords.create(WASM_MAX_BODY_BYTES);

/**
 * Level detectors by the key the event loop registered their options under. Bounded: a
 * runtime-config reload gives tenants new options (new keys), and an evicted key is answered
 * with `levelsUnknown`, after which the event loop registers it again.
 */
const detectors = new Map<number, LevelDetector>();
const MAX_DETECTORS = 256;

/**
 * Label strings seen by this worker, each with an id the event loop also knows (ids count up
 * from 0 within an epoch). Bounded: past the job's `maxLabelStrings` the map starts over in a
 * new epoch, and the event loop drops its table when it sees the epoch change.
 */
const labelIds = new Map<string, number>();
let labelsEpoch = 0;

/** What one body's scan found. */
interface BodyScan {
  /** One level code per entry in body order (LINE_LEVEL_NONE where the event loop decides from labels or metadata); null when not asked. */
  levels: Uint8Array | null;
  /** Per stream in body order: the id of its label string. */
  labelIds: Int32Array;
  /** Label strings first seen in this body, in id order from `firstNewLabelId`. */
  newLabels: string[];
  firstNewLabelId: number;
}

/**
 * Interns every stream's label string and, with a detector, reads every line's level; null
 * when the body does not decode (the event loop reports why).
 */
function scanBody(data: Buffer, d: LevelDetector | undefined, maxLabelStrings: number): BodyScan | null {
  if (labelIds.size >= maxLabelStrings) {
    labelIds.clear();
    labelsEpoch++;
  }
  const firstNewLabelId = labelIds.size;
  const newLabels: string[] = [];
  let ids = new Int32Array(256);
  let streams = 0;
  // The body is copied into WebAssembly memory on the first line that is read, if any is.
  let scan: LevelWordScan | null = null;
  let out = d === undefined ? null : new Uint8Array(1024);
  let n = 0;
  let skip = false;
  const ok = scanPushLines(data, {
    stream(start, end) {
      // Decoded as the event loop's decode would (utf8): the event loop uses this very string.
      const labels = data.toString('utf8', start, end);
      let id = labelIds.get(labels);
      if (id === undefined) {
        id = labelIds.size;
        labelIds.set(labels, id);
        newLabels.push(labels);
      }
      if (streams === ids.length) {
        const next = new Int32Array(streams * 2);
        next.set(ids);
        ids = next;
      }
      ids[streams++] = id;
      // A level label decides for the whole stream: its lines need no reading.
      if (d !== undefined) skip = d.mayHaveLevelLabel(labels);
    },
    entry(start, end, hasMetadata) {
      if (out === null) return;
      if (n === out.length) {
        const next = new Uint8Array(n * 2);
        next.set(out);
        out = next;
      }
      // Metadata may name the level itself: the event loop looks there first.
      if (skip || hasMetadata) {
        out[n++] = LINE_LEVEL_NONE;
        return;
      }
      scan ??= words !== null && words.load(data) ? words.scan : scanLevelWords;
      out[n++] = lineLevelCode(d!.fromLineAt(data, start, end, scan));
    },
  });
  if (!ok) {
    // Ids handed out for a body the event loop will reject are never sent: take them back.
    for (const l of newLabels) labelIds.delete(l);
    return null;
  }
  return { levels: out === null ? null : out.slice(0, n), labelIds: ids.slice(0, streams), newLabels, firstNewLabelId };
}

const port = parentPort;
if (port === null) throw new Error('decode-worker must run in a worker thread');
port.on('message', (j: DecodeJob & { id: number }) => {
  let reply: DecodeReply;
  const transfer: ArrayBuffer[] = [];
  // Registered first: later jobs use the key even if this body turns out to be corrupt.
  if (j.options !== null) {
    if (detectors.size >= MAX_DETECTORS) detectors.delete(detectors.keys().next().value!);
    detectors.set(j.levelsKey, new LevelDetector(j.options.fields, j.options.maxDepth));
  }
  try {
    let data: Uint8Array = uncompressSnappy(Buffer.from(j.body.buffer, j.body.byteOffset, j.body.byteLength), 0);
    // Transfer only memory we own outright (small buffers may sit in a shared pool).
    if (data.byteOffset !== 0 || data.buffer.byteLength !== data.byteLength) data = new Uint8Array(data);
    const d = j.levelsKey === 0 ? undefined : detectors.get(j.levelsKey);
    const scanned = scanBody(Buffer.from(data.buffer, data.byteOffset, data.byteLength), d, j.maxLabelStrings);
    transfer.push(data.buffer as ArrayBuffer);
    reply = { id: j.id, data, levels: null };
    if (scanned !== null) {
      reply.levels = scanned.levels;
      if (scanned.levels !== null) transfer.push(scanned.levels.buffer as ArrayBuffer);
      reply.labels = { epoch: labelsEpoch, ids: scanned.labelIds, firstNew: scanned.firstNewLabelId, newLabels: scanned.newLabels };
      transfer.push(scanned.labelIds.buffer as ArrayBuffer);
    }
    if (d === undefined && j.levelsKey !== 0) reply.levelsUnknown = true;
  } catch (e) {
    reply = e instanceof InvalidError ? { id: j.id, invalid: e.message } : { id: j.id, error: (e as Error).message };
  }
  port.postMessage(reply, transfer);
});
