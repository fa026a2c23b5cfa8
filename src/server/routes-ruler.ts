/**
 * The ruler's HTTP API, as Loki serves it: rule group CRUD with YAML bodies under
 * `/loki/api/v1/rules` and Grafana's `/api/prom/rules`, and Prometheus' JSON status endpoints
 * `/prometheus/api/v1/rules` and `/prometheus/api/v1/alerts`.
 */
import { stringify as stringifyYaml } from 'yaml';
import { InvalidError } from '../errors.js';
import { groupToYamlValue, type Ruler, type RuleGroupSpec, type RulesFilter } from '../ruler/index.js';
import { json, type HttpServer, type Req, type Res } from './http.js';
import { mapError } from './status.js';

const YAML = 'application/yaml';

function yamlRes(v: unknown): Res {
  return { status: 200, body: stringifyYaml(v), contentType: YAML };
}

/** Loki's `respondAccepted`. */
function accepted(): Res {
  return json({ status: 'success', data: null, errorType: '', error: '' }, 202);
}

function formatted(groups: Map<string, RuleGroupSpec[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [ns, gs] of groups) out[ns] = gs.map(groupToYamlValue);
  return out;
}

/** Prometheus API answers carry errors as JSON (`status: error`); the status comes from status.ts. */
function promApi(fn: (req: Req) => unknown): (req: Req) => Res {
  return (req) => {
    try {
      return json({ status: 'success', data: fn(req) });
    } catch (e) {
      const m = mapError(e);
      if (m.unexpected) throw e;
      return json({ status: 'error', data: null, errorType: m.status === 400 ? 'bad_data' : 'server_error', error: m.message }, m.status);
    }
  };
}

function list(req: Req, name: string): string[] {
  return [...req.params.getAll(`${name}[]`), ...req.params.getAll(name)].filter((x) => x !== '');
}

function rulesFilter(req: Req): RulesFilter {
  const t = (req.params.get('type') ?? '').toLowerCase();
  if (t !== '' && t !== 'alert' && t !== 'record') throw new InvalidError(`not supported value ${JSON.stringify(t)}`);
  return { type: t === '' ? null : t, files: list(req, 'file'), groups: list(req, 'rule_group'), names: list(req, 'rule_name') };
}

/** Loki's `labels=k:v,k2:v2` filter of the list endpoints. */
function labelsParam(req: Req): { name: string; value: string }[] {
  const raw = req.params.get('labels') ?? '';
  if (raw === '') return [];
  return raw.split(',').map((kv) => {
    const at = kv.indexOf(':');
    if (at < 0) throw new InvalidError(`invalid labels parameter ${JSON.stringify(raw)}: expected name:value pairs separated by commas`);
    return { name: kv.slice(0, at), value: kv.slice(at + 1) };
  });
}

/** One route per path; the handler is picked by method (the server matches paths first). */
function byMethod(http: HttpServer, pattern: string, handlers: Record<string, (req: Req) => Promise<Res> | Res>): void {
  http.route(Object.keys(handlers), pattern, (req) => handlers[req.method]!(req), true);
}

/** Registers the ruler endpoints. */
export function registerRulerRoutes(http: HttpServer, ruler: Ruler): void {
  for (const base of ['/loki/api/v1/rules', '/api/prom/rules']) {
    byMethod(http, base, { GET: async (req) => yamlRes(formatted(await ruler.listRuleGroups(req.tenant, undefined, labelsParam(req)))) });
    byMethod(http, `${base}/:namespace`, {
      GET: async (req) => yamlRes(formatted(await ruler.listRuleGroups(req.tenant, req.vars['namespace']!, labelsParam(req)))),
      POST: async (req) => {
        await ruler.setRuleGroup(req.tenant, req.vars['namespace']!, req.body);
        return accepted();
      },
      DELETE: async (req) => {
        await ruler.deleteNamespace(req.tenant, req.vars['namespace']!);
        return accepted();
      },
    });
    byMethod(http, `${base}/:namespace/:group`, {
      GET: async (req) => yamlRes(groupToYamlValue(await ruler.getRuleGroup(req.tenant, req.vars['namespace']!, req.vars['group']!))),
      DELETE: async (req) => {
        await ruler.deleteRuleGroup(req.tenant, req.vars['namespace']!, req.vars['group']!);
        return accepted();
      },
    });
  }
  for (const base of ['/prometheus/api/v1', '/api/prom/api/v1']) {
    byMethod(http, `${base}/rules`, { GET: promApi((req) => ruler.rulesStatus(req.tenant, rulesFilter(req))) });
    byMethod(http, `${base}/alerts`, { GET: promApi((req) => ruler.alertsStatus(req.tenant)) });
  }
}
