/**
 * The expressions of `| json a="<expr>"` and `| logfmt a="<expr>"`, read as Loki reads them
 * (pkg/logql/log/jsonexpr and pkg/logql/log/logfmt: a small scanner and a yacc grammar each).
 * As in Loki, the query parser accepts any string here and a bad expression fails when the
 * pipeline is built, with Loki's text:
 *
 *   cannot parse expression [field with space]: syntax error: unexpected FIELD
 *
 * The `syntax error: unexpected X, expecting A or B` texts are those goyacc gives in each state
 * of the two grammars (it lists at most four expected tokens and never `$end`); scanner errors
 * (`unexpected char -`, `non-integer value: x`) stand alone, as the scanner reports them.
 */
import { InvalidError } from '../../errors.js';

/** One step of a JSON path: an object key (string) or an array index (number). */
export type JsonPathStep = string | number;

/** Why an expression does not parse (the text after `cannot parse expression [expr]: `). */
class ExprError extends Error {}

function isStartIdentifier(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentifier(c: string): boolean {
  return isStartIdentifier(c) || (c >= '0' && c <= '9');
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

interface Tok {
  /** Token name as goyacc prints it; '$end' at the end of the input. */
  type: string;
  str: string;
  index: number;
}

/** The scanners of both grammars, over code points; a NUL ends the input as in Loki's. */
class Scanner {
  private readonly cs: string[];
  private i = 0;
  /** A scanner error: the input ends there and the error stands unless the parser reports one. */
  err: string | null = null;

  constructor(
    text: string,
    private readonly json: boolean,
  ) {
    this.cs = [...text];
  }

  private read(): string {
    return this.i < this.cs.length ? this.cs[this.i++]! : '';
  }

  next(): Tok {
    for (;;) {
      const c = this.read();
      if (c === '' || c === '\0') return { type: '$end', str: '', index: 0 };
      if (c === ' ' || c === '\t' || c === '\n') continue;
      if (this.json && isDigit(c)) {
        this.i--;
        return this.int();
      }
      if (this.json && c === '[') return { type: 'LSB', str: '', index: 0 };
      if (this.json && c === ']') return { type: 'RSB', str: '', index: 0 };
      if (this.json && c === '.') return { type: 'DOT', str: '', index: 0 };
      if (isStartIdentifier(c)) {
        let s = c;
        while (this.i < this.cs.length && isIdentifier(this.cs[this.i]!)) s += this.cs[this.i++]!;
        return { type: this.json ? 'FIELD' : 'KEY', str: s, index: 0 };
      }
      if (c === '"') {
        // Up to the next `"` or `]` (both consumed), or the end: no escapes.
        let s = '';
        for (;;) {
          const d = this.read();
          if (d === '' || d === '\0' || d === '"' || d === ']') break;
          s += d;
        }
        return { type: 'STRING', str: s, index: 0 };
      }
      this.err = `unexpected char ${c}`;
      return { type: '$end', str: '', index: 0 };
    }
  }

  private int(): Tok {
    let digits = '';
    for (;;) {
      const c = this.read();
      if (c === '.' && digits !== '') return this.intError('cannot use float as array index');
      if (c === ' ' || c === '\t' || c === '\n' || c === '.' || c === ']') {
        this.i--;
        break;
      }
      if (!isDigit(c)) return this.intError(`non-integer value: ${c === '' ? '\0' : c}`);
      digits += c;
    }
    const n = Number(digits);
    // strconv.Atoi on a 64-bit platform.
    if (!Number.isSafeInteger(n) && BigInt(digits) > 9223372036854775807n) {
      return this.intError(`strconv.Atoi: parsing ${JSON.stringify(digits)}: value out of range`);
    }
    return { type: 'INDEX', str: digits, index: n };
  }

  private intError(msg: string): Tok {
    this.err = msg;
    return { type: '$end', str: '', index: 0 };
  }
}

/** goyacc's text for an unexpected token; `expected` in the grammar's token order. */
function unexpected(t: Tok, expected: readonly string[]): ExprError {
  const list = expected.length > 0 ? `, expecting ${expected.join(' or ')}` : '';
  return new ExprError(`syntax error: unexpected ${t.type}${list}`);
}

/** The end of the input where the grammar accepts: a scanner error there stands. */
function accept<T>(sc: Scanner, t: Tok, value: T): T {
  if (t.type !== '$end') throw unexpected(t, []);
  if (sc.err !== null) throw new ExprError(sc.err);
  return value;
}

/**
 * jsonexpr.y: `values: field | [ key ] | [ index ] | values [ key ] | values [ index ] | values . field`.
 * Where `values` may end, any other token first reduces to the start symbol, which expects only
 * `$end`: hence `unexpected FIELD` with no list for `field with space`.
 */
function parseJson(expr: string): JsonPathStep[] {
  const sc = new Scanner(expr, true);
  const steps: JsonPathStep[] = [];
  let t = sc.next();
  const bracket = (): void => {
    t = sc.next();
    if (t.type !== 'STRING' && t.type !== 'INDEX') throw unexpected(t, ['STRING', 'INDEX']);
    steps.push(t.type === 'STRING' ? t.str : t.index);
    t = sc.next();
    if (t.type !== 'RSB') throw unexpected(t, ['RSB']);
    t = sc.next();
  };
  if (t.type === 'FIELD') {
    steps.push(t.str);
    t = sc.next();
  } else if (t.type === 'LSB') {
    bracket();
  } else {
    throw unexpected(t, ['LSB', 'FIELD']);
  }
  for (;;) {
    if (t.type === 'LSB') {
      bracket();
    } else if (t.type === 'DOT') {
      t = sc.next();
      if (t.type !== 'FIELD') throw unexpected(t, ['FIELD']);
      steps.push(t.str);
      t = sc.next();
    } else {
      return accept(sc, t, steps);
    }
  }
}

/** logfmtexpr.y: `expressions: key | value | expressions value` (a KEY first, or STRINGs). */
function parseLogfmt(expr: string): string[] {
  const sc = new Scanner(expr, false);
  let t = sc.next();
  if (t.type !== 'KEY' && t.type !== 'STRING') throw unexpected(t, ['STRING', 'KEY']);
  const parts = [t.str];
  for (t = sc.next(); t.type === 'STRING'; t = sc.next()) parts.push(t.str);
  return accept(sc, t, parts);
}

function wrap<T>(expr: string, parse: (e: string) => T): T {
  try {
    return parse(expr);
  } catch (e) {
    if (e instanceof ExprError) throw new InvalidError(`cannot parse expression [${expr}]: ${e.message}`);
    throw e;
  }
}

/** The path of a `| json` expression. Throws InvalidError with Loki's text. */
export function parseJsonExpression(expr: string): JsonPathStep[] {
  return wrap(expr, parseJson);
}

/**
 * The line key a `| logfmt` expression names. Loki formats the parsed parts with
 * `fmt.Sprintf("%v", parts...)`, so a key followed by strings names a key no line has.
 * Throws InvalidError with Loki's text.
 */
export function logfmtExpressionKey(expr: string): string {
  const parts = wrap(expr, parseLogfmt);
  const extra = parts.slice(1).map((p) => `string=${p}`);
  return extra.length === 0 ? parts[0]! : `${parts[0]!}%!(EXTRA ${extra.join(', ')})`;
}
