/**
 * Decodes push bodies, moving the per-byte work of protobuf+snappy bodies — decompression and
 * reading each line's level for `detected_level` — to a worker thread. The event loop, which
 * is what limits ingestion, keeps only the protobuf decode into entries (see ADR 0012). The
 * worker also interns label strings: the event loop gets the same string object for a stream
 * on every push, so it neither decodes it again nor hashes it again in the maps keyed by it.
 *
 * Answers are those of `decodePushBody`: same entries, same errors. Small bodies, JSON (by
 * Content-Type, or by a first `{`, which no protobuf body this large starts with: its snappy
 * length prefix has the high bit set), gzip and deflate are decoded inline; so is everything
 * once the worker is unavailable.
 */
import { InvalidError } from '../errors.js';
import type { PushRequest } from '../model/stream.js';
import { WorkerChannel, type WorkerReply } from '../util/worker-channel.js';
import { checkSnappyLength, decodePushBody, JSON_MEDIA_TYPE, looksLikeJson, protobufPushError, pushMediaType } from './decode.js';
import { decodePushRequestProto, type InternedLabels } from './decode-proto.js';

/** Bodies smaller than this are decoded inline: the thread hop would cost more than it saves. */
export const WORKER_MIN_BODY_BYTES = 16 * 1024;

/** How the tenant's lines are read for `detected_level` (null: not at all). */
export interface LineLevelOptions {
  fields: readonly string[];
  maxDepth: number;
}

/** What the event loop posts: the body (moved) and which level options apply. */
export interface DecodeJob {
  body: Uint8Array;
  /** 0: read no levels; else the options registered under this key (sent once, with `options`). */
  levelsKey: number;
  /** The options of `levelsKey`, on the first job that uses it (messages arrive in order). */
  options: LineLevelOptions | null;
  /** How many label strings the worker keeps ids for before it starts over (a new epoch). */
  maxLabelStrings: number;
}

/**
 * The label strings of a body's streams as ids the worker hands out: `ids[k]` for stream k,
 * and the strings first seen in this body (ids `firstNew`, `firstNew + 1`, …). Ids are valid
 * within an epoch; a new epoch starts the table over.
 */
export interface LabelIds {
  epoch: number;
  ids: Int32Array;
  firstNew: number;
  newLabels: string[];
}

/** The worker's answer: the decompressed body and line levels, or why the input is invalid. */
export interface DecodeReply extends WorkerReply {
  data?: Uint8Array;
  levels?: Uint8Array | null;
  /** Absent when the worker's scan found the body malformed. */
  labels?: LabelIds;
  /** InvalidError message (corrupt snappy data). */
  invalid?: string;
  /** The worker no longer knows the job's level options: send them again. */
  levelsUnknown?: boolean;
}

export class PushDecoder {
  readonly #channel: WorkerChannel<DecodeReply> | null;
  /** Keys of the level options the worker knows, by fields array and depth (the array is the tenant limits' own). */
  #keys = new WeakMap<readonly string[], Map<number, number>>();
  #nextKey = 1;
  /**
   * Label strings by the worker's ids, so each stream's string is decoded (and hashed by the
   * caches keyed by it) once, not on every push; per-stream work is most of the push path's.
   */
  #labels: string[] = [];
  #labelsEpoch = -1;

  readonly #maxLabelStrings: number;
  /** Set by shed(true): bodies are decoded inline while memory is short. */
  #inline = false;

  /**
   * `worker` false decodes everything inline. `maxLabelStrings` bounds the label strings
   * interned by the worker and kept here (default 100k, as Loki's label cache). `idleStopMs`:
   * the worker stops after this long without a body (WorkerChannel's default when absent).
   */
  constructor(opts: { worker: boolean; maxLabelStrings?: number; idleStopMs?: number }) {
    this.#maxLabelStrings = Math.max(1, opts.maxLabelStrings ?? 100_000);
    this.#channel = opts.worker ? new WorkerChannel<DecodeReply>(new URL('./decode-worker', import.meta.url), import.meta.url, 'push decoder', opts.idleStopMs) : null;
  }

  /**
   * `true` (memory pressure, see PressureShedding): bodies are decoded inline from now on and the
   * worker stops once the bodies in hand are answered, handing back its isolate and malloc arena;
   * `false`: back to the worker, started again by the next body.
   */
  shed(on: boolean): void {
    this.#inline = on;
    if (on) this.#channel?.stopWhenIdle();
  }

  /**
   * `decodePushBody`, with `levels` read off-thread when given. `maxDecompressedBytes`
   * bounds any decompression (0: none).
   */
  async decode(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined, maxDecompressedBytes: number, levels: LineLevelOptions | null): Promise<PushRequest> {
    const ch = this.#channel;
    const enc = contentEncoding ?? '';
    if (ch === null || this.#inline || ch.failed || body.length < WORKER_MIN_BODY_BYTES || (enc !== '' && enc !== 'snappy') || looksLikeJson(body)) {
      return decodePushBody(body, contentType, contentEncoding, maxDecompressedBytes);
    }
    const mediaType = pushMediaType(contentType);
    if (mediaType === JSON_MEDIA_TYPE) return decodePushBody(body, contentType, contentEncoding, maxDecompressedBytes);
    try {
      checkSnappyLength(body, maxDecompressedBytes);
    } catch (err) {
      throw protobufPushError(err, mediaType);
    }
    if (!ch.running) {
      // This call starts a worker (the first, or one after an idle stop): it knows no label ids
      // and no level options yet. Nothing is pending, so no reply of the old one can come.
      this.#labels = [];
      this.#labelsEpoch = -1;
      this.#keys = new WeakMap();
    }
    // Our own copy moves to the worker; `body` stays intact for the inline fallback.
    const own = new Uint8Array(body.length);
    own.set(body);
    let levelsKey = 0;
    let options: LineLevelOptions | null = null;
    if (levels !== null) {
      let byDepth = this.#keys.get(levels.fields);
      if (byDepth === undefined) this.#keys.set(levels.fields, (byDepth = new Map()));
      levelsKey = byDepth.get(levels.maxDepth) ?? 0;
      if (levelsKey === 0) {
        // New options: registered with this job, so later jobs send only the key.
        levelsKey = this.#nextKey++;
        byDepth.set(levels.maxDepth, levelsKey);
        options = { fields: levels.fields, maxDepth: levels.maxDepth };
      }
    }
    let r: DecodeReply;
    try {
      r = await ch.call({ body: own, levelsKey, options, maxLabelStrings: this.#maxLabelStrings } satisfies DecodeJob, [own.buffer]);
    } catch {
      return decodePushBody(body, contentType, contentEncoding, maxDecompressedBytes);
    }
    // Forget an evicted key, so the next body registers the options again.
    if (r.levelsUnknown === true && levels !== null) this.#keys.get(levels.fields)?.delete(levels.maxDepth);
    // Taken in before anything can fail: later bodies may use these ids.
    const interned = r.labels === undefined ? null : this.#intern(r.labels);
    if (r.invalid !== undefined) throw protobufPushError(new InvalidError(r.invalid), mediaType);
    const d = r.data!;
    try {
      return decodePushRequestProto(Buffer.from(d.buffer, d.byteOffset, d.byteLength), r.levels ?? null, interned);
    } catch (err) {
      throw protobufPushError(err, mediaType);
    }
  }

  /** Whether the worker thread is running (false before the first body and after an idle stop). */
  get workerRunning(): boolean {
    return this.#channel?.running ?? false;
  }

  /** Adds a reply's new label strings to the table; the ids of its streams, or null if they are from an older epoch. */
  #intern(l: LabelIds): InternedLabels | null {
    if (l.epoch < this.#labelsEpoch) return null;
    if (l.epoch > this.#labelsEpoch) {
      this.#labels = [];
      this.#labelsEpoch = l.epoch;
    }
    const t = this.#labels;
    for (let i = 0; i < l.newLabels.length; i++) t[l.firstNew + i] = l.newLabels[i]!;
    return { ids: l.ids, table: t };
  }

  close(): Promise<void> {
    return this.#channel?.close() ?? Promise.resolve();
  }
}
