/**
 * Real third-party clients push to a running Silt: winston-loki (protobuf+snappy and JSON),
 * pino-loki (JSON) and the OpenTelemetry OTLP exporters (protobuf and JSON, through the SDK's
 * LoggerProvider and BatchLogRecordProcessor). Everything logged is read back and compared
 * line by line; for OTLP also labels and structured metadata, computed here from Loki's
 * mapping rules (not from Silt's code).
 */
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
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

  for (const format of ['protobuf', 'json'] as const) {
    it(`OpenTelemetry OTLP exporter (${format})`, async () => {
      const service = `otel-${format}`;
      const url = `${silt.url}/otlp/v1/logs`;
      const exporter = format === 'protobuf' ? new OtlpProtoExporter({ url }) : new OtlpHttpJsonExporter({ url });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test', 'host.name': 'h1' }),
        processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 100 })],
      });
      const logger = provider.getLogger('checkout', '1.2.3');
      const sec = Math.floor(Date.now() / 1000) - 30;
      const levels = [
        [SeverityNumber.INFO, 'INFO', 'info'],
        [SeverityNumber.WARN, 'WARN', 'warn'],
        [SeverityNumber.ERROR, 'ERROR', 'error'],
      ] as const;
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const spanId = 'b7ad6b7169203331';
      const want: [string, string, { structuredMetadata: Record<string, string> }][] = [];
      const n = 120;
      for (let i = 0; i < n; i++) {
        const ns = i * 1000 + 7; // sub-microsecond digits must survive
        const [sevNum, sevText, detected] = levels[i % 3]!;
        const withSpan = i % 4 === 0;
        const objectBody = i % 5 === 0;
        const body = objectBody ? { msg: `object ${i}`, n: i } : `line ${i} from ${service}`;
        const ctx = withSpan ? trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: TraceFlags.SAMPLED }) : context.active();
        logger.emit({ timestamp: [sec, ns], observedTimestamp: [sec, ns + 5], severityNumber: sevNum, severityText: sevText, body, attributes: { 'http.method': 'GET', 'user.id': i, ratio: 0.5 }, context: ctx });
        const md: Record<string, string> = { http_method: 'GET', user_id: String(i), ratio: '0.5' };
        md['observed_timestamp'] = `${sec}${String(ns + 5).padStart(9, '0')}`;
        md['severity_number'] = String(sevNum);
        md['severity_text'] = sevText;
        if (withSpan) Object.assign(md, { flags: '1', trace_id: traceId, span_id: spanId });
        Object.assign(md, { host_name: 'h1', scope_name: 'checkout', scope_version: '1.2.3', detected_level: detected });
        const line = objectBody ? `{"msg":"object ${i}","n":${i}}` : (body as string);
        want.push([`${sec}${String(ns).padStart(9, '0')}`, line, { structuredMetadata: md }]);
      }
      await provider.forceFlush();
      await provider.shutdown();
      const until = Date.now() + 15_000;
      let got: { stream: Record<string, string>; values: [string, string, { structuredMetadata: Record<string, string> }][] }[] = [];
      while (Date.now() < until) {
        const r = await queryRange(silt.url, { query: `{service_name="${service}"}`, since: '10m', limit: '5000', direction: 'forward' }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
        got = r.data.result;
        if (got.reduce((a, s) => a + s.values.length, 0) >= n) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(got.map((s) => s.stream)).toEqual([{ deployment_environment: 'test', service_name: service }]);
      expect(got[0]!.values).toEqual(want);
    });
  }
});
