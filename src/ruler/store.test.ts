import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemObjectClient, MemoryObjectClient, type ObjectClient } from '../storage/index.js';
import type { RuleGroupSpec } from './rule-group.js';
import { ObjectRuleStore, type RuleStoreLayout } from './store.js';

const g = (name: string): RuleGroupSpec => ({ name, interval: '30s', rules: [{ record: 'a:b', expr: 'sum(rate({a="b"}[1m]))', labels: { x: 'y' } }] });

const cases: { name: string; layout: RuleStoreLayout; client: () => ObjectClient; ns: string }[] = [
  { name: 'object layout, memory client', layout: 'object', client: () => new MemoryObjectClient(), ns: 'team a/ü: prod' },
  { name: 'object layout, filesystem client', layout: 'object', client: () => new FilesystemObjectClient(mkdtempSync(path.join(tmpdir(), 'silt-rules-'))), ns: '../../etc' },
  { name: 'local layout, filesystem client', layout: 'local', client: () => new FilesystemObjectClient(mkdtempSync(path.join(tmpdir(), 'silt-rules-'))), ns: 'app.yaml' },
];

describe.each(cases)('ObjectRuleStore ($name)', ({ layout, client, ns }) => {
  it('round-trips namespaces per tenant', async () => {
    const c = client();
    const s = new ObjectRuleStore(c, layout);
    expect(await s.listTenants()).toEqual([]);
    expect(await s.getNamespace('t1', ns)).toBeNull();
    await s.putNamespace('t1', ns, [g('one'), g('two')]);
    await s.putNamespace('t1', 'z-other', [g('three')]);
    await s.putNamespace('t2', ns, [g('four')]);
    expect(await s.listTenants()).toEqual(['t1', 't2']);
    expect(await s.listNamespaces('t1')).toEqual([ns, 'z-other'].sort());
    expect(await s.getNamespace('t1', ns)).toEqual([g('one'), g('two')]);
    await s.putNamespace('t1', ns, []);
    expect(await s.getNamespace('t1', ns)).toBeNull();
    await s.deleteNamespace('t1', 'z-other');
    expect(await s.listNamespaces('t1')).toEqual([]);
    expect(await s.listTenants()).toEqual(['t2']);
    await c.close();
  });
});

describe('ObjectRuleStore local layout', () => {
  it('keeps Loki\'s <dir>/<tenant>/<namespace> files and refuses path-like namespaces', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'silt-rules-'));
    const s = new ObjectRuleStore(new FilesystemObjectClient(dir), 'local');
    await s.putNamespace('fake', 'rules.yml', [g('one')]);
    expect(readdirSync(path.join(dir, 'fake'))).toEqual(['rules.yml']);
    await expect(s.putNamespace('fake', '../x', [g('one')])).rejects.toThrow('invalid namespace: path traversal not allowed');
  });
});
