/**
 * Template values and Go's fmt rules for them.
 *
 * Value model (Go type → JS): string → string, int/int64 → bigint, float64 → number, bool → boolean,
 * nil → null/undefined, time.Time → GoTime, []interface{} → Array, map → plain object.
 * The label map handed to `execute` is recorded in `labelMaps` so missing keys read as "" like
 * Go's map[string]string, while JSON maps (fromJson) give nil.
 */
import { GoTime } from './gotime.js';
import { quote as goQuote } from '../../util/go/strings.js';

/** Plain objects that stand for the template's label map (map[string]string). */
export const labelMaps = new WeakSet<object>();

export type Obj = Record<string, unknown>;

export function isMap(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoTime);
}

/** Go type name for error messages. */
export function typeName(v: unknown): string {
  switch (typeof v) {
    case 'string': return 'string';
    case 'bigint': return 'int';
    case 'number': return 'float64';
    case 'boolean': return 'bool';
    case 'undefined': return '<nil>';
    default:
      if (v === null) return '<nil>';
      if (v instanceof GoTime) return 'time.Time';
      if (Array.isArray(v)) return '[]interface {}';
      if (typeof v === 'object' && labelMaps.has(v)) return 'map[string]string';
      return 'map[string]interface {}';
  }
}

/** Go's template truth (text/template IsTrue). */
export function truth(v: unknown): boolean {
  switch (typeof v) {
    case 'string': return v.length > 0;
    case 'boolean': return v;
    case 'bigint': return v !== 0n;
    case 'number': return v !== 0;
    case 'undefined': return false;
    default:
      if (v === null) return false;
      if (v instanceof GoTime) return true;
      if (Array.isArray(v)) return v.length > 0;
      if (typeof v === 'object') {
        for (const _ in v) return true;
        return false;
      }
      return true;
  }
}

export function sortedKeys(o: Obj): string[] {
  return Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- floats --------------------------------------------------------------------------------

/** Decimal digits (no trailing zeros) and decimal point position for |x|, rounded to `prec` significant digits or shortest. */
function decimalDigits(x: number, prec: number): { d: string; dp: number } {
  const e = prec < 0 ? Math.abs(x).toExponential() : Math.abs(x).toExponential(Math.max(prec - 1, 0));
  const [mant, exp] = e.split('e') as [string, string];
  let d = mant.replace('.', '').replace(/0+$/, '');
  if (d === '') d = '0';
  return { d, dp: Number(exp) + 1 };
}

function expStr(exp: number): string {
  const a = Math.abs(exp);
  return (exp < 0 ? '-' : '+') + (a < 10 ? '0' + a : String(a));
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in e, E, f, g, G (prec -1: shortest). */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const neg = x < 0 || Object.is(x, -0) ? '-' : '';
  const ax = Math.abs(x);
  if (fmt === 'f' || fmt === 'F') {
    if (prec < 0) {
      const { d, dp } = decimalDigits(ax, -1);
      if (ax === 0) return neg + '0';
      const ip = dp <= 0 ? '0' : d.slice(0, dp).padEnd(dp, '0');
      const fp = dp < 0 ? '0'.repeat(-dp) + d : d.slice(Math.max(dp, 0));
      return neg + ip + (fp ? '.' + fp : '');
    }
    return neg + (ax < 1e21 ? ax.toFixed(Math.min(prec, 100)) : BigInt(Math.round(ax)).toString() + (prec > 0 ? '.' + '0'.repeat(prec) : ''));
  }
  if (fmt === 'e' || fmt === 'E') {
    const p = prec < 0 ? -1 : prec + 1;
    const dd = decimalDigits(ax, p);
    const d = dd.d;
    const dp = ax === 0 ? 1 : dd.dp;
    const digits = prec < 0 ? d : d.padEnd(prec + 1, '0');
    const s = digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + expStr(dp - 1);
    return neg + (fmt === 'E' ? s.toUpperCase() : s);
  }
  // g / G
  const shortest = prec < 0;
  let p = prec === 0 ? 1 : prec;
  const { d, dp: dp0 } = decimalDigits(ax, shortest ? -1 : p);
  const dp = ax === 0 ? 1 : dp0;
  if (shortest) p = d.length;
  let eprec = p;
  if (eprec > d.length && d.length >= dp) eprec = d.length;
  if (shortest) eprec = 6;
  const exp = dp - 1;
  let s: string;
  if (exp < -4 || exp >= eprec) {
    s = d[0] + (d.length > 1 ? '.' + d.slice(1) : '') + 'e' + expStr(exp);
  } else if (dp <= 0) {
    s = '0.' + '0'.repeat(-dp) + d;
  } else if (dp >= d.length) {
    s = d + '0'.repeat(dp - d.length);
  } else {
    s = d.slice(0, dp) + '.' + d.slice(dp);
  }
  return neg + (fmt === 'G' ? s.toUpperCase() : s);
}

// ---- %v --------------------------------------------------------------------------------------

/** fmt's %v. */
export function fmtV(v: unknown): string {
  switch (typeof v) {
    case 'string': return v;
    case 'bigint': return v.toString();
    case 'number': return formatFloat(v, 'g', -1);
    case 'boolean': return v ? 'true' : 'false';
    case 'undefined': return '<nil>';
    default: {
      if (v === null) return '<nil>';
      if (v instanceof GoTime) return v.toString();
      if (Array.isArray(v)) return '[' + v.map(fmtV).join(' ') + ']';
      if (typeof v === 'object') {
        const o = v as Obj;
        return 'map[' + sortedKeys(o).map((k) => k + ':' + fmtV(o[k])).join(' ') + ']';
      }
      return String(v);
    }
  }
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += fmtV(a);
  }
  return out;
}

export function sprintln(args: readonly unknown[]): string {
  return args.map(fmtV).join(' ') + '\n';
}

// ---- quoting ----------------------------------------------------------------------------------

/** strconv.Quote. */
export { goQuote };

// ---- printf -----------------------------------------------------------------------------------

interface Spec {
  minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean;
  width: number; prec: number;
}

function runeLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

function padStr(s: string, sp: Spec, zeroOK = false): string {
  const n = runeLen(s);
  if (sp.width <= n) return s;
  const fill = sp.width - n;
  if (sp.minus) return s + ' '.repeat(fill);
  if (sp.zero && zeroOK) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function truncRunes(s: string, n: number): string {
  if (n < 0) return s;
  let out = '';
  let k = 0;
  for (const ch of s) {
    if (k++ >= n) break;
    out += ch;
  }
  return out;
}

// eslint-disable-next-line no-control-regex
const CANT_BACKQUOTE = /[`\x00-\x08\x0a-\x1f\x7f]/;

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${fmtV(v)})`;
}

function hexOf(s: string, upper: boolean, sp: Spec): string {
  const b = Buffer.from(s, 'utf8');
  let h = '';
  for (let i = 0; i < b.length; i++) {
    if (sp.space && i > 0) h += ' ';
    if (sp.sharp && (sp.space || i === 0)) h += upper ? '0X' : '0x';
    h += b[i]!.toString(16).padStart(2, '0');
  }
  return upper ? h.toUpperCase() : h;
}

function fmtInt(v: bigint, verb: string, sp: Spec): string {
  let digits: string;
  const neg = v < 0n;
  const a = neg ? -v : v;
  let prefix = '';
  switch (verb) {
    case 'd': case 'v': digits = a.toString(10); break;
    case 'b': digits = a.toString(2); if (sp.sharp) prefix = '0b'; break;
    case 'o': digits = a.toString(8); if (sp.sharp) prefix = '0'; break;
    case 'O': digits = a.toString(8); prefix = '0o'; break;
    case 'x': digits = a.toString(16); if (sp.sharp) prefix = '0x'; break;
    case 'X': digits = a.toString(16).toUpperCase(); if (sp.sharp) prefix = '0X'; break;
    case 'c': return padStr(String.fromCodePoint(Number(v)), sp);
    case 'q': return padStr(goQuote(String.fromCodePoint(Number(v)), "'"), sp);
    case 'U': return padStr('U+' + a.toString(16).toUpperCase().padStart(4, '0'), sp);
    default: return badVerb(verb, v);
  }
  if (sp.prec >= 0) {
    if (sp.prec === 0 && a === 0n) digits = '';
    digits = digits.padStart(sp.prec, '0');
  }
  const sign = neg ? '-' : sp.plus ? '+' : sp.space ? ' ' : '';
  const body = prefix + digits;
  if (sp.zero && !sp.minus && sp.prec < 0 && sp.width > 0) {
    const fill = sp.width - sign.length - body.length;
    return sign + prefix + (fill > 0 ? '0'.repeat(fill) : '') + digits;
  }
  return padStr(sign + body, sp);
}

function fmtFloatVerb(v: number, verb: string, sp: Spec): string {
  let f: string;
  switch (verb) {
    case 'v': case 'g': case 'G': f = formatFloat(v, verb === 'G' ? 'G' : 'g', sp.prec); break;
    case 'e': case 'E': f = formatFloat(v, verb, sp.prec < 0 ? 6 : sp.prec); break;
    case 'f': case 'F': f = formatFloat(v, 'f', sp.prec < 0 ? 6 : sp.prec); break;
    default: return badVerb(verb, v);
  }
  if (sp.plus && f[0] !== '-' && f[0] !== '+') f = '+' + f;
  else if (sp.space && f[0] !== '-' && f[0] !== '+') f = ' ' + f;
  if (f === '+Inf' && !sp.plus) f = sp.space ? ' Inf' : '+Inf';
  return padStr(f, sp, Number.isFinite(v));
}

function fmtArg(v: unknown, verb: string, sp: Spec): string {
  if (verb === 'T') return padStr(v === null || v === undefined ? '<nil>' : typeName(v), sp);
  switch (typeof v) {
    case 'bigint': return fmtInt(v, verb, sp);
    case 'number': return fmtFloatVerb(v, verb, sp);
    case 'boolean': return verb === 't' || verb === 'v' ? padStr(v ? 'true' : 'false', sp) : badVerb(verb, v);
    case 'string':
      switch (verb) {
        case 'v': case 's': return padStr(truncRunes(v, sp.prec), sp);
        case 'q': return padStr(sp.sharp && !CANT_BACKQUOTE.test(v) ? '`' + v + '`' : goQuote(truncRunes(v, sp.prec)), sp);
        case 'x': case 'X': return padStr(hexOf(truncRunes(v, sp.prec), verb === 'X', sp), sp);
        default: return badVerb(verb, v);
      }
    default:
      if (v === null || v === undefined) return verb === 'v' || verb === 's' ? padStr('<nil>', sp) : badVerb(verb, v);
      if (v instanceof GoTime) {
        const s = v.toString();
        if (verb === 'v' || verb === 's') return padStr(truncRunes(s, sp.prec), sp);
        if (verb === 'q') return padStr(goQuote(s), sp);
        return badVerb(verb, v);
      }
      if (Array.isArray(v)) return padStr('[' + v.map((x) => fmtArg(x, verb, { ...sp, width: 0 })).join(' ') + ']', sp);
      if (typeof v === 'object') {
        const o = v as Obj;
        return padStr('map[' + sortedKeys(o).map((k) => fmtArg(k, verb, { ...sp, width: 0 }) + ':' + fmtArg(o[k], verb, { ...sp, width: 0 })).join(' ') + ']', sp);
      }
      return padStr(String(v), sp);
  }
}

/** fmt.Sprintf with Go's verbs, flags, width/precision (incl. `*`) and error forms. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  const n = format.length;
  let i = 0;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const sp: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, width: -1, prec: -1 };
    flags: while (i < n) {
      switch (format[i]) {
        case '-': sp.minus = true; sp.zero = false; break;
        case '+': sp.plus = true; break;
        case '#': sp.sharp = true; break;
        case ' ': sp.space = true; break;
        case '0': sp.zero = !sp.minus; break;
        default: break flags;
      }
      i++;
    }
    let bad = false;
    if (format[i] === '*') {
      i++;
      const w = args[argi++];
      if (typeof w === 'bigint') {
        sp.width = Number(w);
        if (sp.width < 0) {
          sp.minus = true;
          sp.zero = false;
          sp.width = -sp.width;
        }
      } else bad = true;
      if (bad) out += '%!(BADWIDTH)';
    } else {
      let w = '';
      while (i < n && format[i]! >= '0' && format[i]! <= '9') w += format[i++];
      if (w) sp.width = Number(w);
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argi++];
        if (typeof p === 'bigint' && p >= 0n) sp.prec = Number(p);
        else out += '%!(BADPREC)';
      } else {
        let p = '';
        while (i < n && format[i]! >= '0' && format[i]! <= '9') p += format[i++];
        sp.prec = p ? Number(p) : 0;
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const v = args[argi++];
    out += fmtArg(v, verb, sp);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${fmtV(a)}`)).join(', ') + ')';
  }
  return out;
}
