/**
 * OTLP decoding and mapping. The protobuf decoder is checked against the OpenTelemetry JS
 * serializers (protobuf and JSON) over the same random records: both decoders must agree
 * with each other and with what was emitted. Mapping cases follow Loki's otlp_test.go rules.
 */
import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { describe, expect, it } from 'vitest';
import { SiltError } from '../errors.js';
import { seededRandom } from '../util/random.js';
import { decodeOtlpLogsJson, decodeOtlpLogsProto, type OtlpLogs } from './decode-otlp.js';
import { decodeOtlpBody, otlpLabelName, otlpToPushRequest, otlpValueString, type OtlpOptions } from './otlp.js';

const OPTS: OtlpOptions = {
  indexLabelAttributes: ['service.name', 'service.namespace', 'k8s.pod.name', 'cloud.region'],
  discoverServiceName: ['service', 'app', 'k8s_pod_name'],
  nowNs: () => 42n,
};

async function randomRecords(seed: number, n: number) {
  const rnd = seededRandom(seed);
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc', 'k8s.pod.name': 'pod-1', zone: 'z' }), processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('scope-a', '0.1');
  const emitted: { tsNs: bigint; body: unknown }[] = [];
  for (let i = 0; i < n; i++) {
    const sec = 1_700_000_000 + Math.floor(rnd() * 1e6);
    const ns = Math.floor(rnd() * 1e9);
    const kind = Math.floor(rnd() * 5);
    const body = kind === 0 ? `line ${i} ${rnd()}` : kind === 1 ? { k: `v${i}`, nested: { a: [1, 'two', true] } } : kind === 2 ? Math.floor(rnd() * 1e6) : kind === 3 ? rnd() : new Uint8Array([i & 255, 1, 2]);
    logger.emit({ timestamp: [sec, ns], severityNumber: (i % 24) + 1, severityText: `S${i % 3}`, body: body as never, attributes: { i, f: rnd(), s: `x${i}`, b: i % 2 === 0, arr: ['a', i] } });
    emitted.push({ tsNs: BigInt(sec) * 1_000_000_000n + BigInt(ns), body });
  }
  await provider.forceFlush();
  return { records: exporter.getFinishedLogRecords(), emitted };
}

describe('OTLP decoders', () => {
  it('protobuf and JSON from the OpenTelemetry serializers decode to the same logs', async () => {
    const { records, emitted } = await randomRecords(7, 300);
    const pb = decodeOtlpLogsProto(Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!));
    const js = decodeOtlpLogsJson(Buffer.from(JsonLogsSerializer.serializeRequest(records)!));
    expect(js).toEqual(pb);
    const lrs = pb.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords));
    expect(lrs.map((l) => l.timeUnixNano)).toEqual(emitted.map((e) => e.tsNs));
    expect(pb.resourceLogs[0]!.scopeLogs[0]!.scope).toMatchObject({ name: 'scope-a', version: '0.1' });
    // Bodies as Loki renders them: strings as is, numbers in ES6 form, bytes base64, maps as sorted JSON.
    const lines = lrs.map((l) => otlpValueString(l.body));
    emitted.forEach((e, i) => {
      const b = e.body;
      const want = typeof b === 'string' ? b : typeof b === 'number' ? String(b) : b instanceof Uint8Array ? Buffer.from(b).toString('base64') : JSON.stringify({ k: (b as { k: string }).k, nested: { a: [1, 'two', true] } });
      expect(lines[i], `record ${i}`).toBe(want);
    });
  });

  it('throws only SiltErrors on truncated and corrupted protobuf', async () => {
    const { records } = await randomRecords(9, 20);
    const good = Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
    const rnd = seededRandom(3);
    for (let i = 0; i < 500; i++) {
      const b = Buffer.from(good.subarray(0, Math.floor(rnd() * good.length)));
      for (let j = 0; j < 3; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        decodeOtlpLogsProto(b);
      } catch (e) {
        expect(e).toBeInstanceOf(SiltError);
      }
    }
  });
});

/** A hand-built JSON request (OTLP/JSON as the spec shows it). */
function jsonBody(o: unknown): Buffer {
  return Buffer.from(JSON.stringify(o));
}

describe('OTLP → push request', () => {
  it("maps attributes, metadata and timestamps like Loki", () => {
    const body = jsonBody({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'k8s.pod.name', value: { stringValue: 'p-1' } }, { key: 'host.name', value: { stringValue: 'h' } }, { key: 'k8s', value: { kvlistValue: { values: [{ key: 'node.name', value: { stringValue: 'n1' } }] } } }] },
          scopeLogs: [
            {
              scope: { name: 'lib', version: '2', attributes: [{ key: 'scope.attr', value: { boolValue: true } }] },
              logRecords: [
                {
                  timeUnixNano: '1700000000123456789',
                  observedTimeUnixNano: '1700000000999999999',
                  severityNumber: 'SEVERITY_NUMBER_WARN',
                  severityText: 'Warning',
                  body: { kvlistValue: { values: [{ key: 'z', value: { intValue: '1' } }, { key: 'a<b', value: { doubleValue: 1.5 } }] } },
                  attributes: [{ key: '1st.attr', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 2 }] } } }],
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  flags: 1,
                },
                { observedTimeUnixNano: 1700000001000000000, body: { stringValue: 'only observed' } },
                { body: { stringValue: 'no time' } },
              ],
            },
          ],
        },
      ],
    });
    const req = decodeOtlpBody(body, 'application/json', undefined, 0, OPTS);
    expect(req.streams.length).toBe(1);
    const s = req.streams[0]!;
    expect(s.labels).toBe('{k8s_pod_name="p-1", service_name="checkout"}');
    const [e1, e2, e3] = s.entries;
    expect(e1!.tsNs).toBe(1700000000123456789n);
    expect(e1!.line.toString()).toBe('{"a\\u003cb":1.5,"z":1}');
    expect(e1!.metadata).toEqual([
      { name: 'key_1st_attr', value: '["x",2]' },
      { name: 'observed_timestamp', value: '1700000000999999999' },
      { name: 'severity_number', value: '13' },
      { name: 'severity_text', value: 'Warning' },
      { name: 'flags', value: '1' },
      { name: 'trace_id', value: '5b8efff798038103d269b633813fc60c' },
      { name: 'span_id', value: 'eee19b7ec3c1b174' },
      { name: 'host_name', value: 'h' },
      { name: 'k8s_node_name', value: 'n1' },
      { name: 'scope_attr', value: 'true' },
      { name: 'scope_name', value: 'lib' },
      { name: 'scope_version', value: '2' },
    ]);
    // A JSON number above 2^53 keeps every digit.
    expect(e2!.tsNs).toBe(1700000001000000000n);
    expect(e2!.metadata.find((m) => m.name === 'observed_timestamp')).toBeUndefined();
    expect(e3!.tsNs).toBe(42n);
  });

  it('discovers service_name from index labels, or sets unknown_service', () => {
    const mk = (attrs: Record<string, string>) =>
      otlpToPushRequest(decodeOtlpLogsJson(jsonBody({ resourceLogs: [{ resource: { attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })) }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }] })), OPTS).streams[0]!.labels;
    expect(mk({ 'k8s.pod.name': 'pod-9' })).toBe('{k8s_pod_name="pod-9", service_name="pod-9"}');
    expect(mk({ 'cloud.region': 'eu' })).toBe('{cloud_region="eu", service_name="unknown_service"}');
    expect(mk({ 'service.name': '', 'k8s.pod.name': 'p' })).toBe('{k8s_pod_name="p", service_name="p"}');
    expect(otlpToPushRequest(decodeOtlpLogsJson(jsonBody({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }] })), { ...OPTS, discoverServiceName: [] }).streams[0]!.labels).toBe('{}');
  });

  it.each([
    ['service.name', 'service_name'],
    ['a..b__c', 'a_b_c'],
    ['9lives', 'key_9lives'],
    ['__meta__', '__meta__'],
    ['héllo', 'h_llo'],
  ])('label name %s → %s', (from, to) => expect(otlpLabelName(from)).toBe(to));

  it('rejects bad requests with clear 4xx errors', () => {
    const ok = jsonBody({ resourceLogs: [] });
    const cases: [Buffer, string | undefined, string | undefined, RegExp][] = [
      [ok, 'text/plain', undefined, /content type: text\/plain is not supported/],
      [ok, 'application/json', 'br', /unsupported content encoding br/],
      [Buffer.from('{"resourceLogs":['), 'application/json', undefined, /ReadObjectCB/],
      [Buffer.from([0x0a, 0x05, 0x01]), 'application/x-protobuf', undefined, /unexpected EOF/],
      [Buffer.from('nope'), 'application/json', 'gzip', /gzip/],
      [jsonBody({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: 'xyz' }] }] }] }), 'application/json', undefined, /invalid length for ID/],
      [jsonBody({ resourceLogs: [{ resource: { attributes: [{ key: '', value: { stringValue: 'x' } }] } }] }), 'application/json', undefined, /label name is empty/],
    ];
    for (const [b, ct, ce, re] of cases) {
      let err: unknown = null;
      try {
        decodeOtlpBody(b, ct, ce, 1 << 20, OPTS);
      } catch (e) {
        err = e;
      }
      expect(err, String(re)).toBeInstanceOf(SiltError);
      expect((err as SiltError).kind).toBe('invalid');
      expect((err as Error).message).toMatch(re);
    }
  });

  it('inflates gzip bodies within the decompressed-size limit', () => {
    const body = gzipSync(jsonBody({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gz' } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: '5', body: { stringValue: 'x'.repeat(5000) } }] }] }] }));
    const req = decodeOtlpBody(body, 'application/json', 'gzip', 1 << 20, OPTS);
    expect(req.streams[0]!.entries[0]!.line.length).toBe(5000);
    expect(() => decodeOtlpBody(body, 'application/json', 'gzip', 1000, OPTS)).toThrow(/decompressed message size too large/);
  });

  it('levels: severity text or number reach detected_level through the distributor', () => {
    // Covered end to end in test/clients.test.ts; here only the enum names of OTLP/JSON.
    const logs: OtlpLogs = decodeOtlpLogsJson(jsonBody({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'SEVERITY_NUMBER_FATAL4' }, { severityNumber: 17 }] }] }] }));
    expect(logs.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => l.severityNumber)).toEqual([SeverityNumber.FATAL4, SeverityNumber.ERROR]);
  });
});
