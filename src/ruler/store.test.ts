import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectClient, MemoryObjectClient, type ObjectClient } from '../storage/index.js';
import type { RuleGroupSpec } from './rule-group.js';
import { checkRuleName, ObjectRuleStore, type RuleStoreLayout } from './store.js';

/** Temp dirs of these tests, removed at the end. */
const dirs: string[] = [];
function tempRulesDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'silt-rules-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const g = (name: string): RuleGroupSpec => ({ name, interval: '30s', rules: [{ record: 'a:b', expr: 'sum(rate({a="b"}[1m]))', labels: { x: 'y' } }] });

const cases: { name: string; layout: RuleStoreLayout; client: () => ObjectClient; ns: string }[] = [
  { name: 'object layout, memory client', layout: 'object', client: () => new MemoryObjectClient(), ns: 'team a/ü: prod' },
  { name: 'object layout, filesystem client', layout: 'object', client: () => new FilesystemObjectClient(tempRulesDir()), ns: '../../etc' },
  { name: 'local layout, filesystem client', layout: 'local', client: () => new FilesystemObjectClient(tempRulesDir()), ns: 'app.yaml' },
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
    const dir = tempRulesDir();
    const s = new ObjectRuleStore(new FilesystemObjectClient(dir), 'local');
    await s.putNamespace('fake', 'rules.yml', [g('one')]);
    expect(readdirSync(path.join(dir, 'fake'))).toEqual(['rules.yml']);
    await expect(s.putNamespace('fake', '../x', [g('one')])).rejects.toThrow('invalid namespace: path traversal not allowed');
  });
});

describe('rule names and the length of their stored form', () => {
  it.each(['object', 'local'] as const)('%s layout: stores names up to one path component on a real file system, refuses longer ones with 400', async (layout) => {
    const s = new ObjectRuleStore(new FilesystemObjectClient(tempRulesDir()), layout);
    // The object layout stores base64url(namespace): 191 bytes encode to 255, 192 to 256.
    const [fits, tooLong] = layout === 'object' ? ['é'.repeat(95) + 'x', 'é'.repeat(96)] : ['é'.repeat(127) + 'x', 'é'.repeat(128)];
    await s.putNamespace('t', fits, [g('one')]);
    expect(await s.getNamespace('t', fits)).toEqual([g('one')]);
    expect(await s.listNamespaces('t')).toEqual([fits]);
    await expect(s.putNamespace('t', tooLong, [g('one')])).rejects.toMatchObject({ kind: 'invalid', message: 'invalid namespace: too long: 256 bytes as stored, limit: 255 bytes' });
    await expect(s.getNamespace('t', tooLong)).rejects.toMatchObject({ kind: 'invalid' });
    await expect(s.putNamespace('t', '', [g('one')])).rejects.toMatchObject({ kind: 'invalid', message: 'a namespace must be provided in the request' });
  });

  it('checks names from users: present, plain, at most 191 bytes of UTF-8', () => {
    expect(() => checkRuleName('ns', 'namespace')).not.toThrow();
    expect(() => checkRuleName('x'.repeat(191), 'groupname')).not.toThrow();
    expect(() => checkRuleName('x'.repeat(192), 'groupname')).toThrow('invalid groupname: too long: 192 bytes, limit: 191 bytes');
    expect(() => checkRuleName('日'.repeat(64), 'namespace')).toThrow('invalid namespace: too long: 192 bytes, limit: 191 bytes');
    expect(() => checkRuleName('', 'namespace')).toThrow('a namespace must be provided in the request');
    expect(() => checkRuleName('', 'groupname')).toThrow('a matching group name must be provided in the request');
    for (const bad of ['.', '..', 'a/b', 'a\\b', 'a\0b']) expect(() => checkRuleName(bad, 'namespace')).toThrow('invalid namespace: path traversal not allowed');
  });
});
