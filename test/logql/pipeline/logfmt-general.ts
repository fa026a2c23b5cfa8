/**
 * The logfmt stage as it was before the byte-level fast path (commit d87ba74), kept verbatim as
 * the general path for parsers-differential.test.ts: every key becomes a string and is
 * sanitized, then filtered by the hints.
 *
 * `| logfmt [--strict] [--keep-empty] [params]` (Loki pkg/logql/log/parser.go LogfmtParser and
 * LogfmtExpressionParser over the decoder of pkg/logql/log/logfmt/decode.go).
 *
 * The decoder walks `key=value` pairs: bare keys have empty values, quoted values take JSON
 * escapes, a stray `"` or `=` is a syntax error that skips to the next space. Without
 * `--strict` errors are ignored and parsing continues; with it parsing stops and
 * `__error__="LogfmtParserErr"` is set with `logfmt syntax error at pos N : msg`. Empty values
 * are dropped unless `--keep-empty`.
 */
import { logfmtExpressionKey } from '../../../src/logql/log/extraction-path.js';
import { unescapeJson } from '../../../src/logql/log/json-scan.js';
import type { LabelsBuilder } from '../../../src/logql/log/labels-builder.js';
import { DUPLICATE_SUFFIX, ERR_LOGFMT, replaceRuneError, sanitizeLabelKey } from '../../../src/logql/log/sanitize.js';
import type { LabelNeeds, Stage } from '../../../src/logql/log/stage.js';
import type { LabelExtraction } from '../../../src/logql/syntax/ast.js';

/** A reusable logfmt decoder over one Buffer: key/value as byte ranges. */
export class LogfmtDecoder {
  private line: Buffer = Buffer.alloc(0);
  pos = 0;
  ks = 0;
  ke = -1;
  vs = 0;
  ve = -1;
  /** Value needs JSON unescaping. */
  vesc = false;
  err = '';

  reset(line: Buffer): void {
    this.line = line;
    this.pos = 0;
    this.err = '';
  }

  eol(): boolean {
    return this.pos >= this.line.length;
  }

  hasKey(): boolean {
    return this.ke >= 0;
  }

  private syntaxError(msg: string): void {
    this.err = `logfmt syntax error at pos ${this.pos + 1} : ${msg}`;
  }

  private unexpected(c: number): void {
    this.syntaxError(`unexpected '${String.fromCharCode(c)}'`);
  }

  /** Value as a string ('' when none); U+FFFD → space. Null when an escape is invalid. */
  value(): string | null {
    if (this.ve < 0) return '';
    if (!this.vesc) return replaceRuneError(this.line.toString('utf8', this.vs, this.ve));
    const v = unescapeJson(this.line, this.vs, this.ve);
    return v === null ? null : replaceRuneError(v);
  }

  key(): string {
    return this.line.toString('utf8', this.ks, this.ke);
  }

  /** Loki's ScanKeyval: false on a syntax error (err set) or at the end of the line. */
  scan(): boolean {
    this.ke = -1;
    this.ve = -1;
    this.vesc = false;
    const line = this.line;
    const n = line.length;
    let p = this.pos;
    while (p < n && line[p]! <= 0x20) p++;
    if (p >= n) {
      this.pos = n;
      return false;
    }
    this.pos = p;
    // key
    const start = p;
    let multibyte = false;
    for (; p < n; p++) {
      const c = line[p]!;
      if (c === 0x3d) {
        this.pos = p;
        if (p > start) {
          if (!this.setKey(start, p, multibyte)) return this.skipValue();
        } else {
          this.unexpected(c);
          return this.skipValue();
        }
        return this.afterEqual();
      }
      if (c === 0x22) {
        this.pos = p;
        this.unexpected(c);
        return this.skipValue();
      }
      if (c <= 0x20) {
        this.pos = p;
        return this.setKey(start, p, multibyte);
      }
      if (c >= 0x80) multibyte = true;
    }
    this.pos = n;
    return this.setKey(start, n, multibyte);
  }

  /** Sets the key to line[start, end); a key that is not valid UTF-8 is a syntax error (false). */
  private setKey(start: number, end: number, multibyte: boolean): boolean {
    this.ks = start;
    this.ke = end;
    if (multibyte && this.key().includes('\ufffd')) {
      this.ke = -1;
      this.syntaxError('invalid key');
      return false;
    }
    return true;
  }

  private afterEqual(): boolean {
    const line = this.line;
    const n = line.length;
    this.pos++;
    if (this.pos >= n) return true;
    const c0 = line[this.pos]!;
    if (c0 <= 0x20) return true;
    if (c0 === 0x22) return this.quoted();
    const start = this.pos;
    for (let p = start; p < n; p++) {
      const c = line[p]!;
      if (c === 0x3d || c === 0x22) {
        this.pos = p;
        this.unexpected(c);
        return this.skipValue();
      }
      if (c <= 0x20) {
        this.pos = p;
        if (p > start) {
          this.vs = start;
          this.ve = p;
        }
        return true;
      }
    }
    this.pos = n;
    this.vs = start;
    this.ve = n;
    return true;
  }

  private skipValue(): false {
    const line = this.line;
    for (let p = this.pos; p < line.length; p++) {
      if (line[p]! <= 0x20) {
        this.pos = p;
        return false;
      }
    }
    this.pos = line.length;
    return false;
  }

  private quoted(): boolean {
    const line = this.line;
    const n = line.length;
    const start = this.pos;
    let esc = false;
    let hasEsc = false;
    for (let p = start + 1; p < n; p++) {
      const c = line[p]!;
      if (esc) esc = false;
      else if (c === 0x5c) {
        esc = true;
        hasEsc = true;
      } else if (c === 0x22) {
        this.pos = p + 1;
        if (hasEsc) {
          if (unescapeJson(line, start + 1, p) === null) {
            this.syntaxError('invalid quoted value');
            return false;
          }
          this.vesc = true;
        }
        if (p > start + 1 || hasEsc) {
          this.vs = start + 1;
          this.ve = p;
        }
        return true;
      }
    }
    this.pos = n;
    this.syntaxError('unterminated quoted value');
    return false;
  }
}

export class LogfmtParserStage implements Stage {
  private readonly dec = new LogfmtDecoder();
  private readonly keyCache = new Map<string, string>();

  constructor(
    private readonly strict: boolean,
    private readonly keepEmpty: boolean,
    private readonly needs: LabelNeeds,
  ) {}

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    const dec = this.dec;
    const needs = this.needs;
    dec.reset(line);
    while (!dec.eol()) {
      if (!dec.scan()) {
        if (this.strict) break;
        continue;
      }
      if (!dec.hasKey()) continue;
      const raw = dec.key();
      let key = this.keyCache.get(raw);
      if (key === undefined) {
        key = sanitizeLabelKey(raw, true);
        if (this.keyCache.size < 1024) this.keyCache.set(raw, key);
      }
      if (key === '') continue;
      key = lb.parsedName(key);
      if (!needs.has(key) || lb.hasParsed(key)) continue;
      const val = dec.value() ?? '';
      if (!this.keepEmpty && val.length === 0) continue;
      lb.setParsed(key, val);
    }
    if (this.strict && dec.err !== '') {
      lb.setError(ERR_LOGFMT);
      lb.setErrorDetails(dec.err);
    }
    return line;
  }
}

/** `| logfmt a="key", b`: only the listed keys, renamed; every identifier exists ('' when missing). */
export class LogfmtParamsStage implements Stage {
  private readonly dec = new LogfmtDecoder();
  /** Line key → identifier. */
  private readonly byKey = new Map<string, string>();
  private readonly ids: string[];

  constructor(
    params: readonly LabelExtraction[],
    private readonly strict: boolean,
  ) {
    this.ids = params.map((p) => p.name);
    for (const p of params) this.byKey.set(logfmtExpressionKey(p.expression), p.name);
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    for (const id of this.ids) if (!lb.baseHas(id) && !lb.hasMetadata(id)) lb.setParsed(id, '');
    const dec = this.dec;
    dec.reset(line);
    while (!dec.eol()) {
      if (!dec.scan()) {
        if (this.strict) break;
        continue;
      }
      if (!dec.hasKey()) continue;
      const key = sanitizeLabelKey(dec.key(), true);
      const id = this.byKey.get(key);
      if (id === undefined) continue;
      const val = dec.value() ?? '';
      lb.setParsed(lb.baseHas(id) || lb.hasMetadata(id) ? id + DUPLICATE_SUFFIX : id, val);
    }
    if (this.strict && dec.err !== '') {
      lb.setError(ERR_LOGFMT);
      lb.setErrorDetails(dec.err);
    }
    return line;
  }
}
