/**
 * V8 flags a server sets on itself once its config is known (ADR 0037). The flags on cmd/silt.ts's
 * first line are fixed before any config is read; these depend on it.
 *
 * With `ingester.memory_limit` set the old generation may grow to 2x its live size between full
 * collections instead of 4x (ADR 0015's `--heap-growing-percent=300`): under a push flood held at
 * a 128 MiB limit the process peaked ~65 MB lower, for more collector work per MB pushed
 * (bench/RESULTS.md, "a push flood held lower"). V8 reads this flag at every collection, so it
 * applies from the next one on, on every thread. While the ingester is above its soft mark
 * (ADR 0039) the growth is tighter still: `pressureHeapGrowth` switches it to
 * PRESSURE_HEAP_GROWING_PERCENT and back.
 */
import { setFlagsFromString } from 'node:v8';
import type { SiltConfig } from '../config/config.js';

/** Heap growth between full collections while the ingester's memory is limited. */
export const LIMITED_HEAP_GROWING_PERCENT = 100;

/** Heap growth between full collections while the ingester is above its soft mark (ADR 0039). */
export const PRESSURE_HEAP_GROWING_PERCENT = 50;

/** Whether applyRuntimeNodeFlags set LIMITED_HEAP_GROWING_PERCENT on this process (a server, not an App inside another program). */
let limitedGrowth = false;

/**
 * Tightens the old generation's growth while memory is short (`shed(true)`) and puts
 * LIMITED_HEAP_GROWING_PERCENT back after (a PressureShedding helper). Only where
 * applyRuntimeNodeFlags set the limited growth: an App embedded in another program (tests)
 * leaves that program's flags alone.
 */
export const pressureHeapGrowth = {
  shed(on: boolean): void {
    if (!limitedGrowth) return;
    setFlagsFromString(`--heap-growing-percent=${on ? PRESSURE_HEAP_GROWING_PERCENT : LIMITED_HEAP_GROWING_PERCENT}`);
  },
};

/** The V8 flags `cfg` asks for beyond the launch flags (none on the defaults). */
export function runtimeNodeFlags(cfg: SiltConfig): string[] {
  return cfg.ingester.memory_limit > 0 ? [`--heap-growing-percent=${LIMITED_HEAP_GROWING_PERCENT}`] : [];
}

/** Sets runtimeNodeFlags(cfg) on this process; answers what it set. */
export function applyRuntimeNodeFlags(cfg: SiltConfig): string[] {
  const flags = runtimeNodeFlags(cfg);
  for (const f of flags) setFlagsFromString(f);
  limitedGrowth = cfg.ingester.memory_limit > 0;
  return flags;
}
