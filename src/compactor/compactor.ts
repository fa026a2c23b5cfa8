/**
 * The compactor role (a singleton, `-target=compactor`, part of `all`): every
 * `compaction_interval` it compacts each (tenant, day) index table into one segment, merges
 * small chunks, applies retention and processes due delete requests, then sweeps markers
 * older than `retention_delete_delay`. Runs never overlap.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WorkerBlockSealer, type BlockSealer, type ChunkOptions, type Codec } from '../chunk/index.js';
import type { LimitsConfig, SiltConfig } from '../config/config.js';
import { SiltError } from '../errors.js';
import { INDEX_PREFIX, type ObjectClient } from '../storage/index.js';
import { describeError } from '../util/delivery-log.js';
import { COMPACTOR_WRITER_PREFIX, DAY_MS } from './consts.js';
import { deletionMetrics, type DeletionMetrics } from './metrics.js';
import { TenantDeleter } from './delete-filter.js';
import { ruleOf, type DeleteRequest, type DeleteRequestsStore } from './delete-requests.js';
import { sweepMarkers, type SweepResult } from './markers.js';
import { TenantRetention } from './retention.js';
import { chunkSettingsTag, compactTable, CrossDayChunks, emptyTableResult, type CompactionStep, type Recompression, type TableResult } from './table.js';

export type CompactorConfig = SiltConfig['compactor'];

/** What the compactor needs; constructed only by the app. */
export interface CompactorDeps {
  cfg: CompactorConfig;
  /** Chunk settings of rewritten chunks (codec, block size, and the default merge target). */
  ingester: Pick<SiltConfig['ingester'], 'chunk_encoding' | 'chunk_block_size' | 'chunk_target_size' | 'chunk_retain_period' | 'flush_check_period'>;
  limits: (tenant: string) => LimitsConfig;
  client: ObjectClient;
  deleteRequests: DeleteRequestsStore;
  logger: Logger;
  registry: Registry;
  nowMs?: () => number;
  /**
   * Compresses and filters the blocks of rewritten chunks. Absent: a worker thread of the
   * compactor's own (started on first use, stopped when idle), so that a day's recompression
   * never holds the event loop of a `-target=all` process; null: inline (tests).
   */
  sealer?: BlockSealer | null;
}

/** Options of one run (tests). */
export interface RunOptions {
  /** Called after each step of each table; a throw stops the run there. */
  onStep?: (tenant: string, day: number, step: CompactionStep) => void | Promise<void>;
  /** Skip the sweeper. */
  noSweep?: boolean;
  /**
   * Overrides how long after its first index write a chunk is left alone (default: the
   * ingester's chunk_retain_period + flush_check_period + 10 s; see TableJob.minChunkAgeMs).
   */
  minChunkAgeMs?: number;
}

/** Summary of one run. */
export interface RunResult {
  tables: number;
  tablesChanged: number;
  totals: Omit<TableResult, 'segmentOut'>;
  deleteRequestsProcessed: number;
  sweep: SweepResult | null;
  durationMs: number;
}

/** Slack beyond an ingester's retain period before the compactor touches a freshly indexed chunk. */
const YOUNG_CHUNK_MARGIN_MS = 10_000;

/** Lists `(tenant, day)` tables from `index/<day>/<tenant>/` prefixes. */
export async function listTables(client: ObjectClient): Promise<{ tenant: string; day: number }[]> {
  const out: { tenant: string; day: number }[] = [];
  const { prefixes } = await client.list(INDEX_PREFIX, '/');
  for (const p of prefixes) {
    const m = /^index\/(0|[1-9][0-9]{0,15})\/$/.exec(p);
    if (m === null) continue;
    const day = Number(m[1]);
    const sub = await client.list(p, '/');
    for (const t of sub.prefixes) out.push({ tenant: t.slice(p.length, -1), day });
  }
  out.sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.day - b.day));
  return out;
}

export class Compactor {
  readonly #deps: CompactorDeps;
  readonly #now: () => number;
  readonly #writerId = `${COMPACTOR_WRITER_PREFIX}-${randomBytes(4).toString('hex')}`;
  #lastSeq = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<RunResult> | null = null;
  readonly #m;
  readonly #deletion: DeletionMetrics;
  /** See CompactorDeps.sealer; owned (closed on stop) when the compactor made it. */
  readonly #sealer: BlockSealer | null;
  readonly #ownSealer: WorkerBlockSealer | null;

  constructor(deps: CompactorDeps) {
    this.#deps = deps;
    this.#now = deps.nowMs ?? Date.now;
    this.#ownSealer = deps.sealer === undefined ? new WorkerBlockSealer() : null;
    this.#sealer = deps.sealer === undefined ? this.#ownSealer : deps.sealer;
    const r = deps.registry;
    // Loki's compactor metrics (pkg/compactor/metrics.go) where a run is Loki's "compact tables
    // operation"; merged, expired and swept chunks have no Loki equivalent.
    this.#m = {
      runs: new Counter({ name: 'loki_boltdb_shipper_compact_tables_operation_total', help: 'Total number of tables compaction done by status (one per compaction run).', labelNames: ['status'], registers: [r] }),
      duration: new Gauge({ name: 'loki_boltdb_shipper_compact_tables_operation_duration_seconds', help: 'Time (in seconds) spent in compacting all the tables (the last successful run).', registers: [r] }),
      lastSuccess: new Gauge({ name: 'loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds', help: 'Unix timestamp of the last successful compaction run.', registers: [r] }),
      running: new Gauge({ name: 'loki_boltdb_shipper_compactor_running', help: 'Value will be 1 if compactor is currently running on this instance.', registers: [r] }),
      merged: new Counter({ name: 'silt_compactor_chunks_merged_total', help: 'Small chunks merged into larger ones.', registers: [r] }),
      recompressed: new Counter({ name: 'silt_compactor_chunks_recompressed_total', help: 'Chunks of old days rewritten with the recompression settings (compactor.recompress_after).', registers: [r] }),
      recompressedBytes: new Counter({ name: 'silt_compactor_recompressed_bytes_total', help: 'Compressed chunk bytes the recompression read (stage="before") and wrote (stage="after").', labelNames: ['stage'], registers: [r] }),
      expired: new Counter({ name: 'silt_compactor_chunks_expired_total', help: 'Chunks removed from the index by retention.', registers: [r] }),
      sweptChunks: new Counter({ name: 'silt_compactor_swept_chunks_total', help: 'Chunk objects deleted by the sweeper.', registers: [r] }),
    };
    this.#deletion = deletionMetrics(r);
  }

  /** Starts the periodic loop (first run right away). */
  start(): void {
    this.#m.running.set(1);
    const tick = (): void => {
      // A store failure is told by its cause; only an unexpected error (a bug) needs its stack.
      this.runOnce().catch((err: unknown) => this.#deps.logger.error({ err: err instanceof SiltError ? describeError(err) : err }, 'compaction run failed; will retry next interval'));
    };
    this.#timer = setInterval(tick, this.#deps.cfg.compaction_interval);
    this.#timer.unref();
    setImmediate(tick);
  }

  /** Stops the loop and waits for a running compaction. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#running) await this.#running.catch(() => undefined);
    await this.#ownSealer?.close();
    this.#m.running.set(0);
  }

  #nextSeq(): number {
    this.#lastSeq = Math.max(this.#lastSeq + 1, Math.floor((performance.timeOrigin + performance.now()) * 1000));
    return this.#lastSeq;
  }

  /** One full run; concurrent callers share the running one. */
  runOnce(opts: RunOptions = {}): Promise<RunResult> {
    if (this.#running) return this.#running;
    this.#running = this.#run(opts).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #run(opts: RunOptions): Promise<RunResult> {
    const t0 = performance.now();
    const { cfg, client, deleteRequests } = this.#deps;
    const nowMs = this.#now();
    const { segmentOut: _none, ...totals } = emptyTableResult();
    const result: RunResult = { tables: 0, tablesChanged: 0, totals, deleteRequestsProcessed: 0, sweep: null, durationMs: 0 };
    /** Lines deleted per tenant, counted when the run succeeds (as the other totals). */
    const deletedLines = new Map<string, number>();
    this.#deps.logger.debug('compaction run started');
    try {
      const tables = await listTables(client);
      const tenants = new Set(tables.map((t) => t.tenant));
      if (cfg.retention_enabled) for (const t of await deleteRequests.tenants()) tenants.add(t);
      const chunkOptions: ChunkOptions = {
        codec: this.#deps.ingester.chunk_encoding as Codec,
        blockSizeBytes: this.#deps.ingester.chunk_block_size,
        targetSizeBytes: cfg.merge_chunk_target_size > 0 ? cfg.merge_chunk_target_size : this.#deps.ingester.chunk_target_size,
        ...(this.#sealer !== null ? { sealer: this.#sealer } : {}),
      };
      const recompressOptions: ChunkOptions = {
        ...(this.#sealer !== null ? { sealer: this.#sealer } : {}),
        codec: cfg.recompress_chunk_encoding,
        blockSizeBytes: cfg.recompress_block_size,
        targetSizeBytes: chunkOptions.targetSizeBytes,
        ...(cfg.recompress_chunk_encoding === 'zstd' ? { zstdLevel: cfg.recompress_zstd_level } : {}),
      };
      const recompression: Recompression = { options: recompressOptions, tag: chunkSettingsTag(recompressOptions) };
      /** Days that ended at least recompress_after ago are recompressed (ADR 0038). */
      const recompressFor = (day: number): Recompression | null => (cfg.recompress_after > 0 && (day + 1) * DAY_MS + cfg.recompress_after <= nowMs ? recompression : null);
      for (const tenant of [...tenants].sort()) {
        const limits = this.#deps.limits(tenant);
        let retention: TenantRetention | null = null;
        let due: DeleteRequest[] = [];
        if (cfg.retention_enabled) {
          const r = new TenantRetention(limits);
          retention = r.disabled ? null : r;
          if (limits.deletion_mode === 'filter-and-delete') {
            due = (await deleteRequests.list(tenant, true)).filter((d) => d.status === 'received' && d.created_at + cfg.delete_request_cancel_period <= nowMs);
          }
        }
        const rules = [];
        for (const d of due) {
          try {
            rules.push(ruleOf(d));
          } catch (err) {
            // A stored query this version cannot parse: leave the request pending, keep compacting.
            this.#deps.logger.warn({ err, tenant, requestId: d.request_id }, 'skipping delete request with an unparsable query');
            due = due.filter((x) => x !== d);
          }
        }
        const deletes = rules.length > 0 ? new TenantDeleter(rules) : null;
        const crossDay = new CrossDayChunks();
        for (const { day } of tables.filter((t) => t.tenant === tenant)) {
          const r = await compactTable({
            client,
            tenant,
            day,
            writerId: this.#writerId,
            nextSeq: () => this.#nextSeq(),
            nowMs,
            chunkOptions,
            merge: cfg.merge_small_chunks,
            recompress: recompressFor(day),
            // Until the ingester has dropped its in-memory copy (see TableJob.minChunkAgeMs).
            minChunkAgeMs: opts.minChunkAgeMs ?? this.#deps.ingester.chunk_retain_period + this.#deps.ingester.flush_check_period + YOUNG_CHUNK_MARGIN_MS,
            retention,
            deletes,
            crossDay,
            ...(opts.onStep ? { onStep: (s: CompactionStep) => opts.onStep!(tenant, day, s) } : {}),
          });
          result.tables++;
          if (r.segmentOut !== null) result.tablesChanged++;
          for (const k of Object.keys(totals) as (keyof RunResult['totals'])[]) totals[k] += r[k];
          if (r.entriesDeleted > 0) deletedLines.set(tenant, (deletedLines.get(tenant) ?? 0) + r.entriesDeleted);
        }
        // Every table of the tenant now lacks the deleted lines.
        for (const d of due) {
          await deleteRequests.markProcessed(d);
          result.deleteRequestsProcessed++;
          this.#deletion.processed.inc({ user: tenant });
        }
      }
      if (!opts.noSweep) {
        result.sweep = await sweepMarkers(client, nowMs, cfg.retention_delete_delay);
        this.#m.sweptChunks.inc(result.sweep.chunksDeleted);
      }
      this.#m.merged.inc(totals.merged);
      this.#m.recompressed.inc(totals.recompressed);
      this.#m.recompressedBytes.inc({ stage: 'before' }, totals.recompressedBytesIn);
      this.#m.recompressedBytes.inc({ stage: 'after' }, totals.recompressedBytesOut);
      this.#m.expired.inc(totals.expired);
      for (const [user, n] of deletedLines) this.#deletion.deletedLines.inc({ user }, n);
      this.#m.runs.inc({ status: 'success' });
      this.#m.lastSuccess.set(Date.now() / 1000);
      this.#m.duration.set((performance.now() - t0) / 1000);
    } catch (err) {
      this.#m.runs.inc({ status: 'failure' });
      throw err;
    }
    result.durationMs = performance.now() - t0;
    if (result.tablesChanged > 0 || result.deleteRequestsProcessed > 0 || (result.sweep?.chunksDeleted ?? 0) > 0) {
      this.#deps.logger.info({ ...result, totals: { ...totals } }, 'compaction run finished');
    }
    return result;
  }
}
