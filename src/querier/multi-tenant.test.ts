import { describe, expect, it } from 'vitest';
import { parseSelector } from '../logql/syntax/index.js';
import { narrowTenants, withTenantLabel } from './multi-tenant.js';

describe('narrowTenants (Loki filterValuesByMatchers)', () => {
  const tenants = ['a', 'b', 'c'];
  it.each([
    ['{app="x"}', ['a', 'b', 'c'], '{app="x"}'],
    ['{__tenant_id__="b", app="x"}', ['b'], '{app="x"}'],
    ['{__tenant_id__!="b", app="x"}', ['a', 'c'], '{app="x"}'],
    ['{__tenant_id__=~"a|c", __tenant_id__!="c", app="x"}', ['a'], '{app="x"}'],
    ['{__tenant_id__="z", app="x"}', [], '{app="x"}'],
    ['{original___tenant_id__="t1", app="x"}', ['a', 'b', 'c'], '{__tenant_id__="t1", app="x"}'],
  ])('%s', (sel, want, rest) => {
    const n = narrowTenants(tenants, parseSelector(sel).matchers);
    expect(n.tenants).toEqual(want);
    expect('{' + n.matchers.map((m) => `${m.name}${m.type}"${m.value}"`).join(', ') + '}').toBe(rest);
  });
});

describe('withTenantLabel (Loki relabel)', () => {
  it('adds the tenant, keeping labels sorted', () => {
    expect(withTenantLabel([{ name: 'app', value: 'x' }, { name: 'zone', value: 'z' }], 't')).toEqual([
      { name: '__tenant_id__', value: 't' },
      { name: 'app', value: 'x' },
      { name: 'zone', value: 'z' },
    ]);
  });
  it("moves a stream's own __tenant_id__ aside", () => {
    expect(withTenantLabel([{ name: '__tenant_id__', value: 'own' }, { name: 'app', value: 'x' }], 't')).toEqual([
      { name: '__tenant_id__', value: 't' },
      { name: 'app', value: 'x' },
      { name: 'original___tenant_id__', value: 'own' },
    ]);
  });
});
