import { describe, expect, it } from 'vitest';
import { Drain, PARAM, tokenize } from './drain.js';
import { determineType } from './field-type.js';
import { shouldRejectLabel } from './detected-labels.js';

describe('tokenize', () => {
  it.each([
    ['user 1 logged in', ['user', '1', 'logged', 'in']],
    ['level=info msg="done" took=1.5ms', ['level', '=', 'info', 'msg', '=', '"', 'done', '"', 'took', '=', '1.5ms']],
    ['GET /api/v1/users 200', ['GET', '/api/v1/users', '200']],
    ['[main] x,y', ['[', 'main', ']', 'x', ',', 'y']],
  ])('%j', (line, want) => {
    expect(tokenize(line).tokens).toEqual(want);
  });

  it('rejoins to the original line', () => {
    for (const line of ['a b  c', 'k=v k2="x y"', '[x] (y): z']) {
      const d = new Drain(() => null);
      const c = d.train(line + ' w w w')!;
      expect(c.pattern()).toBe(line + ' w w w');
    }
  });
});

describe('Drain', () => {
  it('turns differing tokens into placeholders', () => {
    const d = new Drain(() => ({ n: 0 }));
    // Tokens holding digits share the tree's placeholder branch; the rest must agree.
    for (const u of [17, 256, 3]) d.train(`user u${u} logged in from 10.0.0.${u} ok`)!.data.n++;
    const all = d.all();
    expect(all).toHaveLength(1);
    expect(all[0]!.pattern()).toBe(`user ${PARAM} logged in from ${PARAM} ok`);
    expect(all[0]!.data.n).toBe(3);
  });

  it('keeps dissimilar lines apart and skips short lines', () => {
    const d = new Drain(() => null);
    d.train('connection refused by upstream server');
    d.train('disk quota exceeded for volume data');
    expect(d.train('too short')).toBeNull();
    expect(d.all().map((c) => c.pattern()).sort()).toEqual(['connection refused by upstream server', 'disk quota exceeded for volume data']);
  });

  it('collapses runs of placeholders', () => {
    const d = new Drain(() => null);
    d.train('took a.b ms to run job');
    const c = d.train('took c,d ms to run job')!;
    expect(c.pattern()).not.toContain('<_><_>');
  });

  it('caps the number of clusters', () => {
    const d = new Drain(() => null, { maxClusters: 5 });
    for (let i = 0; i < 20; i++) d.train(`${'abcdefghijklmnopqrst'[i]!.repeat(3)} qq${i} rr${i} ss${i} tt${i}`);
    expect(d.all().length).toBeLessThanOrEqual(5);
  });
});

describe('determineType', () => {
  it.each([
    ['200', 'int'],
    ['-7', 'int'],
    ['12.5', 'float'],
    ['1e3', 'float'],
    ['true', 'boolean'],
    ['False', 'boolean'],
    ['15ms', 'duration'],
    ['1h2m3.5s', 'duration'],
    ['10MB', 'bytes'],
    ['5 KiB', 'bytes'],
    ['GET', 'string'],
    ['2023-11-14T22:13:20Z', 'string'],
    ['99999999999999999999', 'float'],
  ])('%s → %s', (v, t) => {
    expect(determineType(v)).toBe(t);
  });
});

describe('shouldRejectLabel', () => {
  it.each([
    [[], true],
    [['1', '2', '3'], true],
    [['0', '1'], false],
    [['a', '1'], false],
    [['0b1c1a3c-1d7e-4b4f-9f1e-1a2b3c4d5e6f', '5d3b1e0c-0a1b-4c2d-8e3f-4a5b6c7d8e9f', '7'], true],
    [['prod', 'dev', 'test'], false],
  ])('%j → %s', (values, want) => {
    expect(shouldRejectLabel(values)).toBe(want);
  });
});
