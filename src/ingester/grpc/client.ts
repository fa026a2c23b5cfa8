/**
 * `GrpcIngesterClient`: the IngesterClient of one remote ingester (`host:port`), over the
 * services of server.ts. Every call carries the tenant in `x-scope-orgid` and a deadline (its
 * own `timeoutMs`, and the caller's AbortSignal cancels it sooner). Failures come back as the
 * ingester's own SiltError (class, fields and text, util/grpc-status.ts), or, for transport
 * failures, as the kind of their gRPC code: UNAVAILABLE is an UnavailableError naming the
 * address, a deadline a `timeout` error. An answer that does not decode is the ingester's fault
 * (`internal`), never the caller's.
 *
 * `IngesterClientPool` keeps one client (one HTTP/2 channel, reconnecting by itself) per address.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { LabelsCache } from '../../distributor/index.js';
import { SiltError, UnavailableError } from '../../errors.js';
import type { Labels, Matcher, ValidStream } from '../../model/index.js';
import { ERROR_TRAILER, fromGrpcStatus, GRPC } from '../../util/grpc-status.js';
import type { CallOptions, IngesterClient, IngesterTailer, MemStream, SelectOptions } from '../client.js';
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_FLUSH_TIMEOUT_MS, LABELS_CACHE_ENTRIES, MAX_CLIENT_RECV_MESSAGE_BYTES, PUSH_LOW_METADATA, PUSH_SEQ_METADATA } from './consts.js';
import { PATHS, TENANT_METADATA } from './services.js';
import {
  decodeCount,
  decodeSelectStreamsResponse,
  decodeSeriesResponse,
  decodeStoredKeysResponse,
  decodeStrings,
  decodeTailResponse,
  encodeLabelRequest,
  encodePushRequest,
  encodeRangeRequest,
  encodeStoredKeysRequest,
  encodeTailRequest,
} from './wire.js';

export interface GrpcIngesterClientOptions {
  /** Deadline of every call but Flush and Tail, ms. */
  timeoutMs?: number;
  /** Deadline of Flush, ms (it uploads every chunk in memory). */
  flushTimeoutMs?: number;
  /** grpc-js channel options, over Silt's defaults (message size limit). */
  channelOptions?: grpc.ChannelOptions;
}

const EMPTY = Buffer.alloc(0);
const bytes = (b: Buffer): Buffer => b;

/** The Silt error trailer of a status, if the server sent one. */
function trailerOf(md: grpc.Metadata | undefined): Buffer | undefined {
  const v = md?.get(ERROR_TRAILER)[0];
  return Buffer.isBuffer(v) ? v : undefined;
}

/** The IngesterClient of one ingester reached over gRPC. */
export class GrpcIngesterClient implements IngesterClient {
  /** `host:port` of the ingester. */
  readonly address: string;
  readonly #client: grpc.Client;
  readonly #peer: string;
  readonly #timeoutMs: number;
  /** Names this client in its pushes' order numbers (`<sender>.<n>`, push-order.ts). */
  readonly #sender = randomBytes(8).toString('hex');
  #pushes = 0;
  /** Numbers of pushes sent and not answered yet. */
  readonly #unanswered = new Set<number>();
  readonly #flushTimeoutMs: number;
  /** Parsed label texts of tailed streams (the same few arrive again and again). */
  readonly #labels = new LabelsCache(LABELS_CACHE_ENTRIES);

  constructor(address: string, opts: GrpcIngesterClientOptions = {}) {
    this.address = address;
    this.#peer = `ingester ${address}`;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#flushTimeoutMs = opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_CLIENT_RECV_MESSAGE_BYTES,
      ...opts.channelOptions,
    });
  }

  push(tenant: string, streams: ValidStream[], opts?: CallOptions): Promise<void> {
    if (streams.length === 0) return Promise.resolve();
    // Numbered in call order: the ingester applies this client's pushes in that order, waiting
    // only for numbers still unanswered here (push-order.ts).
    const req = encodePushRequest(streams);
    const n = ++this.#pushes;
    this.#unanswered.add(n);
    let low = n;
    for (const k of this.#unanswered) if (k < low) low = k;
    const md = this.#metadata(tenant);
    md.set(PUSH_SEQ_METADATA, `${this.#sender}.${n}`);
    md.set(PUSH_LOW_METADATA, String(low));
    const done = (): void => void this.#unanswered.delete(n);
    const p = this.#unary(PATHS.ingesterPush, req, md, opts, this.#timeoutMs, 'PushResponse', () => undefined);
    p.then(done, done);
    return p;
  }

  selectStreams(tenant: string, matchers: readonly Matcher[], fromNs: bigint, throughNs: bigint, opts?: SelectOptions): Promise<MemStream[]> {
    const req = encodeRangeRequest(matchers, fromNs, throughNs, opts?.shard ?? null);
    return new Promise((resolve, reject) => {
      const signal = opts?.signal;
      if (signal?.aborted) return reject(this.#aborted(signal));
      const out: MemStream[] = [];
      let failure: SiltError | null = null;
      let settled = false;
      let call: grpc.ClientReadableStream<Buffer>;
      try {
        call = this.#client.makeServerStreamRequest(PATHS.selectStreams, bytes, bytes, req, this.#metadata(tenant), { deadline: Date.now() + this.#timeoutMs });
      } catch (e) {
        return reject(this.#closed(e));
      }
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (err: SiltError | null): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err === null) resolve(out);
        else reject(err);
      };
      call.on('data', (m: Buffer) => {
        if (failure !== null) return;
        let part: MemStream[];
        try {
          part = decodeSelectStreamsResponse(m);
        } catch (e) {
          failure = this.#badAnswer('SelectStreamsResponse', e);
          call.cancel();
          return;
        }
        for (const s of part) {
          const last = out[out.length - 1];
          // The server continues a stream in the next message under the same fingerprint.
          if (last !== undefined && last.fingerprint === s.fingerprint) out[out.length - 1] = { ...last, chunks: [...last.chunks, ...s.chunks] };
          else out.push(s);
        }
      });
      // On failure grpc-js emits 'error' before 'end'.
      call.on('error', (e: grpc.ServiceError) => settle(failure ?? this.#error(e, signal, this.#timeoutMs)));
      call.on('end', () => settle(failure));
    });
  }

  storedKeys(tenant: string, ids: readonly string[], opts?: CallOptions): Promise<Map<string, string>> {
    if (ids.length === 0) return Promise.resolve(new Map());
    return this.#unary(PATHS.storedKeys, encodeStoredKeysRequest(ids), this.#metadata(tenant), opts, this.#timeoutMs, 'StoredKeysResponse', decodeStoredKeysResponse);
  }

  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly string[]> {
    return this.#unary(PATHS.label, encodeLabelRequest(null, fromNs, throughNs, matchers), this.#metadata(tenant), opts, this.#timeoutMs, 'LabelResponse', (b) => decodeStrings(b, 'LabelResponse'));
  }

  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<readonly string[]> {
    return this.#unary(PATHS.label, encodeLabelRequest(name, fromNs, throughNs, matchers), this.#metadata(tenant), opts, this.#timeoutMs, 'LabelResponse', (b) => decodeStrings(b, 'LabelResponse'));
  }

  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: CallOptions): Promise<Labels[]> {
    return this.#unary(PATHS.series, encodeRangeRequest(matchers, fromNs, throughNs), this.#metadata(tenant), opts, this.#timeoutMs, 'SeriesResponse', decodeSeriesResponse);
  }

  /**
   * Opens a Tail stream; resolves once the ingester has subscribed (its response headers), or
   * rejects with its error, or with a timeout after `timeoutMs`. Entries are handed to `tailer` as they arrive (lines are views into
   * the message). `tailer.onClose` is called once when the ingester or the connection ends the
   * stream, not after the returned unsubscribe function was called.
   */
  tail(tenant: string, matchers: readonly Matcher[], tailer: IngesterTailer): Promise<() => void> {
    const req = encodeTailRequest(matchers);
    return new Promise((resolve, reject) => {
      let subscribed = false;
      let done = false;
      let call: grpc.ClientReadableStream<Buffer>;
      try {
        call = this.#client.makeServerStreamRequest(PATHS.tail, bytes, bytes, req, this.#metadata(tenant), {});
      } catch (e) {
        return reject(this.#closed(e));
      }
      const unsubscribe = (): void => {
        if (done) return;
        done = true;
        call.cancel();
      };
      // Subscribing has the deadline of any call; the stream itself has none.
      const timer = setTimeout(() => {
        close(new SiltError('timeout', `${this.#peer}: tail not subscribed within ${this.#timeoutMs} ms`));
        call.cancel();
      }, this.#timeoutMs);
      timer.unref();
      const close = (err: SiltError | null): void => {
        clearTimeout(timer);
        if (done) return;
        done = true;
        if (!subscribed) {
          reject(err ?? new SiltError('unavailable', `${this.#peer}: tail stream ended before it was subscribed`));
          return;
        }
        try {
          tailer.onClose?.(err);
        } catch {
          // The tailer's problem; the stream is over either way.
        }
      };
      call.on('metadata', () => {
        if (subscribed || done) return;
        clearTimeout(timer);
        subscribed = true;
        resolve(unsubscribe);
      });
      call.on('data', (m: Buffer) => {
        if (done) return;
        let t: ReturnType<typeof decodeTailResponse>;
        try {
          t = decodeTailResponse(m, this.#labels);
        } catch (e) {
          const err = this.#badAnswer('TailResponse', e);
          call.cancel();
          close(err);
          return;
        }
        try {
          tailer.onEntries(t.labels, t.entries);
        } catch {
          // A throwing tailer loses these entries only, as with the in-process ingester.
        }
      });
      call.on('error', (e: grpc.ServiceError) => close(this.#error(e, undefined, 0)));
      call.on('end', () => close(null));
    });
  }

  tailersCount(tenant: string, opts?: CallOptions): Promise<number> {
    return this.#unary(PATHS.tailersCount, EMPTY, this.#metadata(tenant), opts, this.#timeoutMs, 'TailersCountResponse', (b) => decodeCount(b, 'TailersCountResponse'));
  }

  flush(opts?: CallOptions): Promise<number> {
    return this.#unary(PATHS.flush, EMPTY, this.#metadata(null), opts, this.#flushTimeoutMs, 'FlushResponse', (b) => decodeCount(b, 'FlushResponse'));
  }

  /** Closes the channel; calls in flight fail with UNAVAILABLE or CANCELLED. */
  close(): void {
    this.#client.close();
  }

  #metadata(tenant: string | null): grpc.Metadata {
    const md = new grpc.Metadata();
    if (tenant !== null) md.set(TENANT_METADATA, tenant);
    return md;
  }

  #unary<T>(path: string, req: Buffer, md: grpc.Metadata, opts: CallOptions | undefined, timeoutMs: number, answer: string, decode: (b: Buffer) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      const signal = opts?.signal;
      if (signal?.aborted) return reject(this.#aborted(signal));
      let call: grpc.ClientUnaryCall;
      try {
        call = this.#client.makeUnaryRequest(path, bytes, bytes, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) return reject(this.#error(err, signal, timeoutMs));
          try {
            resolve(decode(res ?? EMPTY));
          } catch (e) {
            reject(this.#badAnswer(answer, e));
          }
        });
      } catch (e) {
        return reject(this.#closed(e));
      }
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The error of a failed call: the caller's abort reason, our deadline, or the server's status. */
  #error(e: grpc.ServiceError, signal: AbortSignal | undefined, timeoutMs: number): SiltError {
    if (signal?.aborted) return this.#aborted(signal);
    const trailer = trailerOf(e.metadata);
    if (e.code === GRPC.DEADLINE_EXCEEDED && trailer === undefined && timeoutMs > 0) {
      return new SiltError('timeout', `${this.#peer}: no answer within ${timeoutMs} ms`);
    }
    return fromGrpcStatus(e.code, e.details, trailer, this.#peer);
  }

  /** The reason of an aborted call: the signal's own SiltError (e.g. QueryTimeoutError), or `canceled`. */
  #aborted(signal: AbortSignal): SiltError {
    const r: unknown = signal.reason;
    return r instanceof SiltError ? r : new SiltError('canceled', `${this.#peer}: call cancelled`, { cause: r });
  }

  /** grpc-js throws when a call starts on a closed client. */
  #closed(e: unknown): SiltError {
    return new UnavailableError(`${this.#peer}: client closed`, { cause: e });
  }

  #badAnswer(message: string, e: unknown): SiltError {
    return new SiltError('internal', `${this.#peer}: bad ${message}: ${(e as Error).message}`, { cause: e });
  }
}

/** One GrpcIngesterClient per ingester address, created on first use. */
export class IngesterClientPool {
  readonly #clients = new Map<string, GrpcIngesterClient>();
  readonly #make: (address: string) => GrpcIngesterClient;

  constructor(opts: GrpcIngesterClientOptions = {}, make?: (address: string) => GrpcIngesterClient) {
    this.#make = make ?? ((a) => new GrpcIngesterClient(a, opts));
  }

  /** The client of `address` (`host:port`). */
  get(address: string): GrpcIngesterClient {
    let c = this.#clients.get(address);
    if (c === undefined) this.#clients.set(address, (c = this.#make(address)));
    return c;
  }

  /** Closes and forgets the client of `address` (an ingester left the ring). */
  remove(address: string): void {
    const c = this.#clients.get(address);
    if (c === undefined) return;
    this.#clients.delete(address);
    c.close();
  }

  /** Addresses with a client. */
  addresses(): string[] {
    return [...this.#clients.keys()];
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
