import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { LIMITED_HEAP_GROWING_PERCENT, runtimeNodeFlags } from './runtime-flags.js';

describe('V8 flags set from the config', () => {
  it('none on the defaults; a tighter heap growth with ingester.memory_limit', () => {
    expect(runtimeNodeFlags(loadConfig([], {}))).toEqual([]);
    expect(runtimeNodeFlags(loadConfig(['-ingester.memory-limit=0'], {}))).toEqual([]);
    expect(runtimeNodeFlags(loadConfig(['-ingester.memory-limit=128MiB'], {}))).toEqual([`--heap-growing-percent=${LIMITED_HEAP_GROWING_PERCENT}`]);
    // Below the launch flag's 300 (cmd/silt.ts): the point is a smaller heap.
    expect(LIMITED_HEAP_GROWING_PERCENT).toBeLessThan(300);
  });
});
