import { describe, expect, it } from 'vitest';
import { resolveTargets } from './app.js';

const sorted = (s: Set<string>): string[] => [...s].sort();

describe('-target', () => {
  it.each([
    // [targets, ring, roles]
    [['all'], false, ['compactor', 'distributor', 'ingester', 'querier', 'query-frontend', 'ruler']],
    [['query-frontend'], true, ['query-frontend']],
    [['query-frontend'], false, ['query-frontend', 'querier', 'ingester']],
    [['write'], true, ['distributor', 'ingester']],
    [['read'], true, ['querier', 'query-frontend']],
    [['backend'], true, ['compactor', 'ruler', 'querier']],
    [['distributor,querier'], true, ['distributor', 'querier']],
    [['distributor', ' querier '], true, ['distributor', 'querier']],
    // Without a ring, the distributor and the querier need the ingester in their process.
    [['distributor'], false, ['distributor', 'ingester']],
    [['querier'], false, ['ingester', 'querier']],
    [['ingester'], true, ['ingester']],
  ] as const)('%j (ring %s)', (targets, ring, roles) => {
    expect(sorted(resolveTargets(targets, ring))).toEqual([...roles].sort());
  });

  it("rejects an unknown name with Loki's words", () => {
    expect(() => resolveTargets(['ingester,reader'], true)).toThrow('unrecognised module name: reader');
  });
});
