/**
 * Tenant IDs as every role sees them. A request names one tenant, or, for multi-tenant
 * queries, several sorted and deduplicated tenants joined with `|` (dskit JoinTenantIDs).
 * `|` is not a valid tenant character, so a joined string never names stored data.
 */

/** Separates tenants in a multi-tenant `X-Scope-OrgID`. */
export const TENANT_SEPARATOR = '|';
/** The tenant every request belongs to when auth is disabled (Loki's fake auth). */
export const NO_AUTH_TENANT = 'fake';
/** Label added to each stream and series of a multi-tenant query (Loki's defaultTenantLabel). */
export const TENANT_LABEL = '__tenant_id__';
/** A stream's own `__tenant_id__` is kept under this name in multi-tenant results. */
export const ORIGINAL_TENANT_LABEL = 'original___tenant_id__';

/** Joins normalised tenant IDs into the one string handlers carry. */
export function joinTenantIds(ids: readonly string[]): string {
  return ids.join(TENANT_SEPARATOR);
}

/** The tenants a (possibly joined) tenant string names. */
export function splitTenantIds(tenant: string): string[] {
  return tenant.split(TENANT_SEPARATOR);
}
