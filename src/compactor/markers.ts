/**
 * Retention markers, as Loki's compactor keeps them: chunks removed from the index are listed
 * in a marker object first, and the sweeper deletes the chunk objects once the marker is older
 * than `retention_delete_delay`, so queries that read the index just before the change can
 * still fetch them. Markers live in object storage (Loki's
 * `deletion_marker_object_store_prefix` mode), `compactor/markers/<createdMs>-<rand>.json`.
 *
 * A marker is written before the index change it announces. The sweeper therefore re-checks
 * every marked chunk against the current index and never deletes one that is still
 * referenced (after a crash between the marker and the index write, for example).
 */
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../errors.js';
import {
  chunkKey,
  dayOf,
  decodeSegment,
  dropSuperseded,
  refIdentity,
  SEGMENT_SUFFIX,
  tablePrefix,
  validateChunkRef,
  type ChunkRef,
  type ObjectClient,
  type Segment,
} from '../storage/index.js';
import { MARKERS_PREFIX, MAX_JSON_OBJECT_BYTES, MAX_KEYS_PER_MARKER } from './consts.js';

/** A marked chunk: enough of its ref to rebuild its key and find its index tables. */
type MarkedChunk = [tenant: string, fingerprint: string, fromNs: string, throughNs: string, checksum: number];

interface MarkerBody {
  created_ms: number;
  chunks: unknown[];
}

const MARKER_RE = /^compactor\/markers\/(\d{16})-[0-9a-f]{8}\.json$/;

/** Writes marker objects for chunks removed from the index. */
export async function writeMarkers(client: ObjectClient, refs: readonly ChunkRef[], nowMs: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < refs.length; i += MAX_KEYS_PER_MARKER) {
    const part = refs.slice(i, i + MAX_KEYS_PER_MARKER);
    const body: MarkerBody = {
      created_ms: nowMs,
      chunks: part.map((r): MarkedChunk => [r.tenant, r.fingerprint, r.fromNs.toString(), r.throughNs.toString(), r.checksum]),
    };
    const key = `${MARKERS_PREFIX}${String(nowMs).padStart(16, '0')}-${randomBytes(4).toString('hex')}.json`;
    await client.put(key, Buffer.from(JSON.stringify(body)));
    keys.push(key);
  }
  return keys;
}

/** Live segments of one table (superseded ones dropped). */
export async function loadTable(client: ObjectClient, tenant: string, day: number): Promise<{ all: Segment[]; live: Segment[]; modifiedMs: Map<string, number> }> {
  const { objects } = await client.list(tablePrefix(tenant, day), '/');
  const all: Segment[] = [];
  const modifiedMs = new Map<string, number>();
  for (const o of objects) {
    modifiedMs.set(o.key, o.modifiedMs);
    if (!o.key.endsWith(SEGMENT_SUFFIX)) continue;
    let body: Buffer;
    try {
      body = await client.get(o.key);
    } catch (e) {
      if (e instanceof NotFoundError) continue; // removed by a concurrent compaction
      throw e;
    }
    all.push(decodeSegment(body, o.key));
  }
  return { all, live: dropSuperseded(all), modifiedMs };
}

const DIGITS_RE = /^(0|[1-9][0-9]{0,18})$/;

/** The ref of a marker entry, or null when it is malformed. */
function markedRef(item: unknown): ChunkRef | null {
  if (!Array.isArray(item) || item.length !== 5) return null;
  const [tenant, fingerprint, from, through, checksum] = item as unknown[];
  if (typeof tenant !== 'string' || typeof fingerprint !== 'string' || typeof from !== 'string' || typeof through !== 'string' || typeof checksum !== 'number') return null;
  if (!DIGITS_RE.test(from) || !DIGITS_RE.test(through)) return null;
  const ref: ChunkRef = { tenant, fingerprint, fromNs: BigInt(from), throughNs: BigInt(through), checksum, sizeBytes: 0, entries: 0, uncompressedBytes: 0 };
  try {
    validateChunkRef(ref);
  } catch {
    return null;
  }
  return ref;
}

/** What one sweep did. */
export interface SweepResult {
  markersProcessed: number;
  chunksDeleted: number;
  /** Marked chunks still referenced by the index, so kept. */
  chunksKept: number;
}

/**
 * Deletes the chunks of every marker older than `delayMs`, then the marker. Idempotent: a
 * crash leaves the marker, and the next sweep repeats the (idempotent) deletes.
 */
export async function sweepMarkers(client: ObjectClient, nowMs: number, delayMs: number): Promise<SweepResult> {
  const res: SweepResult = { markersProcessed: 0, chunksDeleted: 0, chunksKept: 0 };
  const { objects } = await client.list(MARKERS_PREFIX);
  // Referenced chunk identities per table, loaded once per sweep.
  const tables = new Map<string, Set<string>>();
  const referenced = async (tenant: string, day: number): Promise<Set<string>> => {
    const k = `${tenant}/${day}`;
    let ids = tables.get(k);
    if (ids === undefined) {
      ids = new Set();
      for (const seg of (await loadTable(client, tenant, day)).live) {
        for (let i = 0; i < seg.seriesCount; i++) {
          for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) ids.add(refIdentity(seg.refAt(i, j)));
        }
      }
      tables.set(k, ids);
    }
    return ids;
  };
  for (const o of objects) {
    const m = MARKER_RE.exec(o.key);
    if (m === null || o.sizeBytes > MAX_JSON_OBJECT_BYTES) continue;
    if (Number(m[1]) + delayMs > nowMs) continue;
    let body: MarkerBody;
    try {
      body = JSON.parse((await client.get(o.key)).toString('utf8')) as MarkerBody;
    } catch (e) {
      if (e instanceof NotFoundError) continue;
      if (e instanceof SyntaxError) {
        await client.delete(o.key); // a torn or foreign object: nothing safe to do with it
        continue;
      }
      throw e;
    }
    for (const item of Array.isArray(body.chunks) ? body.chunks : []) {
      const ref = markedRef(item);
      if (ref === null) continue; // not written by us: never guess which object to delete
      const id = refIdentity(ref);
      let used = false;
      for (let d = dayOf(ref.fromNs); d <= dayOf(ref.throughNs) && !used; d++) used = (await referenced(ref.tenant, d)).has(id);
      if (used) {
        res.chunksKept++;
        continue;
      }
      await client.delete(chunkKey(ref));
      res.chunksDeleted++;
    }
    await client.delete(o.key);
    res.markersProcessed++;
  }
  return res;
}

/**
 * Of `refs`, the keys of the chunks whose index entry must not be written again: chunks some live
 * index segment already references, chunks a marker names (the compactor removed them from the
 * index, so they were indexed once), and chunks whose object is gone (swept after that). An
 * ingester replaying a flush mark whose index write it cannot confirm writes only the others, so
 * a chunk the compactor merged away is never brought back beside the chunk it became.
 */
export async function chunksNotToReindex(client: ObjectClient, refs: readonly ChunkRef[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (refs.length === 0) return out;
  const marked = new Set<string>();
  for (const o of (await client.list(MARKERS_PREFIX)).objects) {
    if (MARKER_RE.exec(o.key) === null || o.sizeBytes > MAX_JSON_OBJECT_BYTES) continue;
    let body: MarkerBody;
    try {
      body = JSON.parse((await client.get(o.key)).toString('utf8')) as MarkerBody;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof SyntaxError) continue;
      throw e;
    }
    for (const item of Array.isArray(body.chunks) ? body.chunks : []) {
      const ref = markedRef(item);
      if (ref !== null) marked.add(refIdentity(ref));
    }
  }
  const tables = new Map<string, Set<string>>();
  for (const ref of refs) {
    const id = refIdentity(ref);
    let skip = marked.has(id);
    for (let d = dayOf(ref.fromNs); d <= dayOf(ref.throughNs) && !skip; d++) {
      const k = `${ref.tenant}/${d}`;
      let ids = tables.get(k);
      if (ids === undefined) {
        ids = new Set();
        for (const seg of (await loadTable(client, ref.tenant, d)).live) {
          for (let i = 0; i < seg.seriesCount; i++) for (let j = seg.chunkStart[i]!; j < seg.chunkStart[i + 1]!; j++) ids.add(refIdentity(seg.refAt(i, j)));
        }
        tables.set(k, ids);
      }
      skip = ids.has(id);
    }
    if (!skip) {
      try {
        await client.getRange(chunkKey(ref), 0, 1);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        skip = true;
      }
    }
    if (skip) out.add(chunkKey(ref));
  }
  return out;
}
