/**
 * Indented, human-readable dump of an AST, used by the golden files (test/golden/logql) and for
 * debugging. One node per line: `key: Kind scalar=value ...`, children indented by two spaces.
 */
import type { Expr } from './ast.js';
import { formatDuration, goQuote } from './literals.js';

function scalar(key: string, v: unknown): string {
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'bigint') return key.endsWith('Ns') ? formatDuration(v) : `${v}n`;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return String(v);
}

function isNode(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dump(node: Record<string, unknown>, label: string, indent: string, out: string[]): void {
  const kind = typeof node['kind'] === 'string' ? (node['kind'] as string) : '';
  const parts: string[] = [];
  const children: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'kind') continue;
    if (isNode(v) || (Array.isArray(v) && v.some(isNode))) children.push([k, v]);
    else if (Array.isArray(v)) parts.push(`${k}=[${v.map((x) => scalar(k, x)).join(', ')}]`);
    else parts.push(`${k}=${scalar(k, v)}`);
  }
  const head = [label === '' ? '' : `${label}:`, kind, ...parts].filter((s) => s !== '').join(' ');
  out.push(indent + head);
  for (const [k, v] of children) {
    if (Array.isArray(v)) {
      v.forEach((c, i) => {
        if (isNode(c)) dump(c, `${k}[${i}]`, indent + '  ', out);
      });
    } else if (isNode(v)) {
      dump(v, k, indent + '  ', out);
    }
  }
}

/** Multi-line tree text of an expression. */
export function formatTree(e: Expr): string {
  const out: string[] = [];
  dump(e as unknown as Record<string, unknown>, '', '', out);
  return out.join('\n');
}
