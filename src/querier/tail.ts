/**
 * Live tailing (Loki's `pkg/querier/tail`): a session first sends the newest `limit` entries
 * since `start`, oldest first, then every new entry that matches the query, about as soon as
 * the ingester appended it.
 *
 * Memory is bounded per session. Entries wait in one queue, sorted by timestamp, until they
 * are older than `delay_for` and the client can take more (the transport is writable). The
 * queue holds at most `MAX_PENDING_ENTRIES` live entries; when it is full, new entries are
 * dropped and reported in the next frame's `dropped_entries` (at most
 * `MAX_DROPPED_PER_FRAME`, as Loki), so a paused client costs a fixed amount of memory.
 */
import { LimitError } from '../errors.js';
import type { IngesterTail, IngesterTailer } from '../ingester/client.js';
import { compilePipeline, selectorMatchers } from '../logql/log/index.js';
import type { Pipeline } from '../logql/log/pipeline.js';
import type { LogSelectorExpr } from '../logql/syntax/index.js';
import { compileTemplate } from '../logql/template/index.js';
import { labelsToString, type Labels, type PushEntry, type StructuredMetadata } from '../model/index.js';
import { mergeLabels, type Querier } from './querier.js';

/** Entries per frame (Loki's maxEntriesPerTailResponse). */
export const MAX_ENTRIES_PER_FRAME = 100;
/** Dropped entries reported per frame (Loki's maxDroppedEntriesPerTailResponse). */
export const MAX_DROPPED_PER_FRAME = 1000;
/** Live entries a session queues for a slow client (Loki buffers 10 responses of 100). */
export const MAX_PENDING_ENTRIES = 1000;
/** How often a session re-checks a blocked or delayed queue, ms. */
const TICK_MS = 100;

/** One entry ready to be sent. */
export interface TailEntry {
  readonly tsNs: bigint;
  readonly line: string;
  /** Indexed stream labels. */
  readonly stream: Labels;
  readonly metadata: StructuredMetadata;
  readonly parsed: Labels;
  /** stream ∪ metadata ∪ parsed: the labels of a non-categorized answer. */
  readonly merged: Labels;
}

/** An entry that was not sent because the client was too slow. */
export interface DroppedEntry {
  readonly tsNs: bigint;
  readonly labels: Labels;
}

/** Where a session writes to: the WebSocket, seen through what the session needs. */
export interface TailTransport {
  /** Sends one frame of entries (oldest first) and the entries dropped since the last frame. */
  send(entries: readonly TailEntry[], dropped: readonly DroppedEntry[]): void;
  /** False while the client is not reading fast enough (the socket buffer is full). */
  writable(): boolean;
  /** Ends the session from the server side with a WebSocket close code and reason. */
  close(code: number, reason: string): void;
}

/** A tail request, parsed and validated. */
export interface TailRequest {
  tenant: string;
  query: string;
  expr: LogSelectorExpr;
  startNs: bigint;
  limit: number;
  delayForMs: number;
}

/** Process-wide tail bookkeeping: the per-tenant concurrency limit and the live sessions. */
export class TailManager {
  readonly #ingester: IngesterTail;
  readonly #querier: Querier;
  readonly #maxPerTenant: (tenant: string) => number;
  readonly #maxDurationMs: number;
  readonly #sessions = new Set<TailSession>();

  constructor(opts: { ingester: IngesterTail; querier: Querier; maxPerTenant: (tenant: string) => number; maxDurationMs: number }) {
    this.#ingester = opts.ingester;
    this.#querier = opts.querier;
    this.#maxPerTenant = opts.maxPerTenant;
    this.#maxDurationMs = opts.maxDurationMs;
  }

  /**
   * Starts a session: checks the tenant's limit (Loki's text), subscribes to live entries,
   * queues the history, and starts sending. Throws `LimitError` over the limit and whatever
   * the history query throws (the session is then already closed again).
   */
  async start(req: TailRequest, transport: TailTransport): Promise<TailSession> {
    const active = await this.#ingester.tailersCount(req.tenant);
    const limit = this.#maxPerTenant(req.tenant);
    if (active >= limit) throw new LimitError(`max concurrent tail requests limit exceeded, count > limit (${active + 1} > ${limit})`);
    const session = new TailSession(req, transport, this.#maxDurationMs, () => this.#sessions.delete(session));
    this.#sessions.add(session);
    try {
      await session.subscribe(this.#ingester);
      await session.loadHistory(this.#querier);
    } catch (e) {
      session.stop();
      throw e;
    }
    session.run();
    return session;
  }

  /** Live sessions (tests, metrics). */
  get size(): number {
    return this.#sessions.size;
  }

  /** The live sessions (tests). */
  sessions(): TailSession[] {
    return [...this.#sessions];
  }

  /** Closes every session (server shutdown) with 1001 "going away". */
  closeAll(): void {
    for (const s of [...this.#sessions]) s.shutdown(1001, 'server shutting down');
  }
}

/** One client's tail. */
export class TailSession implements IngesterTailer {
  readonly #req: TailRequest;
  readonly #transport: TailTransport;
  readonly #pipeline: Pipeline;
  readonly #onStop: () => void;
  readonly #maxDurationMs: number;
  /** Sorted by tsNs. */
  #pending: TailEntry[] = [];
  /** Entries beyond MAX_PENDING_ENTRIES allowed while the history is queued. */
  #historyAllowance = 0;
  #dropped: DroppedEntry[] = [];
  #unsubscribe: (() => void) | null = null;
  #tick: NodeJS.Timeout | null = null;
  #maxTimer: NodeJS.Timeout | null = null;
  #flushScheduled = false;
  #running = false;
  #stopped = false;
  /** Counters for tests and metrics. */
  sentEntries = 0;
  droppedEntries = 0;

  constructor(req: TailRequest, transport: TailTransport, maxDurationMs: number, onStop: () => void) {
    this.#req = req;
    this.#transport = transport;
    this.#maxDurationMs = maxDurationMs;
    this.#onStop = onStop;
    // Line filters run per entry here (no block pre-filtering on the live path).
    this.#pipeline = compilePipeline(req.expr, { template: compileTemplate });
  }

  /** Starts receiving live entries (before the history is read, so nothing falls between). */
  async subscribe(ingester: IngesterTail): Promise<void> {
    const unsubscribe = await ingester.tail(this.#req.tenant, selectorMatchers(this.#req.expr), this);
    if (this.#stopped) unsubscribe();
    else this.#unsubscribe = unsubscribe;
  }

  /** Queues the newest `limit` entries in [start, now). */
  async loadHistory(querier: Querier): Promise<void> {
    const endNs = BigInt(Date.now()) * 1_000_000n + 1n;
    if (this.#req.startNs >= endNs) return;
    const r = await querier.logQuery({ tenant: this.#req.tenant, query: this.#req.query, startNs: this.#req.startNs, endNs, limit: this.#req.limit, direction: 'backward' });
    // Live entries appended between subscribing and the query's snapshot are in both.
    const live = new Set<string>();
    for (const e of this.#pending) live.add(entryKey(e.tsNs, labelsToString(e.merged), e.line));
    let n = 0;
    for (const s of r.streams) {
      const merged = mergeLabels(s);
      const key = labelsToString(merged);
      for (const e of s.entries) {
        const line = e.line.toString('utf8');
        if (live.size > 0 && live.has(entryKey(e.tsNs, key, line))) continue;
        this.#insert({ tsNs: e.tsNs, line, stream: s.labels, metadata: s.metadata, parsed: s.parsed, merged });
        n++;
      }
    }
    this.#historyAllowance = n;
  }

  /** Starts sending: the tick re-checks delayed or blocked entries, pings are the transport's. */
  run(): void {
    if (this.#stopped) return;
    this.#running = true;
    this.#tick = setInterval(() => this.flush(), TICK_MS);
    this.#tick.unref();
    if (this.#maxDurationMs > 0) {
      this.#maxTimer = setTimeout(() => this.shutdown(1011, 'reached tail max duration limit'), this.#maxDurationMs);
      this.#maxTimer.unref();
    }
    this.flush();
  }

  /** IngesterTailer: runs the pipeline on new entries and queues what passes. */
  onEntries(labels: Labels, entries: readonly PushEntry[]): void {
    if (this.#stopped) return;
    const sp = this.#pipeline.forStream(labels);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const r = sp.process(e.tsNs, e.line, e.metadata);
      if (r === null) continue;
      const merged = r.labels.labels();
      if (this.#pending.length >= MAX_PENDING_ENTRIES + this.#historyAllowance) {
        this.#drop(e.tsNs, merged);
        continue;
      }
      const c = r.labels.categorized();
      this.#insert({ tsNs: e.tsNs, line: r.line.toString('utf8'), stream: c.stream, metadata: c.metadata, parsed: c.parsed, merged });
    }
    if (this.#running && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Sends every due entry the client can take, in frames of up to 100. */
  flush(): void {
    if (this.#stopped || !this.#running) return;
    const dueNs = BigInt(Date.now() - this.#req.delayForMs) * 1_000_000n;
    while (this.#transport.writable()) {
      let n = 0;
      const p = this.#pending;
      while (n < p.length && n < MAX_ENTRIES_PER_FRAME && p[n]!.tsNs <= dueNs) n++;
      if (n === 0) break;
      const frame = p.splice(0, n);
      this.#historyAllowance = Math.max(0, this.#historyAllowance - n);
      const dropped = this.#dropped;
      this.#dropped = [];
      this.#transport.send(frame, dropped);
      this.sentEntries += n;
    }
    // As in Loki, drops are reported only alongside entries: they wait for the next frame.
  }

  /** Ends the session from the server side. */
  shutdown(code: number, reason: string): void {
    if (this.#stopped) return;
    this.stop();
    this.#transport.close(code, reason);
  }

  /** Unsubscribes and releases everything (idempotent); called when the client goes away. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#tick) clearInterval(this.#tick);
    if (this.#maxTimer) clearTimeout(this.#maxTimer);
    this.#pending = [];
    this.#dropped = [];
    this.#onStop();
  }

  /** What this session tails. */
  get request(): TailRequest {
    return this.#req;
  }

  /** Entries queued now (tests). */
  get pendingCount(): number {
    return this.#pending.length;
  }

  #drop(tsNs: bigint, labels: Labels): void {
    this.droppedEntries++;
    if (this.#dropped.length < MAX_DROPPED_PER_FRAME) this.#dropped.push({ tsNs, labels });
  }

  /** Inserts keeping the queue sorted; new entries are nearly always last. */
  #insert(e: TailEntry): void {
    const p = this.#pending;
    if (p.length === 0 || p[p.length - 1]!.tsNs <= e.tsNs) {
      p.push(e);
      return;
    }
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]!.tsNs <= e.tsNs) lo = mid + 1;
      else hi = mid;
    }
    p.splice(lo, 0, e);
  }
}

function entryKey(tsNs: bigint, labels: string, line: string): string {
  return tsNs.toString() + '\u0000' + labels + '\u0000' + line;
}
