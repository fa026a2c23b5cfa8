import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePushSeq, PushOrderer } from './push-order.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('parsePushSeq', () => {
  it('reads <sender>.<n> and refuses anything else', () => {
    expect(parsePushSeq('ab12.7')).toEqual({ sender: 'ab12', n: 7 });
    expect(parsePushSeq('a.b.3')).toEqual({ sender: 'a.b', n: 3 });
    for (const bad of [undefined, '', '7', '.7', 'a.', 'a.0', 'a.-1', 'a.1.5x', 'a.x', `a.${2 ** 60}`, `${'x'.repeat(300)}.1`]) expect(parsePushSeq(bad)).toBeNull();
  });
});

describe('PushOrderer', () => {
  it('starts each sender’s pushes in number order whatever order they arrive in (random permutations)', () => {
    let seed = 3;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const o = new PushOrderer(1_000_000);
      const started: string[] = [];
      const arrivals: [string, number][] = [];
      for (const sender of ['a', 'b']) for (let n = 1; n <= 12; n++) arrivals.push([sender, n]);
      // Reordered within a small window, as HTTP/2 does; the first ones too.
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = Math.max(0, i - Math.floor(rnd() * 4));
        [arrivals[i], arrivals[j]] = [arrivals[j]!, arrivals[i]!];
      }
      for (const [sender, n] of arrivals) o.run(sender, n, () => started.push(`${sender}${n}`));
      for (const sender of ['a', 'b']) expect(started.filter((s) => s[0] === sender)).toEqual(Array.from({ length: 12 }, (_, i) => `${sender}${i + 1}`));
      expect(o.waiting).toBe(0);
      expect(o.skipped).toBe(0);
    }
  });

  it('skips a number that never comes after the wait, and runs it at once if it comes later', () => {
    vi.useFakeTimers();
    const o = new PushOrderer(20);
    const started: number[] = [];
    o.run('s', 1, () => started.push(1));
    o.run('s', 3, () => started.push(3));
    o.run('s', 4, () => started.push(4));
    expect(started).toEqual([1]);
    expect(o.waiting).toBe(2);
    vi.advanceTimersByTime(19);
    expect(started).toEqual([1]);
    vi.advanceTimersByTime(1);
    // The skip waits for one more pass over pending I/O (setImmediate).
    expect(started).toEqual([1]);
    vi.runOnlyPendingTimers();
    expect(started).toEqual([1, 3, 4]);
    expect(o.skipped).toBe(1);
    o.run('s', 2, () => started.push(2));
    expect(started).toEqual([1, 3, 4, 2]);
    o.run('s', 5, () => started.push(5));
    expect(started).toEqual([1, 3, 4, 2, 5]);
    expect(o.waiting).toBe(0);
  });

  it('a sender first seen past 1 (the ingester restarted) waits once for the numbers before it, then goes on', () => {
    vi.useFakeTimers();
    const o = new PushOrderer(20);
    const started: number[] = [];
    o.run('s', 41, () => started.push(41));
    o.run('s', 42, () => started.push(42));
    expect(started).toEqual([]);
    vi.advanceTimersByTime(20);
    vi.runOnlyPendingTimers();
    expect(started).toEqual([41, 42]);
    expect(o.skipped).toBe(1);
    o.run('s', 43, () => started.push(43));
    expect(started).toEqual([41, 42, 43]);
  });

  it('waits for a predecessor the sender has not had answered, but not for one it has', () => {
    vi.useFakeTimers();
    const o = new PushOrderer(1000);
    const started: number[] = [];
    o.run('s', 1, () => started.push(1), 1);
    // 3 arrives while 2 is unanswered at the sender (low 2): 3 waits.
    o.run('s', 3, () => started.push(3), 2);
    vi.advanceTimersByTime(500);
    expect(started).toEqual([1]);
    // 4 says everything below 4 was answered: 2 is not coming in time; 3 and 4 go, in order.
    o.run('s', 4, () => started.push(4), 4);
    expect(started).toEqual([1, 3, 4]);
    expect(o.skipped).toBe(1);
    // 2 arrives after all: it runs at once.
    o.run('s', 2, () => started.push(2), 2);
    expect(started).toEqual([1, 3, 4, 2]);
    // A large gap of answered numbers (an ingester restart) is passed without waiting.
    const r = new PushOrderer(1000);
    const got: number[] = [];
    r.run('t', 500, () => got.push(500), 500);
    expect(got).toEqual([500]);
    expect(r.skipped).toBe(1);
  });

  it('a sender never blocks another; close starts everything held, in order', () => {
    const o = new PushOrderer(1_000_000);
    const started: string[] = [];
    o.run('a', 1, () => started.push('a1'));
    o.run('a', 3, () => started.push('a3'));
    o.run('b', 1, () => started.push('b1'));
    o.run('a', 5, () => started.push('a5'));
    expect(started).toEqual(['a1', 'b1']);
    o.close();
    expect(started).toEqual(['a1', 'b1', 'a3', 'a5']);
    expect(o.waiting).toBe(0);
  });
});
