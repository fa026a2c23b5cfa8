#!/usr/bin/env node
// Makes sure the Debian services the tests start on 127.0.0.1 (and the reference `zstd` CLI the
// chunk codec tests compare against) are installed, before `npm test` runs vitest. As root with apt-get it installs what is missing; otherwise it stops at once and
// prints the exact command. The packages' own services (where an init system starts them) are
// not used: tests start their own instances on free ports.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';

/** Binary the tests run (test/support/prometheus.ts; its env override) → Debian package that ships it. */
const NEEDED = [
  [process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus', 'prometheus'],
  [process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager', 'prometheus-alertmanager'],
  ['/usr/bin/zstd', 'zstd'],
  // The ring and cluster tests (src/ring, test/cluster*.test.ts) run real etcd members.
  [process.env.ETCD_BIN ?? '/usr/bin/etcd', 'etcd-server'],
  // The results cache's Redis backend (src/frontend/results-store.test.ts) runs a real redis-server;
  // a packaged one the init system may start listens on 6379, the tests on free ports.
  [process.env.REDIS_BIN ?? '/usr/bin/redis-server', 'redis-server'],
];

const missing = NEEDED.filter(([bin]) => !existsSync(bin));
if (missing.length === 0) process.exit(0);
const pkgs = missing.map(([, p]) => p);
const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  process.stderr.write(`The tests need ${pkgs.join(', ')} (Debian packages). Install them with:\n\n  sudo ${cmd}\n\n`);
  process.exit(1);
}
process.stderr.write(`installing ${pkgs.join(' ')} for the tests: ${cmd}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('sh', ['-c', `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${pkgs.join(' ')} >/dev/null`], { stdio: 'inherit', env });
} catch {
  process.stderr.write(`installing failed; run it yourself:\n\n  ${cmd}\n\n`);
  process.exit(1);
}
// Where an init system started the packaged services, stop them: tests run their own.
for (const name of ['prometheus', 'prometheus-alertmanager', 'etcd', 'redis-server']) spawnSync('pkill', ['-x', name], { stdio: 'ignore' });
