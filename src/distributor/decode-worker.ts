/**
 * Worker thread body of PushDecoder (push-decoder.ts): snappy-decompresses a protobuf push body
 * and, when asked, reads the level of every line (`LevelDetector.fromLine`), so the event loop
 * only decodes the protobuf into entries. Input errors are answered, never thrown.
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
 * One level code per entry in body order (LINE_LEVEL_NONE where the event loop decides from
 * labels or metadata); null when the body does not decode (the event loop reports why).
 */
function lineLevels(data: Buffer, d: LevelDetector): Uint8Array | null {
  // The body is copied into WebAssembly memory on the first line that is read, if any is.
  let scan: LevelWordScan | null = null;
  let out = new Uint8Array(1024);
  let n = 0;
  let skip = false;
  const ok = scanPushLines(data, {
    stream(start, end) {
      // A level label decides for the whole stream: its lines need no reading.
      skip = d.mayHaveLevelLabel(data.toString('latin1', start, end));
    },
    entry(start, end, hasMetadata) {
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
      out[n++] = lineLevelCode(d.fromLineAt(data, start, end, scan));
    },
  });
  return ok ? out.slice(0, n) : null;
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
    const levels = d === undefined ? null : lineLevels(Buffer.from(data.buffer, data.byteOffset, data.byteLength), d);
    transfer.push(data.buffer as ArrayBuffer);
    if (levels !== null) transfer.push(levels.buffer as ArrayBuffer);
    reply = d === undefined && j.levelsKey !== 0 ? { id: j.id, data, levels, levelsUnknown: true } : { id: j.id, data, levels };
  } catch (e) {
    reply = e instanceof InvalidError ? { id: j.id, invalid: e.message } : { id: j.id, error: (e as Error).message };
  }
  port.postMessage(reply, transfer);
});
