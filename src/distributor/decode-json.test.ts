import { describe, expect, it } from 'vitest';
import { InvalidError, SiltError } from '../errors.js';
import { prng, randInt } from '../../test/golden/push/push-ref.js';
import {
  decodePushRequestJson,
  JSON_MALFORMED_ARRAY,
  JSON_MALFORMED_OBJECT,
  JSON_MALFORMED_STRING,
  JSON_MALFORMED_VALUE,
  JSON_OVERFLOW_INTEGER,
} from './decode-json.js';

const dec = (s: string) => decodePushRequestJson(Buffer.from(s));

describe('decodePushRequestJson', () => {
  it('decodes streams, exact timestamps, lines and structured metadata', () => {
    const r = dec(
      JSON.stringify({
        streams: [
          {
            stream: { b: 'two', a: 'one "q"' },
            values: [
              ['1700000000123456789', 'line one'],
              ['-5', 'neg', { trace_id: 'abc', user: 'u' }],
            ],
          },
        ],
      }),
    );
    const s = r.streams[0]!;
    expect(s.labels).toBe('{a="one \\"q\\"", b="two"}');
    expect(s.labelsObject).toEqual({ a: 'one "q"', b: 'two' });
    expect(s.entries.map((e) => [e.tsNs, e.line.toString(), e.metadata])).toEqual([
      [1700000000123456789n, 'line one', []],
      [-5n, 'neg', [{ name: 'trace_id', value: 'abc' }, { name: 'user', value: 'u' }]],
    ]);
  });

  it('follows Loki on nulls, missing keys and extra elements', () => {
    const r = dec('{"streams":[{"stream":{"a":"1"},"values":[null,["1","x",{},"extra"],[]]},{"stream":{"a":"2"},"values":null}]}');
    expect(r.streams).toHaveLength(2);
    expect(r.streams[0]!.entries.map((e) => [e.tsNs, e.line.toString()])).toEqual([
      [1n, 'x'],
      [0n, ''],
    ]);
    expect(r.streams[1]!.entries).toEqual([]);
    expect(dec('{}').streams).toEqual([]);
    expect(dec('{"streams":null}').streams).toEqual([]);
    expect(dec('{"streams":[{"values":[["1","x"]]}]}').streams[0]!.labels).toBe('');
  });

  it('keeps a "__proto__" label as an ordinary label', () => {
    const s = dec('{"streams":[{"stream":{"__proto__":"x","a":"1"},"values":[]}]}').streams[0]!;
    expect(s.labels).toBe('{__proto__="x", a="1"}');
    expect(Object.keys(s.labelsObject!)).toEqual(['__proto__', 'a']);
  });

  const bad: [string, string, string][] = [
    ['empty body', '', 'EOF'],
    ['ts as a number', '{"streams":[{"stream":{"a":"1"},"values":[[1,"x"]]}]}', JSON_MALFORMED_STRING],
    ['ts not digits', '{"streams":[{"stream":{"a":"1"},"values":[["12a","x"]]}]}', JSON_MALFORMED_VALUE],
    ['ts empty', '{"streams":[{"stream":{"a":"1"},"values":[["","x"]]}]}', JSON_MALFORMED_VALUE],
    ['ts with +', '{"streams":[{"stream":{"a":"1"},"values":[["+1","x"]]}]}', JSON_MALFORMED_VALUE],
    ['ts in RFC3339', '{"streams":[{"stream":{"a":"1"},"values":[["2024-01-01T00:00:00Z","x"]]}]}', JSON_MALFORMED_VALUE],
    ['ts overflowing int64', '{"streams":[{"stream":{"a":"1"},"values":[["9223372036854775808","x"]]}]}', JSON_OVERFLOW_INTEGER],
    ['line not a string', '{"streams":[{"stream":{"a":"1"},"values":[["1",{"fizz":"buzz"}]]}]}', JSON_MALFORMED_STRING],
    ['metadata not an object', '{"streams":[{"stream":{"a":"1"},"values":[["1","x","y"]]}]}', JSON_MALFORMED_OBJECT],
    ['metadata value not a string', '{"streams":[{"stream":{"a":"1"},"values":[["1","x",{"k":1}]]}]}', JSON_MALFORMED_STRING],
    ['entry not an array', '{"streams":[{"stream":{"a":"1"},"values":["1"]}]}', JSON_MALFORMED_ARRAY],
    ['values not an array', '{"streams":[{"stream":{"a":"1"},"values":{}}]}', JSON_MALFORMED_ARRAY],
    ['stream not an object', '{"streams":[{"stream":"a","values":[]}]}', JSON_MALFORMED_OBJECT],
    ['label value an object', '{"streams":[{"stream":{"a":{}},"values":[]}]}', JSON_MALFORMED_STRING],
    ['stream element not an object', '{"streams":[1]}', JSON_MALFORMED_OBJECT],
    ['stream element null (jsonparser wants an object)', '{"streams":[null]}', JSON_MALFORMED_OBJECT],
    ['streams not an array', '{"streams":{}}', 'loghttp.PushRequest.Streams: []loghttp.LogProtoStream: decode slice: expect [ or n, but found {'],
    ['top level not an object', '[1]', 'loghttp.PushRequest.readObjectStart: expect { or n, but found ['],
  ];
  it.each(bad)('rejects %s', (_name, body, msg) => {
    expect(() => dec(body)).toThrow(InvalidError);
    expect(() => dec(body)).toThrow(msg);
  });

  // Loki's full text: json-iterator's type path, jsonparser's message, then 10 and 50 bytes
  // around the end of the failing stream (a real Loki 400 for a number where the timestamp
  // string belongs reads exactly so: `...error found in #10 byte of ...|:38660}]]}]}|...`).
  it.each([
    [
      'a number as the timestamp',
      '{"streams":[{"stream":{"app":"x"},"values":[[1700000000000000000,"line"]]}]}',
      `loghttp.PushRequest.Streams: []loghttp.LogProtoStream: unmarshalerDecoder: ${JSON_MALFORMED_STRING}, error found in #10 byte of ...|,"line"]]}]}|..., bigger context ...|app":"x"},"values":[[1700000000000000000,"line"]]}]}|...`,
    ],
    [
      'the second stream, with spaces around',
      '{ "streams": [ {"values":[["1","a"]]} , {"values":[["1",2]]} ] }',
      `loghttp.PushRequest.Streams: []loghttp.LogProtoStream: unmarshalerDecoder: ${JSON_MALFORMED_STRING}, error found in #10 byte of ...|[["1",2]]} ] }|..., bigger context ...|": [ {"values":[["1","a"]]} , {"values":[["1",2]]} ] }|...`,
    ],
    [
      'streams as a string',
      '{"streams":"x"}',
      'loghttp.PushRequest.Streams: []loghttp.LogProtoStream: decode slice: expect [ or n, but found ", error found in #10 byte of ...|streams":"x"}|..., bigger context ...|{"streams":"x"}|...',
    ],
    ['a number at the top', '  7', 'loghttp.PushRequest.readObjectStart: expect { or n, but found 7, error found in #3 byte of ...|  7|..., bigger context ...|  7|...'],
  ])('gives Loki\'s exact text for %s', (_name, body, msg) => {
    expect(() => dec(body)).toThrow(new InvalidError(msg));
  });

  it('quotes only the 512-byte piece of a long body that holds the failing stream', () => {
    // The first stream's line pads the body so the second stream ends at byte 600 + something.
    const pad = 'p'.repeat(560);
    const body = `{"streams":[{"values":[["1","${pad}"]]},{"values":[[5,"x"]]}]}`;
    const end = body.length - 2; // just past the second stream's "}"
    const pieceStart = 512;
    const want =
      `loghttp.PushRequest.Streams: []loghttp.LogProtoStream: unmarshalerDecoder: ${JSON_MALFORMED_STRING}, error found in #10 byte of ` +
      `...|${body.slice(end - 10, end + 10)}|..., bigger context ...|${body.slice(Math.max(pieceStart, end - 50), end + 50)}|...`;
    expect(end).toBeGreaterThan(pieceStart + 50);
    expect(() => dec(body)).toThrow(new InvalidError(want));
  });

  it('accepts the full int64 range and the Loki timestamp format only', () => {
    expect(dec('{"streams":[{"stream":{"a":"1"},"values":[["9223372036854775807","x"],["-9223372036854775808","y"],["007","z"]]}]}').streams[0]!.entries.map((e) => e.tsNs)).toEqual([
      9223372036854775807n,
      -9223372036854775808n,
      7n,
    ]);
  });

  it('reports syntax errors as InvalidError', () => {
    expect(() => dec('{"streams":[')).toThrow(InvalidError);
  });

  it('throws only SiltErrors on fuzzed bodies', () => {
    const good = Buffer.from(
      JSON.stringify({ streams: [{ stream: { a: '1', b: 'x' }, values: [['1700000000000000000', 'hello', { k: 'v' }], ['1', 'y']] }] }),
    );
    const rnd = prng(5);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(good.subarray(0, randInt(rnd, good.length + 1)));
      if (b.length > 0 && rnd() < 0.7) {
        const at = randInt(rnd, b.length);
        b[at] = rnd() < 0.5 ? b[at]! ^ (1 << randInt(rnd, 8)) : randInt(rnd, 256);
      }
      try {
        decodePushRequestJson(b);
      } catch (e) {
        if (!(e instanceof SiltError)) throw e;
      }
    }
  });
});
