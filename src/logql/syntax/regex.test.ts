import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../util/random.js';
import { anchoredMatchesEmpty, captureNames, compileAnchored, compileUnanchored, regexError, requiredLiterals } from './regex.js';

describe('regexError: Go regexp/syntax error texts (what Loki returns)', () => {
  it.each<[string, string | null]>([
    ['a.*b', null],
    ['(a', 'error parsing regexp: missing closing ): `(a`'],
    ['a)', 'error parsing regexp: unexpected ): `a)`'],
    ['[a', 'error parsing regexp: missing closing ]: `[a`'],
    ['a**', 'error parsing regexp: invalid nested repetition operator: `**`'],
    ['a{1001}', 'error parsing regexp: invalid repeat count: `{1001}`'],
    ['[z-a]', 'error parsing regexp: invalid character class range: `z-a`'],
    ['\\q', 'error parsing regexp: invalid escape sequence: `\\q`'],
    ['a\\', 'error parsing regexp: trailing backslash at end of expression: ``'],
    // RE2 (C++) accepts \C (any byte); Go does not.
    ['\\C', 'error parsing regexp: invalid escape sequence: `\\C`'],
    // No backreferences, no lookaround.
    ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
    ['a(?=b)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
    ['a(?!b)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`'],
    ['(?<=a)b', 'error parsing regexp: invalid named capture: `(?<=a)b`'],
    ['(?P<n!>a)', 'error parsing regexp: invalid named capture: `(?P<n!>`'],
    // Go syntax that JavaScript lacks compiles.
    ['(?P<name>\\pL+)(?<n2>\\p{Greek})\\Q.*\\E(?U)a+[[:alpha:]]\\z', null],
    // `{,3}` is a literal in Go.
    ['a{,3}', null],
  ])('%s', (pattern, want) => {
    expect(regexError(pattern)).toBe(want);
  });
});

describe('Regex: Go semantics', () => {
  it('unanchored: `.` stops at newlines unless (?s); `$` is the end of the text', () => {
    expect(compileUnanchored('a.b').test('xa\nb')).toBe(false);
    expect(compileUnanchored('(?s)a.b').test('xa\nb')).toBe(true);
    expect(compileUnanchored('a$').test('a\n')).toBe(false);
    expect(compileUnanchored('(?m)a$').test('a\n')).toBe(true);
    expect(compileUnanchored('b').test('abc')).toBe(true);
  });

  it('anchored (label matchers, Prometheus `^(?s:p)$`): whole value, `.` matches newlines', () => {
    expect(compileAnchored('a|b').test('ab')).toBe(false);
    expect(compileAnchored('a|b').test('b')).toBe(true);
    expect(compileAnchored('b').test('abc')).toBe(false);
    expect(compileAnchored('a.*').test('a\nz')).toBe(true);
    expect(anchoredMatchesEmpty('a*')).toBe(true);
    expect(anchoredMatchesEmpty('a+')).toBe(false);
  });

  it('(?i) folds Unicode as Go does, \\pL is a Unicode class', () => {
    expect(compileAnchored('(?i)k').test('\u212a')).toBe(true); // KELVIN SIGN
    expect(compileAnchored('(?i)s').test('\u017f')).toBe(true); // LONG S
    expect(compileAnchored('(?i)stra(ss|ß)e').test('STRASSE')).toBe(true);
    expect(compileAnchored('\\pL+').test('héllo')).toBe(true);
    expect(compileAnchored('\\pL+').test('hé1')).toBe(false);
    expect(compileAnchored('\\w+').test('hé')).toBe(false); // \w is ASCII in Go
  });

  it('is leftmost-first, as Go (not leftmost-longest)', () => {
    expect(compileUnanchored('a|ab').exec('ab')![0]).toBe('a');
    expect(compileUnanchored('a+?').exec('aaa')![0]).toBe('a');
  });

  it('named groups: exec, groups that took no part, captureNames in order', () => {
    const re = compileUnanchored('(?P<a>x)|(?<b>é+)');
    const m = re.exec('zzéé')!;
    expect([...m]).toEqual(['éé', undefined, 'éé']);
    expect(m.index).toBe(2);
    expect(m.end).toBe(4);
    expect(m.groups).toEqual({ a: undefined, b: 'éé' });
    expect(compileUnanchored('(a)(b)').exec('ab')!.groups).toBeUndefined();
    expect(captureNames('(?P<z>a)(b)(?<y>c)(?:(?P<x>d))')).toEqual(['z', 'y', 'x']);
  });

  it('exec from an offset (UTF-16 index for strings, byte offset for bytes)', () => {
    const re = compileUnanchored('a(b)?');
    expect(re.exec('ééab a', 3)!.index).toBe(5);
    const bytes = Buffer.from('ééab a');
    const m = re.exec(bytes, 0)!;
    expect([m.index, m.end, m[0], m[1]]).toEqual([4, 6, 'ab', 'b']);
    const m2 = re.exec(bytes, 5)!;
    expect([m2.index, m2[1]]).toEqual([7, undefined]);
    expect(re.exec(bytes, 8)).toBeNull();
  });

  it('bytes are UTF-8 as Go reads a []byte: each byte of an invalid sequence is one rune', () => {
    // RE2 (C++) on a Buffer does not match `.` against an invalid byte; Go does.
    expect(compileUnanchored('a.b').test(Buffer.from([0x61, 0xff, 0x62]))).toBe(true);
    expect(compileAnchored('..').test(Buffer.from([0xe2, 0x82]))).toBe(true);
    expect(compileAnchored('.').test(Buffer.from([0xe2, 0x82]))).toBe(false);
    expect(compileAnchored('.').test(Buffer.from('€'))).toBe(true);
    expect(compileAnchored('\\x{fffd}').test(Buffer.from([0xff]))).toBe(true);
  });

  it('byte input (ASCII fast path and UTF-8 path) agrees with string input on valid text', () => {
    const rnd = seededRandom(7);
    const alphabet = ['a', 'b', 'Z', ' ', '=', '5', '\n', 'é', 'ß', '€', '😀', 'K', '\u212a'];
    const patterns = ['a.b', '(?i)k+', '\\pL{2,}', 'b$', '^a', '[0-9]=', '(?s)a.*b', 'é|€', '\\b\\w+\\b', '(?i)ss'];
    const res = patterns.map((p) => compileUnanchored(p));
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(rnd() * 12);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * (n % 2 === 0 ? 7 : alphabet.length))];
      const b = Buffer.from(s);
      for (const re of res) {
        expect(re.test(b)).toBe(re.test(s));
        expect(re.exec(b)?.[0]).toBe(re.exec(s)?.[0]);
      }
    }
  });

  it('(?i) literal alternations on ASCII bytes (substring fast path) agree with the engine', () => {
    const re = compileUnanchored('(?i)timeout|deadlock|x-ss');
    expect(re.test(Buffer.from('DeadLock detected'))).toBe(true);
    expect(re.test(Buffer.from('deadloc\u212a detected'))).toBe(true); // KELVIN SIGN folds to k (UTF-8 path)
    expect(re.test(Buffer.from('x-\u017fs'))).toBe(true); // LONG S folds to s
    expect(re.test(Buffer.from('time out'))).toBe(false);
    expect(compileUnanchored('(?i)a|').test(Buffer.from('zzz'))).toBe(true); // an empty branch matches
    const rnd = seededRandom(11);
    const letters = 'aAbBkKsStT -_=.';
    const word = (n: number): string => Array.from({ length: n }, () => letters[Math.floor(rnd() * letters.length)]).join('');
    for (let n = 0; n < 300; n++) {
      const lits = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => word(1 + Math.floor(rnd() * 3)).replace(/[.]/g, '-'));
      const fast = compileUnanchored(`(?i)${lits.join('|')}`);
      for (let k = 0; k < 20; k++) {
        const line = word(Math.floor(rnd() * 20));
        // Strings take the engine; ASCII bytes the substring search.
        expect(fast.test(Buffer.from(line))).toBe(fast.test(line));
      }
    }
  });

  it('replaceAll keeps bytes outside matches and follows Go for empty matches', () => {
    const star = compileUnanchored('a*');
    // Go: regexp.MustCompile(`a*`).ReplaceAllString("baaac", "-") == "-b-c-"
    expect(star.replaceAll(Buffer.from('baaac'), Buffer.from('-')).toString()).toBe('-b-c-');
    // Empty matches advance by whole runes: "€" is one rune.
    expect(compileUnanchored('x*').replaceAll(Buffer.from('€'), Buffer.from('-')).toString()).toBe('-€-');
    const esc = compileUnanchored('\\x{1b}\\[[0-9;]*m');
    const line = Buffer.concat([Buffer.from('\u001b[31mred\u001b[0m '), Buffer.from([0xff, 0xfe])]);
    expect(esc.replaceAll(line, Buffer.alloc(0))).toEqual(Buffer.concat([Buffer.from('red '), Buffer.from([0xff, 0xfe])]));
    const plain = Buffer.from('nothing here');
    expect(esc.replaceAll(plain, Buffer.alloc(0))).toBe(plain);
  });

  it('runs in linear time (no backtracking blow-up)', () => {
    const evil = compileUnanchored('(a+)+$');
    const input = 'a'.repeat(50_000) + 'b';
    const t = performance.now();
    expect(evil.test(input)).toBe(false);
    expect(compileUnanchored('(x+x+)+y').test(Buffer.from('x'.repeat(20_000)))).toBe(false);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});

describe('requiredLiterals: the literals every match contains', () => {
  it.each([
    ['status=5[0-9]{2}|" 5[0-9]{2} ', ['status=5', '" 5']],
    ['error', ['error']],
    ['a\\.b', ['a.b']],
    ['foo.*bar', ['foo']],
    ['x+yz', ['yz']],
    ['abc?d', ['ab']],
    ['ab{2}cde', ['cde']],
    ['(a|b)cd[0-9]+efg', ['efg']],
    ['^GET /api/(v1|v2)/users$', ['GET /api/']],
    ['\\d+ms\\b', ['ms']],
    ['\\(x\\)', ['(x)']],
    ['level=(warn|error)|panic', ['level=', 'panic']],
    ['(?:ab)+cd', ['cd']],
    ['(?P<n>x)yz', ['yz']],
    ['a*?bc', ['bc']],
  ])('%s → %j', (pattern, want) => {
    expect(requiredLiterals(pattern)).toEqual(want);
  });

  it.each([
    '', 'a|', '.*', '[a-z]+', '(foo|bar)', 'a?', '(?i)error', 'x(?i)error', '\\Qa|b\\E', '\\x41bc', '\\pLabc', 'a{,2}', 'a{b', 'é', '\\d+',
  ])('%j → null (no literal every match holds, or syntax left to RE2)', (pattern) => {
    expect(requiredLiterals(pattern)).toBeNull();
  });

  it('every line RE2 matches holds one of the literals (random patterns and lines)', () => {
    const rand = seededRandom(20);
    const atoms = ['a', 'b', 'c', ' ', '"', '=', '5', '\\.', '.', '[a-c]', '[^a]', '\\d', '\\w', '\\b', '(a|bc)', '(ab)', '[0-9]', '^', '$', '\\"', '-'];
    const quants = ['', '', '', '', '*', '+', '?', '{2}', '{1,2}', '{0,1}', '*?', '+?'];
    const alphabet = 'abc "=5.-0129x\n\u00e9';
    let withLiterals = 0;
    let linesChecked = 0;
    for (let k = 0; k < 3000; k++) {
      const alts: string[] = [];
      const nAlts = 1 + Math.floor(rand() * 3);
      for (let a = 0; a < nAlts; a++) {
        let p = '';
        const len = 1 + Math.floor(rand() * 6);
        for (let j = 0; j < len; j++) p += atoms[Math.floor(rand() * atoms.length)]! + quants[Math.floor(rand() * quants.length)]!;
        alts.push(p);
      }
      const pattern = alts.join('|');
      if (regexError(pattern) !== null) continue;
      const lits = requiredLiterals(pattern);
      if (lits === null) continue;
      withLiterals++;
      const re = compileUnanchored(pattern);
      for (let l = 0; l < 40; l++) {
        let line = '';
        const len = Math.floor(rand() * 14);
        for (let j = 0; j < len; j++) line += alphabet[Math.floor(rand() * alphabet.length)]!;
        // Some lines carry a literal, so matches are not rare.
        if (rand() < 0.5) {
          const lit = lits[Math.floor(rand() * lits.length)]!;
          const at = Math.floor(rand() * (line.length + 1));
          line = line.slice(0, at) + lit + line.slice(at);
        }
        const bytes = Buffer.from(line, 'utf8');
        if (!re.test(bytes)) continue;
        linesChecked++;
        expect(lits.some((lit) => bytes.includes(Buffer.from(lit, 'latin1'))), `${JSON.stringify(pattern)} matched ${JSON.stringify(line)} without ${JSON.stringify(lits)}`).toBe(true);
      }
    }
    expect(withLiterals).toBeGreaterThan(500);
    expect(linesChecked).toBeGreaterThan(5000);
  });
});
