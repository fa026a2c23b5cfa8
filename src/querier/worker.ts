/**
 * The querier's frontend worker (Loki's `frontend_worker`): dials every frontend of
 * `frontend_worker.frontend_address` and keeps `concurrency` Process streams open to each. Each
 * stream says Hello, then runs the pieces the frontend sends, one at a time, answering each
 * with its HTTP result. A broken stream is dialed again with backoff; the frontend retries the
 * piece it held on another querier.
 *
 * Hello tells the frontend this querier's HTTP address (where it proxies tail requests) and
 * that it understands Cancel: on a Cancel for the piece in hand the worker aborts the piece's
 * signal — the request's `Req.signal`, the same one a client going away aborts over HTTP — so
 * the query stops at its next check and the piece is answered (499) and the stream free at once.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { CanceledError } from '../errors.js';
import {
  decodeFrontendMessage,
  encodeHello,
  encodeResult,
  KEEPALIVE_TIME_MS,
  KEEPALIVE_TIMEOUT_MS,
  MAX_MESSAGE_BYTES,
  PROCESS_PATH,
  WORKER_BACKOFF_MAX_MS,
  WORKER_BACKOFF_MIN_MS,
  type ResultMessage,
  type WorkMessage,
} from '../frontend/client.js';

/**
 * Runs one piece against this querier's query API; never rejects (errors are HTTP answers).
 * `signal` aborts when the frontend cancels the piece; the answer should then come promptly.
 */
export type PieceExecutor = (work: WorkMessage, signal: AbortSignal) => Promise<Omit<ResultMessage, 'id'>>;

export interface FrontendWorkerOptions {
  /** `host:port` of each frontend. */
  addresses: readonly string[];
  /** Streams per frontend: pieces this querier runs at once from each. */
  concurrency: number;
  /** Names this querier in the frontends' logs. */
  querierId: string;
  run: PieceExecutor;
  logger: Logger;
  /**
   * `host:port` of this querier's HTTP API for the frontends' tail proxy, read when a stream
   * opens (after the server listens); an empty host means "my address as you see it". Absent or
   * empty: none advertised.
   */
  httpAddress?: () => string;
  /** Where `loki_querier_worker_pieces_cancelled_total` is registered; absent: not exported. */
  registry?: Registry;
}

const bytes = (b: Buffer): Buffer => b;

/** How long a stopping worker waits for the frontend to end its half-closed stream, ms. */
const STOP_END_WAIT_MS = 1000;

/** One Process stream and its reconnect loop. */
class StreamLoop {
  #call: grpc.ClientDuplexStream<Buffer, Buffer> | null = null;
  #busy = false;
  #stopping = false;
  #backoffMs = WORKER_BACKOFF_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #idleWaiters: (() => void)[] = [];
  /** The piece in hand and its cancellation. */
  #current: { id: number; ac: AbortController } | null = null;

  constructor(
    readonly client: grpc.Client,
    readonly opts: FrontendWorkerOptions,
    readonly address: string,
    readonly cancelled: Counter | null,
  ) {}

  start(): void {
    if (this.#stopping) return;
    const call = this.client.makeBidiStreamRequest(PROCESS_PATH, bytes, bytes, new grpc.Metadata());
    this.#call = call;
    let ended = false;
    const retry = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      this.#call = null;
      this.#busy = false;
      // The frontend gave the piece in hand to another querier: stop it here.
      this.#current?.ac.abort(new CanceledError());
      this.#current = null;
      this.#wake();
      if (this.#stopping) return;
      this.opts.logger.debug({ frontend: this.address, err }, 'frontend stream ended; dialing again');
      this.#timer = setTimeout(() => this.start(), this.#backoffMs);
      this.#timer.unref();
      this.#backoffMs = Math.min(WORKER_BACKOFF_MAX_MS, this.#backoffMs * 2);
    };
    call.on('data', (m: Buffer) => {
      this.#backoffMs = WORKER_BACKOFF_MIN_MS;
      let msg;
      try {
        msg = decodeFrontendMessage(m);
      } catch (e) {
        this.opts.logger.warn({ err: e, frontend: this.address }, 'malformed work from the frontend; ending the stream');
        call.cancel();
        return;
      }
      if (msg.work === null) {
        // A Cancel for a piece already answered (the answer crossed it) is stale: ignored.
        const cur = this.#current;
        if (cur !== null && cur.id === msg.cancel && !cur.ac.signal.aborted) {
          this.cancelled?.inc();
          cur.ac.abort(new CanceledError());
        }
        return;
      }
      const work: WorkMessage = msg.work;
      const current = { id: work.id, ac: new AbortController() };
      this.#current = current;
      this.#busy = true;
      void this.opts.run(work, current.ac.signal).then((r) => {
        if (this.#current === current) this.#current = null;
        this.#busy = false;
        if (this.#call === call && !ended) call.write(encodeResult({ id: work.id, ...r }));
        this.#wake();
      });
    });
    call.on('error', (e) => retry(e));
    call.on('end', () => retry());
    call.on('close', () => retry());
    call.write(encodeHello({ querierId: this.opts.querierId, httpAddress: this.opts.httpAddress?.() ?? '', cancel: true }));
  }

  #wake(): void {
    if (this.#busy) return;
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const f of w) f();
  }

  /** Stops dialing; lets the piece in hand finish (at most `graceMs`), then ends the stream. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#busy) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        t.unref();
        this.#idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const call = this.#call;
    if (call) {
      // Half-close and let the frontend end the stream: cancelling at once could drop the last
      // result still being written.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, STOP_END_WAIT_MS);
        t.unref();
        call.once('status', () => {
          clearTimeout(t);
          resolve();
        });
        call.end();
      });
      this.#call = null;
      call.cancel();
    }
  }
}

/** The worker: `concurrency` streams to each frontend. */
export class FrontendWorker {
  readonly #clients: grpc.Client[] = [];
  readonly #loops: StreamLoop[] = [];
  readonly #cancelled: Counter | null;

  constructor(readonly opts: FrontendWorkerOptions) {
    this.#cancelled = opts.registry
      ? new Counter({ name: 'loki_querier_worker_pieces_cancelled_total', help: 'Pieces in hand the query-frontend cancelled (their query was over); the querier stopped them.', registers: [opts.registry] })
      : null;
  }

  start(): void {
    for (const address of this.opts.addresses) {
      const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
        'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
        'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
        'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
        'grpc.keepalive_permit_without_calls': 1,
      });
      this.#clients.push(client);
      for (let i = 0; i < this.opts.concurrency; i++) {
        const loop = new StreamLoop(client, this.opts, address, this.#cancelled);
        this.#loops.push(loop);
        loop.start();
      }
    }
    this.opts.logger.info({ frontends: this.opts.addresses, concurrency: this.opts.concurrency }, `frontend worker: ${this.opts.concurrency} stream(s) to each of ${this.opts.addresses.join(', ')}`);
  }

  /** Ends every stream after the pieces in hand (at most `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(this.#loops.map((l) => l.stop(graceMs)));
    for (const c of this.#clients) c.close();
  }
}
