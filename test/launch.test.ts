import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/genlogs.js';
import { newestSourceMs } from '../tools/dist.mjs';
import { serverNodeFlags, tempDir } from './support/silt.js';

describe('how the server is launched', () => {
  it('npm start, the built binary and the tests all use the node flags of cmd/silt.ts', () => {
    const flags = serverNodeFlags();
    expect(flags).toContain('--max-semi-space-size=16');
    expect(flags).toContain('--heap-growing-percent=300');
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    // npm start compiles into dist/ when it is stale (tools/dist.mjs), then runs it without tsx.
    expect(pkg.scripts['start']).toBe(`node tools/dist.mjs && exec node ${flags.join(' ')} dist/cmd/silt.js`);
    // tsc keeps the first line, so dist/cmd/silt.js (the `silt` bin) starts with the same flags.
    expect(pkg.bin['silt']).toBe('dist/cmd/silt.js');
  });

  it('npm start rebuilds dist/ when any runtime source is newer than it (tests and other files do not count)', () => {
    const dir = tempDir('silt-launch-');
    const at = (file: string, seconds: number): void => {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), '');
      utimesSync(path.join(dir, file), seconds, seconds);
    };
    at('src/a/b.ts', 1000);
    at('src/a/b.test.ts', 5000);
    at('src/notes.md', 6000);
    at('cmd/silt.ts', 2000);
    expect(newestSourceMs([path.join(dir, 'src'), path.join(dir, 'cmd'), path.join(dir, 'missing')])).toBe(2_000_000);
    at('src/util/worker-boot.mjs', 3000);
    expect(newestSourceMs([path.join(dir, 'src'), path.join(dir, 'cmd')])).toBe(3_000_000);
  });
});
