/**
 * logfmt, the log format Loki writes by default (go-kit's logfmt logger):
 * `level=info ts=2024-05-01T12:00:00.123Z msg="HTTP server listening" addr=0.0.0.0:3100`.
 * `jsonLineToLogfmt` turns one pino JSON line into one logfmt line, so the logger keeps pino's
 * JSON path and `-log.format=logfmt` only changes what is written.
 */

/** Keys written first, in this order (Loki writes level, ts, caller, msg). */
const LEADING_KEYS = ['level', 'time', 'app', 'component', 'msg'] as const;
/** Nested objects are flattened to `a.b.c=`; deeper ones are written as JSON. */
const MAX_FLATTEN_DEPTH = 3;

/** A key as logfmt allows it: no spaces, `=`, quotes or control characters. */
function key(k: string): string {
  // eslint-disable-next-line no-control-regex
  const s = k.replace(/[\s="\x00-\x1f\x7f]/g, '_');
  return s === '' ? '_' : s;
}

/** A value, quoted (with Go-style escapes) when it holds spaces, `=`, quotes or control characters, or is empty. */
export function logfmtValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  return v === '' || /[\s="\\\x00-\x1f\x7f]/.test(v) ? JSON.stringify(v) : v;
}

function append(out: string[], k: string, v: unknown, depth: number): void {
  if (v === undefined) return;
  if (v === null) {
    out.push(`${key(k)}=null`);
    return;
  }
  switch (typeof v) {
    case 'string':
      out.push(`${key(k)}=${logfmtValue(v)}`);
      return;
    case 'number':
    case 'boolean':
    case 'bigint':
      out.push(`${key(k)}=${String(v)}`);
      return;
  }
  if (Array.isArray(v)) {
    const flat = v.every((x) => x === null || typeof x !== 'object');
    out.push(`${key(k)}=${logfmtValue(flat ? v.map(String).join(',') : JSON.stringify(v))}`);
    return;
  }
  const o = v as Record<string, unknown>;
  // pino's error serializer: { type, message, stack, ...fields }; the message is the value.
  if (typeof o['message'] === 'string' && typeof o['stack'] === 'string') {
    out.push(`${key(k)}=${logfmtValue(o['message'])}`);
    for (const [sk, sv] of Object.entries(o)) if (sk !== 'message' && sk !== 'type') append(out, sk === 'stack' ? 'stack' : `${k}.${sk}`, sv, depth + 1);
    return;
  }
  if (depth >= MAX_FLATTEN_DEPTH) {
    out.push(`${key(k)}=${logfmtValue(JSON.stringify(o))}`);
    return;
  }
  for (const [sk, sv] of Object.entries(o)) append(out, `${k}.${sk}`, sv, depth + 1);
}

/** Level numbers of pino, for lines logged with numeric levels. */
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * One pino JSON line (with or without its newline) as one logfmt line ending in `\n`:
 * `level`, then `ts` (RFC 3339, from pino's `time` in ms), `app`, `component`, `msg`, then the
 * other fields in their order. A line that is not a JSON object is passed through.
 */
export function jsonLineToLogfmt(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : line + '\n';
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return line.endsWith('\n') ? line : line + '\n';
  const out: string[] = [];
  const level = rec['level'];
  append(out, 'level', typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : level, 0);
  const time = rec['time'];
  if (typeof time === 'number') append(out, 'ts', new Date(time).toISOString(), 0);
  else append(out, 'ts', time, 0);
  for (const k of LEADING_KEYS.slice(2)) append(out, k, rec[k], 0);
  for (const [k, v] of Object.entries(rec)) if (!(LEADING_KEYS as readonly string[]).includes(k)) append(out, k, v, 0);
  return out.join(' ') + '\n';
}
