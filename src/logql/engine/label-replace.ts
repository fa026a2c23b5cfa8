/**
 * `label_replace(v, dst, replacement, src, regex)`: Loki's LabelReplaceEvaluator with the
 * regex anchored as `^(?:regex)$` (RE2) and Go's `Regexp.Expand` rules for `$1`, `${name}`.
 */
import type { LabelReplaceExpr } from '../syntax/ast.js';
import { compileUnanchored } from '../syntax/regex.js';
import { getLabel, setLabel } from './labels.js';
import { SeriesInfo, StepMatrix } from './matrix.js';

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Length of the name (Go: letters, digits, '_') starting at i. */
function nameLength(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const cp = s.codePointAt(j)!;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    j += ch.length;
  }
  return j - i;
}

/**
 * Go's `Regexp.Expand`: `$$` is a literal `$`; `$name`/`${name}` (name = [A-Za-z0-9_]+) is
 * a group by number when all digits, else by name; an unknown or unmatched group is empty;
 * a `$` not followed by a valid name stays as is.
 */
export function goExpand(template: string, groups: readonly (string | undefined)[], named: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (i < template.length && template.charCodeAt(i) === 36) {
      out += '$';
      i++;
      continue;
    }
    let name = '';
    let end = i;
    if (i < template.length && template[i] === '{') {
      const j = i + 1 + nameLength(template, i + 1);
      if (j > i + 1 && j < template.length && template[j] === '}') {
        name = template.slice(i + 1, j);
        end = j + 1;
      }
    } else {
      const j = i + nameLength(template, i);
      if (j > i) {
        name = template.slice(i, j);
        end = j;
      }
    }
    if (name === '') {
      out += '$';
      continue;
    }
    i = end;
    // Go: all ASCII digits, at most 9 of them and no leading zero make a group number.
    if (/^[0-9]{1,9}$/.test(name) && (name.length === 1 || name[0] !== '0')) {
      const n = Number(name);
      if (n < groups.length) out += groups[n] ?? '';
    } else {
      out += named[name] ?? '';
    }
  }
  return out;
}

export function evalLabelReplace(e: LabelReplaceExpr, m: StepMatrix): StepMatrix {
  const re = compileUnanchored(`^(?:${e.regex})$`);
  const series = m.series.map((s) => {
    const src = getLabel(s.labels, e.src);
    const match = re.exec(src);
    if (match === null) return s;
    const res = goExpand(e.replacement, match, match.groups ?? {});
    return new SeriesInfo(setLabel(s.labels, e.dst, res));
  });
  return new StepMatrix(m.steps, series, m.off, m.idx, m.val, m.tsMs);
}
