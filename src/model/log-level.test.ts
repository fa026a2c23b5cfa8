import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.js';
import { knownLevel, knownLevelAt, normalizeLogLevel } from './log-level.js';

describe('log levels', () => {
  it.each([
    ['WARNING', 'warn'],
    ['Err', 'error'],
    ['information', 'info'],
    ['TRC', 'trace'],
    ['notice', 'notice'],
    ['', ''],
  ])('normalizeLogLevel(%j) is %j', (v, want) => expect(normalizeLogLevel(v)).toBe(want));

  it('knownLevelAt on bytes agrees with knownLevel on the string, for random spellings', () => {
    const rnd = seededRandom(3);
    const words = ['trace', 'trc', 'debug', 'dbg', 'info', 'inf', 'information', 'warn', 'wrn', 'warning', 'error', 'err', 'critical', 'fatal', 'notice', 'panic', 'x', 'İnfo', 'infö', 'ınfo'];
    for (let i = 0; i < 5000; i++) {
      let w = words[Math.floor(rnd() * words.length)]!;
      w = [...w].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c)).join('');
      if (rnd() < 0.1) w = w.slice(0, Math.floor(rnd() * w.length));
      const pad = Buffer.from(`k=${w} `);
      expect(knownLevelAt(pad, 2, pad.length - 1), w).toBe(knownLevel(w));
    }
  });
});
