import type { RuntimeConfig } from '../config/runtime-config.js';
import { tenantLimitsFromYaml, type LimitsProvider, type TenantLimits } from '../distributor/index.js';

/**
 * The distributor's view of the runtime overrides: each tenant's `limitsOf` converted to
 * TenantLimits once per loaded runtime config. Tenants without overrides share one object, so
 * the cache grows only with the overrides file, never with the tenants that push.
 */
export class OverridesLimitsProvider implements LimitsProvider {
  readonly #rc: RuntimeConfig;
  #generation = -1;
  #defaults: TenantLimits | null = null;
  readonly #perTenant = new Map<string, TenantLimits>();

  constructor(rc: RuntimeConfig) {
    this.#rc = rc;
  }

  forTenant(tenant: string): TenantLimits {
    if (this.#generation !== this.#rc.generation) {
      this.#generation = this.#rc.generation;
      this.#perTenant.clear();
      this.#defaults = null;
    }
    if (!this.#rc.values.overrides.has(tenant)) return (this.#defaults ??= tenantLimitsFromYaml(this.#rc.defaults));
    let l = this.#perTenant.get(tenant);
    if (!l) this.#perTenant.set(tenant, (l = tenantLimitsFromYaml(this.#rc.limitsOf(tenant))));
    return l;
  }
}
