/**
 * Per-tenant overrides from the runtime config file, changed while Silt runs: each role
 * (distributor, ingester, querier) applies the new limits to the named tenant only, within
 * the reload period; an invalid file keeps the previous overrides and flips the reload metric.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { NO_INGEST_ENRICHMENT, startInProcess, tempDir, type InProcess } from './support/silt.js';

/**
 * Replaces the overrides file in one step (write a sibling, then rename), as config managers
 * do: a plain rewrite could be read half-written by a reload in between.
 */
function replaceFile(target: string, text: string): void {
  writeFileSync(target + '.tmp', text);
  renameSync(target + '.tmp', target);
}

const PERIOD_MS = 100;
const dir = tempDir('silt-runtime-');
const file = path.join(dir, 'runtime.yaml');
let silt: InProcess;

const INITIAL = `
overrides:
  small:
    max_line_size: 100B
`;

beforeAll(async () => {
  writeFileSync(file, INITIAL);
  silt = await startInProcess(dir, [...NO_INGEST_ENRICHMENT, '-auth.enabled=true', `-runtime-config.file=${file}`, `-runtime-config.reload-period=${PERIOD_MS}ms`]);
});
afterAll(async () => {
  await silt?.stop();
});

let seq = 0;
/** Pushes one line per stream label set as `tenant`; returns status and body. */
async function push(tenant: string, line: string, streams: Record<string, string>[] = [{ job: 'rc' }]): Promise<{ status: number; text: string }> {
  const ts = BigInt(Date.now()) * 1_000_000n + BigInt(seq++);
  const body = JSON.stringify({ streams: streams.map((stream) => ({ stream, values: [[ts.toString(), line]] })) });
  const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant }, body });
  return { status: r.status, text: await r.text() };
}

async function get(p: string, tenant?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${silt.url}${p}`, { headers: tenant === undefined ? {} : { 'X-Scope-OrgID': tenant } });
  return { status: r.status, text: await r.text() };
}

async function metric(name: string): Promise<number> {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec((await get('/metrics')).text);
  return m ? Number(m[1]) : NaN;
}

/** Polls `check` until it holds; fails if that takes more than a few reload periods. */
async function within(what: string, check: () => Promise<boolean>, budgetMs = 20 * PERIOD_MS): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > budgetMs) throw new Error(`${what} not seen within ${budgetMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const LINE_200 = 'x'.repeat(200);
const rangeQuery = (limit: number) => `/loki/api/v1/query_range?query=${encodeURIComponent('{job="rc"}')}&since=1h&limit=${limit}`;

describe('runtime config overrides', () => {
  it('applies the file present at start to the named tenant only', async () => {
    const small = await push('small', LINE_200);
    expect(small.status).toBe(400);
    expect(small.text).toContain("max entry size '100' bytes exceeded for stream '{job=\"rc\"}' while adding an entry with length '200' bytes");
    expect((await push('other', LINE_200)).status).toBe(204);
    expect(await metric('silt_runtime_config_last_reload_successful')).toBe(1);
    expect(parseYaml((await get('/runtime_config?mode=diff')).text)).toEqual({ overrides: { small: { max_line_size: '100' } } });
    const all = parseYaml((await get('/runtime_config')).text) as { overrides: { small: Record<string, unknown> } };
    expect(all.overrides.small['max_entries_limit_per_query']).toBe(5000);
  });

  it('picks up a changed file within the period, for every role', async () => {
    expect((await get(rangeQuery(100), 'other')).status).toBe(200);
    replaceFile(
      file,
      `
overrides:
  small:
    max_line_size: 1KB
  other:
    max_entries_limit_per_query: 50
    max_query_series: 1
    max_label_names_per_series: 2
  streams:
    max_global_streams_per_user: 2
`,
    );
    // Distributor: the larger line is accepted now.
    const took = await within('new max_line_size', async () => (await push('small', LINE_200)).status === 204);
    expect(took).toBeLessThan(20 * PERIOD_MS);
    // Querier: max_entries_limit_per_query and max_query_series for "other" only.
    const limited = await get(rangeQuery(100), 'other');
    expect(limited.status).toBe(400);
    expect(limited.text).toBe('max entries limit per query exceeded, limit > max_entries_limit_per_query (100 > 50)\n');
    expect((await get(rangeQuery(100), 'small')).status).toBe(200);
    await push('other', 'a', [{ job: 'rc', n: '1' }, { job: 'rc', n: '2' }]);
    const series = await get(`/loki/api/v1/query?query=${encodeURIComponent('count_over_time({job="rc"}[1h])')}`, 'other');
    expect(series.status).toBe(400);
    expect(series.text).toMatch(/^maximum number of series \(1\) reached for a single query/);
    // Distributor: max_label_names_per_series.
    const names = await push('other', 'b', [{ job: 'rc', a: '1', b: '2' }]);
    expect(names.status).toBe(400);
    expect(names.text).toContain('has 3 label names; limit 2');
    expect((await push('small', 'b', [{ job: 'rc', a: '1', b: '2' }])).status).toBe(204);
    // Ingester: max_global_streams_per_user.
    expect((await push('streams', 'c', [{ job: 'rc', n: '1' }, { job: 'rc', n: '2' }])).status).toBe(204);
    const third = await push('streams', 'c', [{ job: 'rc', n: '3' }]);
    expect(third.status).toBe(429);
    expect(third.text).toContain("Maximum active stream limit exceeded when trying to create stream {job=\"rc\", n=\"3\"}");
    expect((await push('small', 'c', [{ job: 'rc', n: '3' }])).status).toBe(204);
  });

  it('keeps the previous overrides when the file becomes invalid, and recovers', async () => {
    const before = (await get('/runtime_config')).text;
    replaceFile(file, 'overrides:\n  other:\n    max_entries_limit_per_query: lots\n');
    await within('failed reload', async () => (await metric('silt_runtime_config_last_reload_successful')) === 0);
    expect((await get('/runtime_config')).text).toBe(before);
    expect((await get(rangeQuery(100), 'other')).text).toContain('(100 > 50)');
    expect((await push('small', LINE_200)).status).toBe(204);
    expect((await get('/ready')).status).toBe(200);

    replaceFile(file, 'overrides: [\n');
    await new Promise((r) => setTimeout(r, 3 * PERIOD_MS));
    expect(await metric('silt_runtime_config_last_reload_successful')).toBe(0);
    expect((await get(rangeQuery(100), 'other')).status).toBe(400);

    replaceFile(file, '');
    await within('successful reload', async () => (await metric('silt_runtime_config_last_reload_successful')) === 1);
    expect((await get(rangeQuery(100), 'other')).status).toBe(200);
    expect((await push('small', 'x'.repeat(300_000))).status).toBe(400); // back to the 256KB default
    expect(parseYaml((await get('/runtime_config?mode=diff')).text)).toEqual({});
  });

  it('refuses to start with an invalid runtime config', async () => {
    const bad = path.join(tempDir(), 'bad.yaml');
    writeFileSync(bad, 'overrides:\n  a:\n    no_such_limit: 1\n');
    await expect(startInProcess(tempDir(), [`-runtime-config.file=${bad}`])).rejects.toThrow(/field no_such_limit not found/);
  });
});
