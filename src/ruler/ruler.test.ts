import { describe, expect, it } from 'vitest';
import { formatFloatE, generatorUrl, goQueryEscape } from './ruler.js';

describe('formatFloatE (Go strconv.FormatFloat(v, \'e\', -1, 64))', () => {
  it.each([
    [0, '0e+00'],
    [3, '3e+00'],
    [12.5, '1.25e+01'],
    [-0.001, '-1e-03'],
    [1e100, '1e+100'],
    [123456789, '1.23456789e+08'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%s → %s', (v, want) => expect(formatFloatE(v)).toBe(want));
});

describe('generatorUrl', () => {
  it('escapes like Go url.QueryEscape', () => {
    expect(goQueryEscape(`a b*(c)!~'-_.`)).toBe('a+b%2A%28c%29%21~%27-_.');
  });
  it('links to a Loki instant query without a datasource UID', () => {
    expect(generatorUrl('http://loki:3100/', '', 'sum(rate({a="b"}[1m])) > 1')).toBe('http://loki:3100/loki/api/v1/query?query=sum%28rate%28%7Ba%3D%22b%22%7D%5B1m%5D%29%29+%3E+1');
  });
  it("links to Grafana Explore with Loki's query object when a datasource UID is set", () => {
    const u = new URL(generatorUrl('https://grafana.example', 'P8E80F9AEF21F6940', 'rate({a="b"}[1m])'));
    expect(u.pathname).toBe('/explore');
    expect(JSON.parse(u.searchParams.get('left')!)).toEqual({ queries: [{ expr: 'rate({a="b"}[1m])', queryType: 'range', datasource: { type: 'loki', uid: 'P8E80F9AEF21F6940' } }] });
  });
});
