/**
 * Block-at-a-time line filters (VictoriaLogs' bitmap idea): a filter looks at all entries of a
 * decoded block at once and clears the selection bytes of entries that fail.
 *
 * Literal filters (`|= "x"`, `!= "x"`, and regexes Loki simplifies to literals: `|~ "x"`,
 * `|~ "a|b"`, `|~ "(?i)x"`) search the WHOLE block (`Buffer.indexOf`, or the WebAssembly
 * kernel of src/wasm) and map each hit to its entry by binary search over `offsets`; an absent
 * needle costs one search per block.
 * Other regexes run RE2 per selected line on a Buffer view (no string decoding), only on the
 * lines holding one of the literals every match contains, when the pattern has such literals
 * (`requiredLiterals`; found with the same whole-block search).
 *
 * requiredBlockProbe() derives, from the same stages, tokens and needle grams every matching
 * line must hold, so the querier can skip blocks whose token filter (chunk/bloom.ts) or needle
 * filter (chunk/needle.ts) lacks one.
 */
import { isAscii } from 'node:buffer';
import { forEachToken } from '../../chunk/bloom.js';
import { BlockProbe, needleGramHashes } from '../../chunk/needle.js';
import type { Expr, LabelFilterExpr, LineFilterStage, LogSelectorExpr, StageExpr } from '../syntax/ast.js';
import { InvalidError } from '../../errors.js';
import { compileUnanchored, regexError, requiredLiterals } from '../syntax/regex.js';
import { BlockSearch, COMMON_FIRST_BYTES } from '../../wasm/kernels.js';
import { skipWs } from './json-scan.js';
import { ERROR_LABEL } from './sanitize.js';
import { compileLineMatcher, type LineMatcher } from './stage-line-filter.js';

/**
 * Filters entries of one decoded block. `lines` is all line bytes concatenated; line i spans
 * [offsets[i], offsets[i+1]). `sel` has one byte per entry, 1 = still selected; a filter only clears bytes.
 */
export interface BlockLineFilter {
  apply(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array): void;
}

/** Marks (out[i] = 1) the selected entries whose line matches; never clears `out`. */
interface BlockMatcher {
  mark(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array, out: Uint8Array): void;
}

/** Largest i in [lo, n) with offsets[i] <= pos: the entry containing byte `pos`. */
function entryAt(offsets: Int32Array, lo: number, n: number, pos: number): number {
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (offsets[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Whole-block substring search: Buffer.indexOf, or the WebAssembly kernel (src/wasm, 5–9 GB/s
 * whatever the needle) for a needle whose first byte is common in logs, or folded (`(?i)`).
 */
class ContainsMatcher implements BlockMatcher {
  /** The kernel for this needle: undefined until the first block, null when unavailable. */
  private search: BlockSearch | null | undefined = undefined;
  constructor(
    private readonly needle: Buffer,
    /** Match ASCII letters of the block in either case (the kernel only; the needle is lower case). */
    private readonly fold = false,
  ) {}

  mark(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array, out: Uint8Array): void {
    const len = this.needle.length;
    if (len === 0) {
      for (let i = 0; i < n; i++) if (sel[i] !== 0) out[i] = 1;
      return;
    }
    const end = offsets[n]!;
    let from = offsets[0]!;
    let entry = 0;
    if (this.search === undefined) this.search = this.fold || COMMON_FIRST_BYTES[this.needle[0]!] === 1 ? BlockSearch.create([this.needle], this.fold) : null;
    const search = this.search !== null && this.search.load(lines, from, end) ? this.search : null;
    // Folding needs the kernel (FoldedContainsMatcher only asks where it runs).
    if (search === null && this.fold) throw new Error('ContainsMatcher: folded search without the kernel (bug)');
    while (from < end) {
      const hit = search !== null ? search.find(0, from) : lines.indexOf(this.needle, from);
      if (hit < 0 || hit + len > end) return;
      entry = entryAt(offsets, entry, n, hit);
      const lineEnd = offsets[entry + 1]!;
      // A hit straddling into the next line: no later hit can start inside this line either.
      if (hit + len <= lineEnd && sel[entry] !== 0) out[entry] = 1;
      from = lineEnd;
    }
  }
}

/**
 * ASCII case-insensitive search (needle is lower-case ASCII): the kernel folds as it searches;
 * without it, a search on a lower-cased copy of the block.
 */
class FoldedContainsMatcher implements BlockMatcher {
  private folded: Buffer = Buffer.alloc(0);
  private readonly inner: ContainsMatcher;
  private readonly kernel: ContainsMatcher | null;
  constructor(needle: Buffer) {
    this.inner = new ContainsMatcher(needle);
    this.kernel = BlockSearch.available() ? new ContainsMatcher(needle, true) : null;
  }

  mark(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array, out: Uint8Array): void {
    if (this.kernel !== null && offsets[n]! - offsets[0]! <= BlockSearch.MAX_BLOCK) return this.kernel.mark(lines, offsets, n, sel, out);
    const size = lines.length;
    if (this.folded.length < size) this.folded = Buffer.allocUnsafe(Math.max(size, this.folded.length * 2));
    const f = this.folded;
    const start = offsets[0]!;
    const end = offsets[n]!;
    for (let i = start; i < end; i++) {
      const c = lines[i]!;
      f[i] = c >= 65 && c <= 90 ? c + 32 : c;
    }
    this.inner.mark(f, offsets, n, sel, out);
  }
}

/** Marks the selected lines holding a byte outside ASCII. */
class NonAsciiMatcher implements BlockMatcher {
  mark(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array, out: Uint8Array): void {
    if (isAscii(lines.subarray(offsets[0]!, offsets[n]!))) return;
    for (let i = 0; i < n; i++) if (sel[i] !== 0 && !isAscii(lines.subarray(offsets[i]!, offsets[i + 1]!))) out[i] = 1;
  }
}

/** RE2 on each selected line (that one of `required` marks, when given: the lines a match needs). */
class RegexMatcher implements BlockMatcher {
  private readonly re: ReturnType<typeof compileUnanchored>;
  private candidates = new Uint8Array(0);
  constructor(
    pattern: string,
    /** Matchers that together mark every line RE2 could match (a superset), or null. */
    private readonly required: readonly BlockMatcher[] | null,
  ) {
    this.re = compileUnanchored(pattern);
  }

  mark(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array, out: Uint8Array): void {
    const re = this.re;
    let check = sel;
    if (this.required !== null) {
      if (this.candidates.length < n) this.candidates = new Uint8Array(Math.max(n, this.candidates.length * 2));
      check = this.candidates;
      check.fill(0, 0, n);
      for (const m of this.required) m.mark(lines, offsets, n, sel, check);
    }
    for (let i = 0; i < n; i++) {
      if (check[i] === 0 || out[i] !== 0) continue;
      if (re.test(lines.subarray(offsets[i]!, offsets[i + 1]!))) out[i] = 1;
    }
  }
}

/** Pattern (`|>`) and ip() operands: the per-line matcher on each selected line. */
class PerLineMatcher implements BlockMatcher {
  constructor(private readonly m: LineMatcher) {}

  mark(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array, out: Uint8Array): void {
    const m = this.m;
    for (let i = 0; i < n; i++) {
      if (sel[i] === 0 || out[i] !== 0) continue;
      if (m.test(lines.subarray(offsets[i]!, offsets[i + 1]!))) out[i] = 1;
    }
  }
}

/** Characters with a regex meaning; a pattern free of them (after unescaping) is a literal. */
const META = '\\.+*?()|[]{}^$';

/**
 * The literal a regex stands for (`foo`, `a\.b`), or null. Mirrors Loki's simplification of
 * `|~ "literal"` to a contains filter.
 */
function regexLiteral(p: string): string | null {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const e = p[i + 1];
      if (e === undefined || !META.includes(e)) return null;
      out += e;
      i++;
    } else if (META.includes(c)) {
      return null;
    } else {
      out += c;
    }
  }
  return out;
}

/** Splits a regex on top-level `|` when each branch is a literal. */
function literalBranches(p: string): string[] | null {
  const branches: string[] = [];
  let cur = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\' && i + 1 < p.length) {
      cur += c + p[i + 1]!;
      i++;
    } else if (c === '|') {
      branches.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  branches.push(cur);
  const lits: string[] = [];
  for (const b of branches) {
    const l = regexLiteral(b);
    if (l === null) return null;
    lits.push(l);
  }
  return lits;
}

/** True when ASCII-lower-casing finds every RE2 `(?i)` match: no letters with non-ASCII folds (k, s). */
function foldableAscii(lit: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(lit) && !/[ks]/i.test(lit);
}

function regexMatchers(pattern: string): BlockMatcher[] {
  let p = pattern;
  let ci = false;
  if (p.startsWith('(?i)')) {
    ci = true;
    p = p.slice(4);
  }
  const lits = literalBranches(p);
  if (lits !== null && lits.every((l) => l.length > 0)) {
    if (!ci) return lits.map((l) => new ContainsMatcher(Buffer.from(l, 'utf8')));
    if (lits.every(foldableAscii)) return lits.map((l) => new FoldedContainsMatcher(Buffer.from(l.toLowerCase(), 'utf8')));
  }
  // The literals every match needs (of the pattern after `(?i)`, which applies to all of it).
  const required = requiredLiterals(p);
  if (required === null) return [new RegexMatcher(pattern, null)];
  if (!ci) return [new RegexMatcher(pattern, required.map((l) => new ContainsMatcher(Buffer.from(l, 'latin1'))))];
  // Case-insensitive: a match holds the literal folded to ASCII or, when it has k or s (whose
  // folds include K U+212A and ſ U+017F), a byte outside ASCII; RE2 decides on those lines.
  const folded: BlockMatcher[] = required.map((l) => new FoldedContainsMatcher(Buffer.from(l.toLowerCase(), 'latin1')));
  if (!required.every(foldableAscii)) folded.push(new NonAsciiMatcher());
  return [new RegexMatcher(pattern, folded)];
}

/** One line-filter stage: its alternatives, positive (any matches) or negative (none matches). */
class StageFilter implements BlockLineFilter {
  private scratch = new Uint8Array(0);
  constructor(
    private readonly matchers: readonly BlockMatcher[],
    private readonly negate: boolean,
  ) {}

  apply(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array): void {
    if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, this.scratch.length * 2));
    const hits = this.scratch;
    hits.fill(0, 0, n);
    for (const m of this.matchers) m.mark(lines, offsets, n, sel, hits);
    if (this.negate) {
      for (let i = 0; i < n; i++) if (hits[i] !== 0) sel[i] = 0;
    } else {
      for (let i = 0; i < n; i++) if (hits[i] === 0) sel[i] = 0;
    }
  }
}

class AndFilter implements BlockLineFilter {
  constructor(private readonly filters: readonly BlockLineFilter[]) {}
  apply(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array): void {
    for (const f of this.filters) f.apply(lines, offsets, n, sel);
  }
}

/** Compiles one line-filter stage (pattern and ip() operands run per selected line). */
export function compileLineFilterStage(s: LineFilterStage): BlockLineFilter {
  checkLineFilterRegexes(s);
  const matchers: BlockMatcher[] = [];
  for (const a of s.args) {
    if (a.ip || s.op === '|>' || s.op === '!>') matchers.push(new PerLineMatcher(compileLineMatcher(s.op, a)));
    else if (s.op === '|=' || s.op === '!=') matchers.push(new ContainsMatcher(Buffer.from(a.value, 'utf8')));
    else matchers.push(...regexMatchers(a.value));
  }
  return new StageFilter(matchers, s.op === '!=' || s.op === '!~' || s.op === '!>');
}

/**
 * Throws InvalidError with Go's text (`error parsing regexp: missing closing ): \`(\``) when a
 * `|~`/`!~` operand is not a valid regex. As in Loki, the parser accepts such a filter (its
 * first ParseTestCases query has `|~ \`error\\\``) and the error comes when a query runs it.
 */
export function checkLineFilterRegexes(s: LineFilterStage): void {
  if (s.op !== '|~' && s.op !== '!~') return;
  for (const a of s.args) {
    if (a.ip) continue;
    const err = regexError(a.value);
    if (err !== null) throw new InvalidError(err);
  }
}

/**
 * The stages that see the raw line: every stage before the first one that rewrites the line
 * (`line_format`, `unpack`, `decolorize`), as Loki moves line filters ahead of parsers. Null
 * for metric queries.
 */
function rawLineStages(expr: Expr | readonly StageExpr[]): readonly StageExpr[] | null {
  let stages: readonly StageExpr[];
  if (Array.isArray(expr)) stages = expr as readonly StageExpr[];
  else if ((expr as Expr).kind === 'logSelector') stages = (expr as LogSelectorExpr).stages;
  else return null;
  let end = 0;
  while (end < stages.length) {
    const k = stages[end]!.kind;
    if (k === 'lineFormat' || k === 'unpack' || k === 'decolorize') break;
    end++;
  }
  return end === stages.length ? stages : stages.slice(0, end);
}

/** Whether a label filter drops every entry whose `__error__` is set (`__error__=""`, alone or in an `and`). */
function requiresNoError(f: LabelFilterExpr): boolean {
  if (f.kind === 'and') return requiresNoError(f.left) || requiresNoError(f.right);
  return f.kind === 'stringFilter' && f.matcher.name === ERROR_LABEL && f.matcher.type === '=' && f.matcher.value === '';
}

/**
 * True when the stages drop every line that is not a JSON object: line filters, then `| json`
 * without parameters, then a label filter requiring `__error__=""` (the usual `| json |
 * __error__=""`). The parser sets `__error__` for a line whose first byte after JSON whitespace
 * is not `{` before it reads anything else, and it runs for every line it gets: nothing before
 * it extracts labels, and the filter after it needs `__error__` (JsonParserStage.process).
 */
function jsonObjectsOnly(stages: readonly StageExpr[]): boolean {
  let i = 0;
  while (i < stages.length && stages[i]!.kind === 'lineFilter') i++;
  const json = stages[i];
  const next = stages[i + 1];
  return json !== undefined && json.kind === 'json' && json.params.length === 0 && next !== undefined && next.kind === 'labelFilter' && requiresNoError(next.filter);
}

/**
 * Clears the selected entries whose line is not a JSON object (first byte after JSON
 * whitespace not `{`): the lines `| json | __error__=""` drops, found before any per-line work.
 */
class JsonObjectFilter implements BlockLineFilter {
  apply(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array): void {
    for (let i = 0; i < n; i++) {
      if (sel[i] === 0) continue;
      const end = offsets[i + 1]!;
      const p = skipWs(lines, offsets[i]!, end);
      if (p >= end || lines[p] !== 0x7b) sel[i] = 0;
    }
  }
}

/**
 * Compiles the line filters that apply to the raw line (see rawLineStages), plus the drop of
 * lines that are not JSON objects where the stages make it (see jsonObjectsOnly). Returns null
 * when there are none, and for metric queries.
 */
export function compileLineFilters(expr: Expr | readonly StageExpr[]): BlockLineFilter | null {
  const stages = rawLineStages(expr);
  if (stages === null) return null;
  const filters: BlockLineFilter[] = [];
  for (const s of stages) if (s.kind === 'lineFilter') filters.push(compileLineFilterStage(s));
  // After the line filters: it looks only at the lines they kept.
  if (jsonObjectsOnly(stages)) filters.push(new JsonObjectFilter());
  if (filters.length === 0) return null;
  return filters.length === 1 ? filters[0]! : new AndFilter(filters);
}

/**
 * The literal every line passing a positive, single-alternative, case-sensitive stage holds,
 * or null: the `|=` needle, the literal a `|~` regex stands for, or the one a regex of one
 * alternative requires (`requiredLiterals`: `trace_id=4bf9[0-9a-f]+` needs `trace_id=4bf9`).
 */
function requiredLiteral(s: LineFilterStage): string | null {
  if (s.args.length !== 1) return null;
  const a = s.args[0]!;
  if (a.ip) return null;
  if (s.op === '|=') return a.value;
  if (s.op !== '|~' || a.value.startsWith('(?i)')) return null;
  // The same simplification regexMatchers makes: a single literal branch is a substring search.
  const lits = literalBranches(a.value);
  if (lits !== null) return lits.length === 1 ? lits[0]! : null;
  const required = requiredLiterals(a.value);
  return required !== null && required.length === 1 ? required[0]! : null;
}

/**
 * What every line passing the raw-line filters must hold, as a probe of the blocks' filters.
 * From each positive substring stage (`|= "x"`, or `|~ "x"` when x is a plain literal or a
 * regex of one alternative requiring a literal; not with `or` alternatives, `(?i)` or
 * negations, which a block can satisfy without the bytes):
 *
 * - tokens (chunk/bloom.ts `tokenHash`): the needle's tokens with a separator byte of the
 *   needle on both sides. The first token when it touches the needle start and the last when
 *   it touches the end may be parts of longer tokens of the line, so they are left out.
 *   `no such token anywhere` gives {such, token}; `ERR_BITFLIP_99A6` gives {BITFLIP};
 *   `timeout` gives nothing.
 * - grams (chunk/needle.ts `needleGramHashes`): for a needle of 8 or more UTF-8 bytes, the
 *   winnowed grams of its windows, whatever bytes it holds (`4bf92f35`, `ITFLIP_99`).
 *
 * - literals: the needles themselves, for readers that search a block's lines before decoding it.
 *
 * All deduplicated; BlockProbe.EMPTY when nothing is required.
 */
export function requiredBlockProbe(expr: Expr | readonly StageExpr[]): BlockProbe {
  const stages = rawLineStages(expr);
  if (stages === null) return BlockProbe.EMPTY;
  const tokens: number[] = [];
  const grams: number[] = [];
  const literals: Buffer[] = [];
  for (const s of stages) {
    if (s.kind !== 'lineFilter') continue;
    const lit = requiredLiteral(s);
    if (lit === null || lit.length === 0) continue;
    const needle = Buffer.from(lit, 'utf8');
    const len = needle.length;
    forEachToken(needle, 0, len, (start, end, hash) => {
      if (start > 0 && end < len && !tokens.includes(hash)) tokens.push(hash);
    });
    for (const g of needleGramHashes(needle)) if (!grams.includes(g)) grams.push(g);
    if (!literals.some((l) => l.equals(needle))) literals.push(needle);
  }
  if (literals.length === 0) return BlockProbe.EMPTY;
  return new BlockProbe(Uint32Array.from(tokens), Uint32Array.from(grams), literals);
}
