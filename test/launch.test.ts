import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/genlogs.js';
import { serverNodeFlags } from './support/silt.js';

describe('how the server is launched', () => {
  it('npm start, the built binary and the tests all use the node flags of cmd/silt.ts', () => {
    const flags = serverNodeFlags();
    expect(flags).toContain('--max-semi-space-size=32');
    expect(flags).toContain('--heap-growing-percent=300');
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(pkg.scripts['start']).toBe(`node ${flags.join(' ')} --import tsx cmd/silt.ts`);
    // tsc keeps the first line, so dist/cmd/silt.js (the `silt` bin) starts with the same flags.
    expect(pkg.bin['silt']).toBe('dist/cmd/silt.js');
  });
});
