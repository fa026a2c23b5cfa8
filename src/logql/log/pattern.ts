/**
 * Loki's pattern language (pkg/logql/log/pattern): literals and captures `<name>` (identifier
 * `[A-Za-z_][A-Za-z0-9_]*`; `<_>` captures without a name). Used by the `pattern` parser
 * (`Matches`: partial captures when a later literal is missing) and the `|>` / `!>` line filters
 * (`Test`). Literals are byte strings searched with Buffer.indexOf.
 */
import { ParseError } from '../../errors.js';

/** One node: a literal (bytes) or a capture (name, '_' for unnamed). */
interface PatternNode {
  readonly literal: Buffer | null;
  readonly capture: string;
}

const CAPTURE_RE = /<([A-Za-z_][A-Za-z0-9_]*)>/g;

function parseNodes(text: string): PatternNode[] {
  const nodes: PatternNode[] = [];
  let last = 0;
  for (const m of text.matchAll(CAPTURE_RE)) {
    const at = m.index;
    if (at > last) nodes.push({ literal: Buffer.from(text.slice(last, at), 'utf8'), capture: '' });
    nodes.push({ literal: null, capture: m[1]! });
    last = at + m[0].length;
  }
  if (last < text.length) nodes.push({ literal: Buffer.from(text.slice(last), 'utf8'), capture: '' });
  return nodes;
}

function consecutiveCaptures(nodes: readonly PatternNode[]): string | null {
  for (let i = 0; i + 1 < nodes.length; i++) {
    if (nodes[i]!.literal === null && nodes[i + 1]!.literal === null) {
      return `found consecutive capture '<${nodes[i]!.capture}><${nodes[i + 1]!.capture}>': invalid expression`;
    }
  }
  return null;
}

/** A compiled pattern. `Matches` fills `starts`/`ends` (byte offsets of named captures). */
export class PatternMatcher {
  /** Names of the named captures, in order. */
  readonly names: readonly string[];
  private readonly nodes: readonly PatternNode[];
  readonly starts: Int32Array;
  readonly ends: Int32Array;

  private constructor(nodes: PatternNode[]) {
    this.nodes = nodes;
    this.names = nodes.filter((n) => n.literal === null && n.capture !== '_').map((n) => n.capture);
    this.starts = new Int32Array(this.names.length);
    this.ends = new Int32Array(this.names.length);
  }

  /** The `pattern` parser's matcher: at least one named capture, unique names, no consecutive captures. */
  static forParser(text: string): PatternMatcher {
    const nodes = parseNodes(text);
    const m = new PatternMatcher(nodes);
    if (m.names.length === 0) throw new ParseError('invalid pattern parser: at least one capture is required', 0, 0);
    const cc = consecutiveCaptures(nodes);
    if (cc !== null) throw new ParseError(`invalid pattern parser: ${cc}`, 0, 0);
    const seen = new Set<string>();
    for (const n of m.names) {
      if (seen.has(n)) throw new ParseError(`invalid pattern parser: duplicate capture name (${n}): invalid expression`, 0, 0);
      seen.add(n);
    }
    return m;
  }

  /** A line-filter pattern: only `<_>` captures, none consecutive. */
  static forLineFilter(text: string): PatternMatcher {
    const nodes = parseNodes(text);
    const m = new PatternMatcher(nodes);
    const cc = consecutiveCaptures(nodes);
    if (cc !== null) throw new ParseError(cc, 0, 0);
    if (m.names.length > 0) throw new ParseError(`named captures are not allowed: found '<${m.names[0]!}>'`, 0, 0);
    return m;
  }

  /**
   * Loki's Matcher.Matches on line[start,end): returns how many named captures were found (their
   * ranges in starts/ends). A leading literal must be at the start; when a later literal is
   * missing, the capture before it takes the rest of the line and matching stops.
   */
  matches(line: Buffer, start: number, end: number): number {
    if (end <= start || this.nodes.length === 0) return 0;
    const nodes = this.nodes;
    let k = 0;
    let pos = start;
    let count = 0;
    const first = nodes[0]!;
    if (first.literal !== null) {
      const lit = first.literal;
      if (end - pos < lit.length || lit.compare(line, pos, pos + lit.length) !== 0) return 0;
      pos += lit.length;
      k = 1;
    }
    if (k === nodes.length) return 0;
    while (k < nodes.length) {
      const cap = nodes[k]!;
      if (k + 1 === nodes.length) {
        if (cap.capture !== '_') {
          this.starts[count] = pos;
          this.ends[count] = end;
          count++;
        }
        return count;
      }
      const lit = nodes[k + 1]!.literal!;
      k += 2;
      const at = indexWithin(line, lit, pos, end);
      if (at < 0) {
        if (cap.capture !== '_') {
          this.starts[count] = pos;
          this.ends[count] = end;
          count++;
        }
        return count;
      }
      if (cap.capture !== '_') {
        this.starts[count] = pos;
        this.ends[count] = at;
        count++;
      }
      pos = at + lit.length;
    }
    return count;
  }

  /** Loki's Matcher.Test (the `|>` line filter) on line[start,end). */
  test(line: Buffer, start: number, end: number): boolean {
    const nodes = this.nodes;
    if (end <= start || nodes.length === 0) return end <= start && nodes.length === 0;
    let off = start;
    for (let i = 0; i < nodes.length; i++) {
      const lit = nodes[i]!.literal;
      if (lit === null) continue;
      const j = indexWithin(line, lit, off, end);
      if (j < 0) return false;
      if (i !== 0 && j === off) return false;
      off = j + lit.length;
    }
    const reqRem = nodes[nodes.length - 1]!.literal === null;
    return reqRem === (off !== end);
  }
}

/** First index of `needle` in hay[from,end), or -1. */
export function indexWithin(hay: Buffer, needle: Buffer, from: number, end: number): number {
  if (needle.length === 0) return from <= end ? from : -1;
  const at = hay.indexOf(needle, from);
  return at < 0 || at + needle.length > end ? -1 : at;
}
