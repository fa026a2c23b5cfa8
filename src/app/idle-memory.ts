/**
 * Hands the JS heap's garbage back to the OS once a process goes quiet after work that grew
 * its heap (a push flood, a big query), as the JVM's G1 does with its periodic collection
 * (JEP 346). V8's own memory reducer does this only when it notices the isolate idle, which
 * under Node it did in some runs and not in others: after a push flood against a 128 MiB
 * ingester limit the same process settled at 371–411 MB or at 495–539 MB (bench/RESULTS.md,
 * "the heap given back when idle").
 *
 * Every `periodMs` it looks at the event loop's utilization since the last look; when the loop
 * was nearly idle and the heap grew enough since the last release (RELEASE_MIN_BYTES,
 * RELEASE_MIN_GROWTH), it asks V8 for a memory-reducing collection (`LowMemoryNotification`,
 * through an in-process inspector session: no port, no flag). The collection blocks the event
 * loop (417 ms for a 249 MB heap, 154 MB of it live), which is why it waits for a quiet period
 * and runs once per period of growth, not on a timer alone (ADR 0035), or once when asked
 * (`requestCollection`: the ingester laid quiet heads out at their size and left their old
 * columns to the collector).
 *
 * Then malloc's free pages go back too (ADR 0036): after the collection, and in any other quiet
 * period once the resident size or the ArrayBuffers moved by TRIM_MIN_BYTES since the last trim,
 * it calls glibc's `malloc_trim` off the event loop. Freed ArrayBuffers leave free chunks between
 * live ones that `free()` never hands back.
 *
 * Under memory pressure (the `pressure` option: the ingester above the soft mark of
 * ingester.memory_limit, a push flood being turned away) it does not wait for quiet: every
 * PRESSURE_LOOK_MS it trims once the memory moved as above (ADR 0037). A trim holds malloc's
 * locks for tens of ms, a cost worth paying only while pushes are being refused for memory.
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { mallocTrim, type MallocTrim } from '../util/malloc-trim.js';

/** Event-loop utilization over a period below which the process counts as quiet. */
export const QUIET_UTILIZATION = 0.02;
/**
 * Heap growth since the last release that is worth a collection: at least this, and at least
 * RELEASE_MIN_GROWTH of the heap after the last one. The collection's pause grows with the live
 * heap, so a big heap collects only for proportionally more garbage.
 */
export const RELEASE_MIN_BYTES = 16 * 1024 * 1024;
export const RELEASE_MIN_GROWTH = 0.25;
/**
 * Change since the last malloc trim, of the resident size or of the ArrayBuffers' memory (either
 * way), that is worth another: a push that grew head blocks, a query that filled caches, a
 * worker thread that stopped and left its arena's free chunks.
 */
export const TRIM_MIN_BYTES = 16 * 1024 * 1024;
/** How often a process under memory pressure looks for a trim, busy or not. */
export const PRESSURE_LOOK_MS = 1000;

/** What one look did. */
export type IdleAction = 'collect' | 'trim' | null;

export interface IdleMemoryStats {
  /** Collections run. */
  releases: number;
  /** Heap bytes (V8's total heap size) before and after the last one. */
  lastBeforeBytes: number;
  lastAfterBytes: number;
  /** malloc trims run, and the resident size before and after the last one. */
  trims: number;
  lastTrimBeforeBytes: number;
  lastTrimAfterBytes: number;
  /** Resident bytes the trims took away, summed. */
  trimmedBytes: number;
}

export interface MemoryReading {
  rss: number;
  /** V8's external memory: ArrayBuffers, most of what malloc holds for JS. */
  external: number;
}

function readMemory(): MemoryReading {
  return { rss: process.memoryUsage.rss(), external: getHeapStatistics().external_memory };
}

export interface IdleMemoryOptions {
  /** Counts what it did (`silt_idle_memory_releases_total`). */
  registry?: Registry;
  /** Replaces glibc's malloc_trim (null: none). */
  trim?: MallocTrim | null;
  /** Reads the resident size and the external (ArrayBuffer) memory (tests drive the trim rule with it). */
  memory?: () => MemoryReading;
  /** Runs right before each collection: drops state that rebuilds itself, so the collection takes it. */
  beforeCollect?: () => void;
  /** Whether the process is short of memory now: trims then run while busy too (checkPressure). */
  pressure?: () => boolean;
}

export class IdleMemoryRelease {
  readonly stats: IdleMemoryStats = { releases: 0, lastBeforeBytes: 0, lastAfterBytes: 0, trims: 0, lastTrimBeforeBytes: 0, lastTrimAfterBytes: 0, trimmedBytes: 0 };
  readonly #periodMs: number;
  readonly #logger: Logger;
  readonly #counter: Counter<'kind'> | null;
  /** The trim, null where there is none; looked up on first use (it loads koffi). */
  #trim: MallocTrim | null | undefined;
  readonly #memory: () => MemoryReading;
  readonly #beforeCollect: (() => void) | null;
  readonly #pressure: (() => boolean) | null;
  #pressureTimer: NodeJS.Timeout | null = null;
  /** Resident size and external memory after the last trim (or at start). */
  #trimBase: MemoryReading;
  #timer: NodeJS.Timeout | null = null;
  #session: Session | null = null;
  #lastElu = performance.eventLoopUtilization();
  /** Total heap size after the last release (or at start). */
  #baseline = getHeapStatistics().total_heap_size;
  #running = false;
  /** A collection was asked for (requestCollection): the next quiet look runs one whatever the heap's growth. */
  #requested = false;

  constructor(periodMs: number, logger: Logger, opts: IdleMemoryOptions = {}) {
    this.#periodMs = periodMs;
    this.#logger = logger;
    this.#trim = opts.trim;
    this.#memory = opts.memory ?? readMemory;
    this.#beforeCollect = opts.beforeCollect ?? null;
    this.#pressure = opts.pressure ?? null;
    this.#trimBase = this.#memory();
    this.#counter = opts.registry
      ? new Counter({ name: 'silt_idle_memory_releases_total', help: 'Memory handed back to the OS once the process went quiet: "collect" a memory-reducing JS heap collection, "trim" malloc\'s free pages (server.idle_memory_release; trims also while busy when the ingester is above the soft mark of ingester.memory_limit).', labelNames: ['kind'], registers: [opts.registry] })
      : null;
  }

  start(): void {
    if (this.#periodMs <= 0 || this.#timer !== null) return;
    this.#lastElu = performance.eventLoopUtilization();
    this.#baseline = getHeapStatistics().total_heap_size;
    this.#trimBase = this.#memory();
    this.#timer = setInterval(() => this.check(), this.#periodMs).unref();
    if (this.#pressure !== null) this.#pressureTimer = setInterval(() => this.checkPressure(), PRESSURE_LOOK_MS).unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#pressureTimer !== null) clearInterval(this.#pressureTimer);
    this.#pressureTimer = null;
    this.#session?.disconnect();
    this.#session = null;
  }

  /**
   * Asks for one collection at the next quiet look even if the heap did not grow: someone freed
   * memory that only a collection gives back (quiet heads laid out at their size leave their old
   * columns to the garbage collector). No-op with a period of 0.
   */
  requestCollection(): void {
    if (this.#periodMs > 0) this.#requested = true;
  }

  /** One look (the timer's); answers what it started. Public for tests. */
  check(): IdleAction {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.#lastElu).utilization;
    this.#lastElu = now;
    if (this.#running || utilization >= QUIET_UTILIZATION) return null;
    const before = getHeapStatistics().total_heap_size;
    const worth = Math.max(RELEASE_MIN_BYTES, this.#baseline * RELEASE_MIN_GROWTH);
    if (before >= this.#baseline + worth || this.#requested) {
      this.#requested = false;
      this.#release(before);
      return 'collect';
    }
    // A heap that shrank by itself (V8's memory reducer) is the new baseline.
    if (before < this.#baseline) this.#baseline = before;
    return this.#trim !== null && this.#moved(this.#memory()) ? this.#startTrim() : null;
  }

  /**
   * One look under memory pressure (the pressure timer's): a trim, busy or not, when the process
   * is short of memory and the memory moved by TRIM_MIN_BYTES since the last trim. Public for tests.
   */
  checkPressure(): IdleAction {
    if (this.#running || this.#trim === null || this.#pressure?.() !== true || !this.#moved(this.#memory())) return null;
    return this.#startTrim();
  }

  /** Starts one trim; looks wait until it is over. */
  #startTrim(): IdleAction {
    this.#running = true;
    void this.#trimMalloc().finally(() => (this.#running = false));
    return 'trim';
  }

  #release(before: number): void {
    try {
      if (this.#session === null) {
        this.#session = new Session();
        this.#session.connect();
      }
    } catch (err) {
      // No inspector in this Node build: nothing to do, ever.
      this.#logger.debug({ err }, 'idle memory release unavailable');
      this.stop();
      return;
    }
    this.#running = true;
    const t0 = performance.now();
    try {
      this.#beforeCollect?.();
    } catch (err) {
      this.#logger.warn({ err }, 'idle memory release: dropping rebuildable state failed');
    }
    this.#session.post('HeapProfiler.collectGarbage', (err) => {
      const ms = performance.now() - t0;
      // The collection itself is event-loop time: not a sign of work for the next look.
      this.#lastElu = performance.eventLoopUtilization();
      const after = getHeapStatistics().total_heap_size;
      this.#baseline = after;
      if (err) {
        this.#running = false;
        this.#logger.debug({ err }, 'idle memory release failed');
        return;
      }
      this.stats.releases++;
      this.stats.lastBeforeBytes = before;
      this.stats.lastAfterBytes = after;
      this.#counter?.inc({ kind: 'collect' });
      this.#logger.debug({ beforeBytes: before, afterBytes: after, ms: Math.round(ms) }, 'idle: heap garbage handed back');
      // The collection freed ArrayBuffers: their malloc pages go back now, not a period later.
      void this.#trimMalloc().finally(() => (this.#running = false));
    });
  }

  /** The resident size or the ArrayBuffers moved enough since the last trim (either way). */
  #moved(m: MemoryReading): boolean {
    const b = this.#trimBase;
    return Math.abs(m.rss - b.rss) >= TRIM_MIN_BYTES || Math.abs(m.external - b.external) >= TRIM_MIN_BYTES;
  }

  /** One malloc trim off the event loop (nothing where there is none). */
  async #trimMalloc(): Promise<void> {
    if (this.#trim === undefined) {
      this.#trim = mallocTrim();
      if (this.#trim === null) this.#logger.debug('idle malloc trim unavailable (not glibc)');
    }
    const trim = this.#trim;
    if (trim === null) return;
    const before = this.#memory().rss;
    const t0 = performance.now();
    try {
      await trim();
    } catch (err) {
      this.#logger.debug({ err }, 'idle malloc trim failed');
      this.#trim = null;
      return;
    }
    const reading = this.#memory();
    const after = reading.rss;
    this.#trimBase = reading;
    this.stats.trims++;
    this.stats.lastTrimBeforeBytes = before;
    this.stats.lastTrimAfterBytes = after;
    if (after < before) this.stats.trimmedBytes += before - after;
    this.#counter?.inc({ kind: 'trim' });
    this.#logger.debug({ beforeBytes: before, afterBytes: after, ms: Math.round(performance.now() - t0) }, 'idle: free malloc pages handed back');
  }
}
