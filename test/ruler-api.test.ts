/**
 * The ruler API over HTTP, as Loki answers it: rule group CRUD with YAML bodies on both path
 * families, status codes and error texts, validation messages, the Prometheus rules/alerts
 * JSON with its filters, tenant isolation, and rules loaded from storage at start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startInProcess, tempDir, type InProcess } from './support/silt.js';

const GROUP_A = `name: group-a
interval: 30s
rules:
  - alert: ManyErrors
    expr: sum(count_over_time({app="x"} |= "ERROR" [1m])) > 5
    for: 5m
    keep_firing_for: 1m
    labels:
      severity: warning
    annotations:
      summary: '{{ $value }} errors'
  - record: x:lines:rate1m
    expr: sum by (app) (rate({app="x"}[1m]))
`;

const GROUP_B = `name: group-b
limit: 10
rules:
  - record: y:bytes:rate5m
    expr: sum(bytes_rate({app="y"}[5m]))
    labels:
      source: silt
`;

async function req(base: string, method: string, p: string, body?: string, tenant?: string): Promise<{ status: number; text: string; type: string }> {
  const headers: Record<string, string> = {};
  if (tenant) headers['X-Scope-OrgID'] = tenant;
  const r = await fetch(base + p, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') ?? '' };
}

describe('ruler API', () => {
  let silt: InProcess;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    silt = await startInProcess(dir, ['-auth.enabled=true', '-target=ruler']);
  });
  afterAll(async () => {
    await silt?.stop();
  });

  const call = (method: string, p: string, body?: string, tenant = 't1') => req(silt.url, method, p, body, tenant);

  it('answers 404 "no rule groups found" before any rule exists', async () => {
    const r = await call('GET', '/loki/api/v1/rules');
    expect(r).toMatchObject({ status: 404, text: 'no rule groups found\n' });
  });

  it('creates groups with 202 and lists them as YAML per namespace', async () => {
    const a = await call('POST', '/loki/api/v1/rules/ns1', GROUP_A);
    expect(a.status).toBe(202);
    expect(JSON.parse(a.text)).toEqual({ status: 'success', data: null, errorType: '', error: '' });
    expect((await call('POST', '/api/prom/rules/ns2', GROUP_B)).status).toBe(202);

    const all = await call('GET', '/loki/api/v1/rules');
    expect(all.status).toBe(200);
    expect(all.type).toContain('application/yaml');
    expect(parseYaml(all.text)).toEqual({ ns1: [parseYaml(GROUP_A)], ns2: [parseYaml(GROUP_B)] });

    const ns2 = await call('GET', '/api/prom/rules/ns2');
    expect(parseYaml(ns2.text)).toEqual({ ns2: [parseYaml(GROUP_B)] });
    const one = await call('GET', '/loki/api/v1/rules/ns1/group-a');
    expect(parseYaml(one.text)).toEqual(parseYaml(GROUP_A));
    expect(await call('GET', '/loki/api/v1/rules/nope')).toMatchObject({ status: 404, text: 'no rule groups found\n' });
    expect(await call('GET', '/loki/api/v1/rules/ns1/nope')).toMatchObject({ status: 404, text: 'group does not exist\n' });
  });

  it("filters listed rules by Loki's labels parameter", async () => {
    const sev = await call('GET', '/loki/api/v1/rules?labels=severity:warning');
    const a = parseYaml(GROUP_A);
    expect(parseYaml(sev.text)).toEqual({ ns1: [{ ...a, rules: [a.rules[0]] }] });
    const either = await call('GET', '/loki/api/v1/rules?labels=severity:page,source:silt');
    expect(parseYaml(either.text)).toEqual({ ns2: [parseYaml(GROUP_B)] });
    expect(parseYaml((await call('GET', '/loki/api/v1/rules/ns1?labels=source:silt')).text)).toEqual({});
    expect(await call('GET', '/loki/api/v1/rules?labels=severity')).toMatchObject({ status: 400 });
  });

  it('keeps tenants apart', async () => {
    expect((await call('GET', '/loki/api/v1/rules', undefined, 'other')).status).toBe(404);
    const prom = JSON.parse((await call('GET', '/prometheus/api/v1/rules', undefined, 'other')).text);
    expect(prom).toEqual({ status: 'success', data: { groups: [] } });
    expect((await req(silt.url, 'GET', '/loki/api/v1/rules')).status).toBe(401);
  });

  it('replaces a group of the same name in place', async () => {
    const changed = GROUP_B.replace('limit: 10', 'limit: 3');
    expect((await call('POST', '/loki/api/v1/rules/ns2', changed)).status).toBe(202);
    expect(parseYaml((await call('GET', '/loki/api/v1/rules/ns2')).text)).toEqual({ ns2: [parseYaml(changed)] });
  });

  it('serves Prometheus-style rule status with filters', async () => {
    const all = JSON.parse((await call('GET', '/prometheus/api/v1/rules')).text);
    expect(all.status).toBe('success');
    const groups = all.data.groups;
    expect(groups.map((g: any) => [g.file, g.name, g.interval, g.limit])).toEqual([
      ['ns1', 'group-a', 30, 0],
      ['ns2', 'group-b', 60, 3],
    ]);
    expect(groups[0].lastEvaluation).toBe('0001-01-01T00:00:00Z');
    expect(groups[0].rules[0]).toEqual({
      state: 'inactive',
      name: 'ManyErrors',
      query: 'sum(count_over_time({app="x"} |= "ERROR" [1m])) > 5',
      duration: 300,
      keepFiringFor: 60,
      labels: { severity: 'warning' },
      annotations: { summary: '{{ $value }} errors' },
      alerts: [],
      health: 'unknown',
      lastError: '',
      lastEvaluation: '0001-01-01T00:00:00Z',
      evaluationTime: 0,
      type: 'alerting',
    });
    expect(groups[1].rules[0]).toMatchObject({ name: 'y:bytes:rate5m', type: 'recording', labels: { source: 'silt' }, health: 'unknown' });

    const names = async (q: string): Promise<string[]> =>
      JSON.parse((await call('GET', `/prometheus/api/v1/rules?${q}`)).text).data.groups.flatMap((g: any) => g.rules.map((r: any) => r.name));
    expect(await names('type=alert')).toEqual(['ManyErrors']);
    expect(await names('type=RECORD')).toEqual(['x:lines:rate1m', 'y:bytes:rate5m']);
    expect(await names('file[]=ns2')).toEqual(['y:bytes:rate5m']);
    expect(await names('rule_group[]=group-a&type=record')).toEqual(['x:lines:rate1m']);
    expect(await names('rule_name[]=ManyErrors&rule_name[]=y:bytes:rate5m')).toEqual(['ManyErrors', 'y:bytes:rate5m']);
    expect(await names('rule_name=nothing')).toEqual([]);

    const bad = await call('GET', '/prometheus/api/v1/rules?type=bogus');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toEqual({ status: 'error', data: null, errorType: 'bad_data', error: 'not supported value "bogus"' });

    const alerts = JSON.parse((await call('GET', '/prometheus/api/v1/alerts')).text);
    expect(alerts).toEqual({ status: 'success', data: { alerts: [] } });
  });

  const invalid: { name: string; body: string; want: RegExp | string }[] = [
    { name: 'YAML syntax', body: 'name: [x', want: /^unable to decoded rule group: / },
    { name: 'not a mapping', body: '- a\n- b\n', want: 'unable to decoded rule group: a rule group must be a mapping' },
    { name: 'bad duration', body: 'name: g\nrules:\n  - alert: A\n    expr: sum(rate({a="b"}[1m]))\n    for: 5x\n', want: 'unable to decoded rule group: group "g", rule 1: for: unknown unit "x" in duration "5x"' },
    { name: 'empty group name', body: 'rules: []\n', want: 'group 0: Groupname must not be empty' },
    { name: 'alert and record', body: 'name: g\nrules:\n  - alert: A\n    record: b\n    expr: sum(rate({a="b"}[1m]))\n', want: `group "g", rule 1, "A": only one of 'record' and 'alert' must be set` },
    { name: 'neither alert nor record', body: 'name: g\nrules:\n  - expr: sum(rate({a="b"}[1m]))\n', want: `group "g", rule 1: one of 'record' or 'alert' must be set` },
    { name: 'missing expr', body: 'name: g\nrules:\n  - record: a\n', want: `group "g", rule 1, "a": field 'expr' must be set in rule` },
    {
      name: 'LogQL syntax error with line and col',
      body: 'name: g\nrules:\n  - record: ok\n    expr: sum(rate({a="b"}[1m]))\n  - alert: Broken\n    expr: |\n      sum(rate({a="b"}[1m]))\n        > > 5\n',
      want: /^could not parse expression for alert 'Broken' in group 'g': parse error at line 2, col \d+: /,
    },
    { name: 'log query as a rule', body: 'name: g\nrules:\n  - record: r\n    expr: \'{a="b"} |= "x"\'\n', want: /^group "g", rule 1, "r": record expression must be a metric query/ },
    { name: 'annotations on a recording rule', body: 'name: g\nrules:\n  - record: r\n    expr: sum(rate({a="b"}[1m]))\n    annotations:\n      x: y\n', want: `group "g", rule 1, "r": invalid field 'annotations' in recording rule` },
    { name: 'bad metric name', body: 'name: g\nrules:\n  - record: 1bad\n    expr: sum(rate({a="b"}[1m]))\n', want: 'group "g", rule 1, "1bad": invalid recording rule name: 1bad' },
    { name: 'bad label name', body: 'name: g\nrules:\n  - alert: A\n    expr: sum(rate({a="b"}[1m]))\n    labels:\n      "a-b": x\n', want: 'group "g", rule 1, "A": invalid label name: a-b' },
    { name: 'bad template', body: 'name: g\nrules:\n  - alert: A\n    expr: sum(rate({a="b"}[1m]))\n    annotations:\n      s: "{{ $nope }}"\n', want: /^group "g", rule 1, "A": annotation "s": parse error at line 1, col \d+: template: __alert_A:1: undefined variable "\$nope"$/ },
    { name: 'negative limit', body: 'name: g\nlimit: -1\nrules: []\n', want: 'unable to decoded rule group: group "g": limit must be a non-negative integer' },
  ];

  it.each(invalid)('rejects $name with 400 and a clear message', async ({ body, want }) => {
    const r = await call('POST', '/loki/api/v1/rules/bad', body);
    expect(r.status).toBe(400);
    const msg = r.text.replace(/\n$/, '');
    if (typeof want === 'string') expect(msg).toBe(want);
    else expect(msg).toMatch(want);
    expect((await call('GET', '/loki/api/v1/rules/bad')).status).toBe(404);
  });

  it('reports the LogQL error exactly as the query API does', async () => {
    const expr = 'sum(rate({a="b"}[1m]) by';
    const viaQuery = await call('GET', `/loki/api/v1/query?${new URLSearchParams({ query: expr })}`);
    expect(viaQuery.status).toBe(400);
    const r = await call('POST', '/loki/api/v1/rules/bad', `name: g\nrules:\n  - alert: A\n    expr: '${expr}'\n`);
    expect(r.text).toBe(`could not parse expression for alert 'A' in group 'g': ${viaQuery.text}`);
  });

  it('rejects namespace and group names that are not plain names', async () => {
    const r = await call('POST', '/loki/api/v1/rules/..%2Fetc', GROUP_B);
    expect(r).toMatchObject({ status: 400, text: 'invalid namespace: path traversal not allowed\n' });
    const g = await call('GET', '/loki/api/v1/rules/ns1/..%2Fx');
    expect(g).toMatchObject({ status: 400, text: 'invalid groupname: path traversal not allowed\n' });
  });

  it('answers 400 with the reason for names the store cannot hold, on every route', async () => {
    const long = 'n'.repeat(300);
    const tooLong = (what: string, bytes: number) => ({ status: 400, text: `invalid ${what}: too long: ${bytes} bytes, limit: 191 bytes\n` });
    expect(await call('POST', `/loki/api/v1/rules/${long}`, GROUP_B)).toMatchObject(tooLong('namespace', 300));
    expect(await call('GET', `/loki/api/v1/rules/${long}`)).toMatchObject(tooLong('namespace', 300));
    expect(await call('DELETE', `/api/prom/rules/${long}`)).toMatchObject(tooLong('namespace', 300));
    expect(await call('GET', `/loki/api/v1/rules/${long}/group-b`)).toMatchObject(tooLong('namespace', 300));
    const longGroup = 'g'.repeat(300);
    expect(await call('POST', '/loki/api/v1/rules/ns9', GROUP_B.replace('name: group-b', `name: ${longGroup}`))).toMatchObject(tooLong('groupname', 300));
    expect(await call('GET', `/loki/api/v1/rules/ns2/${longGroup}`)).toMatchObject(tooLong('groupname', 300));
    expect(await call('DELETE', `/loki/api/v1/rules/ns2/${longGroup}`)).toMatchObject(tooLong('groupname', 300));
    // The limit counts UTF-8 bytes: 96 × "é" is 192 bytes.
    expect(await call('POST', `/loki/api/v1/rules/${encodeURIComponent('é'.repeat(96))}`, GROUP_B)).toMatchObject(tooLong('namespace', 192));
    // Path-like names: "/" arrives encoded as %2F; ".." can only come in a body (URLs drop dot segments).
    expect(await call('POST', '/loki/api/v1/rules/a%2Fb', GROUP_B)).toMatchObject({ status: 400, text: 'invalid namespace: path traversal not allowed\n' });
    expect(await call('POST', '/loki/api/v1/rules/a%5Cb', GROUP_B)).toMatchObject({ status: 400, text: 'invalid namespace: path traversal not allowed\n' });
    expect(await call('POST', '/loki/api/v1/rules/ns9', GROUP_B.replace('name: group-b', 'name: ".."'))).toMatchObject({ status: 400, text: 'invalid groupname: path traversal not allowed\n' });
    await expect(silt.app.ruler!.setRuleGroup('t1', '..', Buffer.from(GROUP_B))).rejects.toThrow('invalid namespace: path traversal not allowed');
    await expect(silt.app.ruler!.listRuleGroups('t1', '.')).rejects.toThrow('invalid namespace: path traversal not allowed');
    expect(await call('POST', '/loki/api/v1/rules/', GROUP_B)).toMatchObject({ status: 400, text: 'a namespace must be provided in the request\n' });
    expect(await call('GET', '/loki/api/v1/rules/ns2/')).toMatchObject({ status: 400, text: 'a matching group name must be provided in the request\n' });
    // A too-long tenant is refused before any of this, with dskit's 400.
    for (const [method, p] of [['GET', '/loki/api/v1/rules'], ['POST', '/loki/api/v1/rules/ns9'], ['DELETE', '/api/prom/rules/ns2/group-b'], ['GET', '/prometheus/api/v1/rules']] as const) {
      expect(await call(method, p, method === 'POST' ? GROUP_B : undefined, 't'.repeat(151)), `${method} ${p}`).toMatchObject({ status: 400, text: 'tenant ID is too long: max 150 characters\n' });
    }
    // Nothing was stored.
    expect(Object.keys(parseYaml((await call('GET', '/loki/api/v1/rules')).text)).sort()).toEqual(['ns1', 'ns2']);
  });

  it('round-trips unicode names, and names at the length limit', async () => {
    const ns = 'équipe 🚀 prod';
    const group = 'grüppe-日本';
    const body = GROUP_B.replace('name: group-b', `name: ${group}`);
    expect((await call('POST', `/loki/api/v1/rules/${encodeURIComponent(ns)}`, body)).status).toBe(202);
    expect(parseYaml((await call('GET', `/loki/api/v1/rules/${encodeURIComponent(ns)}`)).text)).toEqual({ [ns]: [parseYaml(body)] });
    expect(parseYaml((await call('GET', `/api/prom/rules/${encodeURIComponent(ns)}/${encodeURIComponent(group)}`)).text)).toEqual(parseYaml(body));
    const prom = JSON.parse((await call('GET', '/prometheus/api/v1/rules')).text).data.groups;
    expect(prom.map((g: any) => [g.file, g.name])).toContainEqual([ns, group]);
    // 191 bytes (95 × "é" and one "x") is the longest name: its base64url form is 255 bytes.
    const longest = 'é'.repeat(95) + 'x';
    const atLimit = GROUP_B.replace('name: group-b', `name: ${longest}`);
    expect((await call('POST', `/loki/api/v1/rules/${encodeURIComponent(longest)}`, atLimit)).status).toBe(202);
    expect(parseYaml((await call('GET', `/loki/api/v1/rules/${encodeURIComponent(longest)}/${encodeURIComponent(longest)}`)).text)).toEqual(parseYaml(atLimit));
    expect((await call('DELETE', `/loki/api/v1/rules/${encodeURIComponent(longest)}`)).status).toBe(202);
    expect((await call('DELETE', `/loki/api/v1/rules/${encodeURIComponent(ns)}/${encodeURIComponent(group)}`)).status).toBe(202);
    expect((await call('GET', `/loki/api/v1/rules/${encodeURIComponent(ns)}`)).status).toBe(404);
  });

  it('deletes groups and namespaces with 202, and 404 for missing ones', async () => {
    expect(await call('DELETE', '/loki/api/v1/rules/ns1/nope')).toMatchObject({ status: 404, text: 'group does not exist\n' });
    expect((await call('DELETE', '/loki/api/v1/rules/ns1/group-a')).status).toBe(202);
    expect((await call('GET', '/loki/api/v1/rules/ns1')).status).toBe(404);
    expect(await call('DELETE', '/api/prom/rules/ns1')).toMatchObject({ status: 404, text: 'group namespace does not exist\n' });
    expect((await call('POST', '/loki/api/v1/rules/ns3', GROUP_A)).status).toBe(202);
    expect((await call('DELETE', '/api/prom/rules/ns3')).status).toBe(202);
    const groups = JSON.parse((await call('GET', '/prometheus/api/v1/rules')).text).data.groups;
    expect(groups.map((g: any) => g.file)).toEqual(['ns2']);
  });

  it('loads stored rules at start', async () => {
    await silt.stop();
    silt = await startInProcess(dir, ['-auth.enabled=true', '-target=ruler']);
    const groups = JSON.parse((await call('GET', '/prometheus/api/v1/rules')).text).data.groups;
    expect(groups.map((g: any) => [g.file, g.name, g.limit])).toEqual([['ns2', 'group-b', 3]]);
  });
});

describe('ruler API with local rule files', () => {
  let silt: InProcess;
  let rulesDir: string;

  beforeAll(async () => {
    const dir = tempDir();
    rulesDir = path.join(dir, 'rules');
    mkdirSync(path.join(rulesDir, 'fake'), { recursive: true });
    writeFileSync(path.join(rulesDir, 'fake', 'app.yaml'), `groups:\n  - ${GROUP_B.trim().split('\n').join('\n    ')}\n`);
    writeFileSync(path.join(rulesDir, 'fake', 'broken.yaml'), 'groups:\n  - name: b\n    rules:\n      - record: r\n        expr: nope(\n');
    silt = await startInProcess(dir, ['-ruler.storage.type=local', `-ruler.storage.local.directory=${rulesDir}`]);
  });
  afterAll(async () => {
    await silt?.stop();
  });

  it('evaluates valid files dropped into <dir>/<tenant>/ and skips invalid ones', async () => {
    const groups = JSON.parse((await req(silt.url, 'GET', '/prometheus/api/v1/rules')).text).data.groups;
    expect(groups.map((g: any) => [g.file, g.name])).toEqual([['app.yaml', 'group-b']]);
  });

  it('writes API changes as files in the same layout', async () => {
    expect((await req(silt.url, 'POST', '/loki/api/v1/rules/new.yaml', GROUP_A)).status).toBe(202);
    const { readFileSync } = await import('node:fs');
    expect(parseYaml(readFileSync(path.join(rulesDir, 'fake', 'new.yaml'), 'utf8'))).toEqual({ groups: [parseYaml(GROUP_A)] });
  });

  it('keeps running the groups of a file that stops loading', async () => {
    writeFileSync(path.join(rulesDir, 'fake', 'app.yaml'), 'groups: [ this is not yaml');
    // Any change of the tenant's rules reloads every file of the tenant.
    expect((await req(silt.url, 'POST', '/loki/api/v1/rules/new.yaml', GROUP_B)).status).toBe(202);
    const groups = JSON.parse((await req(silt.url, 'GET', '/prometheus/api/v1/rules')).text).data.groups;
    expect(groups.map((g: any) => [g.file, g.name])).toEqual([
      ['app.yaml', 'group-b'],
      ['new.yaml', 'group-a'],
      ['new.yaml', 'group-b'],
    ]);
  });
});
