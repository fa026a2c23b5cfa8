import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CanceledError, QueryTimeoutError } from '../errors.js';
import { Deadline, NO_DEADLINE } from './deadline.js';

/** A full garbage collection (V8's gc, exposed at run time). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('Deadline', () => {
  it('keeps no value it waited for once the wait is over (a scan fetches 1 GB through one deadline)', async () => {
    const d = new Deadline(60_000, Date.now);
    try {
      const refs: WeakRef<Buffer>[] = [];
      for (let i = 0; i < 50; i++) {
        const v = await d.wait(Promise.resolve(Buffer.alloc(1 << 16, i)));
        expect(v[0]).toBe(i);
        refs.push(new WeakRef(v));
      }
      // Past this turn, nothing but the deadline could still hold them (the last one may still
      // sit in a register of this function).
      await new Promise((r) => setImmediate(r));
      collectGarbage();
      expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(1);
    } finally {
      d.dispose();
    }
  });

  it('aborts its signal with QueryTimeoutError when the budget runs out, as wait rejects', async () => {
    const t0 = Date.now();
    const err = await Deadline.run(100, Date.now, async (d) => {
      const signal = d.signal!;
      expect(signal.aborted).toBe(false);
      const hung = new Promise<never>(() => undefined);
      const e = await d.wait(hung).catch((x: unknown) => x);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(QueryTimeoutError);
      return e;
    });
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('aborts the reads still in flight when the query ends, with another reason', async () => {
    let signal: AbortSignal | undefined;
    await Deadline.run(60_000, Date.now, async (d) => {
      signal = d.read.signal;
    });
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).not.toBeInstanceOf(QueryTimeoutError);
  });

  it("stops at the request's cancellation: wait rejects and the reads are aborted with the cancel reason (499 context canceled)", async () => {
    const ac = new AbortController();
    const err = await Deadline.run(
      0,
      Date.now,
      async (d) => {
        const signal = d.signal!;
        setTimeout(() => ac.abort(), 20);
        const e = await d.wait(new Promise<never>(() => undefined)).catch((x: unknown) => x);
        expect(signal.reason).toBe(e);
        expect(() => d.check()).toThrow(CanceledError);
        return e;
      },
      ac.signal,
    );
    expect(err).toBeInstanceOf(CanceledError);
    expect(err).toMatchObject({ kind: 'canceled', message: 'context canceled' });
    // Already cancelled: the query does not start.
    await expect(Deadline.run(0, Date.now, async () => 1, AbortSignal.abort())).rejects.toBeInstanceOf(CanceledError);
  });

  it('has no signal without a budget', () => {
    expect(NO_DEADLINE.signal).toBe(undefined);
    expect(new Deadline(0, Date.now).read).toEqual({ signal: undefined });
  });
});
