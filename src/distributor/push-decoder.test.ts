import snappy from 'snappy';
import { afterAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey } from '../../test/support/genlogs.js';
import { encodePush, encodePushRaw, labelString, type PbEntry } from '../../test/support/protobuf.js';
import { LINE_LEVEL_NONE, LINE_LEVELS } from '../model/log-level.js';
import type { PushRequest } from '../model/stream.js';
import { seededRandom } from '../util/random.js';
import { decodePushBody } from './decode.js';
import { decodePushRequestProto, scanPushLines } from './decode-proto.js';
import { LevelDetector } from './field-detection.js';
import { defaultLimits } from './limits.js';
import { PushDecoder, WORKER_MIN_BODY_BYTES } from './push-decoder.js';

const levels = { fields: defaultLimits.logLevelFields, maxDepth: defaultLimits.logLevelFromJsonMaxDepth };
const detector = new LevelDetector(levels.fields, levels.maxDepth);
const worker = new PushDecoder({ worker: true });
afterAll(() => worker.close());

/** Entries as plain values, to compare decodes. */
function plain(r: PushRequest): unknown {
  return r.streams.map((s) => ({ labels: s.labels, entries: s.entries.map((e) => [e.tsNs, e.line.toString('latin1'), e.metadata.map((m) => `${m.name}=${m.value}`)]) }));
}

/** Generator traffic as push bodies, some entries with metadata, some streams with a level label. */
function bodies(n: number, seed: number): { body: Buffer; entries: number }[] {
  const rnd = seededRandom(seed);
  const all = genEntries({ lines: n, streams: 60, seed });
  const out: { body: Buffer; entries: number }[] = [];
  for (let i = 0; i < all.length; i += 500) {
    const by = new Map<string, { labels: string; entries: PbEntry[] }>();
    const batch = all.slice(i, i + 500);
    for (const e of batch) {
      const k = labelKey(e.labels);
      let s = by.get(k);
      if (!s) by.set(k, (s = { labels: labelString(e.labels), entries: [] }));
      const r = rnd();
      const metadata = r < 0.05 ? { trace_id: 't' } : r < 0.08 ? { severity: 'WARNING' } : null;
      s.entries.push(metadata === null ? { tsNs: e.tsNs, line: e.line } : { tsNs: e.tsNs, line: e.line, metadata });
    }
    out.push({ body: encodePush([...by.values()]), entries: batch.length });
  }
  return out;
}

describe('PushDecoder with a worker thread', () => {
  it('decodes generator bodies to the same entries as the inline decoder, with each line read as the event loop would', async () => {
    let read = 0;
    let labelled = 0;
    for (const { body, entries } of bodies(6000, 3)) {
      expect(body.length).toBeGreaterThanOrEqual(WORKER_MIN_BODY_BYTES);
      const want = await decodePushBody(body, 'application/x-protobuf', undefined, 0);
      const got = await worker.decode(body, 'application/x-protobuf', undefined, 0, levels);
      expect(plain(got)).toEqual(plain(want));
      let n = 0;
      for (const s of got.streams) {
        const byLabel = detector.mayHaveLevelLabel(s.labels);
        for (const e of s.entries) {
          n++;
          const code = e.lineLevel ?? LINE_LEVEL_NONE;
          if (byLabel || e.metadata.length > 0) {
            // The event loop decides these from labels or metadata: nothing read.
            expect(code).toBe(LINE_LEVEL_NONE);
            if (byLabel) labelled++;
          } else {
            expect(LINE_LEVELS[code], e.line.toString()).toBe(detector.fromLine(e.line));
            read++;
          }
        }
      }
      expect(n).toBe(entries);
    }
    expect(read).toBeGreaterThan(3000);
    expect(labelled).toBeGreaterThan(500);
  });

  it('reads nothing when level discovery is off, and leaves small and JSON bodies to the inline decoder', async () => {
    const body = bodies(600, 5)[0]!.body;
    const got = await worker.decode(body, 'application/x-protobuf', 'snappy', 0, null);
    expect(got.streams.flatMap((s) => s.entries).every((e) => (e.lineLevel ?? LINE_LEVEL_NONE) === LINE_LEVEL_NONE)).toBe(true);
    const small = encodePush([{ labels: '{a="b"}', entries: [{ tsNs: 1n, line: 'level=error x' }] }]);
    const s = await worker.decode(small, 'application/x-protobuf', undefined, 0, levels);
    expect(s.streams[0]!.entries[0]!.lineLevel ?? LINE_LEVEL_NONE).toBe(LINE_LEVEL_NONE);
    const json = Buffer.from(JSON.stringify({ streams: [{ stream: { a: 'b' }, values: [['1', 'x'.repeat(WORKER_MIN_BODY_BYTES)]] }] }));
    const j = await worker.decode(json, 'application/json', undefined, 0, levels);
    expect(j.streams[0]!.entries[0]!.line.length).toBe(WORKER_MIN_BODY_BYTES);
  });

  it('answers bad bodies with the inline decoder\'s errors', async () => {
    const raw = encodePushRaw([{ labels: '{a="b"}', entries: Array.from({ length: 1200 }, (_, i) => ({ tsNs: BigInt(i), line: `line ${i} ${Math.imul(i + 1, 2654435761).toString(36)} ${Math.imul(i + 7, 40503).toString(16)} level=info` })) }]);
    const good = snappy.compressSync(raw);
    const cases: [string, Buffer, number][] = [
      ['corrupt snappy', Buffer.concat([good.subarray(0, 8), Buffer.alloc(good.length - 8, 0xff)]), 0],
      ['truncated protobuf', snappy.compressSync(raw.subarray(0, raw.length - 7)), 0],
      ['bad wire type', snappy.compressSync(Buffer.concat([raw, Buffer.from([0x0b])])), 0],
      ['too large once decompressed', good, raw.length - 1],
    ];
    // Under other Content-Types (or none) the inline errors name the type received: same here.
    for (const type of ['application/x-protobuf', 'text/plain', undefined]) {
      for (const [name, body, max] of cases) {
        expect(body.length, name).toBeGreaterThanOrEqual(WORKER_MIN_BODY_BYTES);
        const want = await decodePushBody(body, type, undefined, max).then(() => 'ok', (e: Error) => `${e.constructor.name}: ${e.message}`);
        const got = await worker.decode(body, type, undefined, max, levels).then(() => 'ok', (e: Error) => `${e.constructor.name}: ${e.message}`);
        expect(want, `${name} (${type})`).not.toBe('ok');
        expect(got, `${name} (${type})`).toBe(want);
      }
    }
  });

  it('decodes a large JSON body sent as a form (curl without -H) like the inline decoder, and fails it the same way', async () => {
    const json = JSON.stringify({ streams: [{ stream: { a: 'b' }, values: [['1', 'x'.repeat(WORKER_MIN_BODY_BYTES)]] }] });
    for (const type of ['application/x-www-form-urlencoded', undefined]) {
      const got = await worker.decode(Buffer.from('\n ' + json), type, undefined, 0, levels);
      expect(plain(got)).toEqual(plain(await decodePushBody(Buffer.from(json), 'application/json', undefined, 0)));
      const bad = Buffer.from(json.replace('"1"', '1'));
      const want = await decodePushBody(bad, type, undefined, 0).then(() => 'ok', (e: Error) => e.message);
      expect(want).toMatch(/looks like JSON but does not decode: .*unmarshalerDecoder/);
      await expect(worker.decode(bad, type, undefined, 0, levels)).rejects.toThrow(want);
    }
  });

  it('decodes inline once the worker is gone', async () => {
    const d = new PushDecoder({ worker: true });
    const body = bodies(600, 9)[0]!.body;
    await d.decode(body, 'application/x-protobuf', undefined, 0, levels);
    await d.close();
    const got = await d.decode(body, 'application/x-protobuf', undefined, 0, levels);
    expect(plain(got)).toEqual(plain(await decodePushBody(body, 'application/x-protobuf', undefined, 0)));
  });
});

describe('scanPushLines', () => {
  it('reports every line where the full decoder finds it, and stops at malformed bytes', async () => {
    for (const { body } of bodies(2000, 11)) {
      const data = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
      const req = await decodePushBody(body, 'application/x-protobuf', undefined, 0);
      const lines: string[] = [];
      const labels: string[] = [];
      expect(scanPushLines(data, { stream: (s, e) => labels.push(data.toString('utf8', s, e)), entry: (s, e) => lines.push(data.toString('utf8', s, e)) })).toBe(true);
      expect(labels).toEqual(req.streams.map((s) => s.labels));
      expect(lines).toEqual(req.streams.flatMap((s) => s.entries.map((e) => e.line.toString())));
      expect(scanPushLines(data.subarray(0, data.length - 3), { stream: () => {}, entry: () => {} })).toBe(false);
    }
  });
});

describe('LevelDetector.fromLineAt', () => {
  it('reads a line inside a larger buffer exactly as the line alone, whatever surrounds it', () => {
    const rnd = seededRandom(17);
    const words = ['level=', 'lvl=warn', 'error', 'ERR', 'msg="a b"', '=', '"', '{', '}', 'info', ' ', 'WARNING', 'x', 'level="de\\"bug"', 'severity=fatal', '[', ':', 'trace'];
    const gen = genEntries({ lines: 2000, streams: 40, seed: 4 }).map((e) => e.line);
    for (let i = 0; i < 6000; i++) {
      const line = i < gen.length ? gen[i]! : Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => words[Math.floor(rnd() * words.length)]).join(rnd() < 0.5 ? ' ' : '');
      const before = words[Math.floor(rnd() * words.length)]! + ' ';
      const after = ' ' + words[Math.floor(rnd() * words.length)]! + '=error';
      const buf = Buffer.from(before + line + after);
      const start = Buffer.byteLength(before);
      const alone = detector.fromLine(Buffer.from(line));
      expect(detector.fromLineAt(buf, start, start + Buffer.byteLength(line)), JSON.stringify([before, line, after])).toBe(alone);
    }
  });
});

describe('decodePushRequestProto with line levels', () => {
  it('uses none of them when their count does not match the entries', async () => {
    const raw = encodePushRaw([{ labels: '{a="b"}', entries: [{ tsNs: 1n, line: 'x' }, { tsNs: 2n, line: 'y' }] }]);
    const ok = decodePushRequestProto(raw, Uint8Array.of(5, 3));
    expect(ok.streams[0]!.entries.map((e) => e.lineLevel)).toEqual([5, 3]);
    const off = decodePushRequestProto(raw, Uint8Array.of(5));
    expect(off.streams[0]!.entries.map((e) => e.lineLevel)).toEqual([LINE_LEVEL_NONE, LINE_LEVEL_NONE]);
  });
});

describe('decodePushRequestProto with interned label strings', () => {
  const raw = encodePushRaw([
    { labels: '{a="1"}', entries: [{ tsNs: 1n, line: 'x' }] },
    { labels: '{a="2"}', entries: [{ tsNs: 2n, line: 'y' }] },
  ]);
  const want = plain(decodePushRequestProto(raw));

  it('takes each stream\'s string from the table instead of decoding it', () => {
    // Table strings that differ from the body's bytes show which one was used.
    const table = ['{t="2"}', '{t="1"}'];
    const got = decodePushRequestProto(raw, null, { ids: Int32Array.of(1, 0), table });
    expect(got.streams.map((s) => s.labels)).toEqual(['{t="1"}', '{t="2"}']);
    expect(got.streams.map((s) => s.entries.map((e) => e.line.toString()))).toEqual([['x'], ['y']]);
  });

  it('decodes the strings itself when the ids do not fit the body', () => {
    const table = ['{a="1"}', '{a="2"}'];
    for (const ids of [Int32Array.of(0), Int32Array.of(0, 1, 1), Int32Array.of(0, 7), Int32Array.of(-1, 1)]) {
      expect(plain(decodePushRequestProto(raw, null, { ids, table }))).toEqual(want);
    }
  });
});

describe('PushDecoder label interning', () => {
  it('decodes streams seen in earlier pushes as the inline decoder does', async () => {
    const d = new PushDecoder({ worker: true });
    try {
      const [a, b] = bodies(1000, 11);
      const first = await d.decode(a!.body, 'application/x-protobuf', undefined, 0, null);
      const second = await d.decode(b!.body, 'application/x-protobuf', undefined, 0, null);
      expect(plain(first)).toEqual(plain(await decodePushBody(a!.body, 'application/x-protobuf', undefined, 0)));
      expect(plain(second)).toEqual(plain(await decodePushBody(b!.body, 'application/x-protobuf', undefined, 0)));
      // The second body's streams were interned by the first (their ids are reused).
      const before = new Set(first.streams.map((s) => s.labels));
      expect(second.streams.filter((s) => before.has(s.labels)).length).toBeGreaterThan(10);
    } finally {
      await d.close();
    }
  });

  it('decodes correctly across many epochs when the worker may keep only a few strings', async () => {
    const d = new PushDecoder({ worker: true, maxLabelStrings: 7 });
    try {
      const all = bodies(8000, 5);
      const corrupt = Buffer.concat([all[0]!.body.subarray(0, 8), Buffer.alloc(all[0]!.body.length - 8, 0xff)]);
      // Valid snappy, cut-off protobuf: the worker's scan fails after it met new label strings.
      const raw = snappy.uncompressSync(all[1]!.body) as Buffer;
      const truncated = snappy.compressSync(raw.subarray(0, raw.length - 2));
      // Concurrent decodes, corrupt bodies among them: replies come back in order and every
      // result matches the inline decode.
      const got = await Promise.allSettled([corrupt, ...all.map((x) => x.body), truncated].map((body) => d.decode(body, 'application/x-protobuf', undefined, 0, levels)));
      expect(got[0]!.status).toBe('rejected');
      expect(got[got.length - 1]!.status).toBe('rejected');
      for (let i = 0; i < all.length; i++) {
        const r = got[i + 1]!;
        expect(r.status).toBe('fulfilled');
        expect(plain((r as PromiseFulfilledResult<PushRequest>).value)).toEqual(plain(await decodePushBody(all[i]!.body, 'application/x-protobuf', undefined, 0)));
      }
    } finally {
      await d.close();
    }
  });
});

describe('PushDecoder idle stop', () => {
  it('stops its worker when idle and decodes right with the next one, which knows no label ids or level options of the first', async () => {
    const d = new PushDecoder({ worker: true, idleStopMs: 50 });
    try {
      const a = bodies(1500, 21);
      const b = bodies(1500, 22);
      for (const x of a) expect(plain(await d.decode(x.body, 'application/x-protobuf', undefined, 0, levels))).toEqual(plain(await decodePushBody(x.body, 'application/x-protobuf', undefined, 0)));
      const started = Date.now();
      while (d.workerRunning && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20));
      expect(d.workerRunning).toBe(false);
      // Other streams now: ids the new worker gives from 0 must not be read in the old table.
      for (const x of b) expect(plain(await d.decode(x.body, 'application/x-protobuf', undefined, 0, levels))).toEqual(plain(await decodePushBody(x.body, 'application/x-protobuf', undefined, 0)));
      expect(d.workerRunning).toBe(true);
    } finally {
      await d.close();
    }
  });

  it('shed: bodies in hand finish on the worker, later ones decode inline, the worker stops; unshed, a new worker decodes right', async () => {
    const d = new PushDecoder({ worker: true });
    try {
      const a = bodies(3000, 31);
      const b = bodies(1500, 32);
      const want = async (x: { body: Buffer }): Promise<unknown> => plain(await decodePushBody(x.body, 'application/x-protobuf', undefined, 0));
      // Several in flight when the shed comes.
      const inFlight = a.map((x) => d.decode(x.body, 'application/x-protobuf', undefined, 0, levels));
      expect(d.workerRunning).toBe(true);
      d.shed(true);
      const inline = await d.decode(b[0]!.body, 'application/x-protobuf', undefined, 0, levels);
      expect(plain(inline)).toEqual(await want(b[0]!));
      for (let i = 0; i < a.length; i++) expect(plain(await inFlight[i]!)).toEqual(await want(a[i]!));
      for (let i = 0; i < 100 && d.workerRunning; i++) await new Promise((r) => setTimeout(r, 10));
      expect(d.workerRunning).toBe(false);
      // Still shed: decoded inline, no worker started for it.
      expect(plain(await d.decode(b[1]!.body, 'application/x-protobuf', undefined, 0, levels))).toEqual(await want(b[1]!));
      expect(d.workerRunning).toBe(false);
      d.shed(false);
      for (const x of b) expect(plain(await d.decode(x.body, 'application/x-protobuf', undefined, 0, levels))).toEqual(await want(x));
      expect(d.workerRunning).toBe(true);
    } finally {
      await d.close();
    }
  });
});

describe('PushDecoder level options', () => {
  it('keeps each tenant\'s options apart, even when the first body sent with them is corrupt', async () => {
    const d = new PushDecoder({ worker: true });
    try {
      const lines = Array.from({ length: 1500 }, (_, i) => `x=${i} msg="info ${Math.imul(i + 3, 2654435761).toString(36)}" lvl=trace`);
      const raw = encodePushRaw([{ labels: '{a="b"}', entries: lines.map((line, i) => ({ tsNs: BigInt(i + 1), line })) }]);
      const good = snappy.compressSync(raw);
      expect(good.length).toBeGreaterThanOrEqual(WORKER_MIN_BODY_BYTES);
      const corrupt = Buffer.concat([good.subarray(0, 8), Buffer.alloc(good.length - 8, 0xff)]);
      const all = { fields: defaultLimits.logLevelFields, maxDepth: 2 };
      const levelOnly = { fields: ['level'], maxDepth: 2 };
      await expect(d.decode(corrupt, 'application/x-protobuf', undefined, 0, all)).rejects.toThrow('snappy');
      const byAll = await d.decode(good, 'application/x-protobuf', undefined, 0, { ...all });
      const byLevel = await d.decode(good, 'application/x-protobuf', undefined, 0, levelOnly);
      // `lvl` is one of the default fields; with only `level` the text's first level word decides.
      expect(new Set(byAll.streams[0]!.entries.map((e) => LINE_LEVELS[e.lineLevel!]))).toEqual(new Set(['trace']));
      expect(new Set(byLevel.streams[0]!.entries.map((e) => LINE_LEVELS[e.lineLevel!]))).toEqual(new Set(['info']));
    } finally {
      await d.close();
    }
  });

  it('registers options again once the worker evicted them (many reloads of many tenants)', async () => {
    const d = new PushDecoder({ worker: true });
    try {
      const lines = Array.from({ length: 1500 }, (_, i) => `x=${i} msg="info ${Math.imul(i + 5, 2654435761).toString(36)}" lvl=trace`);
      const body = snappy.compressSync(encodePushRaw([{ labels: '{a="b"}', entries: lines.map((line, i) => ({ tsNs: BigInt(i + 1), line })) }]));
      const first = { fields: ['lvl'], maxDepth: 2 };
      const read = async (o: { fields: string[]; maxDepth: number }): Promise<Set<number | undefined>> =>
        new Set((await d.decode(body, 'application/x-protobuf', undefined, 0, o)).streams[0]!.entries.map((e) => e.lineLevel));
      expect(await read(first)).toEqual(new Set([LINE_LEVELS.indexOf('trace')]));
      // 300 other option sets (fresh arrays, as after reloads) push the first out of the worker.
      for (let i = 0; i < 300; i++) await read({ fields: ['lvl'], maxDepth: 2 });
      // The first answer after eviction reads nothing (the event loop reads the lines itself);
      // the options are then registered again and the worker reads lines once more.
      expect(await read(first)).toEqual(new Set([LINE_LEVEL_NONE]));
      expect(await read(first)).toEqual(new Set([LINE_LEVELS.indexOf('trace')]));
    } finally {
      await d.close();
    }
  });
});
