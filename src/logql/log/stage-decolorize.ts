/**
 * `| decolorize` (Loki Decolorizer): removes ANSI escape sequences (the stripansi pattern Loki
 * uses). Lines without ESC (0x1b) or CSI (U+009B) are returned as they are.
 */
import { compileUnanchored } from '../syntax/regex.js';
import type { LabelsBuilder } from './labels-builder.js';
import type { Stage } from './stage.js';

const ANSI = '[\\x{1b}\\x{9b}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\\x{07})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))';
const CSI = Buffer.from('\u009b', 'utf8');
const NOTHING = Buffer.alloc(0);

export class DecolorizeStage implements Stage {
  private readonly re = compileUnanchored(ANSI);

  process(_ts: bigint, line: Buffer, _lb: LabelsBuilder): Buffer | null {
    if (line.indexOf(0x1b) < 0 && line.indexOf(CSI) < 0) return line;
    return this.re.replaceAll(line, NOTHING);
  }
}
