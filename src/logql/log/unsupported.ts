/**
 * What the query path cannot evaluate yet. Until parsers and metric queries land, the query API
 * answers 400 with this message (`not implemented yet: json parser`).
 */
import type { Expr, StageExpr } from '../syntax/ast.js';

const STAGE_NAMES: Readonly<Record<StageExpr['kind'], string>> = {
  lineFilter: 'line filter',
  json: 'json parser',
  logfmt: 'logfmt parser',
  regexp: 'regexp parser',
  pattern: 'pattern parser',
  unpack: 'unpack parser',
  labelFilter: 'label filter',
  lineFormat: 'line_format',
  labelFormat: 'label_format',
  decolorize: 'decolorize',
  drop: 'drop',
  keep: 'keep',
};

/**
 * Null when `expr` is a stream selector with only `|=`, `!=`, `|~`, `!~` line filters (without
 * ip()); otherwise `not implemented yet: <first unsupported construct>`.
 */
export function describeUnsupported(expr: Expr): string | null {
  if (expr.kind !== 'logSelector') return `not implemented yet: metric queries (${expr.kind === 'rangeAggregation' || expr.kind === 'vectorAggregation' ? expr.op : expr.kind})`;
  for (const s of expr.stages) {
    if (s.kind === 'lineFilter') {
      if (s.op === '|>' || s.op === '!>') return 'not implemented yet: pattern line filter';
      if (s.args.some((a) => a.ip)) return 'not implemented yet: ip line filter';
      continue;
    }
    return `not implemented yet: ${STAGE_NAMES[s.kind]}`;
  }
  return null;
}
