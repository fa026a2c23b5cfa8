import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PressureShedding, type Sheddable } from './pressure-shedding.js';

/** A helper that records every shed(on) it is told. */
function recorder(): Sheddable & { calls: boolean[] } {
  const calls: boolean[] = [];
  return { calls, shed: (on) => calls.push(on) };
}

async function gauge(r: Registry): Promise<number> {
  const text = await r.metrics();
  const line = text.split('\n').find((l) => l.startsWith('silt_memory_pressure_helpers_shed '));
  return Number(line?.split(' ')[1]);
}

describe('PressureShedding', () => {
  it('sheds every helper on the first look under pressure and restores them only after holdMs without it', async () => {
    let pressure = false;
    let now = 1_000_000;
    const a = recorder();
    const b = recorder();
    const registry = new Registry();
    const s = new PressureShedding({ pressure: () => pressure, helpers: [a, b], logger: pino({ level: 'silent' }), registry, holdMs: 10_000, nowMs: () => now });
    // Series: [pressure, ms advanced before the look] → expected shedding after the look.
    const steps: [boolean, number, boolean][] = [
      [false, 1000, false],
      [true, 1000, true],
      [true, 1000, true],
      [false, 1000, true],
      [false, 8999, true], // 9,999 ms since the last pressure
      [true, 1, true], // pressure again: the hold starts over
      [false, 9999, true],
      [false, 1, false], // 10,000 ms without pressure
      [false, 60_000, false],
      [true, 1000, true],
    ];
    for (const [p, dt, want] of steps) {
      pressure = p;
      now += dt;
      s.look();
      expect(s.shedding).toBe(want);
      expect(await gauge(registry)).toBe(want ? 1 : 0);
    }
    // Each helper was told once per change, in order.
    expect(a.calls).toEqual([true, false, true]);
    expect(b.calls).toEqual([true, false, true]);
  });

  it('looks on its own timer once started, and not after stop', async () => {
    let pressure = true;
    const a = recorder();
    const s = new PressureShedding({ pressure: () => pressure, helpers: [a], logger: pino({ level: 'silent' }), registry: new Registry(), holdMs: 0, lookMs: 20 });
    s.start();
    try {
      for (let i = 0; i < 100 && !s.shedding; i++) await new Promise((r) => setTimeout(r, 10));
      expect(a.calls).toEqual([true]);
      pressure = false;
      for (let i = 0; i < 100 && s.shedding; i++) await new Promise((r) => setTimeout(r, 10));
      expect(a.calls).toEqual([true, false]);
    } finally {
      s.stop();
    }
    pressure = true;
    await new Promise((r) => setTimeout(r, 100));
    expect(a.calls).toEqual([true, false]);
  });
});
