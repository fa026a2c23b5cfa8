/**
 * Seeded random generator of syntactically valid LogQL queries covering the grammar's constructs:
 * selectors, every stage kind, label filters (and/or/comma/juxtaposition/parentheses), all five
 * log-range shapes with offsets and unwrap conversions/post-filters, range and vector aggregations
 * with groupings and parameters, binary operations with bool/on/ignoring/group_left/group_right,
 * literals, vector(), label_replace, parentheses, odd spacing, keyword case and comments.
 * Most outputs also pass validation; some deliberately do not (e.g. a literal leg of `and`).
 */
import { seededRandom } from '../../src/util/random.js';

export function queryGenerator(seed: number): () => string {
  const r = seededRandom(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number): boolean => r() < p;
  /** Separator: usually one space, sometimes none/several/newline (only where tokens stay apart). */
  const sp = (): string => pick([' ', ' ', ' ', ' ', '', '  ', '\n', '\t']);
  const ws = (): string => pick([' ', ' ', ' ', '  ', '\n', ' \t ']);
  const kw = (w: string): string => (chance(0.1) ? w.toUpperCase() : chance(0.05) ? w[0]!.toUpperCase() + w.slice(1) : w);

  const labelNames = ['app', 'env', 'job', 'level', 'namespace', 'pod', 'cluster', 'status', 'latency', 'size', '__error__', 'rate', 'sum', 'bytes', 'ip', 'duration', 'x_1', '_a', 'ñame'];
  const label = (): string => pick(labelNames);
  const plainValues = ['foo', 'bar', 'prod', 'a b', 'with "quote"', 'back\\slash', 'tab\t', 'unicode ✓', '', 'x'];
  const regexValues = ['prod|dev', '.+', 'a.*', 'err(or)?', '[0-9]+', '.*', 'foo|bar|baz'];
  const quote = (v: string): string => (chance(0.15) && !v.includes('`') ? '`' + v + '`' : JSON.stringify(v));
  const str = (): string => quote(pick(plainValues));
  const regexStr = (): string => quote(pick(regexValues));

  function matcher(): string {
    const op = pick(['=', '=', '!=', '=~', '!~']);
    const v = op === '=~' || op === '!~' ? regexStr() : str();
    return `${label()}${pick(['', ' '])}${op}${pick(['', ' '])}${v}`;
  }

  function selector(): string {
    // First matcher non-empty, so most queries pass validation.
    const ms = [`${pick(['app', 'job', 'namespace'])}=${quote(pick(['foo', 'bar', 'x']))}`];
    const n = int(3);
    for (let i = 0; i < n; i++) ms.push(matcher());
    if (chance(0.1)) return `{${sp()}${ms.join(`${sp()},${sp()}`)}${sp()}}`;
    return `{${ms.join(', ')}}`;
  }

  function filterArg(op: string): string {
    if ((op === '|=' || op === '!=') && chance(0.15)) return `${kw('ip')}("${pick(['192.168.0.1', '10.0.0.0/8', '::1'])}")`;
    if (op === '|~' || op === '!~') return regexStr();
    if (op === '|>' || op === '!>') return quote(pick(['<_> error <_>', '<ip> - <_>', 'x <_>']));
    return str();
  }

  function lineFilter(afterDropKeep: boolean): string {
    const ops = afterDropKeep ? ['|=', '|~', '|>', '!>'] : ['|=', '|=', '!=', '|~', '!~', '|>', '!>'];
    const op = pick(ops);
    let out = `${op}${sp()}${filterArg(op)}`;
    while (chance(0.2)) out += `${ws()}${kw('or')}${ws()}${filterArg(op)}`;
    return out;
  }

  function literal(): string {
    return pick(['1', '0', '1.5', '-1', '+2', '1e3', '.5', '400', '- 3', '0x10']);
  }

  function labelFilterPrimary(depth: number): string {
    if (depth < 2 && chance(0.12)) return `(${sp()}${labelFilter(depth + 1)}${sp()})`;
    const name = label();
    switch (int(6)) {
      case 0: {
        const op = pick(['=', '!=', '=~', '!~']);
        return `${name}${sp()}${op}${sp()}${op.endsWith('~') ? regexStr() : str()}`;
      }
      case 1:
        return `${name}${sp()}${pick(['>', '>=', '<', '<=', '==', '=', '!='])}${sp()}${pick(['10s', '1m30s', '500ms', '1.5h', '-5m', '250us', '1d', '1h'])}`;
      case 2:
        return `${name}${sp()}${pick(['>', '>=', '<', '<=', '==', '=', '!='])}${sp()}${pick(['10KB', '1MiB', '2GB', '100B', '1.5KiB', '5k'])}`;
      case 3:
        return `${name} ${pick(['=', '!='])} ${kw('ip')}("${pick(['192.168.0.0/16', '::1', '10.0.0.1-10.0.0.9'])}")`;
      default:
        return `${name}${sp()}${pick(['>', '>=', '<', '<=', '==', '=', '!='])}${sp()}${literal()}`;
    }
  }

  function labelFilter(depth = 0): string {
    let out = labelFilterPrimary(depth);
    while (chance(0.3)) out += `${pick([` ${kw('and')} `, ` ${kw('or')} `, ', ', ' ', ','])}${labelFilterPrimary(depth)}`;
    return out;
  }

  function extractions(): string {
    const xs: string[] = [];
    const n = 1 + int(3);
    for (let i = 0; i < n; i++) xs.push(chance(0.5) ? label() : `${label()}=${quote(pick(['a.b', 'a[0]', 'x', 'req.headers.host']))}`);
    return xs.join(pick([', ', ',', ' , ']));
  }

  function namedMatchers(): string {
    const xs: string[] = [];
    const n = 1 + int(3);
    for (let i = 0; i < n; i++) xs.push(chance(0.5) ? label() : matcher());
    return xs.join(', ');
  }

  /** One `| ...` stage (never unwrap). Returns [text, isDropOrKeep]. */
  function pipeStage(): [string, boolean] {
    switch (int(13)) {
      case 0:
        return [`| ${kw('json')}${chance(0.4) ? ' ' + extractions() : ''}`, false];
      case 1: {
        const flags = chance(0.4) ? ' ' + pick(['--strict', '--keep-empty', '--strict --keep-empty']) : '';
        return [`| ${kw('logfmt')}${flags}${chance(0.3) ? ' ' + extractions() : ''}`, false];
      }
      case 2:
        return [`| ${kw('regexp')} ${quote(pick(['(?P<level>\\w+)', '(?P<a>.) (?P<b>.)', 'no captures']))}`, false];
      case 3:
        return [`| ${kw('pattern')} ${quote(pick(['<ip> - <_>', '<a> <b>', '<_>']))}`, false];
      case 4:
        return [`| ${kw('unpack')}`, false];
      case 5:
        return [`| ${kw('line_format')} ${quote(pick(['{{.msg}}', '{{ .a }} {{ .b | ToUpper }}']))}`, false];
      case 6: {
        const fs: string[] = [];
        const n = 1 + int(2);
        for (let i = 0; i < n; i++) fs.push(`${label()}=${chance(0.5) ? label() : quote('{{.x}}')}`);
        return [`| ${kw('label_format')} ${fs.join(', ')}`, false];
      }
      case 7:
        return [`| ${kw('decolorize')}`, false];
      case 8:
        return [`| ${kw(pick(['drop', 'keep']))} ${namedMatchers()}`, true];
      default:
        return [`|${sp()}${labelFilter()}`, false];
    }
  }

  function pipeline(): string {
    const parts: string[] = [];
    const n = 1 + int(4);
    let afterDropKeep = false;
    for (let i = 0; i < n; i++) {
      if (chance(0.35)) {
        parts.push(lineFilter(afterDropKeep));
        afterDropKeep = false;
      } else {
        const [s, dk] = pipeStage();
        parts.push(s);
        afterDropKeep = dk;
      }
    }
    return parts.join(ws());
  }

  function logQuery(): string {
    let q = selector();
    if (chance(0.8)) q += ws() + pipeline();
    if (chance(0.1)) q = `(${sp()}${q}${sp()})`;
    if (chance(0.05)) q += ' # a comment';
    return q;
  }

  function unwrap(): string {
    const conv = chance(0.4) ? pick(['bytes', 'duration', 'duration_seconds']) : null;
    let out = `| ${kw('unwrap')} ${conv === null ? pick(['latency', 'size', 'bytes', 'duration']) : `${conv}${sp()}(${label()})`}`;
    while (chance(0.25)) out += ` |${sp()}${chance(0.5) ? '__error__=""' : labelFilter()}`;
    return out;
  }

  function range(): string {
    return `[${pick(['5m', '1m', '1h30m', '30s', '1d', '500ms', '1w', '0'])}]`;
  }

  function offset(): string {
    return chance(0.2) ? ` ${kw('offset')} ${pick(['1h', '-5m', '1h30m', '10s', '1d'])}` : '';
  }

  /** A log range; `needUnwrap` tells whether to include an unwrap. */
  function logRange(needUnwrap: boolean, depth = 0): string {
    const pipe = (): string => (chance(0.6) ? pipeline() : '');
    const pu = (): string => {
      const p = pipe();
      const u = needUnwrap ? unwrap() : '';
      return [p, u].filter((x) => x !== '').join(ws());
    };
    const join = (...xs: string[]): string => xs.filter((x) => x !== '').join(ws());
    switch (int(depth < 2 ? 6 : 5)) {
      case 0:
      case 1:
        return join(selector(), pu(), range() + offset());
      case 2: {
        const p = pu();
        return p === '' ? join(selector(), range() + offset()) : join(selector(), range() + offset(), p);
      }
      case 3:
        return `(${join(selector(), pu())})${sp()}${range()}${offset()}`;
      case 4:
        return needUnwrap ? `(${selector()})${range()}${offset()} ${unwrap()}` : `(${join(selector(), pipe())})${range()}${offset()}`;
      default:
        return `(${sp()}${logRange(needUnwrap, depth + 1)}${sp()})`;
    }
  }

  function grouping(): string {
    const ls: string[] = [];
    const n = int(3);
    for (let i = 0; i < n; i++) ls.push(label());
    return `${kw(pick(['by', 'without']))}${sp()}(${ls.join(', ')})`;
  }

  function rangeAgg(): string {
    const op = pick([
      'count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'absent_over_time', 'rate_counter', 'sum_over_time',
      'avg_over_time', 'min_over_time', 'max_over_time', 'stdvar_over_time', 'stddev_over_time', 'quantile_over_time',
      'first_over_time', 'last_over_time',
    ]);
    const noUnwrap = ['count_over_time', 'bytes_over_time', 'bytes_rate'].includes(op);
    const needUnwrap = !noUnwrap && (op !== 'rate' && op !== 'absent_over_time' ? true : chance(0.3));
    const param = op === 'quantile_over_time' ? `${pick(['0.99', '0.5', '.9', '1'])},${sp()}` : '';
    const groupable = ['avg_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'max_over_time', 'min_over_time', 'first_over_time', 'last_over_time'];
    const g = groupable.includes(op) && chance(0.3) ? ' ' + grouping() : '';
    return `${kw(op)}${pick(['', ' '])}(${param}${logRange(needUnwrap)})${g}`;
  }

  function vectorAgg(depth: number): string {
    const op = pick(['sum', 'avg', 'count', 'max', 'min', 'stddev', 'stdvar', 'topk', 'bottomk', 'sort', 'sort_desc', 'approx_topk']);
    const param = op === 'topk' || op === 'bottomk' || op === 'approx_topk' ? `${pick(['5', '10', '1'])}, ` : '';
    const inner = `(${param}${metric(depth + 1)})`;
    if (op === 'sort' || op === 'sort_desc' || op === 'approx_topk' || chance(0.4)) return `${kw(op)}${inner}`;
    return chance(0.5) ? `${kw(op)} ${grouping()} ${inner}` : `${kw(op)}${inner} ${grouping()}`;
  }

  function primary(depth: number): string {
    const c = depth > 3 ? int(3) : int(9);
    switch (c) {
      case 0:
      case 1:
      case 3:
        return rangeAgg();
      case 2:
        return pick([literal(), `${kw('vector')}(${pick(['1', '0', '2.5'])})`]);
      case 4:
      case 5:
        return vectorAgg(depth);
      case 6:
        return `${kw('label_replace')}(${metric(depth + 1)}, "dst", "$1", "src", ${quote(pick(['(.*)', '(.+)-.*', 'x']))})`;
      default:
        return `(${sp()}${metric(depth + 1)}${sp()})`;
    }
  }

  function binMod(op: string): string {
    let out = '';
    if (['==', '!=', '>', '>=', '<', '<='].includes(op) && chance(0.3)) out += ` ${kw('bool')}`;
    if (chance(0.25)) {
      const ls: string[] = [];
      const n = int(3);
      for (let i = 0; i < n; i++) ls.push(label());
      out += ` ${kw(pick(['on', 'ignoring']))}${sp()}(${ls.join(', ')})`;
      if (chance(0.4)) {
        out += ` ${kw(pick(['group_left', 'group_right']))}`;
        if (chance(0.5)) out += ` (${chance(0.7) ? label() : ''})`;
      }
    }
    return out;
  }

  function metric(depth = 0): string {
    let out = primary(depth);
    while (depth < 4 && chance(0.3)) {
      const op = pick(['or', 'and', 'unless', '==', '!=', '>', '>=', '<', '<=', '+', '-', '*', '/', '%', '^']);
      out += ` ${/^[a-z]/.test(op) ? kw(op) : op}${binMod(op)} ${primary(depth + 1)}`;
    }
    return out;
  }

  return () => (chance(0.35) ? logQuery() : metric());
}
