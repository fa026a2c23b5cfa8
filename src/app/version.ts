/**
 * What this Silt is: the version from package.json and the git revision and branch of the
 * checkout it runs from, read once at start (no git binary needed: `.git/HEAD` and the ref it
 * names). Outside a git checkout (an installed or copied build) revision and branch are
 * `unknown`. Served by `/loki/api/v1/status/buildinfo` and `loki_build_info`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What is not known (no git checkout, no build step recording it). */
export const UNKNOWN = 'unknown';

/** Length of the revision shown, as `git rev-parse --short` (Loki's Makefile). */
const SHORT_REVISION = 7;

/** Build facts, in Loki's buildinfo field names plus the Node.js version. */
export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  /** Node.js version Silt runs on (`v20.19.0`). */
  nodeVersion: string;
}

/** The directory of Silt's package.json, looking up from this module (sources or `dist/`). */
function packageRoot(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown }).name === 'silt') return dir;
      } catch {
        // not ours; keep looking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function readText(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** The commit a ref names: a loose ref file, else packed-refs (in the common dir of worktrees). */
function resolveRef(gitDirs: readonly string[], ref: string): string | null {
  for (const d of gitDirs) {
    const loose = readText(path.join(d, ref))?.trim();
    if (loose !== undefined && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
  }
  for (const d of gitDirs) {
    const packed = readText(path.join(d, 'packed-refs'));
    if (packed === null) continue;
    for (const line of packed.split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && sha !== undefined && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
    }
  }
  return null;
}

/** Revision and branch of the git checkout at `root` (worktrees included), or unknown. */
export function gitInfo(root: string): { revision: string; branch: string } {
  const unknown = { revision: UNKNOWN, branch: UNKNOWN };
  let gitDir = path.join(root, '.git');
  try {
    if (statSync(gitDir).isFile()) {
      const m = /^gitdir: (.+)$/m.exec(readText(gitDir) ?? '');
      if (m === null) return unknown;
      gitDir = path.resolve(root, m[1]!.trim());
    }
  } catch {
    return unknown;
  }
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return unknown;
  const common = readText(path.join(gitDir, 'commondir'))?.trim();
  const dirs = common !== undefined ? [gitDir, path.resolve(gitDir, common)] : [gitDir];
  if (!head.startsWith('ref: ')) {
    // Detached HEAD: `git rev-parse --abbrev-ref HEAD` says HEAD.
    return /^[0-9a-f]{40,64}$/.test(head) ? { revision: head.slice(0, SHORT_REVISION), branch: 'HEAD' } : unknown;
  }
  const ref = head.slice('ref: '.length);
  const sha = resolveRef(dirs, ref);
  return { revision: sha === null ? UNKNOWN : sha.slice(0, SHORT_REVISION), branch: ref.replace(/^refs\/heads\//, '') };
}

let cached: BuildInfo | null = null;

/** This process's build facts (read on first call). */
export function buildInfo(): BuildInfo {
  if (cached !== null) return cached;
  const root = packageRoot();
  let version = UNKNOWN;
  if (root !== null) {
    try {
      version = String((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown }).version ?? UNKNOWN);
    } catch {
      // keep unknown
    }
  }
  const git = root === null ? { revision: UNKNOWN, branch: UNKNOWN } : gitInfo(root);
  // Silt has no build step that records who built it and when.
  cached = Object.freeze({ version, ...git, buildUser: UNKNOWN, buildDate: UNKNOWN, nodeVersion: process.version });
  return cached;
}

/** Silt's version (package.json), as `silt -version` prints it. */
export const VERSION = buildInfo().version;
