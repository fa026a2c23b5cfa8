/**
 * A seeded generator of LogQL queries over the workload generator's real labels and fields,
 * restricted to what the reference evaluates unambiguously: parsers only on streams whose lines
 * they parse cleanly, templates from the supported subset, metric queries whose parsed labels are
 * aggregated away (no per-trace series), topk only at the top.
 */
import { seededRandom } from '../../../src/util/random.js';
import { alt, type DataFacts } from './data.js';

type Kind = 'json' | 'logfmt' | 'nginx' | 'any';

interface Source {
  kind: Kind;
  selector: string;
}

export class QueryGenerator {
  private readonly rnd: () => number;

  constructor(
    private readonly f: DataFacts,
    seed = 42,
  ) {
    this.rnd = seededRandom(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private chance(p: number): boolean {
    return this.rnd() < p;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  private source(): Source {
    const f = this.f;
    return this.pick<Source>([
      { kind: 'json', selector: '{level=~".+"}' },
      { kind: 'json', selector: `{level="${this.pick(['debug', 'info', 'warn', 'error'])}"}` },
      { kind: 'json', selector: `{app="${this.pick(f.jsonApps)}"}` },
      { kind: 'logfmt', selector: `{app=~"${alt(f.logfmtApps)}"}` },
      { kind: 'logfmt', selector: `{app="${this.pick(f.logfmtApps)}"}` },
      { kind: 'nginx', selector: '{container="nginx"}' },
      { kind: 'nginx', selector: `{container="nginx", cluster="${this.pick(f.clusters)}"}` },
      { kind: 'any', selector: `{namespace="${this.pick(f.namespaces)}"}` },
      { kind: 'any', selector: `{cluster="${this.pick(f.clusters)}"}` },
      { kind: 'any', selector: `{cluster=~".+", namespace!="${this.pick(f.namespaces)}"}` },
    ]);
  }

  private lineFilter(kind: Kind): string {
    const words: Record<Kind, string[]> = {
      json: ['"GET"', '"POST"', '"cart"', '"order"', '"db"', '"error"', '"checkout"'],
      logfmt: ['"GET"', '"status=500"', '"component=http"', '"worker.go"', '"level=warn"'],
      nginx: ['"GET"', '"POST"', '"healthz"', '"/api/v1/"', '"curl"', '" 404 "', '"Mozilla"'],
      any: ['"GET"', '"error"', '"ERROR"', '"user"', '"ERR_RATE_LIMITED_7F1A"', '"payment"'],
    };
    const op = this.pick(['|=', '|=', '!=', '|~', '!~']);
    const w = this.pick(words[kind]);
    if (op === '|~' || op === '!~') return `${op} ${this.pick(['"(?i)error"', '"[0-9]{3}"', '"GET|POST"', '"u_[0-9]+"', '"ms$"'])}`;
    if (this.chance(0.2)) return `${op} ${w} or ${this.pick(words[kind])}`;
    return `${op} ${w}`;
  }

  private parser(kind: Kind): { stage: string; fields: string[]; numeric: string[]; duration: string[] } | null {
    switch (kind) {
      case 'json':
        return this.chance(0.8)
          ? { stage: '| json', fields: ['logger', 'msg', 'method', 'path', 'level_extracted'], numeric: ['status', 'duration_ms'], duration: [] }
          : { stage: '| json lg="logger", d="duration_ms", m="method"', fields: ['lg', 'm'], numeric: ['d'], duration: [] };
      case 'logfmt':
        return this.chance(0.85)
          ? { stage: '| logfmt', fields: ['level', 'caller', 'msg', 'component', 'method'], numeric: ['status'], duration: ['duration'] }
          : { stage: '| logfmt --strict', fields: ['level', 'caller'], numeric: ['status'], duration: ['duration'] };
      case 'nginx':
        return this.chance(0.5)
          ? { stage: '| pattern "<ip> - - [<_>] \\"<method> <path> <_>\\" <status> <size> <_>"', fields: ['method', 'path'], numeric: ['status', 'size'], duration: [] }
          : { stage: '| regexp "\\"(?P<method>[A-Z]+) (?P<path>\\\\S+) [^\\"]*\\" (?P<status>\\\\d+) (?P<size>\\\\d+)"', fields: ['method', 'path'], numeric: ['status', 'size'], duration: [] };
      case 'any':
        // Mixed formats: the JSON lines only (non-objects are dropped before the pipeline runs).
        return this.chance(0.3) ? { stage: '| json | __error__=""', fields: ['logger', 'msg', 'method'], numeric: ['status', 'duration_ms'], duration: [] } : null;
    }
  }

  private labelFilter(p: NonNullable<ReturnType<QueryGenerator['parser']>>): string {
    const one = (): string => {
      const r = this.rnd();
      if (r < 0.4 && p.numeric.length > 0) {
        const n = this.pick(p.numeric);
        const v = n === 'status' ? this.pick([200, 300, 400, 404, 500]) : n === 'size' ? this.pick([1000, 10000, 30000]) : this.pick([5, 20, 100, 500]);
        return `${n} ${this.pick(['>', '>=', '<', '<=', '==', '!='])} ${v}`;
      }
      if (r < 0.55 && p.duration.length > 0) return `${this.pick(p.duration)} ${this.pick(['>', '<=', '>='])} ${this.pick(['10ms', '100ms', '1s'])}`;
      if (r < 0.6 && p.numeric.includes('size')) return `size ${this.pick(['>', '<'])} ${this.pick(['10KB', '20KiB'])}`;
      const fld = this.pick(p.fields);
      const vals: Record<string, string[]> = {
        logger: ['db', 'http', 'auth', 'cache'],
        lg: ['db', 'http'],
        level: ['info', 'warn', 'error'],
        level_extracted: ['info', 'warn', 'error'],
        method: ['GET', 'POST', 'PUT'],
        m: ['GET', 'POST'],
        component: ['http', 'scheduler'],
      };
      const vs = vals[fld];
      if (vs !== undefined) return `${fld}${this.pick(['=', '!='])}"${this.pick(vs)}"`;
      return `${fld}=~"${this.pick(['.*a.*', '/api.*', '.+\\\\.go:1.*', '(?i).*USER.*'])}"`;
    };
    const a = one();
    if (this.chance(0.25)) return `| ${a} ${this.pick(['and', 'or', ','])} ${one()}`;
    return `| ${a}`;
  }

  /** A log pipeline (selector + stages) and whether it has a parser. */
  private pipeline(s: Source, forMetric: boolean): { q: string; parsed: ReturnType<QueryGenerator['parser']> } {
    let q = s.selector;
    const nf = this.int(0, 2);
    for (let i = 0; i < nf; i++) q += ' ' + this.lineFilter(s.kind);
    const p = this.chance(0.7) ? this.parser(s.kind) : null;
    if (p !== null) {
      q += ' ' + p.stage;
      if (s.kind === 'logfmt' && p.stage.includes('--strict')) q += ' | __error__=""';
      if (this.chance(0.7)) q += ' ' + this.labelFilter(p);
      if (!forMetric && this.chance(0.3)) {
        const fld = this.pick(p.fields);
        q += ` | line_format "${this.pick([`{{.${fld}}}`, `{{.${fld} | ToUpper}} x`, `{{ if .${fld} }}{{.${fld}}}{{ else }}-{{ end }}`, `[{{.app}}] {{ __line__ }}`])}"`;
      }
      if (!forMetric && this.chance(0.3)) q += ` | keep app, ${p.fields.slice(0, 2).join(', ')}`;
      else if (!forMetric && this.chance(0.2)) q += ' | drop pod, container';
      if (!forMetric && this.chance(0.15)) q += ` | label_format kind="{{.${this.pick(p.fields)}}}"`;
    }
    return { q, parsed: p };
  }

  /** A log query for query_range. */
  logQuery(): string {
    return this.pipeline(this.source(), false).q;
  }

  private range(): string {
    return this.pick(['10s', '20s', '30s', '1m', '2m']);
  }

  /** A metric query. */
  metricQuery(): string {
    const s = this.source();
    const { q, parsed } = this.pipeline(s, true);
    const low = ['app', 'level', 'namespace', 'cluster'];
    const by = (): string => this.pick(low.filter((l) => l !== 'level' || s.kind === 'json'));
    let inner: string;
    const unwrapField = parsed !== null ? (s.kind === 'json' && parsed.numeric.includes('duration_ms') ? 'duration_ms' : parsed.numeric.includes('d') ? 'd' : parsed.duration.length > 0 ? 'duration' : parsed.numeric.includes('size') ? 'size' : null) : null;
    if (unwrapField !== null && this.chance(0.5)) {
      const op = this.pick(['sum_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'stddev_over_time', 'stdvar_over_time', 'first_over_time', 'last_over_time', 'rate', 'quantile_over_time']);
      const conv = unwrapField === 'duration' ? this.pick(['duration(duration)', 'duration_seconds(duration)']) : unwrapField;
      const param = op === 'quantile_over_time' ? `${this.pick([0.5, 0.9, 0.99, 0])}, ` : '';
      inner = `${op}(${param}${q} | unwrap ${conv} [${this.range()}]) by (${by()})`;
      // Loki allows by/without on range aggregations only for avg/min/max/stddev/stdvar/quantile/first/last.
      if (op === 'rate' || op === 'sum_over_time') inner = `sum by (${by()}) (${op}(${q} | unwrap ${conv} [${this.range()}]))`;
    } else {
      const op = this.pick(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
      const agg = this.pick(['sum', 'sum', 'avg', 'max', 'min', 'count']);
      inner = `${agg} by (${by()}) (${op}(${q} [${this.range()}]))`;
      if (parsed === null && this.chance(0.25)) inner = `${op}(${q} [${this.range()}])`;
    }
    const r = this.rnd();
    if (r < 0.15) return `topk(${this.int(1, 3)}, ${inner})`;
    if (r < 0.22) return `bottomk(${this.int(1, 3)}, ${inner})`;
    if (r < 0.4) return `${inner} ${this.pick(['>', '<', '>=', '!='])}${this.chance(0.3) ? ' bool' : ''} ${this.pick([0, 1, 5, 0.5, 100])}`;
    if (r < 0.55) return `${inner} ${this.pick(['*', '/', '+', '-'])} ${this.pick([2, 60, 0.001, 0])}`;
    if (r < 0.62) return `sum(${inner})`;
    return inner;
  }
}
