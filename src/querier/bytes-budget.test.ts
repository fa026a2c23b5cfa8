import { describe, expect, it } from 'vitest';
import { LimitError } from '../errors.js';
import { QueryBytesBudget } from './bytes-budget.js';

describe('QueryBytesBudget', () => {
  it.each([
    { name: 'no limits: no budget', limits: { max_query_bytes_read: 0, max_querier_bytes_read: 0 }, add: [1e12], err: null, none: true },
    { name: 'within both', limits: { max_query_bytes_read: 1000, max_querier_bytes_read: 1000 }, add: [600, 400], err: null, none: false },
    {
      name: 'query limit, summed over selectors',
      limits: { max_query_bytes_read: 1024, max_querier_bytes_read: 0 },
      add: [1000, 100],
      err: 'the query would read too many bytes (query: 1.1 KiB, limit: 1.0 KiB); consider adding more specific stream selectors or reduce the time range of the query',
      none: false,
    },
    {
      name: 'querier limit',
      limits: { max_query_bytes_read: 0, max_querier_bytes_read: 1024 * 1024 },
      add: [50 * 1024 * 1024],
      err: 'query too large to execute on a single querier: (query: 50 MiB, limit: 1.0 MiB); consider adding more specific stream selectors, reduce the time range of the query, or adjust parallelization settings',
      none: false,
    },
  ])('$name', ({ limits, add, err, none }) => {
    const b = QueryBytesBudget.of(limits);
    expect(b === null).toBe(none);
    if (b === null) return;
    let thrown: unknown = null;
    try {
      for (const n of add) b.add(n);
    } catch (e) {
      thrown = e;
    }
    if (err === null) expect(thrown).toBeNull();
    else {
      expect(thrown).toBeInstanceOf(LimitError);
      expect((thrown as Error).message).toBe(err);
    }
  });
});
