/**
 * Rule groups in object storage, one YAML file (`groups: [...]`) per tenant and namespace.
 *
 * Two layouts over the same ObjectClient interface:
 * - `object` (the configured object store, shared with chunks): key
 *   `rules/<tenant>/<base64url(namespace)>`, so any namespace text is a safe key, as Loki's
 *   object rule store encodes namespaces;
 * - `local` (Loki's `ruler.storage.type: local`): key `<tenant>/<namespace>` under the local
 *   directory, so rule files dropped into `<dir>/<tenant>/` are picked up as they are.
 *
 * Either way the stored form of a namespace is one path component (a file name, or a key
 * segment the filesystem object client turns into one), so it must fit in
 * MAX_PATH_COMPONENT_BYTES; names from users are checked by `checkRuleName` first.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidError, NotFoundError } from '../errors.js';
import type { ObjectClient } from '../storage/index.js';
import { RULES_PREFIX as OBJECT_PREFIX } from './consts.js';
import { decodeRuleFile, groupToYamlValue, type RuleGroupSpec } from './rule-group.js';

/** Rule storage as the ruler sees it. */
export interface RuleStore {
  /** Tenants with at least one namespace, sorted. */
  listTenants(): Promise<string[]>;
  /** Namespaces of a tenant, sorted. */
  listNamespaces(tenant: string): Promise<string[]>;
  /** Groups of a namespace in file order; null when the namespace does not exist. */
  getNamespace(tenant: string, namespace: string): Promise<RuleGroupSpec[] | null>;
  /** Replaces a namespace; an empty list deletes it. */
  putNamespace(tenant: string, namespace: string, groups: readonly RuleGroupSpec[]): Promise<void>;
  /** Removes a namespace; resolves when absent. */
  deleteNamespace(tenant: string, namespace: string): Promise<void>;
}

export type RuleStoreLayout = 'object' | 'local';

/** Longest file name of common file systems (NAME_MAX); the limit of a stored namespace's form. */
export const MAX_PATH_COMPONENT_BYTES = 255;

/**
 * Longest namespace or group name from a user, bytes of UTF-8. A namespace's base64url form
 * is a file name or key segment (the object layout, and the ruler's `rule_path` copy in both
 * layouts): 191 bytes encode to 255 characters. Group names get the same limit, as Loki's
 * object rule store encodes them into keys the same way.
 */
export const MAX_RULE_NAME_BYTES = Math.floor((MAX_PATH_COMPONENT_BYTES * 3) / 4);

/** Loki's ruler API text for an empty namespace (ErrNoNamespace). */
export const ERR_NO_NAMESPACE = 'a namespace must be provided in the request';
/** Loki's ruler API text for an empty group name (ErrNoGroupName). */
export const ERR_NO_GROUP_NAME = 'a matching group name must be provided in the request';

/** Loki's ruler API answer for a namespace or group name that is not a plain file name. */
export function checkLocalName(name: string, what: 'namespace' | 'groupname'): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new InvalidError(`invalid ${what}: path traversal not allowed`);
  }
}

/**
 * Checks a namespace or group name from a user (API path or rule group body): present, a
 * plain file name (checkLocalName) and at most MAX_RULE_NAME_BYTES. Throws InvalidError (400).
 */
export function checkRuleName(name: string, what: 'namespace' | 'groupname'): void {
  if (name === '') throw new InvalidError(what === 'namespace' ? ERR_NO_NAMESPACE : ERR_NO_GROUP_NAME);
  checkLocalName(name, what);
  const n = Buffer.byteLength(name, 'utf8');
  if (n > MAX_RULE_NAME_BYTES) throw new InvalidError(`invalid ${what}: too long: ${n} bytes, limit: ${MAX_RULE_NAME_BYTES} bytes`);
}

/** A RuleStore over any ObjectClient. */
export class ObjectRuleStore implements RuleStore {
  readonly #client: ObjectClient;
  readonly #layout: RuleStoreLayout;

  constructor(client: ObjectClient, layout: RuleStoreLayout) {
    this.#client = client;
    this.#layout = layout;
  }

  #root(): string {
    return this.#layout === 'object' ? OBJECT_PREFIX : '';
  }

  #key(tenant: string, namespace: string): string {
    if (namespace === '') throw new InvalidError(ERR_NO_NAMESPACE);
    if (this.#layout === 'local') checkLocalName(namespace, 'namespace');
    const segment = this.#layout === 'object' ? Buffer.from(namespace, 'utf8').toString('base64url') : namespace;
    const n = Buffer.byteLength(segment, 'utf8');
    if (n > MAX_PATH_COMPONENT_BYTES) throw new InvalidError(`invalid namespace: too long: ${n} bytes as stored, limit: ${MAX_PATH_COMPONENT_BYTES} bytes`);
    return `${this.#root()}${tenant}/${segment}`;
  }

  #namespaceOf(segment: string): string | null {
    if (this.#layout === 'local') return segment;
    const ns = Buffer.from(segment, 'base64url').toString('utf8');
    return Buffer.from(ns, 'utf8').toString('base64url') === segment ? ns : null;
  }

  async listTenants(): Promise<string[]> {
    const root = this.#root();
    const { prefixes } = await this.#client.list(root, '/');
    return prefixes.map((p) => p.slice(root.length, -1)).filter((t) => t !== '');
  }

  async listNamespaces(tenant: string): Promise<string[]> {
    const prefix = `${this.#root()}${tenant}/`;
    const { objects } = await this.#client.list(prefix, '/');
    const out: string[] = [];
    for (const o of objects) {
      const ns = this.#namespaceOf(o.key.slice(prefix.length));
      if (ns !== null) out.push(ns);
    }
    return out.sort();
  }

  async getNamespace(tenant: string, namespace: string): Promise<RuleGroupSpec[] | null> {
    let body: Buffer;
    try {
      body = await this.#client.get(this.#key(tenant, namespace));
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
    let doc: unknown;
    try {
      doc = parseYaml(body.toString('utf8'));
    } catch (e) {
      throw new InvalidError(`rule file ${tenant}/${namespace}: invalid YAML: ${(e as Error).message}`);
    }
    return decodeRuleFile(doc);
  }

  async putNamespace(tenant: string, namespace: string, groups: readonly RuleGroupSpec[]): Promise<void> {
    if (groups.length === 0) return this.deleteNamespace(tenant, namespace);
    const text = stringifyYaml({ groups: groups.map(groupToYamlValue) });
    await this.#client.put(this.#key(tenant, namespace), Buffer.from(text, 'utf8'));
  }

  async deleteNamespace(tenant: string, namespace: string): Promise<void> {
    await this.#client.delete(this.#key(tenant, namespace));
  }
}
