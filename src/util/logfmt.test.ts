import { describe, expect, it } from 'vitest';
import { jsonLineToLogfmt, logfmtValue } from './logfmt.js';

/** go-logfmt's decoding of one line (the reference reader for what is written here). */
function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(line)) !== null) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    consumed += m[0].length + 1;
  }
  expect(consumed - 1).toBe(line.trimEnd().length); // every byte belongs to a pair
  return out;
}

describe('jsonLineToLogfmt', () => {
  it('writes level, ts, component and msg first, then the fields, quoting where needed', () => {
    const line = JSON.stringify({ level: 'warn', time: Date.UTC(2024, 4, 1, 12, 0, 0, 123), app: 'silt', component: 'ruler', target: 'Alertmanager http://am:9093', err: 'connect ECONNREFUSED 127.0.0.1:9093', n: 3, ok: false, msg: 'sending alerts failed' }) + '\n';
    const out = jsonLineToLogfmt(line);
    expect(out).toBe(
      'level=warn ts=2024-05-01T12:00:00.123Z app=silt component=ruler msg="sending alerts failed" target="Alertmanager http://am:9093" err="connect ECONNREFUSED 127.0.0.1:9093" n=3 ok=false\n',
    );
    expect(parseLogfmt(out)).toMatchObject({ level: 'warn', msg: 'sending alerts failed', err: 'connect ECONNREFUSED 127.0.0.1:9093', n: '3' });
  });

  it('keeps one line per record: newlines, quotes and = are escaped, errors give their message and stack', () => {
    const err = new Error('two\nlines "quoted" a=b');
    const line = JSON.stringify({ level: 'error', time: 0, msg: 'x', err: { type: 'Error', message: err.message, stack: err.stack, code: 'E1' }, nested: { a: { b: 1 } }, list: ['all', 'ruler'], empty: '' });
    const out = jsonLineToLogfmt(line);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.slice(0, -1)).not.toContain('\n');
    const kv = parseLogfmt(out);
    expect(kv['err']).toBe('two\nlines "quoted" a=b');
    expect(kv['err.code']).toBe('E1');
    expect(kv['stack']).toContain('logfmt.test.ts');
    expect(kv['nested.a.b']).toBe('1');
    expect(kv['list']).toBe('all,ruler');
    expect(kv['empty']).toBe('');
    expect(kv['level']).toBe('error');
  });

  it('names numeric levels and passes non-JSON through', () => {
    expect(jsonLineToLogfmt('{"level":30,"msg":"hi"}')).toBe('level=info msg=hi\n');
    expect(jsonLineToLogfmt('not json')).toBe('not json\n');
    expect(logfmtValue('plain')).toBe('plain');
    expect(logfmtValue('a b')).toBe('"a b"');
    expect(logfmtValue('back\\slash')).toBe('"back\\\\slash"');
  });
});
