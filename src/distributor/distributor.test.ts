import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RateLimitError, SiltError, ValidationError } from '../errors.js';
import type { Label } from '../model/labels.js';
import type { PushEntry, PushRequest, ValidStream } from '../model/stream.js';
import { Distributor, UnprocessableError, type IngesterPusher } from './distributor.js';
import { defaultLimits, StaticLimitsProvider, type TenantLimits } from './limits.js';
import { formatRfc3339, GroupedErrors } from './validate.js';

const NOW_MS = Date.UTC(2024, 0, 15, 12, 0, 0);
const NOW_NS = BigInt(NOW_MS) * 1_000_000n;
const MIN_NS = 60_000_000_000n;

/** Fake ingester that records pushes (and can be told to fail). */
class RecordingIngester implements IngesterPusher {
  calls: { tenant: string; streams: ValidStream[] }[] = [];
  fail: Error | null = null;
  async push(tenant: string, streams: ValidStream[]): Promise<void> {
    if (this.fail) throw this.fail;
    this.calls.push({ tenant, streams });
  }
}

function entry(line: string, tsNs = NOW_NS, metadata: Label[] = []): PushEntry {
  return { tsNs, line: Buffer.from(line), metadata };
}

function req(...streams: [string, PushEntry[]][]): PushRequest {
  return { streams: streams.map(([labels, entries]) => ({ labels, labelsObject: null, entries })) };
}

/** Validation-focused setup: ingest-time enrichment is off unless an override turns it on. */
function setup(overrides: Partial<TenantLimits> = {}) {
  const ingester = new RecordingIngester();
  const registry = new Registry();
  const d = new Distributor({
    limits: new StaticLimitsProvider({ ...defaultLimits, discoverServiceName: [], discoverLogLevels: false, ...overrides }),
    ingester,
    registry,
    nowMs: () => NOW_MS,
  });
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = await registry.getSingleMetric(name)!.get();
    const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return v?.value ?? 0;
  };
  return { d, ingester, registry, metric };
}

async function rejection(p: Promise<unknown>): Promise<SiltError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SiltError);
    return e as SiltError;
  }
  throw new Error('expected a rejection');
}

describe('Distributor.push: success path', () => {
  it("adds service_name and detected_level with Loki's defaults", async () => {
    const { d, ingester } = setup({ discoverServiceName: defaultLimits.discoverServiceName, discoverLogLevels: true });
    await d.push('t', req(['{job="j", app="a"}', [entry('level=error boom'), entry('all good', NOW_NS + 1n, [{ name: 'level', value: 'WARNING' }])]], ['{x="1"}', [entry('{"lvl":"debug"}')]]));
    const streams = ingester.calls[0]!.streams;
    expect(streams.map((s) => s.labelsString)).toEqual(['{app="a", job="j", service_name="a"}', '{service_name="unknown_service", x="1"}']);
    expect(streams.map((s) => s.entries.map((e) => e.metadata))).toEqual([
      [[{ name: 'detected_level', value: 'error' }], [{ name: 'level', value: 'WARNING' }, { name: 'detected_level', value: 'warn' }]],
      [[{ name: 'detected_level', value: 'debug' }]],
    ]);
  });

  it('forwards valid streams with sorted labels, canonical text and fingerprint', async () => {
    const { d, ingester, metric } = setup();
    await d.push('t1', req(['{b="2", a="1"}', [entry('x'), entry('yy')]]));
    expect(ingester.calls).toHaveLength(1);
    const s = ingester.calls[0]!.streams[0]!;
    expect(s.labels).toEqual([
      { name: 'a', value: '1' },
      { name: 'b', value: '2' },
    ]);
    expect(s.labelsString).toBe('{a="1", b="2"}');
    expect(s.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(s.entries.map((e) => e.line.toString())).toEqual(['x', 'yy']);
    expect(await metric('loki_distributor_lines_received_total', { tenant: 't1' })).toBe(2);
    expect(await metric('loki_distributor_bytes_received_total', { tenant: 't1' })).toBe(3);
  });

  it('merges streams with the same label set (in any spelling)', async () => {
    const { d, ingester } = setup();
    await d.push('t', req(['{a="1", b="2"}', [entry('one')]], ['{c="3"}', [entry('other')]], ['{b="2",a="1"}', [entry('two')]]));
    const streams = ingester.calls[0]!.streams;
    expect(streams.map((s) => s.labelsString)).toEqual(['{a="1", b="2"}', '{c="3"}']);
    expect(streams[0]!.entries.map((e) => e.line.toString())).toEqual(['one', 'two']);
  });

  it('groups streams by label set over many requests exactly as a fresh grouping would, without touching the request', async () => {
    // Service-name discovery on, so streams it makes equal merge too.
    const { d, ingester } = setup({ discoverServiceName: ['app'] });
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const spellings = [['{app="a", x="1"}', '{x="1",app="a"}'], ['{app="b"}', '{ app = "b" }'], ['{app="a", x="2"}'], ['{app="a", service_name="a", x="1"}'], ['{x="1"}']];
    for (let r = 0; r < 200; r++) {
      const streams: [string, PushEntry[]][] = [];
      for (let i = 0, n = 1 + Math.floor(rnd() * 8); i < n; i++) {
        const group = spellings[Math.floor(rnd() * spellings.length)]!;
        const entries = Array.from({ length: Math.floor(rnd() * 4) }, (_, k) => entry(`r${r} s${i} e${k}`, rnd() < 0.2 ? NOW_NS - 30n * 24n * 60n * MIN_NS : NOW_NS));
        streams.push([group[Math.floor(rnd() * group.length)]!, entries]);
      }
      const request = req(...streams);
      const before = request.streams.map((s) => s.entries.slice());
      ingester.calls = [];
      await d.push('t', request).catch((e: unknown) => {
        if (!(e instanceof ValidationError)) throw e;
      });
      // Reference: valid entries grouped by their labels after service_name discovery (Loki
      // adds it while parsing the body) in first-seen order, entries in request order.
      const canon = (l: string): string => {
        const m = new Map([...l.matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
        if (!m.has('service_name')) m.set('service_name', m.get('app') ?? 'unknown_service');
        return '{' + [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}="${v}"`).join(', ') + '}';
      };
      const want = new Map<string, string[]>();
      for (const [labels, entries] of streams) {
        const ok = entries.filter((e) => e.tsNs === NOW_NS).map((e) => e.line.toString());
        if (ok.length > 0) want.set(canon(labels), [...(want.get(canon(labels)) ?? []), ...ok]);
      }
      const got = new Map((ingester.calls[0]?.streams ?? []).map((s) => [s.labelsString, s.entries.map((e) => e.line.toString())]));
      expect(got).toEqual(want);
      expect(request.streams.map((s) => s.entries)).toEqual(before);
      // Now and then the process goes quiet and forgets its per-label-set state: same answers.
      if (r % 13 === 12) d.forgetScratch();
    }
  });

  it('adds the same detected_level after forgetting its per-label-set state as before', async () => {
    const forgets = setup({ discoverLogLevels: true });
    const keeps = setup({ discoverLogLevels: true });
    const lines = ['level=error boom', '{"level":"warn","msg":"x"}', 'plain text', 'INFO started', 'severity=debug y'];
    const labels = ['{app="a"}', '{app="b", level="info"}', '{app="c", lvl="x"}', '{app="d"}'];
    for (let r = 0; r < 60; r++) {
      const request = (): PushRequest => req(...labels.map((l, i): [string, PushEntry[]] => [l, [entry(lines[(r + i) % lines.length]!), entry(lines[(r * 3 + i) % lines.length]!, NOW_NS, i === 3 ? [{ name: 'level', value: 'critical' }] : [])]]));
      await forgets.d.push('t', request());
      await keeps.d.push('t', request());
      if (r % 5 === 4) forgets.d.forgetScratch();
    }
    const shape = (calls: RecordingIngester['calls']) => calls.map((c) => c.streams.map((s) => [s.labelsString, s.entries.map((e) => [e.line.toString(), e.metadata])]));
    expect(shape(forgets.ingester.calls)).toEqual(shape(keeps.ingester.calls));
    // The detector ran: every entry carries a level.
    expect(forgets.ingester.calls.flatMap((c) => c.streams.flatMap((s) => s.entries)).every((e) => e.metadata.some((m) => m.name === 'detected_level'))).toBe(true);
  });

  it('skips streams without entries and succeeds when nothing is left', async () => {
    const { d, ingester } = setup();
    await d.push('t', req(['{}', []], ['not even labels', []]));
    expect(ingester.calls).toHaveLength(0);
  });

  it('accepts empty lines and entries exactly at the age bounds', async () => {
    const { d, ingester } = setup();
    const oldest = NOW_NS - 7n * 24n * 60n * MIN_NS;
    const newest = NOW_NS + 10n * MIN_NS;
    await d.push('t', req(['{a="1"}', [entry(''), entry('o', oldest), entry('n', newest)]]));
    expect(ingester.calls[0]!.streams[0]!.entries).toHaveLength(3);
  });

  it('counts structured metadata bytes towards received bytes (detected_level excluded)', async () => {
    const { d, metric } = setup();
    await d.push('t', req(['{a="1"}', [entry('ab', NOW_NS, [{ name: 'k', value: 'vv' }, { name: 'detected_level', value: 'info' }])]]));
    expect(await metric('loki_distributor_bytes_received_total', { tenant: 't' })).toBe(2 + 3);
    expect(await metric('loki_distributor_structured_metadata_bytes_received_total', { tenant: 't' })).toBe(3);
  });
});

describe('Distributor.push: request-level errors', () => {
  it('rejects a request without streams with 422 and Loki\'s message', async () => {
    const { d } = setup();
    const err = await rejection(d.push('t', { streams: [] }));
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.kind).toBe('unprocessable');
    expect(err.message).toBe('error at least one valid stream is required for ingestion');
  });

  it('propagates ingester failures and counts those that are not its own rejections', async () => {
    const { d, ingester, metric } = setup();
    ingester.fail = new Error('boom');
    await expect(d.push('t', req(['{a="1"}', [entry('x')]]))).rejects.toThrow('boom');
    expect(await metric('loki_distributor_ingester_append_failures_total', { ingester: 'in-process' })).toBe(1);
    // A per-stream rate limit of the ingester is the client's problem, not a failed append.
    ingester.fail = new RateLimitError('per_stream_rate_limit', 'Per stream rate limit exceeded');
    await expect(d.push('t', req(['{a="1"}', [entry('x')]]))).rejects.toThrow('Per stream rate limit exceeded');
    expect(await metric('loki_distributor_ingester_append_failures_total', { ingester: 'in-process' })).toBe(1);
  });
});

interface Case {
  name: string;
  limits?: Partial<TenantLimits>;
  labels: string;
  entry?: PushEntry;
  reason: string;
  message: string;
}

const old = NOW_NS - 8n * 24n * 60n * MIN_NS;
const future = NOW_NS + 11n * MIN_NS;
const cases: Case[] = [
  {
    name: 'invalid label syntax',
    labels: '{a="1"',
    reason: 'invalid_labels',
    message: `error parsing labels '{a="1"' with error: 1:7: parse error: unexpected end of input in label set, expected "," or "}"`,
  },
  { name: 'no labels', labels: '{}', reason: 'missing_labels', message: 'error at least one label pair is required per stream' },
  { name: 'only empty values', labels: '{a=""}', reason: 'missing_labels', message: 'error at least one label pair is required per stream' },
  {
    name: 'invalid label name',
    labels: '{"a-b"="1"}',
    reason: 'invalid_labels',
    message: `error parsing labels '{"a-b"="1"}' with error: 1:2: parse error: invalid label name "a-b"`,
  },
  {
    name: 'too many labels',
    limits: { maxLabelNamesPerSeries: 2 },
    labels: '{a="1", b="2", c="3"}',
    reason: 'max_label_names_per_series',
    message: `entry for stream '{a="1", b="2", c="3"}' has 3 label names; limit 2`,
  },
  {
    name: 'label name too long',
    limits: { maxLabelNameLength: 3 },
    labels: '{abcd="1", a="2"}',
    reason: 'label_name_too_long',
    message: `stream '{a="2", abcd="1"}' has label name too long: 'abcd'`,
  },
  {
    name: 'label value too long (bytes, not chars)',
    limits: { maxLabelValueLength: 3 },
    labels: '{a="éé"}',
    reason: 'label_value_too_long',
    message: `stream '{a="éé"}' has label value too long: 'éé'`,
  },
  {
    name: 'duplicate label names',
    labels: '{a="1", a="2"}',
    reason: 'duplicate_label_names',
    message: `stream '{a="1", a="2"}' has duplicate label name: 'a'`,
  },
  {
    name: 'line too long',
    limits: { maxLineSize: 4 },
    labels: '{a="1"}',
    entry: entry('12345'),
    reason: 'line_too_long',
    message: `max entry size '4' bytes exceeded for stream '{a="1"}' while adding an entry with length '5' bytes`,
  },
  {
    name: 'timestamp too old',
    labels: '{a="1"}',
    entry: entry('x', old),
    reason: 'greater_than_max_sample_age',
    message: `entry for stream '{a="1"}' has timestamp too old: 2024-01-07T12:00:00Z, oldest acceptable timestamp is: 2024-01-08T12:00:00Z`,
  },
  {
    name: 'timestamp too new',
    labels: '{a="1"}',
    entry: entry('x', future),
    reason: 'too_far_in_future',
    message: `entry for stream '{a="1"}' has timestamp too new: 2024-01-15T12:11:00Z`,
  },
  {
    name: 'structured metadata disallowed',
    limits: { allowStructuredMetadata: false },
    labels: '{a="1"}',
    entry: entry('x', NOW_NS, [{ name: 'k', value: 'v' }]),
    reason: 'disallowed_structured_metadata',
    message:
      "stream '{a=\"1\"}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it",
  },
  {
    name: 'structured metadata too large',
    limits: { maxStructuredMetadataSize: 3 },
    labels: '{a="1"}',
    entry: entry('x', NOW_NS, [{ name: 'k', value: 'vvv' }]),
    reason: 'structured_metadata_too_large',
    message:
      "stream '{a=\"1\"}' has structured metadata too large: '4' bytes, limit: '3' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it",
  },
  {
    name: 'too many structured metadata pairs',
    limits: { maxStructuredMetadataEntriesCount: 1 },
    labels: '{a="1"}',
    entry: entry('x', NOW_NS, [
      { name: 'k', value: 'v' },
      { name: 'l', value: 'w' },
    ]),
    reason: 'structured_metadata_too_many',
    message:
      "stream '{a=\"1\"}' has too many structured metadata labels: '2', limit: '1'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it",
  },
];

describe('Distributor.push: validation', () => {
  it.each(cases)('$name → 400 $reason after pushing the valid part', async (tc) => {
    const { d, ingester, metric } = setup(tc.limits);
    const bad = tc.entry ?? entry('bad');
    const err = await rejection(d.push('t', req(['{ok="1"}', [entry('good')]], [tc.labels, [bad]])));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).reason).toBe(tc.reason);
    expect(err.kind).toBe('invalid');
    expect(err.message).toBe(tc.message);
    // The valid stream was stored before the error was returned.
    expect(ingester.calls).toHaveLength(1);
    expect(ingester.calls[0]!.streams.map((s) => s.labelsString)).toEqual(['{ok="1"}']);
    expect(await metric('loki_discarded_samples_total', { reason: tc.reason, tenant: 't' })).toBe(1);
    const mdBytes = bad.metadata.reduce((n, l) => n + l.name.length + l.value.length, 0);
    expect(await metric('loki_discarded_bytes_total', { reason: tc.reason, tenant: 't' })).toBe(bad.line.length + mdBytes);
  });

  it('returns the 400 without pushing when nothing is valid', async () => {
    const { d, ingester } = setup();
    const err = await rejection(d.push('t', req(['{}', [entry('x')]])));
    expect(err.message).toBe('error at least one label pair is required per stream');
    expect(ingester.calls).toHaveLength(0);
  });

  it('keeps valid entries of a stream with some invalid ones, in order', async () => {
    const { d, ingester } = setup({ maxLineSize: 3 });
    const err = await rejection(d.push('t', req(['{a="1"}', [entry('a'), entry('toolong'), entry('b'), entry('x', old), entry('c')]])));
    expect(ingester.calls[0]!.streams[0]!.entries.map((e) => e.line.toString())).toEqual(['a', 'b', 'c']);
    expect(err.message).toBe(
      `1 errors like: max entry size '3' bytes exceeded for stream '{a="1"}' while adding an entry with length '7' bytes; ` +
        `1 errors like: entry for stream '{a="1"}' has timestamp too old: 2024-01-07T12:00:00Z, oldest acceptable timestamp is: 2024-01-08T12:00:00Z`,
    );
    expect((err as ValidationError).reason).toBe('line_too_long');
  });

  it('groups identical messages like Loki ("N errors like: ")', async () => {
    const { d } = setup();
    const err = await rejection(d.push('t', req(['{}', [entry('x')]], ['{}', [entry('y')]])));
    expect(err.message).toBe('2 errors like: error at least one label pair is required per stream');
  });

  it('counts a whole stream as discarded for label errors', async () => {
    const { d, metric } = setup();
    await rejection(d.push('t', req(['{a="1", a="2"}', [entry('abc'), entry('de')]])));
    expect(await metric('loki_discarded_samples_total', { reason: 'duplicate_label_names', tenant: 't' })).toBe(2);
    expect(await metric('loki_discarded_bytes_total', { reason: 'duplicate_label_names', tenant: 't' })).toBe(5);
  });

  it('does not count service_name against the label limit', async () => {
    const { d, ingester } = setup({ maxLabelNamesPerSeries: 1 });
    await d.push('t', req(['{a="1", service_name="svc"}', [entry('x')]]));
    expect(ingester.calls).toHaveLength(1);
  });

  it('accepts old samples when reject_old_samples is off', async () => {
    const { d, ingester } = setup({ rejectOldSamples: false });
    await d.push('t', req(['{a="1"}', [entry('x', 0n), entry('y', -5n)]]));
    expect(ingester.calls[0]!.streams[0]!.entries).toHaveLength(2);
  });

  it('does not limit line size when max_line_size is 0', async () => {
    const { d, ingester } = setup({ maxLineSize: 0 });
    await d.push('t', req(['{a="1"}', [entry('x'.repeat(300_000))]]));
    expect(ingester.calls).toHaveLength(1);
  });

  it('truncates long lines when max_line_size_truncate is on', async () => {
    const { d, ingester, metric } = setup({ maxLineSize: 6, maxLineSizeTruncate: true, maxLineSizeTruncateIdentifier: '…' });
    await d.push('t', req(['{a="1"}', [entry('0123456789'), entry('short')]]));
    const lines = ingester.calls[0]!.streams[0]!.entries.map((e) => e.line.toString());
    expect(lines).toEqual(['012…', 'short']); // 3 bytes kept + 3-byte identifier = 6
    expect(await metric('loki_mutated_samples_total', { reason: 'line_too_long', tenant: 't' })).toBe(1);
    expect(await metric('loki_mutated_bytes_total', { reason: 'line_too_long', tenant: 't' })).toBe(7);
  });
});

describe('Distributor.push: rate limit', () => {
  it('rejects with 429 and Loki\'s message, storing nothing, once the burst is used', async () => {
    const mb = 1 << 20;
    const { d, ingester, metric } = setup({ ingestionRateMb: 1, ingestionBurstSizeMb: 1, maxLineSize: 0 });
    const big = 'x'.repeat(600_000);
    await d.push('t', req(['{a="1"}', [entry(big)]]));
    const err = await rejection(d.push('t', req(['{a="1"}', [entry(big), entry('yz')]])));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.kind).toBe('limited');
    expect((err as RateLimitError).reason).toBe('rate_limited');
    expect(err.message).toBe(
      `ingestion rate limit exceeded for user t (limit: ${mb} bytes/sec) while attempting to ingest '2' lines totaling '600002' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased`,
    );
    expect(ingester.calls).toHaveLength(1);
    expect(await metric('loki_discarded_samples_total', { reason: 'rate_limited', tenant: 't' })).toBe(2);
    expect(await metric('loki_discarded_bytes_total', { reason: 'rate_limited', tenant: 't' })).toBe(600002);
  });

  it('limits tenants independently and refills over time', async () => {
    let now = NOW_MS;
    const ingester = new RecordingIngester();
    const d = new Distributor({
      limits: new StaticLimitsProvider({ ...defaultLimits, ingestionRateMb: 1, ingestionBurstSizeMb: 1, maxLineSize: 0 }),
      ingester,
      registry: new Registry(),
      nowMs: () => now,
    });
    const big = req(['{a="1"}', [entry('x'.repeat(1 << 20))]]);
    await d.push('a', big);
    await d.push('b', big);
    await expect(d.push('a', big)).rejects.toBeInstanceOf(RateLimitError);
    now += 1000;
    await d.push('a', big);
    expect(ingester.calls.map((c) => c.tenant)).toEqual(['a', 'b', 'a']);
  });

  it('does not charge the limiter for invalid entries', async () => {
    const { d, ingester } = setup({ ingestionRateMb: 1, ingestionBurstSizeMb: 1, maxLineSize: 0 });
    // 2 MB of too-old data: discarded by validation, never reaches the limiter.
    await rejection(d.push('t', req(['{a="1"}', [entry('x'.repeat(2 << 20), old)]])));
    await d.push('t', req(['{a="1"}', [entry('x'.repeat(1 << 20))]]));
    expect(ingester.calls).toHaveLength(1);
  });

  it('validation errors in a rate-limited request give the 429', async () => {
    const { d } = setup({ ingestionRateMb: 1, ingestionBurstSizeMb: 1, maxLineSize: 0 });
    const err = await rejection(d.push('t', req(['{}', [entry('x')]], ['{a="1"}', [entry('x'.repeat((1 << 20) + 1))]])));
    expect(err).toBeInstanceOf(RateLimitError);
  });
});

describe('helpers', () => {
  it('formatRfc3339 matches Go for positive, negative and sub-second times', () => {
    expect(formatRfc3339(0n)).toBe('1970-01-01T00:00:00Z');
    expect(formatRfc3339(-1n)).toBe('1969-12-31T23:59:59Z');
    expect(formatRfc3339(1_700_000_000_999_999_999n)).toBe('2023-11-14T22:13:20Z');
    expect(formatRfc3339(-62135596800n * 1_000_000_000n)).toBe('0001-01-01T00:00:00Z');
  });

  it('GroupedErrors renders a single error without a count', () => {
    const g = new GroupedErrors();
    g.add('r', 'only');
    expect(g.message()).toBe('only');
    g.add('r', 'only');
    expect(g.message()).toBe('2 errors like: only');
  });

  it('two distributors can share a registry', () => {
    const registry = new Registry();
    const opts = { limits: new StaticLimitsProvider(), ingester: new RecordingIngester(), registry };
    new Distributor(opts);
    expect(() => new Distributor(opts)).not.toThrow();
  });
});
