/**
 * Tenant IDs from `X-Scope-OrgID`, as dskit's `tenant` package reads them: the header may
 * name several tenants separated by `|` (multi-tenant queries); each must be at most 150
 * bytes of `[a-zA-Z0-9!-_.*'()]` and not `.` or `..`. The list is sorted and deduplicated,
 * so `b|a|a` is the two tenants `a` and `b`. Messages are dskit's, word for word.
 */
import { InvalidError, UnauthorizedError } from '../errors.js';
import { TENANT_SEPARATOR } from '../model/index.js';

/** Longest tenant ID, bytes (dskit MaxTenantIDLength). */
export const MAX_TENANT_ID_LENGTH = 150;
/** dskit user.ErrNoOrgID. */
export const MSG_NO_ORG_ID = 'no org id';
/** dskit user.ErrTooManyOrgIDs. */
export const MSG_TOO_MANY_ORG_IDS = 'multiple org IDs present';

const VALID = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!-_.*'()") VALID[c.charCodeAt(0)] = 1;

/** Throws dskit's error for an invalid single tenant ID (400). Header strings are latin1, one char per byte. */
export function validateTenantId(id: string): void {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c > 255 || VALID[c] === 0) throw new InvalidError(`tenant ID '${id}' contains unsupported character '${id[i]!}'`);
  }
  if (id.length > MAX_TENANT_ID_LENGTH) throw new InvalidError(`tenant ID is too long: max ${MAX_TENANT_ID_LENGTH} characters`);
  if (id === '.' || id === '..') throw new InvalidError("tenant ID is '.' or '..'");
  // dskit lets an empty ID through (`a||b`); Silt refuses it rather than store data under "".
  if (id === '') throw new UnauthorizedError(MSG_NO_ORG_ID);
}

/**
 * Every tenant an `X-Scope-OrgID` value names, sorted and deduplicated (dskit TenantIDs).
 * Missing or empty → 401 `no org id`; an invalid part → 400 with dskit's message.
 */
export function tenantIds(header: string | undefined): string[] {
  if (header === undefined || header === '') throw new UnauthorizedError(MSG_NO_ORG_ID);
  const ids = header.split(TENANT_SEPARATOR);
  for (const id of ids) validateTenantId(id);
  ids.sort();
  let n = 1;
  for (let i = 1; i < ids.length; i++) if (ids[i] !== ids[n - 1]) ids[n++] = ids[i]!;
  ids.length = n;
  return ids;
}

/** Exactly one tenant (dskit TenantID): `a|a` is `a`, `a|b` is 400 `multiple org IDs present`. */
export function singleTenantId(header: string | undefined): string {
  const ids = tenantIds(header);
  if (ids.length > 1) throw new InvalidError(MSG_TOO_MANY_ORG_IDS);
  return ids[0]!;
}
