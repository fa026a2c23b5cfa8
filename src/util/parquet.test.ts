import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { parquetMetadata } from 'hyparquet';
import { encodeMetricsParquet, ParquetRowWriter } from './parquet.js';

/** Reads with arrow-rs (parquet-wasm), independent of the writer. */
function read(file: Uint8Array): arrow.Table {
  return arrow.tableFromIPC(readParquet(file).intoIPCStream());
}

function int64s(t: arrow.Table, name: string): bigint[] {
  const out: bigint[] = [];
  for (const d of t.getChild(name)!.data) out.push(...(d.values as BigInt64Array));
  return out;
}

describe('ParquetRowWriter', () => {
  it('streams several row groups through take() into one file with every row, ns exact', () => {
    const w = new ParquetRowWriter('logs', 100);
    const parts: Buffer[] = [];
    const want: string[] = [];
    const base = 1_796_389_640_612_245_389n; // > 2^53
    let n = 0;
    // Two writes; the second spans more than one row group.
    for (const rows of [10, 257]) {
      const c = { tsNs: [] as bigint[], labels: [] as Record<string, string>[], line: [] as string[] };
      for (let i = 0; i < rows; i++, n++) {
        const labels = { app: `a${n % 3}`, pod: `p${n % 7}` };
        c.tsNs.push(base + BigInt(n));
        c.labels.push(labels);
        c.line.push(`line ${n} ✓`);
        want.push(`${base + BigInt(n)}|${labels.app}|${labels.pod}|line ${n} ✓`);
      }
      w.writeLogs(c);
      parts.push(w.take());
    }
    parts.push(w.finish());
    const file = Buffer.concat(parts);
    expect(parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.length)).row_groups.map((g) => Number(g.num_rows))).toEqual([10, 100, 100, 57]);
    const t = read(file);
    expect(t.numRows).toBe(n);
    const ts = int64s(t, 'timestamp');
    const got: string[] = [];
    for (let i = 0; i < t.numRows; i++) {
      const m = t.getChild('labels')!.get(i).toJSON() as Record<string, string>;
      got.push(`${ts[i]}|${m['app']}|${m['pod']}|${t.getChild('line')!.get(i)}`);
    }
    expect(got).toEqual(want);
  });

  it('a file without rows is valid (the empty row-group list fix)', () => {
    const cases: [Buffer, string[]][] = [
      [encodeMetricsParquet({ tsMs: [], labels: [], value: [] }), ['timestamp', 'labels', 'value']],
      [new ParquetRowWriter('logs').finish(), ['timestamp', 'labels', 'line']],
    ];
    for (const [file, names] of cases) {
      const t = read(file);
      expect(t.numRows).toBe(0);
      expect(t.schema.fields.map((f) => f.name)).toEqual(names);
    }
  });

  it('metric rows keep values and ms timestamps', () => {
    const t = read(encodeMetricsParquet({ tsMs: [1_700_000_000_000n, 1_700_000_015_000n], labels: [{ a: '1' }, {}], value: [0.5, Number.NaN] }));
    expect(int64s(t, 'timestamp')).toEqual([1_700_000_000_000n, 1_700_000_015_000n]);
    expect(t.getChild('labels')!.get(0).toJSON()).toEqual({ a: '1' });
    expect(t.getChild('labels')!.get(1).toJSON()).toEqual({});
    expect(t.getChild('value')!.get(0)).toBe(0.5);
    expect(t.getChild('value')!.get(1)).toBeNaN();
  });

  it('refuses rows of the other kind', () => {
    expect(() => new ParquetRowWriter('metrics').writeLogs({ tsNs: [1n], labels: [{}], line: ['x'] })).toThrow(TypeError);
  });
});
