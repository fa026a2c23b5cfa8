/**
 * `| logfmt [--strict] [--keep-empty] [params]` (Loki pkg/logql/log/parser.go LogfmtParser and
 * LogfmtExpressionParser over the decoder of pkg/logql/log/logfmt/decode.go).
 *
 * The decoder walks `key=value` pairs: bare keys have empty values, quoted values take JSON
 * escapes, a stray `"` or `=` is a syntax error that skips to the next space. Without
 * `--strict` errors are ignored and parsing continues; with it parsing stops and
 * `__error__="LogfmtParserErr"` is set with `logfmt syntax error at pos N : msg`. Empty values
 * are dropped unless `--keep-empty`.
 */
import { logfmtExpressionKey } from './extraction-path.js';
import { unescapeJson } from './json-scan.js';
import type { LabelsBuilder } from './labels-builder.js';
import { DUPLICATE_SUFFIX, ERR_LOGFMT, isPlainName, replaceRuneError, sanitizeLabelKey } from './sanitize.js';
import type { LabelNeeds, Stage } from './stage.js';
import type { LabelExtraction } from '../syntax/ast.js';

/** Node's `Buffer#latin1Slice` (present on every Buffer, untyped): an ASCII range as a string without `toString`'s encoding dispatch. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

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
  /** Key holds a byte ≥ 0x80. */
  khigh = false;
  /** Value holds a byte ≥ 0x80 (else it is ASCII and read as latin1, no U+FFFD possible). */
  vhigh = false;
  /** Position (1-based) of the last syntax error, 0 when none; the text is built only when read (`err`). */
  private errAt = 0;
  /** The last syntax error's message after `at pos N : `. */
  private errMsg = '';
  /** The unexpected byte of an `unexpected 'c'` error (-1: errMsg is the whole message). */
  private errChar = -1;

  reset(line: Buffer): void {
    this.line = line;
    this.pos = 0;
    this.errAt = 0;
  }

  /** True when a syntax error happened since `reset`. */
  hasError(): boolean {
    return this.errAt !== 0;
  }

  /** The last syntax error's text (Loki's), '' when none. Built on demand: only `--strict` reads it. */
  get err(): string {
    if (this.errAt === 0) return '';
    const msg = this.errChar >= 0 ? `unexpected '${String.fromCharCode(this.errChar)}'` : this.errMsg;
    return `logfmt syntax error at pos ${this.errAt} : ${msg}`;
  }

  eol(): boolean {
    return this.pos >= this.line.length;
  }

  hasKey(): boolean {
    return this.ke >= 0;
  }

  private syntaxError(msg: string): void {
    this.errAt = this.pos + 1;
    this.errMsg = msg;
    this.errChar = -1;
  }

  private unexpected(c: number): void {
    this.errAt = this.pos + 1;
    this.errChar = c;
  }

  /** Value as a string ('' when none); U+FFFD → space. Null when an escape is invalid. */
  value(): string | null {
    if (this.ve < 0) return '';
    if (!this.vesc) return this.vhigh ? replaceRuneError(this.line.toString('utf8', this.vs, this.ve)) : (this.line as unknown as Latin1Slicer).latin1Slice(this.vs, this.ve);
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
    this.vhigh = false;
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
    this.khigh = multibyte;
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
    let high = false;
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
          this.vhigh = high;
        }
        return true;
      }
      if (c >= 0x80) high = true;
    }
    this.pos = n;
    this.vs = start;
    this.ve = n;
    this.vhigh = high;
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
    let high = false;
    for (let p = start + 1; p < n; p++) {
      const c = line[p]!;
      if (c >= 0x80) high = true;
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
          this.vhigh = high;
        }
        return true;
      }
    }
    this.pos = n;
    this.syntaxError('unterminated quoted value');
    return false;
  }
}

/** A sanitized key as the stage sees it: the name, its `_extracted` twin, and whether the query needs each. */
class KeyInfo {
  readonly extracted: string;
  readonly needPlain: boolean;
  readonly needExtracted: boolean;
  constructor(
    readonly name: string,
    needs: LabelNeeds,
  ) {
    this.extracted = name + DUPLICATE_SUFFIX;
    this.needPlain = name !== '' && needs.has(name);
    this.needExtracted = name !== '' && needs.has(this.extracted);
  }
}

function isIdentByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/**
 * Raw key bytes → KeyInfo, so a key seen before costs a hash over its bytes and no string.
 * Open addressing with linear probing; it stops growing at MAX_KEYS (keys made of ids, as in
 * unstructured lines, then take the string path).
 */
class KeyTable {
  private static readonly MAX_KEYS = 2048;
  private readonly size = 4096;
  private readonly hashes = new Int32Array(this.size);
  private readonly raws: (Buffer | undefined)[] = new Array<Buffer | undefined>(this.size);
  private readonly infos: (KeyInfo | undefined)[] = new Array<KeyInfo | undefined>(this.size);
  private count = 0;

  /** FNV-1a over line[s, e). */
  static hash(line: Buffer, s: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ line[i]!, 0x01000193);
    return h;
  }

  get(line: Buffer, s: number, e: number, h: number): KeyInfo | undefined {
    const mask = this.size - 1;
    const len = e - s;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const raw = this.raws[i];
      if (raw === undefined) return undefined;
      if (this.hashes[i] === h && raw.length === len) {
        let j = 0;
        while (j < len && raw[j] === line[s + j]) j++;
        if (j === len) return this.infos[i];
      }
    }
  }

  /** Adds the key unless the table is full. */
  put(line: Buffer, s: number, e: number, h: number, info: KeyInfo): void {
    if (this.count >= KeyTable.MAX_KEYS) return;
    const mask = this.size - 1;
    let i = h & mask;
    while (this.raws[i] !== undefined) i = (i + 1) & mask;
    this.raws[i] = Buffer.from(line.subarray(s, e));
    this.hashes[i] = h;
    this.infos[i] = info;
    this.count++;
  }
}

/**
 * `| logfmt [--strict] [--keep-empty]`. Per pair, cheapest test first: an empty value without
 * `--keep-empty` is skipped before the key is looked at; with a known set of needed labels (metric
 * queries) an ASCII key is matched against the candidate names on its bytes, so keys nobody
 * reads never become strings; otherwise keys are interned by their bytes (KeyTable). Only
 * values that are stored become strings. The result equals the plain loop of the reference
 * (sanitize, `_extracted` on a clash, first value wins, hints), see parsers-differential.test.ts.
 */
export class LogfmtParserStage implements Stage {
  private readonly dec = new LogfmtDecoder();
  private readonly table = new KeyTable();
  /** Needed names a key can produce, as plain names (`x` for `x` and for `x_extracted`); null: all. */
  private readonly candidates: KeyInfo[] | null;
  /** Candidate name bytes, parallel to `candidates`. */
  private readonly candidateBytes: Buffer[] = [];
  /**
   * Loki's required labels (parser hints): the needed names plus `x` for each needed
   * `x_extracted`; empty for log queries. Once all are parsed labels the line is not read further
   * (Loki's NoLabels / AllRequiredExtracted), so `--strict` reports no error found after that.
   */
  private readonly required: string[] = [];

  constructor(
    private readonly strict: boolean,
    private readonly keepEmpty: boolean,
    private readonly needs: LabelNeeds,
  ) {
    if (needs.all) this.candidates = null;
    else {
      const names = new Set<string>();
      for (const n of needs.names) {
        names.add(n);
        if (n.endsWith(DUPLICATE_SUFFIX)) names.add(n.slice(0, -DUPLICATE_SUFFIX.length));
      }
      this.required = [...names];
      this.candidates = [];
      for (const n of names) {
        // Sanitized keys are `[A-Za-z0-9_]+`, never starting with a digit: other names are never produced.
        if (!isPlainName(n)) continue;
        const info = new KeyInfo(n, needs);
        if (!info.needPlain && !info.needExtracted) continue;
        this.candidates.push(info);
        this.candidateBytes.push(Buffer.from(n, 'latin1'));
      }
    }
  }

  /** The KeyInfo of an ASCII key matched on its bytes against the candidates; null when none (unneeded key). */
  private matchCandidate(line: Buffer, s: number, e: number): KeyInfo | null {
    const digit = line[s]! >= 48 && line[s]! <= 57 ? 1 : 0;
    const len = e - s + digit;
    const cands = this.candidateBytes;
    for (let c = 0; c < cands.length; c++) {
      const b = cands[c]!;
      if (b.length !== len) continue;
      if (digit === 1 && b[0] !== 95) continue;
      let j = 0;
      for (; j < len - digit; j++) {
        const x = line[s + j]!;
        if ((isIdentByte(x) ? x : 95) !== b[j + digit]) break;
      }
      if (j === len - digit) return this.candidates![c]!;
    }
    return null;
  }

  /** The KeyInfo of line[s, e) (any bytes): sanitized as Loki does, interned when there is room. */
  private lookup(line: Buffer, s: number, e: number, ascii: boolean): KeyInfo | null {
    if (this.candidates !== null && ascii) return this.matchCandidate(line, s, e);
    const h = KeyTable.hash(line, s, e);
    let info = this.table.get(line, s, e, h);
    if (info === undefined) {
      info = new KeyInfo(sanitizeLabelKey(line.toString('utf8', s, e), true), this.needs);
      this.table.put(line, s, e, h, info);
    }
    return info;
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    const dec = this.dec;
    const keepEmpty = this.keepEmpty;
    const req = this.required;
    let found = 0;
    if (this.candidates !== null) {
      if (req.length === 0) return line;
      for (let i = 0; i < req.length; i++) if (lb.hasParsed(req[i]!)) found++;
      if (found >= req.length) return line;
    }
    dec.reset(line);
    while (!dec.eol()) {
      if (!dec.scan()) {
        if (this.strict) break;
        continue;
      }
      if (!dec.hasKey()) continue;
      // A bare key or `k=` / `k=""` yields '' (dropped without --keep-empty); escaped quoted values are never empty.
      if (!keepEmpty && dec.ve < 0) continue;
      const info = this.lookup(line, dec.ks, dec.ke, !dec.khigh);
      if (info === null || (!info.needPlain && !info.needExtracted)) continue;
      const name = lb.baseHas(info.name) || lb.hasMetadata(info.name) ? info.extracted : info.name;
      if (!(name === info.name ? info.needPlain : info.needExtracted) || lb.hasParsed(name)) continue;
      const val = dec.value() ?? '';
      if (!keepEmpty && val.length === 0) continue;
      lb.setParsed(name, val);
      // Every name set here is needed, hence required and not parsed before.
      if (this.candidates !== null && ++found >= req.length) break;
    }
    if (this.strict && dec.hasError()) {
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
    if (this.strict && dec.hasError()) {
      lb.setError(ERR_LOGFMT);
      lb.setErrorDetails(dec.err);
    }
    return line;
  }
}
