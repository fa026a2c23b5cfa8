/**
 * The README's curl examples run as written: every `sh` block of the sections below is run
 * with bash against a live Silt (only `localhost:3100` is replaced by its address), and every
 * curl must get a 2xx answer. The metric query of the LogQL section must return data.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/genlogs.js';
import { startInProcess, tempDir, type InProcess } from './support/silt.js';

/** The `sh` code blocks of the README section whose heading is `heading`. */
function shBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

describe('README examples', () => {
  let silt: InProcess;
  beforeAll(async () => {
    silt = await startInProcess(tempDir('silt-readme-'));
  });
  afterAll(async () => {
    await silt.stop();
  });

  /** Runs a block with every curl failing on HTTP errors; returns its stdout. Async: the server is in this process. */
  const run = async (block: string): Promise<string> => {
    const host = silt.url.replace('http://', '');
    const script = block.replaceAll('localhost:3100', host).replace(/^curl -s /gm, 'curl -sS --fail-with-body ');
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', cwd: tempDir('silt-readme-cwd-'), timeout: 30_000 });
    return stdout;
  };
  const runAll = async (blocks: string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const b of blocks) out.push(await run(b));
    return out;
  };

  it('"Push and query with curl" runs as written and reads back what it pushed', async () => {
    const blocks = shBlocks(README, 'Push and query with curl');
    expect(blocks.length).toBeGreaterThan(0);
    const out = (await runAll(blocks)).join('\n');
    expect(out).toContain('payment failed: card declined');
    expect(out).toContain('"checkout"');
  });

  it('"LogQL" runs as written; the json count answers a matrix with the level label', async () => {
    const blocks = shBlocks(README, 'LogQL');
    expect(blocks.length).toBeGreaterThan(0);
    // The default range query (last hour, 14 s step) evaluates its last point 2 s before its end:
    // lines pushed a moment ago fall after it, as for a person who runs the example at once.
    await new Promise((r) => setTimeout(r, 3000));
    const outputs = await runAll(blocks);
    // curl prints no newline after a body: split the answers where one object ends and the next begins.
    const answers = outputs.join('\n').replace(/\}\{"status"/g, '}\n{"status"').split('\n').filter((l) => l.startsWith('{'));
    expect(answers.length).toBeGreaterThanOrEqual(2);
    const json = JSON.parse(answers[0]!) as { status: string; data: { resultType: string; result: { metric: Record<string, string> }[] } };
    expect(json.status).toBe('success');
    expect(json.data.resultType).toBe('matrix');
    expect(json.data.result.map((r) => r.metric['level']), answers[0]).toEqual(['error']);
  });
});
