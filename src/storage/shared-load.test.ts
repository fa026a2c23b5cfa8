import { describe, expect, it } from 'vitest';
import { SharedLoads } from './shared-load.js';

/** A fetch the test finishes by hand, recording the signal it was given. */
function gate<V>(): { fetch: (s: AbortSignal) => Promise<V>; calls: AbortSignal[]; resolve: (v: V) => void } {
  const calls: AbortSignal[] = [];
  let resolve!: (v: V) => void;
  const fetch = (s: AbortSignal): Promise<V> => {
    calls.push(s);
    return new Promise<V>((r, reject) => {
      resolve = r;
      s.addEventListener('abort', () => reject(s.reason as Error), { once: true });
    });
  };
  return { fetch, calls, resolve: (v) => resolve(v) };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('SharedLoads', () => {
  it('shares one fetch; a waiter that gives up leaves without failing the others', async () => {
    const loads = new SharedLoads<string, string>();
    const g = gate<string>();
    const a = new AbortController();
    const b = new AbortController();
    const pa = loads.load('k', g.fetch, a.signal);
    const pb = loads.load('k', g.fetch, b.signal);
    await tick();
    expect(g.calls.length).toBe(1);
    const reason = new Error('a timed out');
    a.abort(reason);
    await expect(pa).rejects.toBe(reason);
    expect(g.calls[0]!.aborted).toBe(false);
    g.resolve('v');
    await expect(pb).resolves.toBe('v');
    expect(loads.size).toBe(0);
  });

  it('aborts the fetch when every waiter gave up, and starts a fresh one for the next caller', async () => {
    const loads = new SharedLoads<string, string>();
    const g = gate<string>();
    const a = new AbortController();
    const b = new AbortController();
    const pa = loads.load('k', g.fetch, a.signal);
    const pb = loads.load('k', g.fetch, b.signal);
    await tick();
    a.abort(new Error('a'));
    b.abort(new Error('b'));
    await expect(pa).rejects.toThrow('a');
    await expect(pb).rejects.toThrow('b');
    expect(g.calls[0]!.aborted).toBe(true);
    expect(loads.size).toBe(0);
    const pc = loads.load('k', g.fetch);
    await tick();
    expect(g.calls.length).toBe(2);
    expect(g.calls[1]!.aborted).toBe(false);
    g.resolve('fresh');
    await expect(pc).resolves.toBe('fresh');
  });

  it('keeps the fetch for a waiter without a signal', async () => {
    const loads = new SharedLoads<string, number>();
    const g = gate<number>();
    const a = new AbortController();
    const pa = loads.load('k', g.fetch, a.signal);
    const plain = loads.load('k', g.fetch);
    await tick();
    a.abort(new Error('gone'));
    await expect(pa).rejects.toThrow('gone');
    expect(g.calls[0]!.aborted).toBe(false);
    g.resolve(7);
    await expect(plain).resolves.toBe(7);
  });

  it('rejects an already-aborted caller without fetching, and passes fetch errors to every waiter', async () => {
    const loads = new SharedLoads<string, number>();
    const ac = new AbortController();
    const reason = new Error('late');
    ac.abort(reason);
    let fetched = 0;
    await expect(loads.load('k', async () => ++fetched, ac.signal)).rejects.toBe(reason);
    expect(fetched).toBe(0);
    const boom = new Error('boom');
    const failing = (): Promise<number> => Promise.reject(boom);
    const x = loads.load('e', failing, new AbortController().signal);
    const y = loads.load('e', failing);
    await expect(x).rejects.toBe(boom);
    await expect(y).rejects.toBe(boom);
    expect(loads.size).toBe(0);
  });
});
