/**
 * Loki's Parquet row shapes (pkg/querier/queryrange/parquet.go), written with hyparquet-writer
 * (ADR 0020). Used by `query_range` with `Accept: application/vnd.apache.parquet` and by
 * `siltcli export --format parquet`, so both write the same file layout:
 *
 * - logs: one row per entry `{timestamp INT64 TIMESTAMP(NANOS, UTC), labels MAP<STRING,STRING>,
 *   line STRING}`, the line column LZ4_RAW-compressed (Loki's `lz4` tag);
 * - metrics: one row per sample `{timestamp INT64 TIMESTAMP(MILLIS, UTC), labels
 *   MAP<STRING,STRING>, value DOUBLE}`.
 *
 * Timestamps are bigint from the caller to the file: nanoseconds exceed 2^53.
 */
import * as lz4 from 'lz4-napi';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';

/** Loki's `ParquetType`: the Accept value that asks for Parquet, and the answer's Content-Type. */
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Rows per row group: bounds the writer's memory while keeping columns long enough to compress. */
export const PARQUET_ROW_GROUP_ROWS = 100_000;

/** Columns of log rows; all three arrays have one element per entry. */
export interface LogColumns {
  tsNs: bigint[];
  /** Label name to value; rows of one stream may share one object. */
  labels: Record<string, string>[];
  line: string[];
}

/** Columns of metric rows; one element per sample. */
export interface MetricColumns {
  tsMs: bigint[];
  labels: Record<string, string>[];
  value: number[];
}

// hyparquet-writer's schema elements (parquet-format's SchemaElement, as plain objects).
type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

/** Loki's `labels map[string]string` as parquet-go writes it: a required MAP of required strings. */
const LABELS_MAP: readonly SchemaElement[] = [
  { name: 'labels', repetition_type: 'REQUIRED', converted_type: 'MAP', logical_type: { type: 'MAP' }, num_children: 1 },
  { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
  { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' },
  { name: 'value', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' },
];

const LOG_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 3 },
  { name: 'timestamp', type: 'INT64', repetition_type: 'REQUIRED', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'NANOS' } },
  ...LABELS_MAP,
  { name: 'line', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' },
];

const METRIC_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 3 },
  { name: 'timestamp', type: 'INT64', repetition_type: 'REQUIRED', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' } },
  ...LABELS_MAP,
  { name: 'value', type: 'DOUBLE', repetition_type: 'REQUIRED' },
];

/**
 * Parquet's LZ4_RAW is a bare LZ4 block; lz4-napi's block output carries a u32 size prefix
 * first, which is dropped here (a view, no copy).
 */
function lz4Raw(input: Uint8Array): Uint8Array {
  const out = lz4.compressSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  return out.subarray(4);
}

const CREATED_BY = 'silt (hyparquet-writer)';

/**
 * One Parquet file written row group by row group. `take()` hands out the bytes encoded since
 * the last call, so a long export streams out instead of growing one buffer; the file is
 * complete once `finish()`'s bytes are written after everything taken before.
 */
export class ParquetRowWriter {
  private readonly bytes = new ByteWriter(1 << 20);
  private readonly writer: ParquetWriter;
  private readonly kind: 'logs' | 'metrics';
  private readonly rowGroupRows: number;

  /** `rowGroupRows`: most rows per row group (tests make it small). */
  constructor(kind: 'logs' | 'metrics', rowGroupRows = PARQUET_ROW_GROUP_ROWS) {
    this.kind = kind;
    this.rowGroupRows = rowGroupRows;
    this.writer = new ParquetWriter({
      writer: this.bytes,
      schema: kind === 'logs' ? LOG_SCHEMA : METRIC_SCHEMA,
      codec: 'SNAPPY',
      compressors: { LZ4_RAW: lz4Raw },
      createdBy: CREATED_BY,
    });
  }

  /** Appends log rows as row groups of at most `rowGroupRows` (nothing for no rows). */
  writeLogs(c: LogColumns): void {
    if (this.kind !== 'logs') throw new TypeError('writeLogs on a metrics Parquet writer');
    if (c.tsNs.length === 0) return;
    void this.writer.write({
      rowGroupSize: this.rowGroupRows,
      columnData: [
        { name: 'timestamp', data: c.tsNs, encoding: 'DELTA_BINARY_PACKED' },
        { name: 'labels', data: c.labels },
        { name: 'line', data: c.line, codec: 'LZ4_RAW' },
      ],
    });
  }

  /** Appends metric rows (see writeLogs). */
  writeMetrics(c: MetricColumns): void {
    if (this.kind !== 'metrics') throw new TypeError('writeMetrics on a logs Parquet writer');
    if (c.tsMs.length === 0) return;
    void this.writer.write({
      rowGroupSize: this.rowGroupRows,
      columnData: [
        { name: 'timestamp', data: c.tsMs, encoding: 'DELTA_BINARY_PACKED' },
        { name: 'labels', data: c.labels },
        { name: 'value', data: Float64Array.from(c.value) },
      ],
    });
  }

  /** The bytes encoded since the last take (a copy; the internal buffer is reused). */
  take(): Buffer {
    const out = Buffer.from(this.bytes.getBytes());
    this.bytes.index = 0;
    return out;
  }

  /** Writes the footer and returns the last bytes of the file. */
  finish(): Buffer {
    void this.writer.finish();
    const tail = this.take();
    return this.writer.num_rows === 0n ? fixEmptyRowGroups(tail) : tail;
  }
}

/**
 * hyparquet-writer 0.17 writes the empty `row_groups` list of a file without rows with
 * element type 0 (it guesses the type from the first element), which strict Thrift readers
 * (arrow-rs: "Expected list element type of Struct but got Byte") reject. This sets the type
 * to struct (12). The footer holds only our fixed schemas, whose names contain no control
 * bytes, so `num_rows = 0` (0x16 0x00) followed by an empty list header for field 4
 * (0x19 0x00) occurs once. `tail` must end with the whole footer (it does: finish() returns
 * everything written since the last row group, and there was none).
 */
function fixEmptyRowGroups(tail: Buffer): Buffer {
  const mdLen = tail.readUInt32LE(tail.length - 8);
  const mdStart = tail.length - 8 - mdLen;
  const at = tail.indexOf(Buffer.from([0x16, 0x00, 0x19, 0x00]), mdStart);
  if (mdStart < 0 || at < 0 || at >= tail.length - 8) throw new Error('parquet: unexpected footer of an empty file');
  tail[at + 3] = 0x0c;
  return tail;
}

/** A whole Parquet file of log rows. */
export function encodeLogsParquet(c: LogColumns): Buffer {
  const w = new ParquetRowWriter('logs');
  w.writeLogs(c);
  return Buffer.concat([w.take(), w.finish()]);
}

/** A whole Parquet file of metric rows. */
export function encodeMetricsParquet(c: MetricColumns): Buffer {
  const w = new ParquetRowWriter('metrics');
  w.writeMetrics(c);
  return Buffer.concat([w.take(), w.finish()]);
}
