// The compiled server in dist/: whether it is current, and building it when it is not.
// `npm start` runs `node tools/dist.mjs` first and then dist/cmd/silt.js with plain node: the
// TypeScript loader (`--import tsx`) runs its hooks on a thread of its own for the life of the
// process, ~50–80 MB of resident memory and ~0.5 s of startup (bench/RESULTS.md, issue #20).
// Plain JavaScript so that it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The server's compiled entry point. */
export const DIST_ENTRY = path.join(REPO_ROOT, 'dist/cmd/silt.js');

/** Newest modification time (ms) of the runtime sources under `dirs` (tests excluded). */
export function newestSourceMs(dirs) {
  let newest = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mjs|cjs|js|json|wasm)$/.test(e.name) && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return newest;
}

/** dist/cmd/silt.js exists and is newer than every source under src/ and cmd/ (a stale build would run old code). */
export function distIsCurrent() {
  if (!existsSync(DIST_ENTRY)) return false;
  return statSync(DIST_ENTRY).mtimeMs > newestSourceMs([path.join(REPO_ROOT, 'src'), path.join(REPO_ROOT, 'cmd')]);
}

/** Runs `npm run build` when dist/ is missing or stale; throws when the build fails. */
export function ensureDist() {
  if (distIsCurrent()) return;
  process.stderr.write('silt: compiling the sources into dist/ (npm run build); later starts reuse it until a source changes\n');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
  // Not checked again: with source times in the future (a skewed clock, an unpacked archive) dist/
  // stays "older" after a good build; the next start then builds again instead of failing.
  if (!existsSync(DIST_ENTRY)) throw new Error(`npm run build did not write ${DIST_ENTRY}`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureDist();
  } catch (e) {
    process.stderr.write(`silt: ${e.message}\n`);
    process.exit(1);
  }
}
