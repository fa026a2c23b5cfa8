/** Writes index segments: one immutable object per (tenant, day) per flush. */
import { InvalidError } from '../../errors.js';
import type { Labels } from '../../model/labels.js';
import { isFingerprint, validateChunkRef, validateTenant } from '../chunk-ref.js';
import type { ChunkRef } from '../chunk-ref.js';
import type { ObjectClient } from '../object-client.js';
import { IO_CONCURRENCY, MAX_CHUNK_SPAN_DAYS } from './consts.js';
import { dayOf, segmentKey } from './keys.js';
import { encodeSegment } from './segment.js';
import type { SegmentSeriesInput } from './segment.js';
import { mapLimit } from '../map-limit.js';

/** A series as the index stores it. */
export interface SeriesEntry {
  /** 16 hex digits; the same value the chunk refs carry. */
  fingerprint: string;
  /** Sorted by name, names unique. */
  labels: Labels;
}

const WRITER_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** Stable identity of a chunk within one tenant: the ref fields that name its object. */
export function refIdentity(r: ChunkRef): string {
  return `${r.fingerprint}:${r.fromNs}:${r.throughNs}:${r.checksum}`;
}

/**
 * Writes segments at `index/<day>/<tenant>/<writerId>-<seq>.idx`. Sequence numbers are the
 * wall-clock time in µs (bumped to stay strictly increasing), so a restarted writer with the
 * same id never overwrites an earlier segment. One instance per writer id at a time.
 */
export class IndexWriter {
  readonly writerId: string;
  readonly #client: ObjectClient;
  #lastSeq = 0;

  constructor(client: ObjectClient, writerId: string) {
    if (!WRITER_ID_RE.test(writerId) || writerId === '.' || writerId === '..') {
      throw new InvalidError(`invalid index writer id "${writerId}": want 1-128 of [A-Za-z0-9_.-]`);
    }
    this.#client = client;
    this.writerId = writerId;
  }

  #nextSeq(): number {
    this.#lastSeq = Math.max(this.#lastSeq + 1, Math.floor((performance.timeOrigin + performance.now()) * 1000));
    return this.#lastSeq;
  }

  /**
   * Writes one segment per (tenant, day) touched by `refs`; a chunk spanning several days goes
   * into each day's segment. Every ref must belong to `tenant` and to a fingerprint listed in
   * `series` (series without refs are skipped). Duplicate refs are stored once. Throws
   * InvalidError for bad input, before writing anything.
   */
  async writeSegments(tenant: string, series: readonly SeriesEntry[], refs: readonly ChunkRef[]): Promise<void> {
    await this.writeSegmentsWithKeys(tenant, series, refs);
  }

  /** `writeSegments`, returning the keys written in day order (for tests and tooling). */
  async writeSegmentsWithKeys(tenant: string, series: readonly SeriesEntry[], refs: readonly ChunkRef[]): Promise<string[]> {
    validateTenant(tenant);
    const labelsByFp = new Map<string, Labels>();
    for (const s of series) {
      if (!isFingerprint(s.fingerprint)) throw new InvalidError(`invalid series fingerprint "${s.fingerprint}"`);
      checkLabels(s);
      const had = labelsByFp.get(s.fingerprint);
      if (had !== undefined && !sameLabels(had, s.labels)) {
        throw new InvalidError(`fingerprint ${s.fingerprint} given with two different label sets`);
      }
      labelsByFp.set(s.fingerprint, s.labels);
    }

    // day → fingerprint → refs (deduplicated)
    const days = new Map<number, Map<string, Map<string, ChunkRef>>>();
    for (const r of refs) {
      validateChunkRef(r);
      if (r.tenant !== tenant) throw new InvalidError(`chunk ref of tenant "${r.tenant}" in a write for tenant "${tenant}"`);
      if (!labelsByFp.has(r.fingerprint)) throw new InvalidError(`chunk ref for series ${r.fingerprint} without labels`);
      const first = dayOf(r.fromNs);
      const last = dayOf(r.throughNs);
      if (last - first >= MAX_CHUNK_SPAN_DAYS) {
        throw new InvalidError(`chunk of series ${r.fingerprint} spans ${last - first + 1} days (limit ${MAX_CHUNK_SPAN_DAYS})`);
      }
      const id = refIdentity(r);
      for (let d = first; d <= last; d++) {
        let byFp = days.get(d);
        if (byFp === undefined) days.set(d, (byFp = new Map()));
        let byId = byFp.get(r.fingerprint);
        if (byId === undefined) byFp.set(r.fingerprint, (byId = new Map()));
        byId.set(id, r);
      }
    }

    const jobs = [...days.keys()]
      .sort((a, b) => a - b)
      .map((day) => {
        const byFp = days.get(day)!;
        const input: SegmentSeriesInput[] = [];
        for (const [fp, byId] of byFp) input.push({ fingerprint: fp, labels: labelsByFp.get(fp)!, refs: [...byId.values()] });
        return { key: segmentKey(tenant, day, this.writerId, this.#nextSeq()), body: encodeSegment({ tenant, day, series: input }) };
      });
    await mapLimit(jobs, IO_CONCURRENCY, (j) => this.#client.put(j.key, j.body));
    return jobs.map((j) => j.key);
  }
}

function checkLabels(s: SeriesEntry): void {
  for (let i = 0; i < s.labels.length; i++) {
    const l = s.labels[i]!;
    if (l.name === '') throw new InvalidError(`series ${s.fingerprint} has an empty label name`);
    if (i > 0 && !(s.labels[i - 1]!.name < l.name)) {
      throw new InvalidError(`series ${s.fingerprint} labels are not sorted by name with unique names`);
    }
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  return true;
}
