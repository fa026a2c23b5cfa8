import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteRequestsStore } from '../compactor/index.js';
import { defaultConfig, type DeletionMode, type LimitsConfig } from '../config/config.js';
import { MemoryObjectClient } from '../storage/index.js';
import { HttpServer } from './http.js';
import { parseDeleteTimeMs, registerCompactorRoutes } from './routes-compactor.js';

const H = 3_600_000;
let clock = Date.UTC(2026, 10, 22, 12);
const modes: Record<string, DeletionMode> = { off: 'disabled', filter: 'filter-only' };
const limits = (tenant: string): LimitsConfig => ({ ...defaultConfig().limits_config, deletion_mode: modes[tenant] ?? 'filter-and-delete' });

let base = '';
let baseNoRetention = '';
const servers: HttpServer[] = [];

async function serve(retentionEnabled: boolean): Promise<string> {
  const http = new HttpServer({ logger: pino({ level: 'silent' }), registry: new Registry(), authEnabled: true, maxBodyBytes: 1 << 20, readTimeoutMs: 5000, idleTimeoutMs: 5000 });
  registerCompactorRoutes(http, { store: new DeleteRequestsStore(new MemoryObjectClient(), { nowMs: () => clock }), limits, retentionEnabled, cancelPeriodMs: 24 * H, nowMs: () => clock });
  servers.push(http);
  return `http://127.0.0.1:${await http.listen('127.0.0.1', 0)}`;
}

beforeAll(async () => {
  base = await serve(true);
  baseNoRetention = await serve(false);
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

const call = (url: string, method: string, tenant = 't1'): Promise<Response> => fetch(url, { method, headers: { 'X-Scope-OrgID': tenant } });

describe('delete API', () => {
  it('adds, lists and cancels within the cancel period; refuses after it unless forced', async () => {
    const q = new URLSearchParams({ query: '{app="a"} |= "x"', start: '2026-11-21T00:00:00.5Z', end: String(Math.floor(clock / 1000) - 60) });
    const add = await call(`${base}/loki/api/v1/delete?${q}`, 'POST');
    expect(add.status).toBe(204);
    const id = add.headers.get('x-delete-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    const list = await (await call(`${base}/loki/api/v1/delete`, 'GET')).json();
    expect(list).toEqual([{ request_id: id, start_time: Date.UTC(2026, 10, 21) / 1000 + 0.5, end_time: Math.floor(clock / 1000) - 60, query: '{app="a"} |= "x"', status: 'received', created_at: clock / 1000, user_id: '' }]);
    // Other tenants do not see it.
    expect(await (await call(`${base}/loki/api/v1/delete`, 'GET', 't2')).json()).toEqual([]);

    clock += 23 * H;
    expect((await call(`${base}/loki/api/v1/delete?request_id=${id}`, 'DELETE')).status).toBe(204);
    expect(await (await call(`${base}/loki/api/v1/delete`, 'GET')).json()).toEqual([]);

    expect((await call(`${base}/loki/api/v1/delete?${q}`, 'PUT')).status).toBe(204);
    const r = ((await (await call(`${base}/loki/api/v1/delete`, 'GET')).json()) as { request_id: string }[])[0]!;
    clock += 25 * H;
    const late = await call(`${base}/loki/api/v1/delete?request_id=${r.request_id}`, 'DELETE');
    expect(late.status).toBe(400);
    expect(await late.text()).toBe(
      'Cancellation of partially completed delete request or delete request past the deadline of 24h0m0s since its creation is not allowed. To force, use the ?force query parameter\n',
    );
    expect((await call(`${base}/loki/api/v1/delete?request_id=${r.request_id}&force=true`, 'DELETE')).status).toBe(204);
  });

  it('answers 403 when deletion is disabled for the tenant, and works in filter-only mode', async () => {
    const r = await call(`${base}/loki/api/v1/delete`, 'GET', 'off');
    expect(r.status).toBe(403);
    expect(await r.text()).toBe('deletion is not available for this tenant\n');
    expect((await call(`${base}/loki/api/v1/delete`, 'GET', 'filter')).status).toBe(200);
  });

  it('answers 400 "Retention is not enabled" without compactor.retention_enabled', async () => {
    const r = await call(`${baseNoRetention}/loki/api/v1/delete`, 'GET');
    expect(r.status).toBe(400);
    expect(await r.text()).toBe('Retention is not enabled\n');
  });

  it('parses times as Loki does: RFC3339 or exactly ten digits of unix seconds', () => {
    expect(parseDeleteTimeMs('', 42)).toBe(42);
    expect(parseDeleteTimeMs('1700000000', 0)).toBe(1_700_000_000_000);
    expect(parseDeleteTimeMs('2023-11-14T22:13:20.123456Z', 0)).toBe(1_700_000_000_123);
    expect(parseDeleteTimeMs('2023-11-14T23:13:20+01:00', 0)).toBe(1_700_000_000_000);
    for (const bad of ['170000000', '17000000000', '1700000000.5', 'now', '2023-11-14']) expect(parseDeleteTimeMs(bad, 0), bad).toBeNull();
    // Go's UnixMilli floors, before and after the epoch.
    expect(parseDeleteTimeMs('2023-11-14T22:13:20.2919Z', 0)).toBe(1_700_000_000_291);
    expect(parseDeleteTimeMs('2023-11-14t22:13:20z', 0)).toBe(1_700_000_000_000);
    expect(parseDeleteTimeMs('1969-12-31T23:59:59.9995Z', 0)).toBe(-1);
  });
});
