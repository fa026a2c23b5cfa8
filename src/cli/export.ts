/**
 * `export`: streams a whole time range (forward, every line) to JSONL, CSV or Parquet on
 * stdout, page by page, with a progress bar on stderr when stderr is a terminal. Parquet rows
 * are Loki's (util/parquet.ts), written a row group at a time, so memory stays bounded.
 */
import type { LokiClient } from './client.js';
import { pageRange, type MetricData, type PageEntry } from './query.js';
import { CliError } from './errors.js';
import { sortedLabels, labelSetString } from './output.js';
import { formatTime } from './time.js';

export type ExportFormat = 'jsonl' | 'csv' | 'parquet';

export interface ExportOptions {
  query: string;
  startNs: bigint;
  endNs: bigint;
  batch: number;
  format: ExportFormat;
  /** Writes output (bytes for Parquet); may return a promise to apply back-pressure. */
  write: (s: string | Uint8Array) => void | Promise<void>;
  /** Progress goes here when set (stderr on a TTY). */
  progress: ((s: string) => void) | null;
  /** Terminal width for the bar. */
  columns: number;
}

/** RFC 4180 field. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
}

function human(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return (u === 0 ? String(v) : v.toFixed(1)) + units[u];
}

/** The bar: `[#####.....]  42% 12,345 lines 3.2MB`. */
export function progressLine(fraction: number, lines: number, bytes: number, columns: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const tail = ` ${(f * 100).toFixed(0).padStart(3)}% ${lines.toLocaleString('en-US')} lines ${human(bytes)}`;
  const width = Math.max(10, Math.min(50, columns - tail.length - 3));
  const done = Math.round(f * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]${tail}`;
}

/** Returns the number of lines written. */
export async function exportRange(c: LokiClient, o: ExportOptions): Promise<number> {
  if (o.format === 'csv') await o.write('timestamp,ts_ns,labels,line\n');
  // Loaded only for Parquet: the writer is not worth its start-up cost for the other formats.
  const pq = o.format === 'parquet' ? await import('../util/parquet.js') : null;
  const parquet = pq ? new pq.ParquetRowWriter('logs') : null;
  const rowGroupRows = pq ? pq.PARQUET_ROW_GROUP_ROWS : 0;
  let pending: { tsNs: bigint[]; labels: Record<string, string>[]; line: string[] } = { tsNs: [], labels: [], line: [] };
  const flushParquet = async (): Promise<void> => {
    if (!parquet || pending.tsNs.length === 0) return;
    parquet.writeLogs(pending);
    pending = { tsNs: [], labels: [], line: [] };
    await o.write(parquet.take());
  };
  let lines = 0;
  let bytes = 0;
  let lastDraw = 0;
  const span = Number(o.endNs - o.startNs) || 1;
  const draw = (tsNs: bigint, force: boolean): void => {
    if (!o.progress) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    o.progress('\r' + progressLine(Number(tsNs - o.startNs) / span, lines, bytes, o.columns));
  };
  await pageRange(
    c,
    { query: o.query, startNs: o.startNs, endNs: o.endNs, limit: 0, batch: o.batch, forward: true, stepNs: 0n, quiet: true, includeLabels: [], excludeLabels: [], includeCommonLabels: true, fixedLabelsLen: 0 },
    {
      onMetric(_d: MetricData): void {
        throw new CliError('export needs a log query (a stream selector and a pipeline), not a metric query');
      },
      async onEntries(entries: PageEntry[]): Promise<void> {
        let chunk = '';
        if (parquet) {
          for (const e of entries) {
            pending.tsNs.push(e.tsNs);
            pending.labels.push(e.labels);
            pending.line.push(e.line);
            bytes += Buffer.byteLength(e.line);
          }
          lines += entries.length;
          if (pending.tsNs.length >= rowGroupRows) await flushParquet();
          draw(entries[entries.length - 1]!.tsNs, false);
          return;
        }
        for (const e of entries) {
          const ts = formatTime(e.tsNs, 'UTC', true);
          if (o.format === 'jsonl') chunk += JSON.stringify({ timestamp: ts, ts_ns: e.tsNs.toString(), labels: sortedLabels(e.labels), line: e.line }) + '\n';
          else chunk += `${ts},${e.tsNs},${csvField(labelSetString(e.labels))},${csvField(e.line)}\n`;
          bytes += Buffer.byteLength(e.line);
        }
        lines += entries.length;
        await o.write(chunk);
        draw(entries[entries.length - 1]!.tsNs, false);
      },
    },
  );
  if (parquet) {
    await flushParquet();
    await o.write(parquet.finish());
  }
  draw(o.endNs, true);
  if (o.progress) o.progress('\n');
  return lines;
}
