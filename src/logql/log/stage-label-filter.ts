/**
 * Label filter stages (Loki pkg/logql/log/label_filter.go, ip.go):
 *  - string matchers (`=`, `!=`, `=~`, `!~`, fully anchored RE2); a missing label is '', and
 *    `__error__` reads the current error;
 *  - numeric, duration (`1m30s`, `250ms`) and bytes (`10KB`, `1MiB`) comparisons: a missing
 *    label filters the entry out; a value that does not convert KEEPS the entry and sets
 *    `__error__="LabelFilterErr"` (when no error is set yet) with the conversion error in
 *    `__error_details__`, so `| __error__=""` can drop it later, as in Loki;
 *  - `ip()`: entries that already carry an error pass; a missing label filters out;
 *  - `and` / `or` (left first; `or` short-circuits).
 */
import type { Matcher } from '../../model/matcher.js';
import { InvalidError } from '../../errors.js';
import type { CompareOp, LabelFilterExpr } from '../syntax/ast.js';
import { IpPattern, IpScanner } from './ip.js';
import type { LabelsBuilder } from './labels-builder.js';
import { compileMatcher } from './matcher.js';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, ERR_LABEL_FILTER } from './sanitize.js';
import type { Stage } from './stage.js';
import { Conversion, parseBytesHuman, parseDurationGo, parseFloatGo } from './units.js';

/** A compiled label filter. */
export interface LabelPredicate {
  test(lb: LabelsBuilder): boolean;
}

class StringPredicate implements LabelPredicate {
  private readonly m: Matcher;
  private readonly isError: boolean;
  private readonly isDetails: boolean;
  constructor(
    private readonly name: string,
    m: Matcher,
  ) {
    this.m = m;
    this.isError = name === ERROR_LABEL;
    this.isDetails = name === ERROR_DETAILS_LABEL;
  }
  test(lb: LabelsBuilder): boolean {
    const v = this.isError ? lb.error() : this.isDetails ? lb.errorDetails() : (lb.get(this.name) ?? '');
    return this.m.matches(v);
  }
}

const OP_EQ = 0;
const OP_NE = 1;
const OP_GT = 2;
const OP_GE = 3;
const OP_LT = 4;
const OP_LE = 5;

function opCode(op: CompareOp): number {
  switch (op) {
    case '==':
      return OP_EQ;
    case '!=':
      return OP_NE;
    case '>':
      return OP_GT;
    case '>=':
      return OP_GE;
    case '<':
      return OP_LT;
    case '<=':
      return OP_LE;
  }
}

const KIND_NUMBER = 0;
const KIND_DURATION = 1;
const KIND_BYTES = 2;

class ComparePredicate implements LabelPredicate {
  private readonly conv = new Conversion();
  constructor(
    private readonly name: string,
    private readonly kind: number,
    private readonly op: number,
    private readonly value: number,
  ) {}
  test(lb: LabelsBuilder): boolean {
    const s = lb.get(this.name);
    if (s === undefined) return false;
    const c = this.conv;
    const ok = this.kind === KIND_NUMBER ? parseFloatGo(s, c) : this.kind === KIND_DURATION ? parseDurationGo(s, c) : parseBytesHuman(s, c);
    if (!ok) {
      lb.setErrorOnce(ERR_LABEL_FILTER, c.error);
      return true;
    }
    const v = c.value;
    const r = this.value;
    switch (this.op) {
      case OP_EQ:
        return v === r;
      case OP_NE:
        return v !== r;
      case OP_GT:
        return v > r;
      case OP_GE:
        return v >= r;
      case OP_LT:
        return v < r;
      default:
        return v <= r;
    }
  }
}

class IpPredicate implements LabelPredicate {
  private readonly scanner: IpScanner;
  private buf = Buffer.allocUnsafe(64);
  constructor(
    private readonly name: string,
    private readonly negate: boolean,
    pattern: IpPattern,
  ) {
    this.scanner = new IpScanner(pattern);
  }
  test(lb: LabelsBuilder): boolean {
    if (lb.error() !== '') return true;
    const v = lb.get(this.name);
    if (v === undefined) return false;
    if (this.buf.length < v.length * 3) this.buf = Buffer.allocUnsafe(v.length * 3);
    const n = this.buf.write(v, 0, 'utf8');
    return this.scanner.matches(this.buf, 0, n) !== this.negate;
  }
}

class AndPredicate implements LabelPredicate {
  constructor(
    private readonly left: LabelPredicate,
    private readonly right: LabelPredicate,
  ) {}
  test(lb: LabelsBuilder): boolean {
    const l = this.left.test(lb);
    const r = this.right.test(lb);
    return l && r;
  }
}

class OrPredicate implements LabelPredicate {
  constructor(
    private readonly left: LabelPredicate,
    private readonly right: LabelPredicate,
  ) {}
  test(lb: LabelsBuilder): boolean {
    return this.left.test(lb) || this.right.test(lb);
  }
}

/** Compiles a label filter expression. Throws InvalidError for a bad ip() pattern, ParseError for a bad regex. */
export function compileLabelFilter(f: LabelFilterExpr): LabelPredicate {
  switch (f.kind) {
    case 'stringFilter':
      return new StringPredicate(f.matcher.name, compileMatcher(f.matcher.name, f.matcher.type, f.matcher.value));
    case 'numberFilter':
      return new ComparePredicate(f.name, KIND_NUMBER, opCode(f.op), f.value);
    case 'durationFilter':
      return new ComparePredicate(f.name, KIND_DURATION, opCode(f.op), Number(f.valueNs));
    case 'bytesFilter':
      return new ComparePredicate(f.name, KIND_BYTES, opCode(f.op), f.valueBytes);
    case 'ipFilter': {
      const p = IpPattern.parse(f.pattern);
      if (p === null) throw new InvalidError(`ip: invalid pattern: ${JSON.stringify(f.pattern)}`);
      return new IpPredicate(f.name, f.op === '!=', p);
    }
    case 'and':
      return new AndPredicate(compileLabelFilter(f.left), compileLabelFilter(f.right));
    case 'or':
      return new OrPredicate(compileLabelFilter(f.left), compileLabelFilter(f.right));
  }
}

/** Label names a filter reads (for parser hints). */
export function labelFilterNames(f: LabelFilterExpr, out: Set<string>): void {
  switch (f.kind) {
    case 'stringFilter':
      out.add(f.matcher.name);
      return;
    case 'and':
    case 'or':
      labelFilterNames(f.left, out);
      labelFilterNames(f.right, out);
      return;
    default:
      out.add(f.name);
  }
}

export class LabelFilterStage implements Stage {
  constructor(private readonly pred: LabelPredicate) {}
  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    return this.pred.test(lb) ? line : null;
  }
}
