/**
 * Per-line line filters (Loki filter.go / ip.go): `|=`, `!=`, `|~`, `!~`, pattern filters
 * `|>` / `!>` and `ip("...")` operands, with `or` alternatives (positive ops: any alternative
 * matches; negative ops: none matches). The pipeline runs them on the current line, so filters
 * after `line_format`, `unpack` or `decolorize` see the rewritten line.
 */
import { InvalidError } from '../../errors.js';
import type { LineFilterArg, LineFilterOp, LineFilterStage as LineFilterExpr } from '../syntax/ast.js';
import { compileUnanchored, requiredLiterals, type Regex } from '../syntax/regex.js';
import { IpPattern, IpScanner } from './ip.js';
import type { LabelsBuilder } from './labels-builder.js';
import { PatternMatcher, indexWithin } from './pattern.js';
import type { Stage } from './stage.js';

/** Tests one line (a whole Buffer). */
export interface LineMatcher {
  test(line: Buffer): boolean;
}

class ContainsLine implements LineMatcher {
  constructor(private readonly needle: Buffer) {}
  test(line: Buffer): boolean {
    return this.needle.length === 0 || line.indexOf(this.needle) >= 0;
  }
}

class RegexLine implements LineMatcher {
  private readonly re: Regex;
  /** The literals every match contains (one per alternative), or null: a line without any cannot match. */
  private readonly required: Buffer[] | null;
  constructor(pattern: string) {
    this.re = compileUnanchored(pattern);
    this.required = requiredLiterals(pattern)?.map((l) => Buffer.from(l, 'latin1')) ?? null;
  }
  test(line: Buffer): boolean {
    const req = this.required;
    if (req !== null) {
      let any = false;
      for (let i = 0; i < req.length && !any; i++) any = line.indexOf(req[i]!) >= 0;
      if (!any) return false;
    }
    return this.re.test(line);
  }
}

class PatternLine implements LineMatcher {
  private readonly m: PatternMatcher;
  constructor(pattern: string) {
    this.m = PatternMatcher.forLineFilter(pattern);
  }
  test(line: Buffer): boolean {
    return this.m.test(line, 0, line.length);
  }
}

class IpLine implements LineMatcher {
  private readonly scanner: IpScanner;
  constructor(pattern: IpPattern) {
    this.scanner = new IpScanner(pattern);
  }
  test(line: Buffer): boolean {
    return this.scanner.matches(line, 0, line.length);
  }
}

/** Compiles one operand of a line filter. Throws InvalidError for bad ip() use. */
export function compileLineMatcher(op: LineFilterOp, a: LineFilterArg): LineMatcher {
  if (a.ip) {
    if (op !== '|=' && op !== '!=') throw new InvalidError('ip: invalid operation');
    const p = IpPattern.parse(a.value);
    if (p === null) throw new InvalidError(`ip: invalid pattern: ${JSON.stringify(a.value)}`);
    return new IpLine(p);
  }
  switch (op) {
    case '|=':
    case '!=':
      return new ContainsLine(Buffer.from(a.value, 'utf8'));
    case '|~':
    case '!~':
      return new RegexLine(a.value);
    case '|>':
    case '!>':
      return new PatternLine(a.value);
  }
}

export function isNegativeOp(op: LineFilterOp): boolean {
  return op === '!=' || op === '!~' || op === '!>';
}

export class LineFilterStage implements Stage {
  private readonly matchers: LineMatcher[];
  private readonly negate: boolean;

  constructor(s: LineFilterExpr) {
    this.matchers = s.args.map((a) => compileLineMatcher(s.op, a));
    this.negate = isNegativeOp(s.op);
  }

  /** True when the line passes. */
  test(line: Buffer): boolean {
    const ms = this.matchers;
    for (let i = 0; i < ms.length; i++) if (ms[i]!.test(line)) return !this.negate;
    return this.negate;
  }

  process(_ts: bigint, line: Buffer, _lb: LabelsBuilder): Buffer | null {
    return this.test(line) ? line : null;
  }
}

export { indexWithin };
