/**
 * What the query path cannot evaluate yet. Every log pipeline stage is implemented
 * (compile.ts); until the metric engine lands, metric queries answer 400 with this message
 * (`not implemented yet: metric queries (rate)`).
 */
import type { Expr } from '../syntax/ast.js';

/** Null for every log query (all stages are supported); `not implemented yet: ...` for metric queries. */
export function describeUnsupported(expr: Expr): string | null {
  if (expr.kind !== 'logSelector') return `not implemented yet: metric queries (${expr.kind === 'rangeAggregation' || expr.kind === 'vectorAggregation' ? expr.op : expr.kind})`;
  return null;
}
