import { describe, expect, it } from 'vitest';
import { mapError } from './status.js';
import { singleTenantId, tenantIds } from './tenant.js';

/** Status and message the client sees for a header value (through the one status mapper). */
function outcome(f: () => unknown): { status: number; message: string } | unknown {
  try {
    return f();
  } catch (e) {
    const m = mapError(e);
    return { status: m.status, message: m.message };
  }
}

describe('X-Scope-OrgID (dskit tenant rules)', () => {
  it.each([
    ['a', ['a']],
    ['b|a|a', ['a', 'b']],
    ["Az09!-_.*'()", ["Az09!-_.*'()"]],
    ['x'.repeat(150), ['x'.repeat(150)]],
    ['...', ['...']],
  ])('tenantIds(%j)', (h, want) => expect(tenantIds(h)).toEqual(want));

  it.each([
    [undefined, 401, 'no org id'],
    ['', 401, 'no org id'],
    ['a||b', 401, 'no org id'],
    ['a b', 400, "tenant ID 'a b' contains unsupported character ' '"],
    ['a/b', 400, "tenant ID 'a/b' contains unsupported character '/'"],
    ['x'.repeat(151), 400, 'tenant ID is too long: max 150 characters'],
    ['.', 400, "tenant ID is '.' or '..'"],
    ['a|..', 400, "tenant ID is '.' or '..'"],
    // A bad character is reported before the length, as dskit checks in that order.
    ['x'.repeat(151) + '$', 400, `tenant ID '${'x'.repeat(151)}$' contains unsupported character '$'`],
  ])('tenantIds(%j) → %i %s', (h, status, message) => expect(outcome(() => tenantIds(h))).toEqual({ status, message }));

  it('a single-tenant endpoint refuses several tenants but not a repeated one', () => {
    expect(singleTenantId('a|a')).toBe('a');
    expect(outcome(() => singleTenantId('a|b'))).toEqual({ status: 400, message: 'multiple org IDs present' });
  });
});
