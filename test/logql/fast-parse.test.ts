/**
 * Differential tests of the hand-written LogQL parser (fast-parse.ts, scan.ts) against the
 * nearley grammar (logql.ne), which stays the specification: same tokens, same AST (with the same
 * side tables of positions and NUMBER texts that validation reads), same acceptance, and — through
 * `parseExpr` — the same ParseError message and position as the nearley-only path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.js';
import type { Expr } from '../../src/logql/syntax/ast.js';
import { numberTextOf, positionOf } from '../../src/logql/syntax/build.js';
import { fastParse } from '../../src/logql/syntax/fast-parse.js';
import {
  MAX_INPUT_SIZE_BYTES,
  parseAll,
  parseCacheSizes,
  parseExpr,
  parseExprNearley,
  parseSelector,
  PARSE_CACHE_SIZE,
  setParseCacheSize,
} from '../../src/logql/syntax/parse.js';
import { scanTokens, scanTokensMoo } from '../../src/logql/syntax/scan.js';
import { seededRandom } from '../../src/util/random.js';
import { queryGenerator } from './gen-queries.js';

const read = (name: string): string[] => {
  const lines = readFileSync(new URL(name, import.meta.url), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};
const validCorpus = read('corpus-valid.txt');
const invalidCorpus = read('corpus-invalid.txt');

/** Inputs of the golden files (same block format as golden.test.ts). */
function goldenInputs(): string[] {
  const dir = new URL('../golden/logql/', import.meta.url);
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.txt'))) {
    for (const block of readFileSync(new URL(f, dir), 'utf8').split(/^# /m).slice(1)) {
      const rest = block.slice(block.indexOf('\n') + 1);
      const arrow = rest.indexOf('\n==>');
      out.push((arrow < 0 ? rest : rest.slice(0, arrow)).replace(/^\n+/, '').replace(/\n+$/, ''));
    }
  }
  return out;
}

/** The nearley parse (unvalidated), or null when the grammar rejects the input. */
function nearleyOrNull(q: string): Expr | null {
  try {
    const rs = parseAll(q);
    expect(rs.length, q).toBe(1);
    return rs[0]!;
  } catch (e) {
    if (e instanceof ParseError) return null;
    throw e;
  }
}

/** Walks two trees in parallel and compares the side tables validation reads. */
function sameSideTables(a: unknown, b: unknown, q: string, path = '$'): void {
  if (typeof a !== 'object' || a === null) return;
  expect(positionOf(a), `position of ${path} in ${q}`).toBe(positionOf(b as object));
  expect(numberTextOf(a), `number text of ${path} in ${q}`).toBe(numberTextOf(b as object));
  for (const [k, v] of Object.entries(a)) sameSideTables(v, (b as Record<string, unknown>)[k], q, `${path}.${k}`);
}

const deepFrozen = (v: unknown): boolean =>
  typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(deepFrozen));

type Outcome = { ok: true; expr: Expr } | { ok: false; message: string; line: number; col: number };

function outcome(f: () => Expr): Outcome {
  try {
    return { ok: true, expr: f() };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, message: e.message, line: e.line, col: e.col };
    throw e;
  }
}

/**
 * Full differential check of one input. `mustParse`: the input is known valid for the grammar.
 * Returns whether the grammar accepted it.
 */
function check(q: string, mustParse = false): boolean {
  expect(scanTokens(q), `tokens of ${JSON.stringify(q)}`).toStrictEqual(scanTokensMoo(q));
  const want = Buffer.byteLength(q) < MAX_INPUT_SIZE_BYTES ? nearleyOrNull(q) : null;
  const got = fastParse(q);
  if (mustParse) expect(want, `nearley rejects ${JSON.stringify(q)}`).not.toBeNull();
  if (want === null) {
    if (Buffer.byteLength(q) < MAX_INPUT_SIZE_BYTES) expect(got, `fast parser accepts ${JSON.stringify(q)}`).toBeNull();
  } else {
    expect(got, `fast parser rejects ${JSON.stringify(q)}`).not.toBeNull();
    expect(got, q).toStrictEqual(want);
    sameSideTables(got, want, q);
  }
  // Through the public entry point (fast path, validation, cache) vs the nearley-only path.
  const viaNearley = outcome(() => parseExprNearley(q));
  const viaFast = outcome(() => parseExpr(q));
  expect(viaFast, q).toStrictEqual(viaNearley);
  if (viaFast.ok) expect(deepFrozen(viaFast.expr), `frozen: ${q}`).toBe(true);
  return want !== null;
}

describe('fast parser agrees with the nearley grammar', () => {
  it.each(validCorpus.map((q) => [q]))('valid corpus: %s', (q) => {
    check(q, true);
  });

  it('golden inputs', () => {
    const inputs = goldenInputs();
    expect(inputs.length).toBeGreaterThan(50);
    for (const q of inputs) check(q);
  });

  it.each(invalidCorpus.map((q) => [q]))('invalid corpus: %j', (q) => {
    check(q);
    expect(() => parseExpr(q)).toThrow(ParseError);
  });

  it('invalid corpus errors are pinned (messages and positions)', async () => {
    const lines = invalidCorpus.map((q) => {
      const o = outcome(() => parseExpr(q));
      return `${JSON.stringify(q)}\n  ${o.ok ? 'PARSED' : o.message}`;
    });
    await expect(lines.join('\n') + '\n').toMatchFileSnapshot('./corpus-invalid.errors.txt');
  });

  it('thousands of generated queries', () => {
    const gen = queryGenerator(20240611);
    let accepted = 0;
    let validated = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const q = gen();
      if (Buffer.byteLength(q) >= MAX_INPUT_SIZE_BYTES) continue;
      if (check(q, true)) accepted++;
      if (outcome(() => parseExpr(q)).ok) validated++;
    }
    expect(accepted).toBeGreaterThan(n * 0.98);
    // Most generated queries also pass Loki's semantic checks (so validation is compared too).
    expect(validated).toBeGreaterThan(n * 0.5);
  });

  it('handles deep nesting (falls back when the stack runs out)', () => {
    for (const depth of [10, 100, 1000, 2500]) {
      check('('.repeat(depth) + 'vector(1)' + ')'.repeat(depth));
      check('sum(' + '('.repeat(depth) + 'rate({a="b"}[1m])' + ')'.repeat(depth) + ')');
      check('{a="b"} | ' + '('.repeat(depth) + 'x="1"' + ')'.repeat(depth));
    }
  });
});

describe('fuzz: fast path vs nearley', () => {
  const alphabet = [
    '{', '}', '(', ')', '[', ']', '"', '`', '|', '=', '~', '!', '>', '<', ',', ' ', '-', '+', '*', '/', '^', '%', '#', '\n',
    '\\', 'a', 'x', '5', '0', '.', 'm', 's', 'h', 'B', 'K', 'i', 'é', '𝄞', '\u00a0', 'sum', 'rate', 'by', 'or', 'and', 'json',
    'logfmt', 'unwrap', 'bool', 'on', 'group_left', 'offset', 'ip', 'drop', 'keep', 'bytes', 'duration', '--strict', '[5m]',
    '"x"', '{a="b"}', '|=', '!=', 'count_over_time(', 'topk(5,', 'label_replace(', 'vector(1)',
  ];

  it('random token soup', () => {
    const r = seededRandom(99);
    for (let i = 0; i < 4000; i++) {
      let q = '';
      const len = Math.floor(r() * 30);
      for (let j = 0; j < len; j++) q += alphabet[Math.floor(r() * alphabet.length)];
      check(q);
    }
  });

  it('mutated valid and generated queries', () => {
    const r = seededRandom(5);
    const gen = queryGenerator(77);
    const pool = [...validCorpus, ...Array.from({ length: 300 }, gen)];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const base = pool[Math.floor(r() * pool.length)]!;
      let q = base;
      const edits = 1 + Math.floor(r() * 3);
      for (let k = 0; k < edits; k++) {
        const pos = Math.floor(r() * (q.length + 1));
        const op = r();
        if (op < 0.3) q = q.slice(0, pos) + q.slice(pos + 1);
        else if (op < 0.6) q = q.slice(0, pos) + alphabet[Math.floor(r() * alphabet.length)] + q.slice(pos);
        else if (op < 0.8) q = q.slice(0, pos);
        else {
          // swap two tokens' worth of text
          const pos2 = Math.floor(r() * (q.length + 1));
          const [a, b] = pos < pos2 ? [pos, pos2] : [pos2, pos];
          q = q.slice(0, a) + q.slice(b, b + 3) + q.slice(a + 3, b) + q.slice(a, a + 3) + q.slice(b + 3);
        }
      }
      if (check(q)) accepted++;
    }
    // Both outcomes must be well represented for the comparison to mean something.
    expect(accepted).toBeGreaterThan(300);
  });

  it('random characters', () => {
    const r = seededRandom(3);
    for (let i = 0; i < 2000; i++) {
      let q = '';
      const len = Math.floor(r() * 40);
      for (let j = 0; j < len; j++) {
        const x = r();
        q += x < 0.7 ? String.fromCharCode(32 + Math.floor(r() * 95)) : x < 0.9 ? String.fromCharCode(Math.floor(r() * 0x3000)) : String.fromCharCode(0xd800 + Math.floor(r() * 0x800));
      }
      check(q);
    }
  });
});

describe('parse cache', () => {
  it('returns deep-frozen trees, shared for equal text', () => {
    const q = 'sum by (level) (count_over_time({app="x"} |= "err" | json | level="error" [5m]))';
    const a = parseExpr(q);
    expect(deepFrozen(a)).toBe(true);
    expect(parseExpr(q)).toBe(a);
    expect(() => {
      (a as { kind: string }).kind = 'literal';
    }).toThrow(TypeError);
    const s = parseSelector('{a="b", c=~"d.*"}');
    expect(deepFrozen(s)).toBe(true);
    expect(parseSelector('{a="b", c=~"d.*"}')).toBe(s);
    expect(deepFrozen(parseExprNearley(q))).toBe(true);
  });

  it('keeps the selector checks apart from parseExpr and from unvalidated selectors', () => {
    expect(parseSelector('{a=~".*"}', false).matchers).toHaveLength(1);
    expect(() => parseSelector('{a=~".*"}')).toThrow(ParseError);
    expect(() => parseExpr('{a=~".*"}')).toThrow(ParseError);
    parseExpr('{a="b"} |= "x"');
    expect(() => parseSelector('{a="b"} |= "x"')).toThrow('only label matchers is supported');
  });

  it('never caches errors', () => {
    for (let i = 0; i < 3; i++) expect(() => parseExpr('{a="b"')).toThrow('syntax error: unexpected $end, expecting } or ,');
  });

  it('is bounded, evicts the least recently used, and can be disabled', () => {
    try {
      const evicted = parseExpr('{app="evicted"}');
      const kept = parseExpr('{app="kept"}');
      for (let i = 0; i < PARSE_CACHE_SIZE + 50; i++) {
        parseExpr(`{app="a${i}"}`);
        if (i % 100 === 0) expect(parseExpr('{app="kept"}')).toBe(kept);
      }
      expect(parseCacheSizes().expr).toBe(PARSE_CACHE_SIZE);
      expect(parseExpr('{app="kept"}')).toBe(kept);
      const again = parseExpr('{app="evicted"}');
      expect(again).not.toBe(evicted);
      expect(again).toStrictEqual(evicted);
      setParseCacheSize(10);
      expect(parseCacheSizes().expr).toBe(10);
      setParseCacheSize(0);
      expect(parseCacheSizes()).toEqual({ expr: 0, selector: 0, rawSelector: 0 });
      const q = '{app="x"} | json';
      expect(parseExpr(q)).not.toBe(parseExpr(q));
      expect(parseExpr(q)).toStrictEqual(parseExpr(q));
    } finally {
      setParseCacheSize(PARSE_CACHE_SIZE);
    }
  });
});
