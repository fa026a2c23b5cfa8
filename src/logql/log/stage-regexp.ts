/**
 * `| regexp "(?P<name>re)"` (Loki RegexpParser): named groups of the first (unanchored) match
 * become labels; groups that did not take part in the match get ''. No match: nothing is set
 * and the entry goes on. The regex runs on the Buffer.
 */
import { ParseError } from '../../errors.js';
import { isValidLabelName } from '../../model/labels.js';
import { captureNames, compileUnanchored, regexError, type Regex } from '../syntax/regex.js';
import type { LabelsBuilder } from './labels-builder.js';
import { sanitizeLabelKey } from './sanitize.js';
import type { LabelNeeds, Stage } from './stage.js';

export class RegexpParserStage implements Stage {
  private readonly re: Regex;
  private readonly names: string[];

  constructor(
    pattern: string,
    private readonly needs: LabelNeeds,
  ) {
    const err = regexError(pattern);
    if (err !== null) throw new ParseError(`invalid regexp parser: ${err}`, 0, 0);
    this.names = captureNames(pattern);
    if (this.names.length === 0) throw new ParseError('invalid regexp parser: at least one named capture must be supplied', 0, 0);
    const seen = new Set<string>();
    for (const n of this.names) {
      if (!isValidLabelName(n)) throw new ParseError(`invalid regexp parser: invalid extracted label name '${n}'`, 0, 0);
      if (seen.has(n)) throw new ParseError(`invalid regexp parser: duplicate extracted label name '${n}'`, 0, 0);
      seen.add(n);
    }
    this.re = compileUnanchored(pattern);
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    const m = this.re.exec(line);
    if (m === null) return line;
    const groups = m.groups;
    if (groups === undefined) return line;
    for (let i = 0; i < this.names.length; i++) {
      const raw = this.names[i]!;
      const san = sanitizeLabelKey(raw, true);
      if (san === '') continue;
      const key = lb.parsedName(san);
      if (!this.needs.has(key) || lb.hasParsed(key)) continue;
      const v = groups[raw];
      lb.setParsed(key, v ?? '');
    }
    return line;
  }
}
