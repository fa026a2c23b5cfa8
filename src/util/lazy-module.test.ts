import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lazyModule } from './lazy-module.js';

const dir = mkdtempSync(path.join(tmpdir(), 'silt-lazy-module-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REPO = path.resolve(import.meta.dirname, '../..');
/**
 * The libraries a server with its defaults (filesystem, no ring, no Redis) must not load at start:
 * the clients, and koffi (its first idle malloc trim loads it).
 */
const OPTIONAL = /node_modules\/(@aws-sdk|etcd3|ioredis|koffi|@koromix)\//;

describe('lazyModule', () => {
  it('loads the module on the first call only, and answers the same exports after', () => {
    const file = path.join(dir, 'counted.cjs');
    writeFileSync(file, 'globalThis.__siltLazyLoads = (globalThis.__siltLazyLoads ?? 0) + 1; module.exports = { n: globalThis.__siltLazyLoads };\n');
    const g = globalThis as { __siltLazyLoads?: number };
    const load = lazyModule<{ n: number }>(file);
    expect(g.__siltLazyLoads).toBeUndefined();
    const first = load();
    expect(g.__siltLazyLoads).toBe(1);
    expect(load()).toBe(first);
    expect(g.__siltLazyLoads).toBe(1);
  });

  it('keeps the S3 SDK, etcd3, ioredis and koffi out of a server on the defaults until they are used', () => {
    // Every module the child resolves through import (an ESM hook logs it) or require.
    const log = path.join(dir, 'resolved.log');
    const hooks = path.join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');\n  return r;\n}\n`,
    );
    const register = path.join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const child = path.join(dir, 'child.mts');
    writeFileSync(
      child,
      `import { createRequire } from 'node:module';
import { App } from ${JSON.stringify(path.join(REPO, 'src/app/app.ts'))};
import { loadConfig } from ${JSON.stringify(path.join(REPO, 'src/config/config.ts'))};
import { S3ObjectClient } from ${JSON.stringify(path.join(REPO, 'src/storage/index.ts'))};
import { testFlags } from ${JSON.stringify(path.join(REPO, 'test/support/silt.ts'))};
const require = createRequire(${JSON.stringify(path.join(REPO, 'package.json'))});
const { pino } = require('pino');
const cache = require.cache;
const app = new App(loadConfig(testFlags(${JSON.stringify(path.join(dir, 'data'))})), pino({ level: 'silent' }));
await app.start();
const r = await fetch('http://127.0.0.1:' + app.httpPort + '/ready');
await app.stop();
const before = Object.keys(cache);
new S3ObjectClient({ bucket: 'b', endpoint: 'http://127.0.0.1:9' });
console.log(JSON.stringify({ ready: r.status, before, after: Object.keys(cache) }));
`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(register).href, child], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    const got = JSON.parse(out.trim().split('\n').at(-1)!) as { ready: number; before: string[]; after: string[] };
    expect(got.ready).toBe(200);
    const resolved = readFileSync(log, 'utf8').split('\n');
    // The hook sees the packages the server imports (prom-client), and none of the optional ones.
    expect(resolved.some((u) => /node_modules\/prom-client\//.test(u))).toBe(true);
    expect(resolved.filter((u) => OPTIONAL.test(u))).toEqual([]);
    expect(got.before.filter((f) => OPTIONAL.test(f))).toEqual([]);
    // Building an S3 client loads the SDK (the check above can see it).
    expect(got.after.some((f) => /node_modules\/@aws-sdk\/client-s3\//.test(f))).toBe(true);
  }, 90_000);
});
