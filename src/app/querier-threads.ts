/**
 * Querier threads of a `-target=all` process (`querier.threads`, Silt extension). A Node
 * process runs its JavaScript on one core; a query's shards and windows (ADR 0027) can only
 * run side by side when several queriers pull them. Each thread is a querier as a
 * `-target=querier` process would run it (querier-thread.ts), connected to this process's
 * query-frontend and ingester over local gRPC: the same client interfaces a network sits behind
 * in a cluster, so a thread needs no code a remote querier does not have.
 *
 * A thread that dies is started again after a second; meanwhile the frontend retries its
 * pieces on the other queriers. `stop` lets each thread finish the pieces in hand first.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { SiltConfig } from '../config/config.js';
import { startSiltWorker } from '../util/worker-channel.js';
import type { BuildInfo } from './version.js';

/** What a thread is started with (its `workerData`). */
export interface QuerierThreadData {
  cfg: SiltConfig;
  /** `host:port` of this process's gRPC server: the frontend and the ingester services. */
  address: string;
  index: number;
  /** Queriers of the process in all (its own and the threads): the caches are shared out among them. */
  queriers: number;
  /** Pieces the thread runs at once. */
  concurrency: number;
  build: BuildInfo;
}

export type ThreadRequest = { type: 'metrics'; id: number } | { type: 'stop'; drainMs: number } | { type: 'deletes'; tenant: string };
/** `stopped` carries the thread's metrics as it ended (counters a `shed` keeps summed in). */
export type ThreadReply = { type: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] } | { type: 'stopped'; metrics: MetricObjectWithValues<MetricValue<string>>[] };

/** Threads for `querier.threads` (-1: one per core beyond the first), where the process has a querier, a frontend and an ingester and no ring. */
export function querierThreadCount(cfg: SiltConfig, mods: ReadonlySet<string>, ring: boolean): number {
  if (ring || !mods.has('querier') || !mods.has('query-frontend') || !mods.has('ingester')) return 0;
  if (cfg.frontend_worker.frontend_address !== '') return 0;
  const n = cfg.querier.threads;
  return n >= 0 ? n : Math.max(0, availableParallelism() - 1);
}

/**
 * Whether a piece reads the ingester: its `end` (or `time`) in nanoseconds is within
 * `query_ingesters_within` of now, as the querier decides (0: always). Unknown: true.
 * Such pieces run best on the process's own querier (Frontend `inProcessFirst`).
 */
export function pieceReadsIngester(params: readonly (readonly [string, string])[], withinMs: number, nowMs = Date.now()): boolean {
  if (withinMs === 0) return true;
  let end: string | undefined;
  for (const [k, v] of params) if (k === 'end' || k === 'time') end = v;
  if (end === undefined || !/^\d{1,19}$/.test(end)) return true;
  return BigInt(end) >= BigInt(nowMs - withinMs) * 1_000_000n;
}

/** How long a stopping thread may take past its drain time before it is terminated, ms. */
const STOP_GRACE_MS = 2000;
/** Wait before a thread that died is started again, ms. */
const RESTART_DELAY_MS = 1000;
/** How long a thread stopped by `shed` may take to finish the pieces in hand, ms. */
const SHED_DRAIN_MS = 5000;
/** Longest wait for a thread's metrics at scrape time, ms (a busy thread answers between pieces' steps). */
const METRICS_TIMEOUT_MS = 1000;

interface Thread {
  index: number;
  worker: Worker | null;
  /** Scrapes waiting for this thread's metrics, by id. */
  pending: Map<number, (m: MetricObjectWithValues<MetricValue<string>>[]) => void>;
  /** Called with the thread's last metrics when it answers a stop (null: none came). */
  stopped: ((last: MetricObjectWithValues<MetricValue<string>>[] | null) => void) | null;
  /** A `shed` is stopping it. */
  ending: boolean;
}

export class QuerierThreads {
  readonly count: number;
  readonly #threads: Thread[] = [];
  readonly #cfg: SiltConfig;
  readonly #build: BuildInfo;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #restarts: Counter;
  #address = '';
  #stopping = false;
  /** Threads stopped for memory pressure (`shed`). */
  #shed = false;
  /** Counters and histograms of threads that `shed` ended (one part per end, folded at scrapes): the process's sums never go back when a thread starts again. */
  #retired: MetricObjectWithValues<MetricValue<string>>[][] = [];
  #folding = false;
  #nextId = 1;

  constructor(o: { count: number; cfg: SiltConfig; build: BuildInfo; logger: Logger; concurrency: number; registry: Registry }) {
    this.count = o.count;
    this.#cfg = o.cfg;
    this.#build = o.build;
    this.#logger = o.logger;
    this.#concurrency = o.concurrency;
    this.#restarts = new Counter({ name: 'silt_querier_thread_restarts_total', help: 'Querier threads started again after they died.', registers: [o.registry] });
  }

  /** Starts the threads; they dial `address` (this process's gRPC server). */
  start(address: string): void {
    this.#address = address;
    for (let i = 0; i < this.count; i++) {
      const t: Thread = { index: i, worker: null, pending: new Map(), stopped: null, ending: false };
      this.#threads.push(t);
      if (!this.#shed) this.#spawn(t);
    }
    this.#logger.info({ threads: this.count }, `${this.count} querier thread(s) started`);
  }

  #spawn(t: Thread): void {
    const data: QuerierThreadData = { cfg: this.#cfg, address: this.#address, index: t.index, queriers: this.count + 1, concurrency: this.#concurrency, build: this.#build };
    let w: Worker;
    try {
      w = startSiltWorker(new URL('./querier-thread', import.meta.url), import.meta.url, `silt-querier-${t.index}`, data);
    } catch (e) {
      this.#logger.error({ err: e, thread: t.index }, 'querier thread failed to start');
      this.#respawnLater(t);
      return;
    }
    t.worker = w;
    w.on('message', (m: ThreadReply) => {
      if (m.type === 'metrics') {
        const done = t.pending.get(m.id);
        t.pending.delete(m.id);
        done?.(m.metrics);
      } else if (m.type === 'stopped') {
        t.stopped?.(m.metrics);
      }
    });
    w.on('error', (e) => this.#logger.error({ err: e, thread: t.index }, 'querier thread failed'));
    w.on('exit', (code) => {
      if (t.worker !== w) return;
      t.worker = null;
      for (const done of t.pending.values()) done([]);
      t.pending.clear();
      t.stopped?.(null);
      if (this.#stopping) return;
      this.#logger.error({ thread: t.index, code }, `querier thread ${t.index} exited with code ${code}; starting it again`);
      this.#respawnLater(t);
    });
  }

  #respawnLater(t: Thread): void {
    if (this.#stopping) return;
    setTimeout(() => {
      // A shed thread is started by shed(false).
      if (this.#stopping || this.#shed || t.worker !== null || t.ending) return;
      this.#restarts.inc();
      this.#spawn(t);
    }, RESTART_DELAY_MS).unref();
  }

  /**
   * The text of `/metrics`: `own` (this process's registry) with every thread's metrics summed
   * in (counters and histograms add; a thread that does not answer in time is left out).
   */
  async metrics(own: Registry): Promise<string> {
    const n = this.#retired.length;
    if (n > 1 && !this.#folding) {
      // One fold at a time; parts retired meanwhile stay after the folded one.
      this.#folding = true;
      try {
        const folded = await AggregatorRegistry.aggregate(this.#retired.slice(0, n)).getMetricsAsJSON();
        this.#retired.splice(0, n, folded);
      } finally {
        this.#folding = false;
      }
    }
    const parts = await Promise.all([own.getMetricsAsJSON(), ...this.#retired, ...this.#threads.map((t) => this.#threadMetrics(t))]);
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  #threadMetrics(t: Thread): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    const w = t.worker;
    if (w === null) return Promise.resolve([]);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        t.pending.delete(id);
        resolve([]);
      }, METRICS_TIMEOUT_MS);
      t.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      w.postMessage({ type: 'metrics', id } satisfies ThreadRequest);
    });
  }

  /** Ends thread `index` at once, as a crash would (fault tests); it is started again like a thread that died. */
  async terminate(index: number): Promise<void> {
    await this.#threads[index]?.worker?.terminate();
  }

  /** A delete request of `tenant` was added, cancelled or processed: the threads drop their cached lists. */
  deletesChanged(tenant: string): void {
    for (const t of this.#threads) t.worker?.postMessage({ type: 'deletes', tenant } satisfies ThreadRequest);
  }

  /** Lets every thread finish its pieces in hand (at most `drainMs`), then ends it. */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#threads.map((t) => this.#end(t, drainMs)));
  }

  /**
   * `true` (memory pressure, see PressureShedding): each thread finishes the pieces in hand and
   * ends, handing back its isolate, caches and malloc arena; the process's own querier runs every
   * piece meanwhile (the frontend sends pieces to the queriers connected). `false`: the threads
   * start again.
   */
  shed(on: boolean): void {
    if (on === this.#shed || this.#stopping) return;
    this.#shed = on;
    for (const t of this.#threads) {
      if (on) void this.#retire(t);
      else if (t.worker === null && !t.ending) this.#spawn(t);
    }
  }

  /** Whether `shed(true)` holds the threads stopped. */
  get shedding(): boolean {
    return this.#shed;
  }

  async #retire(t: Thread): Promise<void> {
    if (t.worker === null || t.ending) return;
    t.ending = true;
    await this.#end(t, SHED_DRAIN_MS, true);
    t.ending = false;
    if (!this.#shed && !this.#stopping) this.#spawn(t);
  }

  /**
   * Asks `t` to finish its pieces in hand (at most `drainMs`) and ends it. With `keep`, its last
   * counters and histograms join the retired ones in the same step that forgets the thread, so
   * no scrape sees them missing.
   */
  async #end(t: Thread, drainMs: number, keep = false): Promise<void> {
    const w = t.worker;
    if (w === null) return;
    const last = await new Promise<MetricObjectWithValues<MetricValue<string>>[] | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), drainMs + STOP_GRACE_MS);
      t.stopped = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      w.postMessage({ type: 'stop', drainMs } satisfies ThreadRequest);
    });
    t.stopped = null;
    t.worker = null;
    if (keep && last !== null) this.#retired.push(last.filter((m) => ['counter', 'histogram'].includes(String(m.type))));
    await w.terminate();
  }
}
