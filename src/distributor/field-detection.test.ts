import { describe, expect, it } from 'vitest';
import { fingerprint, labelsToString, type Labels } from '../model/labels.js';
import type { PushEntry, ValidStream } from '../model/stream.js';
import { addDetectedLevels, detectLevelFromText, LevelDetector, logfmtValue, normalizeLogLevel, normalizeMetadataNames } from './field-detection.js';
import { otlpLabelName } from './otlp.js';
import { seededRandom } from '../util/random.js';
import { knownLevel } from '../model/log-level.js';
import { defaultLimits } from './limits.js';

const detector = new LevelDetector(defaultLimits.logLevelFields, defaultLimits.logLevelFromJsonMaxDepth);

function stream(labels: Record<string, string>, entries: { line: string; md?: Record<string, string> }[]): ValidStream {
  const ls: Labels = Object.entries(labels)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([name, value]) => ({ name, value }));
  return {
    labels: ls,
    labelsString: labelsToString(ls),
    fingerprint: fingerprint(ls),
    entries: entries.map((e, i): PushEntry => ({ tsNs: BigInt(i), line: Buffer.from(e.line), metadata: Object.entries(e.md ?? {}).map(([name, value]) => ({ name, value })) })),
  };
}

describe('normalizeLogLevel', () => {
  it.each([
    ['WARNING', 'warn'],
    ['Wrn', 'warn'],
    ['ERR', 'error'],
    ['error', 'error'],
    ['CRITICAL', 'critical'],
    ['information', 'info'],
    ['INF', 'info'],
    ['dbg', 'debug'],
    ['TRC', 'trace'],
    ['Fatal', 'fatal'],
    ['crit', 'crit'], // not a spelling Loki knows: kept as is
    ['notice', 'notice'],
  ])('%s → %s', (v, want) => expect(normalizeLogLevel(v)).toBe(want));
});

describe('level from free text', () => {
  it.each([
    ['2024-01-01 ERROR something broke', 'error'],
    ['[WARN] disk almost full', 'warn'],
    ['an error happened after a warning', 'error'], // the earliest word wins
    ['a warning before an error', 'warn'],
    ['terrible but no level', 'unknown'], // "err" inside a word does not count
    ['info: started', 'info'],
    ['(debug) x', 'debug'],
    ['nothing here', 'unknown'],
    ['', 'unknown'],
  ])('%j → %s', (line, want) => expect(detectLevelFromText(line)).toBe(want));
});

describe('level from the line', () => {
  it.each([
    ['{"level":"WARNING","msg":"x"}', 'warn'],
    ['{"msg":"x","lvl":"err"}', 'error'],
    ['{"log":{"severity":"Critical"}}', 'critical'], // depth 1 is searched
    ['{"a":{"b":{"level":"e1"}}, "msg":"debug text"}', 'debug'], // depth 2 is not: falls back to the text
    ['{"level":"weird","msg":"an error"}', 'error'], // unknown value: the text decides
    ['{"level":7}', 'unknown'], // only string values count
    ['  {"severity":"info"}  ', 'info'],
    ['ts=1 level=warn msg="hello"', 'warn'],
    ['ts=1 LEVEL=error msg=x', 'error'], // logfmt keys match case-insensitively
    ['lvl=debug level=error', 'error'], // earlier hint in the list wins
    ['msg="contains level=info" other=1', 'info'], // falls back to text: no level key
    ['a=1 b=2', 'unknown'],
    ['plain text with FATAL in it', 'fatal'],
  ])('%j → %s', (line, want) => expect(detector.fromLine(line)).toBe(want));

  it('reads logfmt as a plain parse would, on 30k random lines (keys in URLs, quotes, bare keys)', () => {
    // Reference: every line with a '=' parsed as logfmt (logfmtValue), the level word otherwise.
    const hints = defaultLimits.logLevelFields.map((f) => f.toLowerCase());
    const reference = (line: string): string => {
      const v = line.includes('=') ? logfmtValue(line, hints) : null;
      return (v === null ? null : knownLevel(v)) ?? detectLevelFromText(line);
    };
    const rnd = seededRandom(17);
    const parts = ['level', 'LVL', 'Severity_Text', 'log.level', 'xlevel', 'lev', 'el', '=', '=', '"', '\\"', ' ', ' ', 'info', 'WARN', 'error', 'Err', 'debug', 'dbg', 'Wrn', 'trc', 'GET /p?id', '&q', 'a', '1', '\t'];
    for (let i = 0; i < 30_000; i++) {
      let line = '';
      const n = Math.floor(rnd() * 10);
      for (let j = 0; j < n; j++) line += parts[Math.floor(rnd() * parts.length)]!;
      expect(detector.fromLine(line), JSON.stringify(line)).toBe(reference(line));
    }
  });
});

describe('logfmtValue', () => {
  it('reads quoted values with escapes', () => {
    expect(logfmtValue('level="w\\"x" b=1', ['level'])).toBe('w"x');
    expect(logfmtValue('k= level=', ['level'])).toBe('');
    expect(logfmtValue('"bad level=x', ['level'])).toBeNull();
  });
});

describe('addDetectedLevels', () => {
  it('uses a level label, then metadata, then severity_number, then the line', () => {
    const s1 = stream({ app: 'a', level: 'WARNING' }, [{ line: 'an error' }]);
    const s2 = stream({ app: 'a' }, [
      { line: 'an error', md: { severity: 'dbg' } },
      { line: 'no level', md: { severity_number: '17' } },
      { line: 'no level', md: { severity_number: '10' } },
      { line: 'no level', md: { severity_number: '0' } },
      { line: 'no level', md: { detected_level: 'ERR' } },
      { line: 'a warning here' },
    ]);
    addDetectedLevels([s1, s2], detector);
    const lv = (e: PushEntry) => e.metadata.filter((m) => m.name === 'detected_level').map((m) => m.value);
    expect(s1.entries.map(lv)).toEqual([['warn']]);
    expect(s2.entries.map(lv)).toEqual([['debug'], ['error'], ['info'], ['unknown'], ['error'], ['warn']]);
    // Existing metadata stays first, detected_level is appended.
    expect(s2.entries[0]!.metadata).toEqual([
      { name: 'severity', value: 'dbg' },
      { name: 'detected_level', value: 'debug' },
    ]);
  });
});

describe('normalizeMetadataNames', () => {
  it('renames like Prometheus\' label namer and leaves clean names alone', () => {
    const s = stream({ a: '1' }, [{ line: 'x', md: { 'trace.id': 't', ok_name: 'o', '1st': 'f', a__b: 'c', __meta__: 'm', _lead: 'l', _a__: 'u' } }, { line: 'y', md: { fine: 'v' } }]);
    const untouched = s.entries[1]!.metadata;
    normalizeMetadataNames([s], otlpLabelName);
    expect(s.entries[0]!.metadata.map((m) => m.name)).toEqual(['trace_id', 'ok_name', 'key_1st', 'a_b', '__meta__', '_lead', '_a_']);
    expect(s.entries[1]!.metadata).toBe(untouched);
  });
});

describe('level words: one-pass scan vs Loki\'s per-word search', () => {
  // Loki's detectLevelFromLogLine, written the slow way: lower-case, then each word's first
  // bounded occurrence, smallest index wins (list order on ties).
  const words: [string, string][] = [['trace', 'trace'], ['debug', 'debug'], ['fatal', 'fatal'], ['critical', 'critical'], ['error', 'error'], ['err', 'error'], ['warning', 'warn'], ['warn', 'warn'], ['info', 'info']];
  const left = new Set([' ', '\t', '\n', '[', '(', '{', '"', "'", '=', '|']);
  const right = new Set([' ', '\t', '\n', '[', ']', '(', ')', '{', '}', ':', ',', '!', '"', "'", '=', '|']);
  function reference(line: string): string {
    const s = line.toLowerCase();
    let idx = s.length;
    let guess = 'unknown';
    for (const [w, level] of words) {
      let from = 0;
      for (;;) {
        const at = s.indexOf(w, from);
        if (at < 0) break;
        const okL = at === 0 || left.has(s[at - 1]!);
        const okR = at + w.length >= s.length || right.has(s[at + w.length]!);
        if (okL && okR) {
          if (at < idx) {
            idx = at;
            guess = level;
          }
          break;
        }
        from = at + 1;
      }
    }
    return guess;
  }
  it('agrees on 20k random lines', () => {
    const rnd = seededRandom(11);
    const parts = ['ERROR', 'err', 'Warn', 'warning', 'info', 'INFO:', 'debug', 'trace', 'fatal', 'critical', 'x', 'errors', 'information', ' ', '[', ']', '=', '"', ':', 'terr', 'deBUG|', '(', ')'];
    for (let i = 0; i < 20_000; i++) {
      let line = '';
      const n = Math.floor(rnd() * 8);
      for (let j = 0; j < n; j++) line += parts[Math.floor(rnd() * parts.length)]!;
      expect(detectLevelFromText(line), JSON.stringify(line)).toBe(reference(line));
    }
  });
});
