/**
 * `| unpack` (Loki UnpackParser): the line is a JSON object written by Promtail's `pack` stage.
 * Its `_entry` string replaces the line and every other string field becomes a label (name
 * suffixed `_extracted` on a clash, then sanitised); other value types are ignored. Labels are
 * set only when `_entry` was present. A line that is not an object sets
 * `__error__="JSONParserErr"` and stays unchanged.
 */
import {
  MALFORMED_ARRAY,
  MALFORMED_JSON,
  MALFORMED_OBJECT,
  MALFORMED_STRING,
  UNKNOWN_VALUE_TYPE,
  blockEnd,
  jsonStringValue,
  lastEscaped,
  skipWs,
  stringEnd,
  tokenEnd,
  tokenKind,
  TOK_BAD,
  unescapeJson,
} from './json-scan.js';
import type { LabelsBuilder } from './labels-builder.js';
import { ERR_JSON, sanitizeLabelKey } from './sanitize.js';
import type { LabelNeeds, Stage } from './stage.js';

const PACKED_ENTRY_KEY = '_entry';
/** jsoniter's ObjectValue is 6: Loki's errUnexpectedJSONObject text. */
const NOT_OBJECT = 'expecting json object(6), but it is not';

export class UnpackStage implements Stage {
  private readonly names: string[] = [];
  private readonly values: string[] = [];

  constructor(private readonly needs: LabelNeeds) {}

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    if (line.length === 0) return line;
    if (line[0] !== 0x7b) {
      lb.setError(ERR_JSON);
      lb.setErrorDetails(NOT_OBJECT);
      return line;
    }
    let n = 0;
    let entry: Buffer | null = null;
    const b = line;
    const end = b.length;
    let err = '';
    let p = skipWs(b, 1, end);
    if (p >= end) err = MALFORMED_JSON;
    else if (b[p] !== 0x7d) {
      for (;;) {
        const c = b[p];
        if (c === 0x7d) break;
        if (c !== 0x22) {
          err = MALFORMED_OBJECT;
          break;
        }
        const ke = stringEnd(b, p + 1, end);
        if (ke < 0) {
          err = MALFORMED_JSON;
          break;
        }
        const key = lastEscaped ? unescapeJson(b, p + 1, ke) : b.toString('utf8', p + 1, ke);
        p = skipWs(b, ke + 1, end);
        if (key === null || p >= end || b[p] !== 0x3a) {
          err = MALFORMED_JSON;
          break;
        }
        p = skipWs(b, p + 1, end);
        const v = b[p];
        if (v === 0x22) {
          const ve = stringEnd(b, p + 1, end);
          if (ve < 0) {
            err = MALFORMED_STRING;
            break;
          }
          const vesc = lastEscaped;
          if (key === PACKED_ENTRY_KEY) {
            if (vesc) {
              const s = unescapeJson(b, p + 1, ve);
              if (s === null) {
                err = 'Encountered an invalid escape sequence in a string';
                break;
              }
              entry = Buffer.from(s, 'utf8');
            } else entry = b.subarray(p + 1, ve);
          } else {
            const name = lb.parsedName(key);
            if (this.needs.has(name) && !lb.hasParsed(name)) {
              this.names[n] = sanitizeLabelKey(name, true);
              this.values[n++] = jsonStringValue(b, p + 1, ve, vesc);
            }
          }
          p = ve + 1;
        } else if (v === 0x7b || v === 0x5b) {
          const q = blockEnd(b, p, end, v, v === 0x7b ? 0x7d : 0x5d);
          if (q < 0) {
            err = v === 0x7b ? MALFORMED_OBJECT : MALFORMED_ARRAY;
            break;
          }
          p = q;
        } else {
          if (p >= end) {
            err = MALFORMED_JSON;
            break;
          }
          const te = tokenEnd(b, p, end);
          if (tokenKind(b, p, te) === TOK_BAD) {
            err = UNKNOWN_VALUE_TYPE;
            break;
          }
          p = te;
        }
        p = skipWs(b, p, end);
        if (p >= end) {
          err = MALFORMED_ARRAY;
          break;
        }
        if (b[p] === 0x7d) break;
        if (b[p] !== 0x2c) {
          err = MALFORMED_OBJECT;
          break;
        }
        p = skipWs(b, p + 1, end);
        if (p >= end) {
          err = MALFORMED_ARRAY;
          break;
        }
      }
    }
    if (err !== '') {
      lb.setError(ERR_JSON);
      lb.setErrorDetails(err);
      return line;
    }
    if (entry === null) return line;
    for (let i = 0; i < n; i++) if (this.names[i] !== '') lb.setParsed(this.names[i]!, this.values[i]!);
    return entry;
  }
}
