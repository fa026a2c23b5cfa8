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
 * and runs once per period of growth, not on a timer alone (ADR 0035).
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';

/** Event-loop utilization over a period below which the process counts as quiet. */
export const QUIET_UTILIZATION = 0.02;
/**
 * Heap growth since the last release that is worth a collection: at least this, and at least
 * RELEASE_MIN_GROWTH of the heap after the last one. The collection's pause grows with the live
 * heap, so a big heap collects only for proportionally more garbage.
 */
export const RELEASE_MIN_BYTES = 16 * 1024 * 1024;
export const RELEASE_MIN_GROWTH = 0.25;

export interface IdleMemoryStats {
  /** Collections run. */
  releases: number;
  /** Heap bytes (V8's total heap size) before and after the last one. */
  lastBeforeBytes: number;
  lastAfterBytes: number;
}

export class IdleMemoryRelease {
  readonly stats: IdleMemoryStats = { releases: 0, lastBeforeBytes: 0, lastAfterBytes: 0 };
  readonly #periodMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #session: Session | null = null;
  #lastElu = performance.eventLoopUtilization();
  /** Total heap size after the last release (or at start). */
  #baseline = getHeapStatistics().total_heap_size;
  #running = false;

  constructor(periodMs: number, logger: Logger) {
    this.#periodMs = periodMs;
    this.#logger = logger;
  }

  start(): void {
    if (this.#periodMs <= 0 || this.#timer !== null) return;
    this.#lastElu = performance.eventLoopUtilization();
    this.#baseline = getHeapStatistics().total_heap_size;
    this.#timer = setInterval(() => this.check(), this.#periodMs).unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#session?.disconnect();
    this.#session = null;
  }

  /** One look (the timer's); answers whether it ran a collection. Public for tests. */
  check(): boolean {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.#lastElu).utilization;
    this.#lastElu = now;
    const before = getHeapStatistics().total_heap_size;
    const worth = Math.max(RELEASE_MIN_BYTES, this.#baseline * RELEASE_MIN_GROWTH);
    if (this.#running || utilization >= QUIET_UTILIZATION || before < this.#baseline + worth) {
      // A heap that shrank by itself (V8's memory reducer) is the new baseline.
      if (before < this.#baseline) this.#baseline = before;
      return false;
    }
    this.#release(before);
    return true;
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
    this.#session.post('HeapProfiler.collectGarbage', (err) => {
      this.#running = false;
      const ms = performance.now() - t0;
      // The collection itself is event-loop time: not a sign of work for the next look.
      this.#lastElu = performance.eventLoopUtilization();
      const after = getHeapStatistics().total_heap_size;
      this.#baseline = after;
      if (err) {
        this.#logger.debug({ err }, 'idle memory release failed');
        return;
      }
      this.stats.releases++;
      this.stats.lastBeforeBytes = before;
      this.stats.lastAfterBytes = after;
      this.#logger.debug({ beforeBytes: before, afterBytes: after, ms: Math.round(ms) }, 'idle: heap garbage handed back');
    });
  }
}
