import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildInfo, gitInfo } from './version.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'silt-version-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs git (a real repository is the reference for what .git holds). */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();
}

const hasGit = ((): boolean => {
  try {
    execFileSync('git', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

describe('gitInfo', () => {
  it('is unknown outside a git checkout', () => {
    expect(gitInfo(dir())).toEqual({ revision: 'unknown', branch: 'unknown' });
  });

  it.runIf(hasGit)('reads branch and short revision as git rev-parse does: loose refs, packed refs, detached HEAD, worktrees', () => {
    const repo = dir();
    git(repo, 'init', '-q', '-b', 'feature/x');
    writeFileSync(path.join(repo, 'f'), 'x');
    git(repo, 'add', 'f');
    git(repo, 'commit', '-q', '-m', 'one');
    const want = (cwd: string): { revision: string; branch: string } => ({ revision: git(cwd, 'rev-parse', '--short=7', 'HEAD'), branch: git(cwd, 'rev-parse', '--abbrev-ref', 'HEAD') });
    expect(gitInfo(repo)).toEqual(want(repo));
    expect(gitInfo(repo).branch).toBe('feature/x');
    git(repo, 'pack-refs', '--all');
    expect(gitInfo(repo)).toEqual(want(repo));
    const wt = path.join(dir(), 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'other', wt);
    expect(gitInfo(wt)).toEqual({ ...want(wt), branch: 'other' });
    git(repo, 'checkout', '-q', '--detach');
    expect(gitInfo(repo)).toEqual({ revision: want(repo).revision, branch: 'HEAD' });
  });

  it('says unknown for a HEAD naming a ref that does not exist yet (a fresh repository)', () => {
    const d = dir();
    mkdirSync(path.join(d, '.git'));
    writeFileSync(path.join(d, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    expect(gitInfo(d)).toEqual({ revision: 'unknown', branch: 'main' });
  });
});

describe('buildInfo', () => {
  it("has package.json's version, the Node.js version and unknown build user and date", () => {
    const b = buildInfo();
    expect(b.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(b.nodeVersion).toBe(process.version);
    expect(b.buildUser).toBe('unknown');
    expect(b.buildDate).toBe('unknown');
  });
});
