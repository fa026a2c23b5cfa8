/**
 * Lexer and parser for Go's text/template syntax (the subset LogQL uses: no define/template/block).
 * Errors are ParseErrors with Go's wording: `template: line:1: function "foo" not defined`.
 */
import { ParseError } from '../../errors.js';
import { GO_CHAR_ESCAPES } from '../../util/go-escapes.js';

// ---- AST ---------------------------------------------------------------------------------

export interface Pipe {
  pos: number;
  /** Variables declared or assigned, resolved to slots. */
  decl: Array<{ name: string; slot: number }>;
  isAssign: boolean;
  cmds: Cmd[];
}

export interface Cmd {
  pos: number;
  end: number;
  args: Operand[];
}

export type Operand =
  | { t: 'field'; pos: number; names: string[] }
  | { t: 'var'; pos: number; name: string; slot: number; names: string[] }
  | { t: 'dot'; pos: number }
  | { t: 'nil'; pos: number }
  | { t: 'bool'; pos: number; v: boolean }
  | { t: 'number'; pos: number; text: string; int: bigint | null; float: number | null; floatSyntax: boolean }
  | { t: 'string'; pos: number; v: string }
  | { t: 'ident'; pos: number; name: string }
  | { t: 'pipe'; pos: number; pipe: Pipe }
  | { t: 'chain'; pos: number; node: Operand; names: string[] };

export type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pos: number; pipe: Pipe }
  | BranchNode
  | { t: 'break' | 'continue'; pos: number };

export interface BranchNode {
  t: 'if' | 'with' | 'range';
  pos: number;
  pipe: Pipe;
  list: Node[];
  elseList: Node[] | null;
}

export interface Parsed {
  root: Node[];
  /** Number of variable slots (slot 0 is `$`). */
  slots: number;
}

// ---- lexer -------------------------------------------------------------------------------

type TokType =
  | 'text' | 'ldelim' | 'rdelim' | 'space' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'achar'
  | 'string' | 'raw' | 'char' | 'number' | 'bool' | 'nil' | 'dot' | 'field' | 'variable' | 'ident' | 'kw' | 'eof' | 'error';

interface Tok {
  type: TokType;
  val: string;
  pos: number;
}

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);

function describeRune(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  const n = src.length;
  const err = (msg: string, at: number): void => {
    toks.push({ type: 'error', val: msg, pos: at });
  };
  const trimSpaceAfter = (): void => {
    while (pos < n && isSpace(src[pos])) pos++;
  };
  const rightTrimAt = (p: number): boolean => isSpace(src[p]) && src[p + 1] === '-' && src.startsWith('}}', p + 2);
  for (;;) {
    // text
    const open = src.indexOf('{{', pos);
    const textEnd = open < 0 ? n : open;
    let text = src.slice(pos, textEnd);
    const leftTrim = open >= 0 && src[open + 2] === '-' && isSpace(src[open + 3]);
    if (leftTrim) text = text.replace(/[ \t\r\n]+$/, '');
    if (text) toks.push({ type: 'text', val: text, pos });
    if (open < 0) {
      toks.push({ type: 'eof', val: '', pos: n });
      return toks;
    }
    pos = open + 2 + (leftTrim ? 2 : 0);
    // comment
    if (src.startsWith('/*', pos)) {
      const close = src.indexOf('*/', pos + 2);
      if (close < 0) {
        err('unclosed comment', open);
        return toks;
      }
      pos = close + 2;
      if (rightTrimAt(pos)) {
        pos += 4;
        trimSpaceAfter();
      } else if (src.startsWith('}}', pos)) {
        pos += 2;
      } else {
        err('comment ends before closing delimiter', open);
        return toks;
      }
      continue;
    }
    toks.push({ type: 'ldelim', val: '{{', pos: open });
    let parens = 0;
    // inside action
    for (;;) {
      if (rightTrimAt(pos) || src.startsWith('}}', pos)) {
        if (parens > 0) {
          err('unclosed left paren', pos);
          return toks;
        }
        const trim = !src.startsWith('}}', pos);
        toks.push({ type: 'rdelim', val: '}}', pos });
        pos += trim ? 4 : 2;
        if (trim) trimSpaceAfter();
        break;
      }
      if (pos >= n) {
        err('unclosed action', pos);
        return toks;
      }
      const start = pos;
      const c = src[pos]!;
      if (isSpace(c)) {
        while (pos < n && isSpace(src[pos]) && !rightTrimAt(pos)) pos++;
        if (pos === start) pos++; // cannot happen: rightTrimAt handled above
        toks.push({ type: 'space', val: src.slice(start, pos), pos: start });
        continue;
      }
      switch (c) {
        case '|': pos++; toks.push({ type: 'pipe', val: '|', pos: start }); continue;
        case '(': pos++; parens++; toks.push({ type: 'lparen', val: '(', pos: start }); continue;
        case ')':
          pos++;
          parens--;
          if (parens < 0) {
            err('unexpected right paren', start);
            return toks;
          }
          toks.push({ type: 'rparen', val: ')', pos: start });
          continue;
        case ',': pos++; toks.push({ type: 'comma', val: ',', pos: start }); continue;
        case '=': pos++; toks.push({ type: 'assign', val: '=', pos: start }); continue;
        case ':':
          if (src[pos + 1] !== '=') {
            err('expected :=', start);
            return toks;
          }
          pos += 2;
          toks.push({ type: 'declare', val: ':=', pos: start });
          continue;
        case '"': case "'": {
          pos++;
          while (pos < n && src[pos] !== c) {
            if (src[pos] === '\\') pos++;
            if (src[pos] === '\n' || pos >= n) break;
            pos++;
          }
          if (pos >= n || src[pos] !== c) {
            err(c === '"' ? 'unterminated quoted string' : 'unterminated character constant', start);
            return toks;
          }
          pos++;
          toks.push({ type: c === '"' ? 'string' : 'char', val: src.slice(start, pos), pos: start });
          continue;
        }
        case '`': {
          const close = src.indexOf('`', pos + 1);
          if (close < 0) {
            err('unterminated raw quoted string', start);
            return toks;
          }
          pos = close + 1;
          toks.push({ type: 'raw', val: src.slice(start, pos), pos: start });
          continue;
        }
        default:
          break;
      }
      const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';
      if (c === '+' || c === '-' || isDigit(c) || (c === '.' && isDigit(src[pos + 1]))) {
        let digits = '0123456789_';
        if (src[start] === '+' || src[start] === '-') pos = start + 1;
        if (src[pos] === '0' && /[xXoObB]/.test(src[pos + 1] ?? '')) {
          const p = src[pos + 1]!.toLowerCase();
          digits = p === 'x' ? '0123456789abcdefABCDEF_' : p === 'o' ? '01234567_' : '01_';
          pos += 2;
        }
        while (pos < n && digits.includes(src[pos]!)) pos++;
        if (src[pos] === '.') {
          pos++;
          while (pos < n && digits.includes(src[pos]!)) pos++;
        }
        const expCh = digits.length > 20 ? 'pP' : 'eE';
        if (src[pos] !== undefined && expCh.includes(src[pos]!)) {
          pos++;
          if (src[pos] === '+' || src[pos] === '-') pos++;
          while (pos < n && '0123456789_'.includes(src[pos]!)) pos++;
        }
        if (src[pos] === 'i') pos++;
        if (isAlnum(src[pos]) || src[pos] === '.') {
          while (pos < n && (isAlnum(src[pos]) || src[pos] === '.')) pos++;
          err(`bad number syntax: "${src.slice(start, pos)}"`, start);
          return toks;
        }
        toks.push({ type: 'number', val: src.slice(start, pos), pos: start });
        continue;
      }
      if (c === '.' || c === '$' || isAlnum(c)) {
        pos++;
        while (pos < n && isAlnum(src[pos])) pos++;
        const word = src.slice(start, pos);
        const after = src[pos];
        if (!(pos >= n || isSpace(after) || after === '.' || after === ',' || after === '|' || after === ':' || after === ')' || after === '(' || after === '}' || after === '=')) {
          err(`bad character ${describeRune(String.fromCodePoint(src.codePointAt(pos)!))}`, pos);
          return toks;
        }
        if (c === '.') toks.push({ type: word === '.' ? 'dot' : 'field', val: word, pos: start });
        else if (c === '$') toks.push({ type: 'variable', val: word, pos: start });
        else if (KEYWORDS.has(word)) toks.push({ type: 'kw', val: word, pos: start });
        else if (word === 'true' || word === 'false') toks.push({ type: 'bool', val: word, pos: start });
        else if (word === 'nil') toks.push({ type: 'nil', val: word, pos: start });
        else toks.push({ type: 'ident', val: word, pos: start });
        continue;
      }
      if (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f) {
        // Go emits other printable ASCII as a char item; the parser then rejects it in context.
        pos++;
        toks.push({ type: 'achar', val: c, pos: start });
        continue;
      }
      err(`unrecognized character in action: ${describeRune(String.fromCodePoint(src.codePointAt(pos)!))}`, start);
      return toks;
    }
  }
}

// ---- literal decoding ----------------------------------------------------------------------

/** strconv.Unquote for "..." and '...' tokens; null on invalid syntax. */
function unquote(tok: string): string | null {
  const q = tok[0]!;
  const body = tok.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === q) return null;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple = e === undefined ? undefined : GO_CHAR_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    switch (e) {
      case '"': case "'":
        if (e !== q) return null;
        out += e;
        break;
      case 'x': case 'u': case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) return null;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (e !== 'x' && cp >= 0xd800 && cp <= 0xdfff)) return null;
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default: {
        if (e !== undefined && e >= '0' && e <= '7') {
          const oct = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(oct)) return null;
          const v = parseInt(oct, 8);
          if (v > 255) return null;
          out += String.fromCharCode(v);
          i += 2;
          break;
        }
        return null;
      }
    }
  }
  return out;
}

/** Go's number node: integer and/or float value of a literal. */
function parseNumber(text: string): { int: bigint | null; float: number | null; floatSyntax: boolean } | null {
  if (text.endsWith('i')) return null; // complex constants are not supported
  const clean = text.replace(/_/g, '');
  const neg = clean.startsWith('-');
  const body = clean.replace(/^[+-]/, '');
  let int: bigint | null = null;
  let float: number | null = null;
  const isHex = /^0[xX]/.test(body);
  if (/^0[xX][0-9a-fA-F]+$|^0[oO][0-7]+$|^0[bB][01]+$|^[0-9]+$/.test(body)) {
    let b = body;
    if (/^0[0-7]+$/.test(b)) b = '0o' + b.slice(1);
    else if (/^0[0-9]+$/.test(b)) b = 'bad';
    if (b !== 'bad') {
      int = BigInt(b);
      if (neg) int = -int;
      if (int > 0x7fffffffffffffffn || int < -0x8000000000000000n) int = null;
    }
  }
  if (!isHex && /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(body)) {
    float = Number(body) * (neg ? -1 : 1);
  } else if (int !== null) {
    float = Number(int);
  }
  if (int === null && float !== null && Number.isInteger(float) && Math.abs(float) < 2 ** 63) {
    int = BigInt(float);
  }
  if (int === null && float === null) return null;
  return { int, float, floatSyntax: !isHex && /[.eE]/.test(body) };
}

// ---- parser ------------------------------------------------------------------------------

class Parser {
  private i = 0;
  private readonly toks: Tok[];
  private vars: Array<{ name: string; slot: number }> = [{ name: '$', slot: 0 }];
  slots = 1;
  private rangeDepth = 0;

  constructor(
    private readonly src: string,
    private readonly name: string,
    private readonly hasFunction: (name: string) => boolean,
  ) {
    this.toks = lex(src);
  }

  fail(msg: string, pos: number): never {
    let line = 1;
    let lastNl = -1;
    for (let k = 0; k < pos && k < this.src.length; k++) {
      if (this.src.charCodeAt(k) === 10) {
        line++;
        lastNl = k;
      }
    }
    throw new ParseError(`template: ${this.name}:${line}: ${msg}`, line, pos - lastNl);
  }

  private next(): Tok {
    const t = this.toks[this.i] ?? this.toks[this.toks.length - 1]!;
    if (this.i < this.toks.length) this.i++;
    if (t.type === 'error') this.fail(t.val, t.pos);
    return t;
  }
  private backup(k = 1): void {
    this.i -= k;
  }
  private peek(): Tok {
    const t = this.next();
    this.backup();
    return t;
  }
  private nextNonSpace(): Tok {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Tok {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private desc(t: Tok): string {
    if (t.type === 'eof') return 'EOF';
    if (t.type === 'kw') return `<${t.val}>`;
    if (t.type === 'space') return 'space';
    const v = t.val.length > 10 ? t.val.slice(0, 10) + '...' : t.val;
    return JSON.stringify(v);
  }
  private unexpected(t: Tok, context: string): never {
    this.fail(`unexpected ${this.desc(t)} in ${context}`, t.pos);
  }

  parse(): Node[] {
    const list: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'eof') return list;
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') {
        const tok = this.toks[this.lastDelim]!;
        this.fail(`unexpected {{${n}}}`, tok.pos);
      }
      if (n) list.push(n);
    }
  }

  private lastDelim = 0;

  /** Parses one text or action; returns the marker for {{end}} / {{else}}. */
  private textOrAction(): Node | 'end' | 'else' | null {
    const t = this.next();
    if (t.type === 'text') return { t: 'text', text: t.val };
    if (t.type === 'ldelim') {
      this.lastDelim = this.i - 1;
      return this.action();
    }
    return this.unexpected(t, 'input');
  }

  private expectRdelim(context: string): Tok {
    const t = this.nextNonSpace();
    if (t.type !== 'rdelim') this.unexpected(t, context);
    return t;
  }

  private action(): Node | 'end' | 'else' | null {
    const t = this.nextNonSpace();
    if (t.type === 'kw') {
      switch (t.val) {
        case 'block': case 'define': case 'template':
          this.fail(`{{${t.val}}} is not supported`, t.pos);
          break;
        case 'break': case 'continue':
          if (this.rangeDepth === 0) this.fail(`{{${t.val}}} outside {{range}}`, t.pos);
          this.expectRdelim(`{{${t.val}}}`);
          return { t: t.val, pos: t.pos };
        case 'else': {
          const p = this.peekNonSpace();
          if (!(p.type === 'kw' && (p.val === 'if' || p.val === 'with'))) this.expectRdelim('else');
          return 'else';
        }
        case 'end':
          this.expectRdelim('end');
          return 'end';
        case 'if': case 'with': case 'range':
          return this.control(t.val, t.pos);
      }
    }
    this.backup();
    const pos = this.peekNonSpace().pos;
    return { t: 'action', pos, pipe: this.pipeline('command', 'rdelim') };
  }

  private itemList(): [Node[], 'end' | 'else'] {
    const list: Node[] = [];
    for (;;) {
      const t = this.peekNonSpace();
      if (t.type === 'eof') this.fail('unexpected EOF', t.pos);
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') return [list, n];
      if (n) list.push(n);
    }
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'rdelim');
    if (kind === 'range') this.rangeDepth++;
    const [list, next] = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (next === 'else') {
      const p = this.peekNonSpace();
      if (p.type === 'kw' && (p.val === 'if' || p.val === 'with')) {
        if (p.val !== kind) this.unexpected(p, 'else');
        this.nextNonSpace();
        // "{{else if x}}" is "{{else}}{{if x}}...{{end}}{{end}}" sharing one {{end}}.
        elseList = [this.control(kind, p.pos)];
      } else {
        const [l, n2] = this.itemList();
        if (n2 !== 'end') this.fail('expected end; found {{else}}', this.toks[this.lastDelim]!.pos);
        elseList = l;
      }
    }
    this.vars.length = mark;
    return { t: kind, pos, pipe, list, elseList };
  }

  private declare(name: string): number {
    const slot = this.slots++;
    this.vars.push({ name, slot });
    return slot;
  }

  private lookupVar(name: string, pos: number): number {
    for (let k = this.vars.length - 1; k >= 0; k--) if (this.vars[k]!.name === name) return this.vars[k]!.slot;
    return this.fail(`undefined variable "${name}"`, pos);
  }

  private pipeline(context: string, end: 'rdelim' | 'rparen'): Pipe {
    const start = this.peekNonSpace();
    const pipe: Pipe = { pos: start.pos, decl: [], isAssign: false, cmds: [] };
    // declarations: $x := / $x = / $k, $v :=
    const pending: Tok[] = [];
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') break;
      const save = this.i;
      this.nextNonSpace();
      const nx = this.peekNonSpace();
      if (nx.type === 'declare' || nx.type === 'assign') {
        this.nextNonSpace();
        pipe.isAssign = nx.type === 'assign';
        pending.push(v);
        break;
      }
      if (nx.type === 'comma') {
        this.nextNonSpace();
        pending.push(v);
        if (context === 'range' && pending.length < 2) {
          const p = this.peekNonSpace();
          if (p.type === 'variable') continue;
          this.fail('range can only initialize variables', p.pos);
        }
        this.fail(`too many declarations in ${context}`, v.pos);
      }
      if (pending.length > 0) this.fail(`expected := after variables in ${context}`, nx.pos);
      this.i = save;
      break;
    }
    if (pending.length > 0 && pipe.isAssign) {
      for (const v of pending) pipe.decl.push({ name: v.val, slot: this.lookupVar(v.val, v.pos) });
    }
    const declaredLater = pending.length > 0 && !pipe.isAssign ? pending : [];
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, t.pos);
        for (let k = 1; k < pipe.cmds.length; k++) {
          const a0 = pipe.cmds[k]!.args[0]!;
          if (a0.t === 'bool' || a0.t === 'dot' || a0.t === 'nil' || a0.t === 'number' || a0.t === 'string') {
            this.fail(`non executable command in pipeline stage ${k + 1}`, a0.pos);
          }
        }
        // Declared variables become visible after their pipeline (Go pushes them at parse time too).
        for (const v of declaredLater) pipe.decl.push({ name: v.val, slot: this.declare(v.val) });
        return pipe;
      }
      switch (t.type) {
        case 'bool': case 'char': case 'dot': case 'field': case 'ident': case 'number': case 'nil':
        case 'raw': case 'string': case 'variable': case 'lparen':
          this.backup();
          pipe.cmds.push(this.command(end));
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private command(end: 'rdelim' | 'rparen'): Cmd {
    const first = this.peekNonSpace();
    const cmd: Cmd = { pos: first.pos, end: first.pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      cmd.end = t.pos;
      if (t.type === 'space') continue;
      if (t.type === 'rdelim' || t.type === 'rparen') {
        if (t.type !== end) this.unexpected(t, 'operand');
        this.backup();
      } else if (t.type === 'pipe') {
        const p = this.peekNonSpace();
        if (p.type === 'rdelim' || p.type === 'rparen') this.fail('missing command after |', p.pos);
      } else {
        this.unexpected(t, 'operand');
      }
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command', first.pos);
    return cmd;
  }

  private operand(): Operand | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().type !== 'field') return node;
    const names: string[] = [];
    while (this.peek().type === 'field') names.push(this.next().val.slice(1));
    switch (node.t) {
      case 'field': node.names.push(...names); return node;
      case 'var': node.names.push(...names); return node;
      case 'bool': case 'string': case 'number': case 'nil': case 'dot':
        return this.fail(`unexpected . after term ${JSON.stringify(this.src.slice(node.pos, this.toks[this.i - names.length]!.pos))}`, node.pos);
      default:
        return { t: 'chain', pos: node.pos, node, names };
    }
  }

  private term(): Operand | null {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'ident':
        if (!this.hasFunction(t.val)) this.fail(`function "${t.val}" not defined`, t.pos);
        return { t: 'ident', pos: t.pos, name: t.val };
      case 'dot': return { t: 'dot', pos: t.pos };
      case 'nil': return { t: 'nil', pos: t.pos };
      case 'variable': return { t: 'var', pos: t.pos, name: t.val, slot: this.lookupVar(t.val, t.pos), names: [] };
      case 'field': return { t: 'field', pos: t.pos, names: [t.val.slice(1)] };
      case 'bool': return { t: 'bool', pos: t.pos, v: t.val === 'true' };
      case 'char': {
        const s = unquote(t.val);
        const cps = s === null ? [] : [...s];
        if (s === null || cps.length !== 1) this.fail(`malformed character constant: ${t.val}`, t.pos);
        const cp = BigInt(cps[0]!.codePointAt(0)!);
        return { t: 'number', pos: t.pos, text: t.val, int: cp, float: Number(cp), floatSyntax: false };
      }
      case 'number': {
        const num = parseNumber(t.val);
        if (!num) this.fail(`illegal number syntax: "${t.val}"`, t.pos);
        return { t: 'number', pos: t.pos, text: t.val, ...num };
      }
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rparen');
        return { t: 'pipe', pos: t.pos, pipe };
      }
      case 'string': {
        const s = unquote(t.val);
        if (s === null) this.fail('invalid syntax', t.pos);
        return { t: 'string', pos: t.pos, v: s };
      }
      case 'raw': return { t: 'string', pos: t.pos, v: t.val.slice(1, -1).replace(/\r/g, '') };
      default:
        this.backup();
        return null;
    }
  }
}

/** Parses `src`; `hasFunction` says which identifiers are callable. */
export function parseTemplate(src: string, name: string, hasFunction: (name: string) => boolean): Parsed {
  const p = new Parser(src, name, hasFunction);
  const root = p.parse();
  return { root, slots: p.slots };
}
