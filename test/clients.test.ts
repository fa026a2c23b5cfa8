/**
 * Real third-party clients push to a running Silt: winston-loki (protobuf+snappy and JSON)
 * and pino-loki (JSON). Everything logged is read back and compared line by line.
 */
import { pino } from 'pino';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

let silt: InProcess;
beforeAll(async () => {
  silt = await startInProcess(tempDir());
});
afterAll(async () => {
  await silt?.stop();
});

/** Polls until `query` returns `want` lines (or time runs out); returns the lines. */
async function readBack(query: string, want: number): Promise<string[]> {
  const until = Date.now() + 15_000;
  let lines: string[] = [];
  while (Date.now() < until) {
    const r = await queryRange(silt.url, { query, since: '10m', limit: '5000' });
    lines = r.data.result.flatMap((s: { values: [string, string][] }) => s.values.map((v) => v[1]));
    if (lines.length >= want) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return lines;
}

function expectEachOnce(lines: string[], tokens: string[]): void {
  for (const t of tokens) expect(lines.filter((l) => l.includes(t)).length, t).toBe(1);
  expect(lines.length).toBe(tokens.length);
}

describe('third-party clients', () => {
  for (const json of [false, true]) {
    it(`winston-loki (${json ? 'JSON' : 'protobuf'})`, async () => {
      const errors: unknown[] = [];
      const app = `winston-${json ? 'json' : 'pb'}`;
      const transport = new LokiTransport({ host: silt.url, labels: { app }, json, batching: true, interval: 0.2, onConnectionError: (e: unknown) => errors.push(e) });
      const logger = winston.createLogger({ transports: [transport] });
      const tokens = Array.from({ length: 300 }, (_, i) => `wl-${app}-${i}-end`);
      tokens.forEach((t, i) => (i % 3 === 0 ? logger.error(`failure ${t}`) : logger.info(`hello ${t}`, { i })));
      const lines = await readBack(`{app="${app}"}`, tokens.length);
      expect(errors).toEqual([]);
      expectEachOnce(lines, tokens);
      const errorsOnly = await readBack(`{app="${app}", level="error"}`, 100);
      expect(errorsOnly.length).toBe(100);
      logger.close();
    });
  }

  it('pino-loki (JSON)', async () => {
    const stream = pinoLoki({ host: silt.url, labels: { app: 'pino' }, batching: { interval: 0.2 }, silenceErrors: false });
    const logger = pino({ level: 'info' }, stream);
    const tokens = Array.from({ length: 300 }, (_, i) => `pl-${i}-end`);
    tokens.forEach((t, i) => (i % 2 ? logger.warn({ i }, `warn ${t}`) : logger.info({ i }, `info ${t}`)));
    const lines = await readBack('{app="pino"}', tokens.length);
    expectEachOnce(lines, tokens);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const warns = await readBack('{app="pino", level="warning"}', 150);
    expect(warns.length).toBe(150);
    stream.end();
  });
});
