import zlib from 'node:zlib';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';
import { InvalidError, SiltError, TooLargeError } from '../errors.js';
import type { PushRequest } from '../model/stream.js';
import { encodeRef, prng, randInt } from '../../test/golden/push/push-ref.js';
import { decodePushBody, parseMediaType } from './decode.js';

const LIMIT = 1 << 20;
const JSON_BODY = JSON.stringify({
  streams: [{ stream: { foo: 'bar2' }, values: [['1570818238000000000', 'fizzbuzz', { a: 'a', b: 'b' }]] }],
});
const PROTO = encodeRef({
  streams: [
    {
      labels: '{foo="bar2"}',
      entries: [{ timestamp: { seconds: 1570818238, nanos: 0 }, line: 'fizzbuzz', structuredMetadata: [{ name: 'a', value: 'a' }, { name: 'b', value: 'b' }] }],
    },
  ],
});
const SNAPPY_PROTO = snappy.compressSync(PROTO) as Buffer;

function summary(r: PushRequest): string {
  return r.streams
    .map((s) => `${s.labels}\n` + s.entries.map((e) => `  ${e.tsNs} ${JSON.stringify(e.line.toString())} ${JSON.stringify(e.metadata)}`).join('\n'))
    .join('\n');
}

const expected = '{foo="bar2"}\n  1570818238000000000 "fizzbuzz" [{"name":"a","value":"a"},{"name":"b","value":"b"}]';

describe('decodePushBody', () => {
  const ok: [string, Buffer, string | undefined, string | undefined][] = [
    ['json', Buffer.from(JSON_BODY), 'application/json', undefined],
    ['json with charset', Buffer.from(JSON_BODY), 'application/json; charset=utf-8', ''],
    ['json, upper-case type', Buffer.from(JSON_BODY), 'Application/JSON', undefined],
    ['json gzip', zlib.gzipSync(JSON_BODY), 'application/json', 'gzip'],
    ['json raw deflate (Go flate)', zlib.deflateRawSync(JSON_BODY), 'application/json; charset=utf-8', 'deflate'],
    ['json zlib deflate (RFC 9110)', zlib.deflateSync(JSON_BODY), 'application/json', 'deflate'],
    ['protobuf', SNAPPY_PROTO, 'application/x-protobuf', undefined],
    ['protobuf, Content-Encoding: snappy', SNAPPY_PROTO, 'application/x-protobuf', 'snappy'],
    ['protobuf under another media type', SNAPPY_PROTO, 'application/jsonn; charset=utf-8', undefined],
    ['protobuf gzip-wrapped', zlib.gzipSync(SNAPPY_PROTO), 'application/x-protobuf', 'gzip'],
    // Sniffed: a missing Content-Type, or JSON under another type (curl --data sends a form type).
    ['protobuf without Content-Type', SNAPPY_PROTO, undefined, undefined],
    ['protobuf with a blank Content-Type', SNAPPY_PROTO, ' ', undefined],
    ['JSON without Content-Type', Buffer.from(JSON_BODY), undefined, undefined],
    ['JSON sent as a form (curl --data)', Buffer.from(JSON_BODY), 'application/x-www-form-urlencoded', undefined],
    ['JSON after whitespace, as text/plain', Buffer.from(' \r\n\t' + JSON_BODY), 'text/plain', undefined],
    ['JSON sent as protobuf', Buffer.from(JSON_BODY), 'application/x-protobuf', undefined],
    ['gzipped JSON sent as a form', zlib.gzipSync(JSON_BODY), 'application/x-www-form-urlencoded', 'gzip'],
  ];
  it.each(ok)('decodes %s', async (_name, body, type, enc) => {
    expect(summary(await decodePushBody(body, type, enc, LIMIT))).toBe(expected);
  });

  it('matches the golden decode of both formats', async () => {
    const out =
      '# json\n' +
      summary(await decodePushBody(Buffer.from(JSON_BODY), 'application/json', undefined, LIMIT)) +
      '\n# protobuf (snappy)\n' +
      summary(await decodePushBody(SNAPPY_PROTO, 'application/x-protobuf', undefined, LIMIT)) +
      '\n# protobuf hex\n' +
      SNAPPY_PROTO.toString('hex') +
      '\n';
    await expect(out).toMatchFileSnapshot('../../test/golden/push/decoded.txt');
  });

  const bad: [string, Buffer, string | undefined, string | undefined, string][] = [
    ['unsupported encoding', Buffer.from(JSON_BODY), 'application/json', 'br', 'Content-Encoding "br" not supported'],
    ['bad Content-Type parameter', Buffer.from(JSON_BODY), 'application/json; charsetutf-8', undefined, 'mime: invalid media parameter'],
    ['JSON sent with Content-Encoding: snappy (not decompressed, as Loki)', snappy.compressSync(JSON_BODY) as Buffer, 'application/json', 'snappy', ''],
    [
      'bad JSON sent as a form',
      Buffer.from('{"streams":[{"stream":{"a":"1"},"values":[[1,"x"]]}]}'),
      'application/x-www-form-urlencoded',
      undefined,
      'push body sent with Content-Type "application/x-www-form-urlencoded" looks like JSON but does not decode: ' +
        `loghttp.PushRequest.Streams: []loghttp.LogProtoStream: unmarshalerDecoder: Value is string, but can't find closing '"' symbol, ` +
        'error found in #10 byte of ...|[[1,"x"]]}]}|..., bigger context ...|"streams":[{"stream":{"a":"1"},"values":[[1,"x"]]}]}|...; ' +
        'send JSON with "Content-Type: application/json" or snappy-compressed protobuf with "Content-Type: application/x-protobuf"',
    ],
    [
      'text sent without Content-Type',
      Buffer.from('hello'),
      undefined,
      undefined,
      'push body sent without a Content-Type is neither snappy-compressed protobuf (snappy: corrupt input) nor JSON; ' +
        'send JSON with "Content-Type: application/json" or snappy-compressed protobuf with "Content-Type: application/x-protobuf"',
    ],
    [
      'text sent as text/plain',
      Buffer.from('[1]'),
      'text/plain; charset=utf-8',
      undefined,
      'push body sent with Content-Type "text/plain" is neither snappy-compressed protobuf (snappy: corrupt input) nor JSON; ' +
        'send JSON with "Content-Type: application/json" or snappy-compressed protobuf with "Content-Type: application/x-protobuf"',
    ],
    ['corrupt protobuf under its own type: Loki\'s text', Buffer.from('hello'), 'application/x-protobuf', undefined, 'snappy: corrupt input'],
    ['gzip header missing', Buffer.from(JSON_BODY), 'application/json', 'gzip', 'gzip: invalid header'],
    ['truncated gzip', zlib.gzipSync(JSON_BODY).subarray(0, 20), 'application/json', 'gzip', 'unexpected EOF'],
    ['corrupt deflate', Buffer.from([0xff, 0xff, 0xff, 0xff]), 'application/json', 'deflate', ''],
    ['corrupt snappy', Buffer.from([0x10, 0xff, 0xff, 0xff]), 'application/x-protobuf', undefined, 'snappy: corrupt input'],
  ];
  it.each(bad)('rejects %s', async (_name, body, type, enc, msg) => {
    let err: unknown;
    try {
      await decodePushBody(body, type, enc, LIMIT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidError);
    if (msg !== '') expect((err as Error).message).toBe(msg);
  });

  describe('decompressed size limit (zip bombs)', () => {
    const zeros = Buffer.alloc(64 << 20);
    it.each([
      ['gzip', zlib.gzipSync(zeros), 'application/json', 'gzip', `(${LIMIT + 1} vs ${LIMIT})`],
      ['deflate', zlib.deflateRawSync(zeros), 'application/json', 'deflate', `(${LIMIT + 1} vs ${LIMIT})`],
      ['snappy (declared size checked before inflating)', snappy.compressSync(zeros) as Buffer, 'application/x-protobuf', undefined, `(${64 << 20} vs ${LIMIT})`],
      ['gzip wrapping snappy', zlib.gzipSync(snappy.compressSync(Buffer.alloc(2 << 20)) as Buffer), 'application/x-protobuf', 'gzip', `(${2 << 20} vs ${LIMIT})`],
    ])('rejects a %s bomb with 413 and Loki\'s text', async (_n, body, type, enc, sizes) => {
      let err: unknown;
      try {
        await decodePushBody(body, type, enc, LIMIT);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TooLargeError);
      expect((err as Error).message).toBe(`request body too large: decompressed message size too large than max ${sizes}`);
    });

    it('accepts a body of exactly the limit', async () => {
      const body = Buffer.from(JSON.stringify({ streams: [], pad: 'x'.repeat(1000) }));
      await expect(decodePushBody(zlib.gzipSync(body), 'application/json', 'gzip', body.length)).resolves.toBeDefined();
      await expect(decodePushBody(zlib.gzipSync(body), 'application/json', 'gzip', body.length - 1)).rejects.toThrow(TooLargeError);
    });
  });

  it('throws only SiltErrors on fuzzed bodies in every format', async () => {
    const rnd = prng(2024);
    const seeds: [Buffer, string, string | undefined][] = [
      [SNAPPY_PROTO, 'application/x-protobuf', undefined],
      [zlib.gzipSync(JSON_BODY), 'application/json', 'gzip'],
      [zlib.deflateRawSync(JSON_BODY), 'application/json', 'deflate'],
      [zlib.gzipSync(SNAPPY_PROTO), 'application/x-protobuf', 'gzip'],
    ];
    const check = async (b: Buffer, type: string, enc: string | undefined): Promise<void> => {
      try {
        await decodePushBody(b, type, enc, LIMIT);
      } catch (e) {
        if (!(e instanceof SiltError)) throw e;
      }
    };
    for (const [good, type, enc] of seeds) {
      for (let i = 0; i < 500; i++) {
        await check(good.subarray(0, randInt(rnd, good.length + 1)), type, enc);
        const flipped = Buffer.from(good);
        const at = randInt(rnd, flipped.length);
        flipped[at] = flipped[at]! ^ (1 << randInt(rnd, 8));
        await check(flipped, type, enc);
        const random = Buffer.alloc(randInt(rnd, 40));
        for (let k = 0; k < random.length; k++) random[k] = randInt(rnd, 256);
        await check(random, type, enc);
      }
    }
  });
});

describe('parseMediaType', () => {
  it.each([
    ['application/json', 'application/json'],
    [' Application/X-Protobuf ; charset="utf-8";', 'application/x-protobuf'],
    ['text', 'text'],
  ])('parses %j', (h, want) => expect(parseMediaType(h)).toBe(want));

  it.each([
    ['', 'mime: no media type'],
    ['application/', 'mime: expected token after slash'],
    ['application json', 'mime: expected slash after first token'],
    ['a/b/c', 'mime: unexpected content after media subtype'],
    ['a/b; x=1; x=2', 'mime: duplicate parameter name'],
    ['a/b; x="open', 'mime: invalid media parameter'],
  ])('rejects %j', (h, msg) => expect(() => parseMediaType(h)).toThrow(msg));
});
