import { describe, expect, it } from 'vitest';
import { fingerprint, labelsToString, quoteValue } from '../model/labels.js';
import { prng, randString } from '../../test/golden/push/push-ref.js';
import { LabelsCache, parseLabelString, utf8Length } from './labels-parser.js';

describe('parseLabelString', () => {
  const ok: [string, string][] = [
    ['{a="b"}', '{a="b"}'],
    ['{b="2", a="1"}', '{a="1", b="2"}'],
    ['  { a = "1" , b="2", }  ', '{a="1", b="2"}'],
    ["{a='x'}", '{a="x"}'],
    ['{a=`raw\\n`}', '{a="raw\\\\n"}'],
    ['{a="tab\\there", b="q\\"uote", c="\\x41\\u00e9\\101"}', '{a="tab\\there", b="q\\"uote", c="Aé\\x41"}'.replace('\\x41"', 'A"')],
    ['{"quoted"="v"}', '{quoted="v"}'],
    ['{a="", b="x"}', '{b="x"}'],
    ['{}', '{}'],
    ['up{job="x"}', '{__name__="up", job="x"}'],
    ['{a="日本🙂"}', '{a="日本🙂"}'],
  ];
  it.each(ok)('parses %s', (input, canonical) => {
    const p = parseLabelString(input);
    expect(p.error).toBeNull();
    expect(p.labelsString).toBe(canonical);
  });

  const bad: [string, string][] = [
    ['', '1:1: parse error: unexpected end of input, expected "{"'],
    ['a="b"', '1:2: parse error: unexpected "=", expected "{"'],
    ['{a="b"', '1:7: parse error: unexpected end of input in label set, expected "," or "}"'],
    ['{a="b}', '1:4: parse error: unterminated quoted string'],
    ['{a!="b"}', '1:3: parse error: unexpected "!" in label matching, expected "="'],
    ['{a=~"b"}', '1:3: parse error: unexpected "=" in label matching, expected "="'],
    ['{a=b}', '1:4: parse error: unexpected "b" in label matching, expected string'],
    ['{1a="b"}', '1:2: parse error: unexpected "1" in label set, expected identifier or "}"'],
    ['{a-b="c"}', '1:3: parse error: unexpected "-" in label matching, expected "="'],
    ['{"a.b"="c"}', '1:2: parse error: invalid label name "a.b"'],
    ['{a="b"} x', '1:9: parse error: unexpected "x" after "}"'],
    ['{a="b" c="d"}', '1:8: parse error: unexpected "c" in label set, expected "," or "}"'],
    ['{a="\\q"}', '1:5: parse error: unknown escape sequence "q"'],
    ['{a="line\nbreak"}', '1:4: parse error: unterminated quoted string'],
  ];
  it.each(bad)('rejects %j', (input, msg) => {
    expect(parseLabelString(input).error).toBe(msg);
  });

  it('keeps duplicates for the validator and reports sizes in bytes', () => {
    const p = parseLabelString('{b="é", a="1", b="2", service_name="s"}');
    expect(p.hasDuplicate).toBe(true);
    expect(p.labels.map((l) => l.name)).toEqual(['a', 'b', 'b', 'service_name']);
    expect(p.numNames).toBe(3); // service_name is not counted
    expect(p.maxNameBytes).toBe('service_name'.length);
    expect(p.maxValueBytes).toBe(2);
    expect(p.fingerprint).toBe('');
  });

  it('round-trips labelsToString output (random values)', () => {
    const rnd = prng(99);
    for (let i = 0; i < 500; i++) {
      const labels = [
        { name: 'a', value: randString(rnd, 12) || 'x' },
        { name: 'b_2', value: randString(rnd, 12) || 'y' },
      ];
      const text = labelsToString(labels);
      const p = parseLabelString(text);
      expect(p.error).toBeNull();
      expect(p.labels).toEqual(labels);
      expect(p.fingerprint).toBe(fingerprint(labels));
      expect(quoteValue(labels[0]!.value)).toBe(text.slice(3, text.indexOf(', b_2=')));
    }
  });

  it('utf8Length counts like Buffer.byteLength', () => {
    for (const s of ['', 'abc', 'é', '日本', '🙂', 'a\ud800b', '\udc00']) expect(utf8Length(s)).toBe(Buffer.byteLength(s));
  });
});

describe('LabelsCache', () => {
  it('returns the cached parse and evicts the oldest when full', () => {
    const c = new LabelsCache(2);
    const p1 = c.get('{a="1"}');
    expect(c.get('{a="1"}')).toBe(p1);
    c.get('{a="2"}');
    c.get('{a="3"}');
    expect(c.size).toBe(2);
    expect(c.get('{a="1"}')).not.toBe(p1);
  });
});
