/**
 * Compiles the parsed template into closures. Executing is a walk over small functions that
 * return strings; the label map is only materialised when `.`/`$` is used as a value.
 */
import { FUNCS, TIME_METHODS, type Kind } from './funcs.js';
import { GoTime } from './gotime.js';
import type { BranchNode, Cmd, Node, Operand, Parsed, Pipe } from './parse.js';
import { BREAK, CONTINUE, ROOT, TemplateExecError, type ExecState } from './types.js';
import { fmtV, isMap, labelMaps, sortedKeys, truth, typeName, type Obj } from './values.js';

type Emit = (st: ExecState) => string;
type Eval = (st: ExecState) => unknown;
/** A command: `final` is the previous pipeline stage's value, or MISSING. */
type CmdEval = (st: ExecState, final: unknown) => unknown;

const MISSING: unique symbol = Symbol('missing');

/** The label map as a value (`.`, `$`, `index . "x"`, ranges). */
function materialise(st: ExecState, v: unknown): unknown {
  if (v !== ROOT) return v;
  if (st.root === undefined) {
    st.root = { ...st.ctx.labels() };
    labelMaps.add(st.root);
  }
  return st.root;
}

/** text/template's printValue for an action's result. */
function printValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '<no value>';
  return fmtV(v);
}

const KIND_NAMES: Record<Kind, string> = { s: 'string', i: 'int', f: 'float64', a: 'interface {}', t: 'time.Time' };

export class Compiler {
  /** Label names read through `.name` on the root dot or `$.name`. */
  readonly refs = new Set<string>();
  /** True when the label map is used as a whole (so refs are not exhaustive). */
  opaque = false;

  constructor(
    private readonly src: string,
    private readonly name: string,
  ) {}

  /** Go's `template: NAME:LINE:COL: executing "NAME" at <CTX>: ` prefix. */
  private where(pos: number, end: number): string {
    return this.whereText(pos, this.src.slice(pos, end).trim());
  }

  /** The same prefix with the node's text given: Go names the identifier or field node for some errors. */
  private whereText(pos: number, ctx: string): string {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < pos; k++) {
      if (this.src.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
    return `template: ${this.name}:${line}:${pos - lineStart}: executing "${this.name}" at <${ctx}>: `;
  }

  compile(parsed: Parsed): (ctx: ExecState['ctx']) => string {
    const body = this.list(parsed.root, true);
    const slots = parsed.slots;
    if (slots === 1) {
      return (ctx) => body({ ctx, dot: ROOT, vars: [ROOT], ctl: 0, root: undefined });
    }
    return (ctx) => {
      const vars: unknown[] = new Array(slots);
      vars[0] = ROOT;
      return body({ ctx, dot: ROOT, vars, ctl: 0, root: undefined });
    };
  }

  // ---- nodes ------------------------------------------------------------------------------

  private list(nodes: readonly Node[], dotRoot: boolean): Emit {
    const fns: Emit[] = [];
    let text = '';
    for (const n of nodes) {
      if (n.t === 'text') {
        text += n.text;
        continue;
      }
      if (text) {
        const t = text;
        fns.push(() => t);
        text = '';
      }
      fns.push(this.node(n, dotRoot));
    }
    if (text) {
      const t = text;
      fns.push(() => t);
    }
    const len = fns.length;
    if (len === 0) return () => '';
    if (len === 1) return fns[0]!;
    if (len === 2) {
      const [a, b] = fns as [Emit, Emit];
      return (st) => {
        const x = a(st);
        return st.ctl !== 0 ? x : x + b(st);
      };
    }
    if (len === 3) {
      const [a, b, c] = fns as [Emit, Emit, Emit];
      return (st) => {
        let x = a(st);
        if (st.ctl !== 0) return x;
        x += b(st);
        if (st.ctl !== 0) return x;
        return x + c(st);
      };
    }
    return (st) => {
      let out = '';
      for (let i = 0; i < len; i++) {
        out += fns[i]!(st);
        if (st.ctl !== 0) break;
      }
      return out;
    };
  }

  private node(n: Exclude<Node, { t: 'text' }>, dotRoot: boolean): Emit {
    switch (n.t) {
      case 'action': {
        const pipe = n.pipe;
        // Fast path: {{.name}} on the label map.
        const only = pipe.cmds.length === 1 && pipe.decl.length === 0 ? pipe.cmds[0]! : null;
        const a0 = only && only.args.length === 1 ? only.args[0]! : null;
        if (dotRoot && a0 && a0.t === 'field' && a0.names.length === 1) {
          const name = a0.names[0]!;
          this.refs.add(name);
          return (st) => st.ctx.get(name) ?? '';
        }
        const ev = this.pipe(pipe, dotRoot);
        if (pipe.decl.length > 0) {
          return (st) => {
            ev(st);
            return '';
          };
        }
        return (st) => printValue(ev(st));
      }
      case 'if': {
        const cond = this.pipe(n.pipe, dotRoot);
        const body = this.list(n.list, dotRoot);
        const els = n.elseList ? this.list(n.elseList, dotRoot) : null;
        return (st) => (truth(cond(st)) ? body(st) : els ? els(st) : '');
      }
      case 'with': {
        const cond = this.pipe(n.pipe, dotRoot);
        const body = this.list(n.list, false);
        const els = n.elseList ? this.list(n.elseList, dotRoot) : null;
        return (st) => {
          const v = cond(st);
          if (!truth(v)) return els ? els(st) : '';
          const saved = st.dot;
          st.dot = v;
          const out = body(st);
          st.dot = saved;
          return out;
        };
      }
      case 'range':
        return this.range(n, dotRoot);
      case 'break':
        return (st) => {
          st.ctl = BREAK;
          return '';
        };
      case 'continue':
        return (st) => {
          st.ctl = CONTINUE;
          return '';
        };
    }
  }

  private range(n: BranchNode, dotRoot: boolean): Emit {
    const val = this.pipe({ ...n.pipe, decl: [] }, dotRoot);
    const body = this.list(n.list, false);
    const els = n.elseList ? this.list(n.elseList, dotRoot) : null;
    const decl = n.pipe.decl;
    const kSlot = decl.length === 2 ? decl[0]!.slot : -1;
    const vSlot = decl.length === 2 ? decl[1]!.slot : decl.length === 1 ? decl[0]!.slot : -1;
    const where = this.where(n.pipe.pos, n.pipe.cmds[n.pipe.cmds.length - 1]!.end);
    return (st) => {
      const v = val(st);
      const saved = st.dot;
      let out = '';
      let ran = false;
      const one = (k: unknown, e: unknown): boolean => {
        ran = true;
        if (kSlot >= 0) st.vars[kSlot] = k;
        if (vSlot >= 0) st.vars[vSlot] = e;
        st.dot = e;
        out += body(st);
        const c = st.ctl;
        st.ctl = 0;
        return c === BREAK;
      };
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (one(BigInt(i), v[i])) break;
      } else if (isMap(v)) {
        const o = v as Obj;
        for (const k of sortedKeys(o)) if (one(k, o[k])) break;
      } else if (typeof v === 'bigint') {
        if (kSlot >= 0) throw new TemplateExecError(where + `can't use ${v} to iterate over more than one variable`);
        for (let i = 0n; i < v; i++) if (one(i, i)) break;
      } else if (v !== null && v !== undefined) {
        throw new TemplateExecError(where + `range can't iterate over ${fmtV(v)}`);
      }
      st.dot = saved;
      if (!ran && els) out += els(st);
      return out;
    };
  }

  // ---- pipelines ------------------------------------------------------------------------------

  private pipe(pipe: Pipe, dotRoot: boolean): Eval {
    const cmds = pipe.cmds.map((c) => this.cmd(c, dotRoot));
    let ev: Eval;
    if (cmds.length === 1) {
      const c0 = cmds[0]!;
      ev = (st) => c0(st, MISSING);
    } else {
      ev = (st) => {
        let v = cmds[0]!(st, MISSING);
        for (let i = 1; i < cmds.length; i++) v = cmds[i]!(st, v);
        return v;
      };
    }
    if (pipe.decl.length === 0) return ev;
    const slots = pipe.decl.map((d) => d.slot);
    return (st) => {
      const v = ev(st);
      for (const s of slots) st.vars[s] = v;
      return v;
    };
  }

  private cmd(cmd: Cmd, dotRoot: boolean): CmdEval {
    const where = this.where(cmd.pos, cmd.end);
    const a0 = cmd.args[0]!;
    const rest = cmd.args.slice(1);
    switch (a0.t) {
      case 'ident':
        // Go reports a wrong argument count at the identifier, `error calling` at the command.
        return this.call(a0.name, rest, dotRoot, where, this.whereText(a0.pos, a0.name));
      case 'field':
        return this.fieldChain(this.dotEval(dotRoot, true), a0.names, rest, dotRoot, this.whereText(a0.pos, '.' + a0.names.join('.')), dotRoot);
      case 'var':
        if (a0.names.length > 0) {
          return this.fieldChain(this.varEval(a0.slot, true), a0.names, rest, dotRoot, this.whereText(a0.pos, [a0.name, ...a0.names].join('.')), a0.slot === 0);
        }
        return this.notAFunction(this.varEval(a0.slot, false), rest, where, a0);
      case 'chain':
        return this.fieldChain(this.value(a0.node, dotRoot), a0.names, rest, dotRoot, where, false);
      case 'pipe':
        return this.notAFunction(this.pipe(a0.pipe, dotRoot), rest, where, a0);
      case 'dot':
        return this.notAFunction(this.dotEval(dotRoot, false), rest, where, a0);
      case 'nil':
        return () => {
          throw new TemplateExecError(where + 'nil is not a command');
        };
      default: {
        const c = constValue(a0);
        return this.notAFunction(() => c, rest, where, a0);
      }
    }
  }

  private opText(op: Operand): string {
    return op.t === 'pipe' ? '(pipeline)' : op.t === 'string' ? JSON.stringify(op.v) : op.t === 'number' ? op.text : op.t === 'bool' ? String(op.v) : op.t === 'dot' ? '.' : op.t === 'var' ? op.name : op.t;
  }

  private notAFunction(ev: Eval, rest: readonly Operand[], where: string, a0: Operand): CmdEval {
    const msg = `can't give argument to non-function ${this.opText(a0)}`;
    if (rest.length > 0) {
      return () => {
        throw new TemplateExecError(where + msg);
      };
    }
    return (st, final) => {
      if (final !== MISSING) throw new TemplateExecError(where + msg);
      return ev(st);
    };
  }

  /** Dot as a receiver (raw ROOT) or as a value (materialised). */
  private dotEval(dotRoot: boolean, receiver: boolean): Eval {
    if (!receiver) {
      if (dotRoot) this.opaque = true;
      return dotRoot ? (st) => materialise(st, ROOT) : (st) => materialise(st, st.dot);
    }
    return dotRoot ? () => ROOT : (st) => st.dot;
  }

  private varEval(slot: number, receiver: boolean): Eval {
    if (slot === 0 && !receiver) this.opaque = true;
    if (receiver) return (st) => st.vars[slot];
    return (st) => materialise(st, st.vars[slot]);
  }

  /** `.a.b args...` on a receiver; only the last name receives the arguments. */
  private fieldChain(recv: Eval, names: readonly string[], rest: readonly Operand[], dotRoot: boolean, where: string, recvIsRoot: boolean): CmdEval {
    if (recvIsRoot && names[0] !== undefined) this.refs.add(names[0]);
    const argEvals = rest.map((op) => this.value(op, dotRoot));
    const last = names.length - 1;
    return (st, final) => {
      let v = recv(st);
      for (let i = 0; i < last; i++) v = field(st, v, names[i]!, null, where);
      // Arguments are evaluated only once the field turns out to be a method (Go's evalField).
      let args: (() => unknown[]) | null = null;
      if (argEvals.length > 0 || final !== MISSING) {
        args = () => {
          const a = argEvals.map((e) => e(st));
          if (final !== MISSING) a.push(final);
          return a;
        };
      }
      return field(st, v, names[last]!, args, where);
    };
  }

  /** An operand evaluated as a value (no arguments). */
  private value(op: Operand, dotRoot: boolean): Eval {
    switch (op.t) {
      case 'dot': return this.dotEval(dotRoot, false);
      case 'var':
        if (op.names.length === 0) return this.varEval(op.slot, false);
        break;
      case 'nil': return () => null;
      case 'bool': case 'string': case 'number': {
        const c = constValue(op);
        return () => c;
      }
      case 'pipe': return this.pipe(op.pipe, dotRoot);
      default: break;
    }
    const c = this.cmd({ pos: op.pos, end: op.pos + 1, args: [op] }, dotRoot);
    return (st) => c(st, MISSING);
  }

  /** An operand evaluated as an argument of a parameter of kind `kind`. */
  private arg(op: Operand, kind: Kind | undefined, dotRoot: boolean, where: string): Eval {
    const k = kind ?? 'a';
    const err = (msg: string): Eval => () => {
      throw new TemplateExecError(where + msg);
    };
    switch (op.t) {
      case 'string':
        if (k === 's' || k === 'a') {
          const v = op.v;
          return () => v;
        }
        return err(k === 'i' ? `expected integer; found ${JSON.stringify(op.v)}` : k === 'f' ? `expected float; found ${JSON.stringify(op.v)}` : `can't handle ${JSON.stringify(op.v)} for arg of type time.Time`);
      case 'number': {
        if (k === 'i') {
          if (op.int === null || op.floatSyntax) return err(`expected integer; found ${op.text}`);
          const v = op.int;
          return () => v;
        }
        if (k === 'f') {
          const v = op.float ?? Number(op.int);
          return () => v;
        }
        if (k === 'a') {
          const v = constValue(op);
          return () => v;
        }
        return err(k === 's' ? `expected string; found ${op.text}` : `can't handle ${op.text} for arg of type time.Time`);
      }
      case 'bool':
        if (k === 'a') {
          const v = op.v;
          return () => v;
        }
        return err(k === 's' ? `expected string; found ${op.v}` : k === 'i' ? `expected integer; found ${op.v}` : k === 'f' ? `expected float; found ${op.v}` : `can't handle ${op.v} for arg of type time.Time`);
      case 'nil':
        if (k === 'a') return () => null;
        return err(`cannot assign nil to ${KIND_NAMES[k]}`);
      default: {
        const ev = this.value(op, dotRoot);
        if (k === 'a') return ev;
        return (st) => checkKind(ev(st), k, where);
      }
    }
  }

  private call(name: string, argOps: readonly Operand[], dotRoot: boolean, where: string, whereIdent: string = where): CmdEval {
    const spec = FUNCS.get(name)!;
    const n = argOps.length;
    const kindAt = (i: number): Kind | undefined => (i < spec.params.length ? spec.params[i] : spec.variadic);
    const argEvals = argOps.map((op, i) => this.arg(op, kindAt(i), dotRoot, where));
    const countErr = (got: number): string | null => {
      const want = spec.params.length;
      if (spec.variadic !== undefined) return got < want ? `wrong number of args for ${name}: want at least ${want} got ${got}` : null;
      return got !== want ? `wrong number of args for ${name}: want ${want} got ${got}` : null;
    };
    const errWithout = countErr(n);
    const errWith = countErr(n + 1);
    const finalKind = kindAt(n);
    if (spec.lazy) return this.lazy(spec.lazy, argEvals, errWithout, errWith, whereIdent);
    const fn = spec.fn;
    return (st, final) => {
      const hasFinal = final !== MISSING;
      const cerr = hasFinal ? errWith : errWithout;
      if (cerr !== null) throw new TemplateExecError(whereIdent + cerr);
      const args: unknown[] = new Array(hasFinal ? n + 1 : n);
      for (let i = 0; i < n; i++) args[i] = argEvals[i]!(st);
      if (hasFinal) args[n] = finalKind === 'a' || finalKind === undefined ? materialise(st, final) : checkKind(final, finalKind, where);
      try {
        return fn(args, st);
      } catch (e) {
        if (e instanceof TemplateExecError) throw e;
        throw new TemplateExecError(where + `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  }

  private lazy(kind: 'and' | 'or', argEvals: Eval[], errWithout: string | null, errWith: string | null, where: string): CmdEval {
    const isAnd = kind === 'and';
    return (st, final) => {
      const hasFinal = final !== MISSING;
      const cerr = hasFinal ? errWith : errWithout;
      if (cerr !== null) throw new TemplateExecError(where + cerr);
      let v: unknown;
      for (const e of argEvals) {
        v = e(st);
        if (truth(v) !== isAnd) return v;
      }
      return hasFinal ? final : v;
    };
  }
}

function constValue(op: Operand): unknown {
  switch (op.t) {
    case 'string': return op.v;
    case 'bool': return op.v;
    case 'number':
      // Go's idealConstant: float syntax gives float64, otherwise int.
      if (op.int !== null && !op.floatSyntax) return op.int;
      return op.float ?? Number(op.int);
    default: return null;
  }
}

function checkKind(v: unknown, k: Kind, where: string): unknown {
  switch (k) {
    case 's': if (typeof v === 'string') return v; break;
    case 'i': if (typeof v === 'bigint') return v; break;
    case 'f': if (typeof v === 'number') return v; break;
    case 't': if (v instanceof GoTime) return v; break;
    default: return v;
  }
  if (v === null || v === undefined) throw new TemplateExecError(where + `invalid value; expected ${KIND_NAMES[k]}`);
  throw new TemplateExecError(where + `wrong type for value; expected ${KIND_NAMES[k]}; got ${typeName(v === ROOT ? {} : v)}`);
}

/** Field or method `name` on `v`; `args` non-null when arguments were given (evaluated on demand). */
function field(st: ExecState, v: unknown, name: string, args: (() => unknown[]) | null, where: string): unknown {
  if (v === ROOT) {
    if (args) throw new TemplateExecError(where + `${name} is not a method but has arguments`);
    return st.ctx.get(name) ?? '';
  }
  if (v instanceof GoTime) {
    const m = TIME_METHODS.get(name);
    if (!m) throw new TemplateExecError(where + `can't evaluate field ${name} in type time.Time`);
    const a = args === null ? [] : args();
    if (a.length !== m.params.length) throw new TemplateExecError(where + `wrong number of args for ${name}: want ${m.params.length} got ${a.length}`);
    for (let i = 0; i < a.length; i++) checkKind(a[i], m.params[i]!, where);
    return m.fn(v, a);
  }
  if (isMap(v)) {
    if (args) throw new TemplateExecError(where + `${name} is not a method but has arguments`);
    if (Object.prototype.hasOwnProperty.call(v, name)) return (v as Obj)[name];
    return labelMaps.has(v) ? '' : undefined;
  }
  if (v === null || v === undefined) throw new TemplateExecError(where + `nil pointer evaluating interface {}.${name}`);
  throw new TemplateExecError(where + `can't evaluate field ${name} in type ${typeName(v)}`);
}

