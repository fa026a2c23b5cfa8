/**
 * `| pattern "<ip> - <_> <status>"` (Loki PatternParser): named captures become labels. When a
 * literal is missing, the captures found so far are kept and the last one takes the rest of
 * the line (pattern.ts). Nothing sets `__error__`.
 */
import type { LabelsBuilder } from './labels-builder.js';
import { PatternMatcher } from './pattern.js';
import type { LabelNeeds, Stage } from './stage.js';

export class PatternParserStage implements Stage {
  private readonly m: PatternMatcher;

  constructor(
    pattern: string,
    private readonly needs: LabelNeeds,
  ) {
    this.m = PatternMatcher.forParser(pattern);
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    const m = this.m;
    const count = m.matches(line, 0, line.length);
    for (let i = 0; i < count; i++) {
      const name = lb.parsedName(m.names[i]!);
      if (lb.hasParsed(name) || !this.needs.has(name)) continue;
      lb.setParsed(name, line.toString('utf8', m.starts[i], m.ends[i]));
    }
    return line;
  }
}
