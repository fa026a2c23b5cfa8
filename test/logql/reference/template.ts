/**
 * The tiny subset of Go text/template that the reference understands (Loki executes templates
 * with `missingkey=zero` over a map[string]string, so a missing label renders as ""):
 *
 *   text  {{.x}}  {{ .x | ToUpper }}  {{ .x | ToLower }}  {{ __line__ }}
 *   {{ if .x }}...{{ else }}...{{ end }}   (truthy = non-empty string)
 *
 * Anything else throws ReferenceUnsupported, so generated queries stay inside this subset.
 */
export class ReferenceUnsupported extends Error {}

type Node =
  | { t: 'text'; s: string }
  | { t: 'value'; src: Value; fns: string[] }
  | { t: 'if'; cond: Value; then: Node[]; else: Node[] };

type Value = { field: string } | { line: true };

const FUNCS: Readonly<Record<string, (s: string) => string>> = {
  ToUpper: (s) => s.toUpperCase(),
  ToLower: (s) => s.toLowerCase(),
};

function parseValue(tok: string): Value {
  if (tok === '__line__') return { line: true };
  const m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(tok);
  if (!m) throw new ReferenceUnsupported(`template operand ${tok}`);
  return { field: m[1]! };
}

const cache = new Map<string, Node[]>();

/** Parses a template into nodes (memoised); throws ReferenceUnsupported outside the subset. */
export function parseTemplate(tmpl: string): Node[] {
  let nodes = cache.get(tmpl);
  if (nodes === undefined) cache.set(tmpl, (nodes = parseTemplateUncached(tmpl)));
  return nodes;
}

function parseTemplateUncached(tmpl: string): Node[] {
  const parts: Array<{ text: string } | { action: string }> = [];
  let rest = tmpl;
  while (rest !== '') {
    const i = rest.indexOf('{{');
    if (i < 0) {
      parts.push({ text: rest });
      break;
    }
    if (i > 0) parts.push({ text: rest.slice(0, i) });
    const j = rest.indexOf('}}', i + 2);
    if (j < 0) throw new ReferenceUnsupported('unterminated action');
    const action = rest.slice(i + 2, j);
    if (action.startsWith('-') || action.endsWith('-')) throw new ReferenceUnsupported('trim markers');
    parts.push({ action: action.trim() });
    rest = rest.slice(j + 2);
  }
  let pos = 0;
  const parseList = (stopAt: readonly string[]): { nodes: Node[]; stop: string | null } => {
    const nodes: Node[] = [];
    while (pos < parts.length) {
      const p = parts[pos++]!;
      if ('text' in p) {
        nodes.push({ t: 'text', s: p.text });
        continue;
      }
      const a = p.action;
      if (stopAt.includes(a)) return { nodes, stop: a };
      const ifm = /^if\s+(\S+)$/.exec(a);
      if (ifm) {
        const cond = parseValue(ifm[1]!);
        const th = parseList(['else', 'end']);
        let el: Node[] = [];
        if (th.stop === 'else') {
          const e = parseList(['end']);
          if (e.stop !== 'end') throw new ReferenceUnsupported('unterminated if');
          el = e.nodes;
        } else if (th.stop !== 'end') throw new ReferenceUnsupported('unterminated if');
        nodes.push({ t: 'if', cond, then: th.nodes, else: el });
        continue;
      }
      const segs = a.split('|').map((s) => s.trim());
      const src = parseValue(segs[0]!);
      const fns = segs.slice(1);
      for (const f of fns) if (FUNCS[f] === undefined) throw new ReferenceUnsupported(`template function ${f}`);
      nodes.push({ t: 'value', src, fns });
    }
    return { nodes, stop: null };
  };
  const r = parseList([]);
  return r.nodes;
}

/** Renders parsed nodes with the label map and the current line. */
export function renderTemplate(nodes: readonly Node[], labels: ReadonlyMap<string, string>, line: string): string {
  const val = (v: Value): string => ('line' in v ? line : (labels.get(v.field) ?? ''));
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.s;
    else if (n.t === 'value') {
      let s = val(n.src);
      for (const f of n.fns) s = FUNCS[f]!(s);
      out += s;
    } else out += renderTemplate(val(n.cond) !== '' ? n.then : n.else, labels, line);
  }
  return out;
}
