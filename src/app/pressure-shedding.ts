/**
 * Helper threads shed under memory pressure (ADR 0039). A process with an ingester keeps worker
 * threads beside its event loop: the block sealer (compression and search filters of cut
 * blocks), the push decoder (snappy and line levels of push bodies) and, in `-target=all`, the
 * querier threads. Each is an isolate with its own heap and malloc arena, 10–40 MB during a push
 * flood. While the ingester is above the soft mark of ingester.memory_limit (early flushes
 * running, pushes about to be refused for memory) that memory is worth more than the core they
 * lend: blocks are sealed and bodies decoded on the event loop, the sealer and decoder threads
 * stop once the work in hand is answered, and the querier threads finish their pieces and end
 * (the process's own querier runs every piece meanwhile); the JS heap's growth between full
 * collections is tightened too (runtime-flags.ts). Once the ingester has been below the soft
 * mark for `holdMs`, everything goes back.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { PRESSURE_LOOK_MS } from './idle-memory.js';

/** What can be shed: the block sealer, the push decoder, the querier threads, the heap's growth. */
export interface Sheddable {
  shed(on: boolean): void;
}

/** How long the pressure must have been gone before the helpers come back, ms (no start and stop per second at the mark). */
export const SHED_HOLD_MS = 10_000;

export class PressureShedding {
  readonly #pressure: () => boolean;
  readonly #helpers: readonly Sheddable[];
  readonly #logger: Logger;
  readonly #holdMs: number;
  readonly #lookMs: number;
  readonly #now: () => number;
  readonly #gauge: Gauge;
  #timer: NodeJS.Timeout | null = null;
  #shed = false;
  #lastPressureMs = 0;

  constructor(o: { pressure: () => boolean; helpers: readonly Sheddable[]; logger: Logger; registry: Registry; holdMs?: number; lookMs?: number; nowMs?: () => number }) {
    this.#pressure = o.pressure;
    this.#helpers = o.helpers;
    this.#logger = o.logger;
    this.#holdMs = o.holdMs ?? SHED_HOLD_MS;
    // As often as IdleMemoryRelease looks at the same pressure for its trims.
    this.#lookMs = o.lookMs ?? PRESSURE_LOOK_MS;
    this.#now = o.nowMs ?? Date.now;
    this.#gauge = new Gauge({
      name: 'silt_memory_pressure_helpers_shed',
      help: 'Whether the helper threads (block sealer, push decoder, querier threads) are stopped (1) because the ingester is above the soft mark of ingester.memory_limit: blocks are sealed and push bodies decoded on the event loop, the process querier runs every query piece.',
      registers: [o.registry],
    });
    this.#gauge.set(0);
  }

  get shedding(): boolean {
    return this.#shed;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.look(), this.#lookMs).unref();
  }

  /** Stops looking; helpers shed stay shed (the process is stopping). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One look (the timer's): sheds under pressure, restores after `holdMs` without. */
  look(): void {
    const now = this.#now();
    if (this.#pressure()) {
      this.#lastPressureMs = now;
      if (!this.#shed) this.#set(true);
    } else if (this.#shed && now - this.#lastPressureMs >= this.#holdMs) {
      this.#set(false);
    }
  }

  #set(on: boolean): void {
    this.#shed = on;
    this.#gauge.set(on ? 1 : 0);
    for (const h of this.#helpers) h.shed(on);
    if (on) this.#logger.info('ingester above the soft mark of ingester.memory_limit: helper threads (block sealer, push decoder, querier threads) stopped until it has been below for a while');
    else this.#logger.info('ingester below the soft mark of ingester.memory_limit: helper threads back');
  }
}
