/**
 * The ruler role: loads rule groups of every tenant from the rule store, runs one evaluation
 * loop per group, sends alerts to Alertmanager (and a webhook), remote-writes recorded series,
 * and answers the ruler API (CRUD on rule groups, Prometheus' rules and alerts status).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { RulerSettings } from '../config/config.js';
import { InvalidError, NotFoundError } from '../errors.js';
import { labelsToObject } from '../model/index.js';
import type { OutputSample } from './alerting.js';
import { RuleGroupRunner, type GroupOutputs, type RuleQuerier } from './group.js';
import { AlertSender, FanoutSink, NotifierMetrics, type AlertSink, type NotifierAlert } from './notifier.js';
import { RemoteWriteClient, RemoteWriteMetrics } from './remote-write.js';
import { ERR_BAD_RULE_GROUP, decodeRuleGroup, groupIntervalMs, groupToYamlValue, validateGroups, type RuleGroupSpec } from './rule-group.js';
import { checkRuleName, type RuleStore } from './store.js';
import { formatRfc3339Nano } from '../util/go/rfc3339.js';

export type RulerConfig = RulerSettings;

export interface RulerDeps {
  cfg: RulerConfig;
  store: RuleStore;
  /** Instant queries; the Querier implements this interface. */
  querier: RuleQuerier;
  logger: Logger;
  registry: Registry;
  nowMs?: () => number;
  /**
   * Whether this ruler evaluates a group (rule groups are sharded over the ruler ring so each
   * is evaluated by exactly one ruler); absent: every group.
   */
  owns?: (tenant: string, group: string) => boolean;
}

/** Loki's ruler API error texts. */
export const ERR_NO_RULE_GROUPS = 'no rule groups found';
export const ERR_GROUP_NOT_FOUND = 'group does not exist';
export const ERR_NAMESPACE_NOT_FOUND = 'group namespace does not exist';

/** Filters of `GET /prometheus/api/v1/rules`. */
export interface RulesFilter {
  type: 'alert' | 'record' | null;
  files: readonly string[];
  groups: readonly string[];
  names: readonly string[];
}

/** Go's zero time as JSON (a rule never evaluated). */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function goTime(ms: number): string {
  return ms === 0 ? ZERO_TIME : formatRfc3339Nano(BigInt(Math.floor(ms)) * 1_000_000n);
}

/** Go's strconv.FormatFloat(v, 'e', -1, 64). */
export function formatFloatE(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const s = v.toExponential();
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function groupKey(namespace: string, group: string): string {
  return `${namespace}\0${group}`;
}

/** The ruler role. */
export class Ruler {
  readonly #cfg: RulerConfig;
  readonly #store: RuleStore;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Running groups per tenant, keyed by namespace and group name. */
  readonly #groups = new Map<string, Map<string, RuleGroupRunner>>();
  readonly #owns: (tenant: string, group: string) => boolean;
  readonly #outputs: GroupOutputs;
  readonly #sink: AlertSink | null;
  readonly #senders: AlertSender[] = [];
  readonly #remote = new Map<string, RemoteWriteClient>();
  readonly #rwMetrics: RemoteWriteMetrics | null;
  /** Serialises read-modify-write of one tenant's rules and syncs. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #poll: NodeJS.Timeout | null = null;
  #started = false;
  /** True during the first load: those groups restore their alerts' `for` state. */
  #initialLoad = false;

  constructor(deps: RulerDeps) {
    const cfg = deps.cfg;
    this.#cfg = cfg;
    this.#store = deps.store;
    this.#logger = deps.logger;
    this.#owns = deps.owns ?? (() => true);
    this.#now = deps.nowMs ?? Date.now;
    const nm = new NotifierMetrics(deps.registry);
    const amUrls = cfg.alertmanager_url.split(',').map((u) => u.trim()).filter((u) => u !== '');
    const common = { capacity: cfg.notification_queue_capacity, timeoutMs: cfg.notification_timeout, logger: deps.logger, metrics: nm };
    if (amUrls.length > 0) this.#senders.push(new AlertSender({ kind: 'alertmanager', urls: amUrls, ...common }));
    if (cfg.webhook_url !== '') this.#senders.push(new AlertSender({ kind: 'webhook', urls: [cfg.webhook_url], ...common }));
    this.#sink = this.#senders.length > 0 ? new FanoutSink(this.#senders) : null;
    this.#rwMetrics = cfg.remote_write.enabled ? new RemoteWriteMetrics(deps.registry) : null;
    const evals = new Counter({ name: 'silt_ruler_evaluations_total', help: 'Rule evaluations.', registers: [deps.registry] });
    const failures = new Counter({ name: 'silt_ruler_evaluation_failures_total', help: 'Rule evaluations that failed.', registers: [deps.registry] });
    const missed = new Counter({ name: 'silt_ruler_group_iterations_missed_total', help: 'Group evaluation slots skipped because a cycle overran its interval.', registers: [deps.registry] });
    this.#registerGroupMetrics(deps.registry);
    this.#outputs = {
      querier: deps.querier,
      notify: (tenant, alerts) => this.#sink?.send(tenant, alerts),
      write: (tenant, samples) => this.#write(tenant, samples),
      externalLabels: cfg.external_labels,
      externalUrl: cfg.external_url,
      resendDelayMs: cfg.resend_delay,
      forGracePeriodMs: cfg.for_grace_period,
      generatorUrl: (expr) => generatorUrl(cfg.external_url, cfg.datasource_uid, expr),
      observe: (failed) => {
        evals.inc();
        if (failed) failures.inc();
      },
      missed: (n) => missed.inc(n),
      onError: (err) => this.#logger.error({ err }, 'ruler: group evaluation failed'),
    };
  }

  /**
   * Per-group gauges under the names Loki's ruler exports (its Prometheus rule managers' metrics,
   * `loki_` prefixed, labels `user` and `rule_group` = `namespace;group`), read at scrape time.
   */
  #registerGroupMetrics(registry: Registry): void {
    const groups = this.#groups;
    const gauge = (name: string, help: string, value: (g: RuleGroupRunner) => number | null): void => {
      new Gauge({
        name,
        help,
        labelNames: ['user', 'rule_group'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [user, byKey] of groups) {
            for (const g of byKey.values()) {
              const v = value(g);
              if (v !== null) this.set({ user, rule_group: `${g.namespace};${g.spec.name}` }, v);
            }
          }
        },
      });
    };
    gauge('loki_prometheus_rule_group_rules', 'The number of rules.', (g) => g.rules.length);
    gauge('loki_prometheus_rule_group_interval_seconds', 'The interval of a rule group.', (g) => g.intervalMs / 1000);
    gauge('loki_prometheus_rule_group_last_evaluation_timestamp_seconds', 'The timestamp of the last rule group evaluation in seconds.', (g) => (g.lastEvalMs > 0 ? g.lastEvalMs / 1000 : null));
    gauge('loki_prometheus_rule_group_last_duration_seconds', 'The duration of the last rule group evaluation.', (g) => (g.lastEvalMs > 0 ? g.evalDurationMs / 1000 : null));
  }

  #write(tenant: string, samples: OutputSample[]): void {
    const rw = this.#cfg.remote_write;
    if (!rw.enabled || !this.#rwMetrics) return;
    let c = this.#remote.get(tenant);
    if (!c) {
      const q = rw.client.queue_config;
      c = new RemoteWriteClient({
        url: rw.client.url,
        tenant: rw.add_org_id_header ? tenant : '',
        timeoutMs: rw.client.remote_timeout,
        capacity: q.capacity,
        maxSamplesPerSend: q.max_samples_per_send,
        batchSendDeadlineMs: q.batch_send_deadline,
        minBackoffMs: q.min_backoff,
        maxBackoffMs: q.max_backoff,
        logger: this.#logger,
        metrics: this.#rwMetrics,
      });
      this.#remote.set(tenant, c);
    }
    c.append(samples);
  }

  /** Loads every tenant's rules, starts their loops and the poll for changes. */
  async start(): Promise<void> {
    this.#started = true;
    this.#initialLoad = true;
    try {
      await this.syncAll();
    } catch (e) {
      // Rule storage down (e.g. S3 unreachable) must not stop the process: ingest and queries
      // go on, and the poll below loads the rules once storage answers again.
      this.#logger.warn({ err: (e as Error).message }, 'ruler: loading rules at start failed; retrying at the next poll');
    } finally {
      this.#initialLoad = false;
    }
    this.#poll = setInterval(() => {
      void this.syncAll().catch((e: unknown) => this.#logger.warn({ err: (e as Error).message }, 'ruler: polling rules failed'));
    }, this.#cfg.poll_interval);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#poll) clearInterval(this.#poll);
    // A sync in progress may still start groups: let it finish before stopping them.
    await Promise.all([...this.#locks.values()]);
    const stops: Promise<void>[] = [];
    for (const gs of this.#groups.values()) for (const g of gs.values()) stops.push(g.stop());
    await Promise.all(stops);
    this.#groups.clear();
    await Promise.all([...this.#senders.map((s) => s.stop()), ...[...this.#remote.values()].map((c) => c.stop())]);
  }

  #locked<T>(tenant: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(tenant) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(tenant, tail);
    void tail.then(() => {
      if (this.#locks.get(tenant) === tail) this.#locks.delete(tenant);
    });
    return next;
  }

  /** Reloads every tenant's rule groups from the store. */
  async syncAll(): Promise<void> {
    const tenants = new Set(await this.#store.listTenants());
    for (const t of this.#groups.keys()) tenants.add(t);
    for (const t of tenants) await this.#locked(t, () => this.#syncTenant(t));
  }

  /** Reloads one tenant; keeps unchanged groups running and carries alert state over. */
  async #syncTenant(tenant: string): Promise<void> {
    if (!this.#started) return;
    const desired = new Map<string, { ns: string; spec: RuleGroupSpec }>();
    const files = new Map<string, RuleGroupSpec[]>();
    const current = this.#groups.get(tenant) ?? new Map<string, RuleGroupRunner>();
    for (const ns of await this.#store.listNamespaces(tenant)) {
      let groups: RuleGroupSpec[] | null;
      try {
        groups = await this.#store.getNamespace(tenant, ns);
        if (groups) validateGroups(groups);
      } catch (e) {
        // Like Loki, a file that no longer loads does not stop the groups already running from it.
        this.#logger.error({ tenant, namespace: ns, err: (e as Error).message }, 'ruler: skipping invalid rule file');
        for (const [k, r] of current) if (r.namespace === ns) desired.set(k, { ns, spec: r.spec });
        continue;
      }
      if (!groups) continue;
      files.set(ns, groups);
      for (const g of groups) if (this.#owns(tenant, g.name)) desired.set(groupKey(ns, g.name), { ns, spec: g });
    }
    const next = new Map<string, RuleGroupRunner>();
    for (const [key, { ns, spec }] of desired) {
      const old = current.get(key);
      if (old && old.specKey === JSON.stringify(spec)) {
        next.set(key, old);
        continue;
      }
      const compiled = validateGroups([spec])[0]!;
      const runner = new RuleGroupRunner(tenant, ns, spec, compiled, groupIntervalMs(spec, this.#cfg.evaluation_interval), this.#initialLoad && !old);
      if (old) {
        await old.stop();
        runner.copyStateFrom(old);
      }
      // Stopping while syncing: started groups are registered below, so stop() stops them.
      if (!this.#started) break;
      runner.start(this.#outputs, this.#now);
      next.set(key, runner);
    }
    for (const [key, old] of current) if (!next.has(key)) await old.stop();
    if (next.size > 0) this.#groups.set(tenant, next);
    else this.#groups.delete(tenant);
    await this.#writeRuleFiles(tenant, files);
  }

  /** Mirrors the evaluated rule files under rule_path/<tenant>/ (Loki's mapper), best effort. */
  async #writeRuleFiles(tenant: string, files: Map<string, RuleGroupSpec[]>): Promise<void> {
    const dir = path.join(this.#cfg.rule_path, tenant);
    try {
      await rm(dir, { recursive: true, force: true });
      if (files.size === 0) return;
      await mkdir(dir, { recursive: true });
      for (const [ns, groups] of files) {
        await writeFile(path.join(dir, Buffer.from(ns, 'utf8').toString('base64url')), stringifyYaml({ groups: groups.map(groupToYamlValue) }));
      }
    } catch (e) {
      this.#logger.warn({ tenant, err: (e as Error).message }, 'ruler: cannot write rule files to rule_path');
    }
  }

  // ---- API ---------------------------------------------------------------------------------

  /**
   * Groups per namespace from the store; NotFoundError when there are none. With `labels`
   * (Loki's `labels=k:v,k2:v2`), only rules carrying at least one of them are kept, and groups
   * left empty are dropped.
   */
  async listRuleGroups(tenant: string, namespace?: string, labels: readonly { name: string; value: string }[] = []): Promise<Map<string, RuleGroupSpec[]>> {
    if (namespace !== undefined) checkName(namespace, 'namespace');
    const out = new Map<string, RuleGroupSpec[]>();
    const namespaces = namespace !== undefined ? [namespace] : await this.#store.listNamespaces(tenant);
    for (const ns of namespaces) {
      const groups = await this.#store.getNamespace(tenant, ns);
      if (groups && groups.length > 0) out.set(ns, groups);
    }
    if (out.size === 0) throw new NotFoundError(ERR_NO_RULE_GROUPS);
    if (labels.length === 0) return out;
    const filtered = new Map<string, RuleGroupSpec[]>();
    for (const [ns, groups] of out) {
      const kept = groups
        .map((g) => ({ ...g, rules: g.rules.filter((r) => labels.some((l) => r.labels?.[l.name] === l.value)) }))
        .filter((g) => g.rules.length > 0);
      if (kept.length > 0) filtered.set(ns, kept);
    }
    return filtered;
  }

  async getRuleGroup(tenant: string, namespace: string, group: string): Promise<RuleGroupSpec> {
    checkName(namespace, 'namespace');
    checkName(group, 'groupname');
    const groups = await this.#store.getNamespace(tenant, namespace);
    const g = groups?.find((x) => x.name === group);
    if (!g) throw new NotFoundError(ERR_GROUP_NOT_FOUND);
    return g;
  }

  /**
   * Creates or replaces one group of a namespace from a YAML body (one rulefmt group, as
   * Loki's API takes it). Invalid groups throw InvalidError / RuleValidationError (400).
   */
  async setRuleGroup(tenant: string, namespace: string, body: Buffer): Promise<void> {
    checkName(namespace, 'namespace');
    let doc: unknown;
    try {
      doc = parseYaml(body.toString('utf8'));
    } catch (e) {
      throw new InvalidError(`${ERR_BAD_RULE_GROUP}: ${(e as Error).message.split('\n')[0]}`);
    }
    const spec = decodeRuleGroup(doc);
    validateGroups([spec]);
    checkName(spec.name, 'groupname');
    await this.#locked(tenant, async () => {
      const groups = (await this.#store.getNamespace(tenant, namespace)) ?? [];
      const at = groups.findIndex((g) => g.name === spec.name);
      if (at >= 0) groups[at] = spec;
      else groups.push(spec);
      await this.#store.putNamespace(tenant, namespace, groups);
      await this.#syncTenant(tenant);
    });
  }

  async deleteNamespace(tenant: string, namespace: string): Promise<void> {
    checkName(namespace, 'namespace');
    await this.#locked(tenant, async () => {
      const groups = await this.#store.getNamespace(tenant, namespace);
      if (!groups || groups.length === 0) throw new NotFoundError(ERR_NAMESPACE_NOT_FOUND);
      await this.#store.deleteNamespace(tenant, namespace);
      await this.#syncTenant(tenant);
    });
  }

  async deleteRuleGroup(tenant: string, namespace: string, group: string): Promise<void> {
    checkName(namespace, 'namespace');
    checkName(group, 'groupname');
    await this.#locked(tenant, async () => {
      const groups = (await this.#store.getNamespace(tenant, namespace)) ?? [];
      const rest = groups.filter((g) => g.name !== group);
      if (rest.length === groups.length) throw new NotFoundError(ERR_GROUP_NOT_FOUND);
      await this.#store.putNamespace(tenant, namespace, rest);
      await this.#syncTenant(tenant);
    });
  }

  /** Running groups of a tenant, sorted by namespace then group name. */
  #runners(tenant: string): RuleGroupRunner[] {
    const gs = [...(this.#groups.get(tenant)?.values() ?? [])];
    return gs.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0));
  }

  /** `data` of Prometheus' `GET /api/v1/rules` for a tenant. */
  rulesStatus(tenant: string, f: RulesFilter): { groups: unknown[] } {
    const groups: unknown[] = [];
    const filtered = f.type !== null || f.names.length > 0;
    for (const g of this.#runners(tenant)) {
      if (f.files.length > 0 && !f.files.includes(g.namespace)) continue;
      if (f.groups.length > 0 && !f.groups.includes(g.spec.name)) continue;
      const rules: unknown[] = [];
      for (const r of g.rules) {
        const c = r.compiled;
        if (f.names.length > 0 && !f.names.includes(c.name)) continue;
        if (f.type === 'alert' && c.type !== 'alerting') continue;
        if (f.type === 'record' && c.type !== 'recording') continue;
        const common = { health: r.health, lastError: r.lastError, lastEvaluation: goTime(r.lastEvalMs), evaluationTime: r.evalDurationMs / 1000 };
        if (r.alerting) {
          rules.push({
            state: r.alerting.state(),
            name: c.name,
            query: c.exprText,
            duration: c.forMs / 1000,
            keepFiringFor: c.keepFiringForMs / 1000,
            labels: { ...c.labels },
            annotations: { ...c.annotations },
            alerts: r.alerting.activeAlerts().map(alertJson),
            ...common,
            type: 'alerting',
          });
        } else {
          rules.push({ name: c.name, query: c.exprText, labels: { ...c.labels }, ...common, type: 'recording' });
        }
      }
      if (filtered && rules.length === 0) continue;
      groups.push({
        name: g.spec.name,
        file: g.namespace,
        rules,
        interval: g.intervalMs / 1000,
        limit: g.limit,
        lastEvaluation: goTime(g.lastEvalMs),
        evaluationTime: g.evalDurationMs / 1000,
      });
    }
    return { groups };
  }

  /** `data` of Prometheus' `GET /api/v1/alerts` for a tenant: pending and firing alerts. */
  alertsStatus(tenant: string): { alerts: unknown[] } {
    const alerts: unknown[] = [];
    for (const g of this.#runners(tenant)) for (const r of g.rules) if (r.alerting) for (const a of r.alerting.activeAlerts()) alerts.push(alertJson(a));
    return { alerts };
  }

  /** Running groups (for tests and benchmarks). */
  runningGroups(tenant: string): readonly RuleGroupRunner[] {
    return this.#runners(tenant);
  }

  /** Alerts waiting in a sender queue or remote-write samples pending, for shutdown checks. */
  remoteWritePending(tenant: string): number {
    return this.#remote.get(tenant)?.pending ?? 0;
  }
}

function alertJson(a: { labels: readonly { name: string; value: string }[]; annotations: Record<string, string>; state: string; activeAtMs: number; value: number }): unknown {
  return { labels: labelsToObject(a.labels), annotations: { ...a.annotations }, state: a.state, activeAt: goTime(a.activeAtMs), value: formatFloatE(a.value) };
}

/** Namespace and group names must be plain file names that fit the store (see checkRuleName). */
function checkName(name: string, what: 'namespace' | 'groupname'): void {
  checkRuleName(name, what);
}

/**
 * generatorURL of an alert: Loki's Grafana explore link when a datasource UID is configured,
 * otherwise a Loki instant-query URL, both under external_url.
 */
export function generatorUrl(externalUrl: string, datasourceUid: string, expr: string): string {
  const base = externalUrl.replace(/\/+$/, '');
  if (datasourceUid !== '') {
    const q = JSON.stringify({ expr, queryType: 'range', datasource: { type: 'loki', uid: datasourceUid } });
    return `${base}/explore?left=${goQueryEscape(`{"queries":[${q}]}`)}`;
  }
  return `${base}/loki/api/v1/query?query=${goQueryEscape(expr)}`;
}

/** Go's url.QueryEscape: everything but [A-Za-z0-9-_.~] escaped, spaces as '+'. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

export type { NotifierAlert };
