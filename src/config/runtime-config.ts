/**
 * Per-tenant limit overrides that change while Silt runs (Loki's `runtime_config`, served by
 * dskit's runtimeconfig.Manager). The file(s) named by `runtime_config.file` hold
 *
 *     overrides:
 *       tenant-a:
 *         max_line_size: 1KB
 *         ingestion_rate_mb: 10
 *
 * Keys are `limits_config` keys in the same units as the main config file; a tenant starts
 * from `limits_config` and its entry replaces the keys it names. Several files (comma
 * separated) are deep-merged left to right. Every `runtime_config.period` the files are read
 * again; when their bytes changed they are parsed and validated as a whole, and only a valid
 * result replaces the overrides in use. An invalid file is logged, flips
 * `silt_runtime_config_last_reload_successful` to 0 and leaves the previous overrides in force.
 * At start an invalid file is fatal, as in Loki.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidError } from '../errors.js';
import { coerce, displayValue, validateLimits, type LimitsConfig } from './config.js';
import { LIMIT_SETTINGS } from './limits-schema.js';
import type { Setting } from './schema.js';

/** Limits that are process-wide in Silt and cannot be overridden per tenant. */
const NOT_PER_TENANT = new Set(['max_push_body_size']);

/** `limits_config` key → its setting, for the keys a tenant may override. */
const OVERRIDABLE: ReadonlyMap<string, Setting> = new Map(
  LIMIT_SETTINGS.map((s) => [s.path.slice('limits_config.'.length), s] as const).filter(([k]) => !NOT_PER_TENANT.has(k)),
);

/** Top-level sections Loki's runtime config accepts; only `overrides` means anything to Silt. */
const KNOWN_SECTIONS = new Set(['overrides', 'configs', 'multi_kv_config']);

/** A parsed runtime config: per tenant, only the limits its entry sets (normalised units). */
export interface RuntimeConfigValues {
  readonly overrides: ReadonlyMap<string, Readonly<Partial<LimitsConfig>>>;
}

const EMPTY: RuntimeConfigValues = Object.freeze({ overrides: new Map() });

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** dskit's mergeConfigMaps: mappings merge key by key, anything else from `b` replaces `a`. */
function mergeMaps(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isMapping(prev) && isMapping(v) ? mergeMaps(prev, v) : v;
  }
  return out;
}

/**
 * Parses and validates runtime config documents (merged left to right) against the default
 * limits. Throws one InvalidError listing every problem; returns frozen values otherwise.
 */
export function parseRuntimeConfig(docs: readonly { name: string; text: string }[], defaults: LimitsConfig): RuntimeConfigValues {
  const errors: string[] = [];
  let merged: Record<string, unknown> = {};
  for (const d of docs) {
    let doc: unknown;
    try {
      doc = parseYaml(d.text);
    } catch (e) {
      errors.push(`${d.name}: invalid YAML: ${(e as Error).message}`);
      continue;
    }
    if (doc === null || doc === undefined) continue;
    if (!isMapping(doc)) {
      errors.push(`${d.name}: top level must be a mapping`);
      continue;
    }
    merged = mergeMaps(merged, doc);
  }
  for (const k of Object.keys(merged)) if (!KNOWN_SECTIONS.has(k)) errors.push(`field ${k} not found in runtime config (expected overrides)`);
  const overrides = new Map<string, Readonly<Partial<LimitsConfig>>>();
  const section = merged['overrides'];
  if (section !== null && section !== undefined && !isMapping(section)) errors.push('overrides must be a mapping of tenant to limits');
  if (isMapping(section)) {
    for (const [tenant, entry] of Object.entries(section)) {
      // Loki skips an empty tenant entry with a warning rather than failing the file.
      if (entry === null || entry === undefined) continue;
      const where = `overrides.${tenant}`;
      if (!isMapping(entry)) {
        errors.push(`${where} must be a mapping of limit to value`);
        continue;
      }
      const set: Record<string, unknown> = {};
      for (const [key, raw] of Object.entries(entry)) {
        const s = OVERRIDABLE.get(key);
        if (!s) {
          errors.push(`${where}: field ${key} not found in type limits_config${NOT_PER_TENANT.has(key) ? ' (not a per-tenant limit)' : ''}`);
          continue;
        }
        const v = coerce(s, raw, `invalid override for tenant ${tenant}`, errors);
        if (v !== undefined) set[key] = v;
      }
      validateLimits({ ...defaults, ...set } as LimitsConfig, `invalid override for tenant ${tenant}: ${where}`, errors);
      overrides.set(tenant, Object.freeze(set as Partial<LimitsConfig>));
    }
  }
  if (errors.length > 0) throw new InvalidError(`invalid runtime config (${errors.length} error${errors.length > 1 ? 's' : ''}):\n  ${errors.join('\n  ')}`);
  return Object.freeze({ overrides });
}

export interface RuntimeConfigOptions {
  /** `runtime_config.file`: comma-separated paths; empty means no overrides at all. */
  file: string;
  /** `runtime_config.period`, ms. */
  periodMs: number;
  /** `limits_config`: every tenant's starting point. */
  defaults: LimitsConfig;
  logger: Logger;
  registry: Registry;
}

/**
 * Owns the current overrides and reloads them (dskit runtimeconfig.Manager plus Loki's
 * Overrides). `limitsOf(tenant)` is what every role calls; it is a map lookup.
 */
export class RuntimeConfig {
  readonly #files: readonly string[];
  readonly #periodMs: number;
  readonly #defaults: LimitsConfig;
  readonly #logger: Logger;
  readonly #success: Gauge<'config'>;
  readonly #hash: Gauge<'config' | 'sha256'>;
  #values: RuntimeConfigValues = EMPTY;
  /** Effective limits per overridden tenant, built once per loaded config. */
  #effective = new Map<string, LimitsConfig>();
  #digest = '';
  #timer: NodeJS.Timeout | null = null;
  #reloading: Promise<boolean> | null = null;
  /** Bumped on every applied change, so callers can cache derived limits. */
  generation = 0;

  /** Loads the files once, synchronously: an invalid runtime config at start is an InvalidError. */
  constructor(opts: RuntimeConfigOptions) {
    this.#files = opts.file.split(',').map((f) => f.trim()).filter((f) => f !== '');
    this.#periodMs = opts.periodMs;
    this.#defaults = opts.defaults;
    this.#logger = opts.logger;
    this.#success = new Gauge({ name: 'silt_runtime_config_last_reload_successful', help: 'Whether the last runtime-config reload attempt was successful.', labelNames: ['config'], registers: [opts.registry] });
    this.#hash = new Gauge({ name: 'silt_runtime_config_hash', help: 'Hash of the currently active runtime configuration, merged from all configured files.', labelNames: ['config', 'sha256'], registers: [opts.registry] });
    if (this.#files.length === 0) return;
    let texts: string[];
    try {
      texts = this.#files.map((f) => readFileSync(f, 'utf8'));
    } catch (e) {
      throw new InvalidError(`cannot read runtime config file: ${(e as Error).message}`);
    }
    this.#apply(texts, parseRuntimeConfig(this.#docs(texts), this.#defaults));
  }

  /** Whether any runtime config file is configured. */
  get enabled(): boolean {
    return this.#files.length > 0;
  }

  /** Starts periodic reloading (no-op without files). */
  start(): void {
    if (this.#files.length === 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.reload(), this.#periodMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A tenant's effective limits: its overrides over `limits_config`. Frozen; never mutate. */
  limitsOf(tenant: string): LimitsConfig {
    return this.#effective.get(tenant) ?? this.#defaults;
  }

  /** `limits_config`: the limits of every tenant without overrides. */
  get defaults(): LimitsConfig {
    return this.#defaults;
  }

  /** The overrides in force (only the keys each tenant sets). */
  get values(): RuntimeConfigValues {
    return this.#values;
  }

  /**
   * Reads the files again and applies them if they changed and are valid. Resolves true when
   * the files could be read and the current config matches them; false after logging why not.
   */
  reload(): Promise<boolean> {
    this.#reloading ??= this.#reload().finally(() => (this.#reloading = null));
    return this.#reloading;
  }

  async #reload(): Promise<boolean> {
    if (this.#files.length === 0) return true;
    try {
      const texts = await Promise.all(this.#files.map((f) => readFile(f, 'utf8')));
      if (digest(texts) === this.#digest) {
        this.#success.set({ config: 'silt' }, 1);
        return true;
      }
      this.#apply(texts, parseRuntimeConfig(this.#docs(texts), this.#defaults));
      this.#logger.info({ tenants: this.#values.overrides.size, files: this.#files }, 'runtime config reloaded');
      return true;
    } catch (e) {
      this.#success.set({ config: 'silt' }, 0);
      this.#logger.error({ err: (e as Error).message, files: this.#files }, 'failed to load runtime config; keeping the previous overrides');
      return false;
    }
  }

  #docs(texts: readonly string[]): { name: string; text: string }[] {
    return texts.map((text, i) => ({ name: this.#files[i]!, text }));
  }

  #apply(texts: readonly string[], values: RuntimeConfigValues): void {
    const effective = new Map<string, LimitsConfig>();
    for (const [tenant, o] of values.overrides) effective.set(tenant, Object.freeze({ ...this.#defaults, ...o }));
    this.#values = values;
    this.#effective = effective;
    this.#hash.reset();
    this.#digest = digest(texts);
    this.#hash.set({ config: 'silt', sha256: this.#digest }, 1);
    this.#success.set({ config: 'silt' }, 1);
    this.generation++;
  }

  /**
   * GET /runtime_config: every overridden tenant with all its effective limits, or with
   * `diff` only the limits that differ from `limits_config` (Loki's `?mode=diff`).
   */
  toYaml(mode: 'all' | 'diff'): string {
    if (this.#files.length === 0) return "runtime config file doesn't exist";
    const out: Record<string, Record<string, unknown>> = {};
    for (const tenant of [...this.#values.overrides.keys()].sort()) {
      const eff = this.limitsOf(tenant) as unknown as Record<string, unknown>;
      const def = this.#defaults as unknown as Record<string, unknown>;
      const t: Record<string, unknown> = {};
      for (const [key, s] of OVERRIDABLE) if (mode === 'all' || eff[key] !== def[key]) t[key] = displayValue(s, eff[key]);
      if (mode === 'all' || Object.keys(t).length > 0) out[tenant] = t;
    }
    return stringifyYaml(mode === 'diff' && Object.keys(out).length === 0 ? {} : { overrides: out });
  }
}

function digest(texts: readonly string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(t).update('\0');
  return h.digest('hex');
}
