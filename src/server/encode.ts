import { mergeLabels, type LogQueryResult, type ResultStream } from '../querier/querier.js';
import { labelsToObject, labelsToString } from '../model/index.js';

/** One encoded value and what orders it. */
interface Val {
  ts: bigint;
  /** The entry's merged labels as a string (its result stream's). */
  order: string;
  line: Buffer;
  s: string;
}

/**
 * Loki's `streams` result. Without categorize-labels, structured metadata joins the stream
 * labels (so entries with different metadata form different streams); with it, the stream
 * holds only indexed labels and each value carries `{"structuredMetadata": {...}}`.
 *
 * Streams come in the order of `streams` (sorted by merged labels); values by timestamp in the
 * query's direction, then by merged labels, then by line bytes: the querier's result order
 * (topk.ts), a total order on what the answer shows, which the query-frontend reproduces when
 * it merges shards (src/frontend/split/log-plan.ts).
 */
export function encodeStreams(streams: readonly ResultStream[], categorize: boolean, direction: 'forward' | 'backward' = 'backward'): string {
  const parts: string[] = [];
  const fwd = direction === 'forward';
  const order = (vals: Val[]): string =>
    vals
      .sort((a, b) => (a.ts !== b.ts ? ((a.ts < b.ts) === fwd ? -1 : 1) : a.order !== b.order ? (a.order < b.order ? -1 : 1) : Buffer.compare(a.line, b.line)))
      .map((v) => v.s)
      .join(',');
  if (!categorize) {
    // Streams with equal merged labels (e.g. same parsed labels from two stream label sets
    // that a stage made equal) are one stream in Loki's answer.
    const byLabels = new Map<string, Val[]>();
    for (const s of streams) {
      const merged = mergeLabels(s);
      const key = JSON.stringify(labelsToObject(merged));
      const ord = labelsToString(merged);
      let vals = byLabels.get(key);
      if (!vals) byLabels.set(key, (vals = []));
      for (const e of s.entries) vals.push({ ts: e.tsNs, order: ord, line: e.line, s: '["' + e.tsNs.toString() + '",' + JSON.stringify(e.line.toString('utf8')) + ']' });
    }
    for (const [k, vals] of byLabels) parts.push('{"stream":' + k + ',"values":[' + order(vals) + ']}');
    return '[' + parts.join(',') + ']';
  }
  // Categorized: group by indexed labels only; each entry carries its metadata and parsed labels.
  const byLabels = new Map<string, Val[]>();
  for (const s of streams) {
    const key = JSON.stringify(labelsToObject(s.labels));
    const ord = labelsToString(mergeLabels(s));
    let vals = byLabels.get(key);
    if (!vals) byLabels.set(key, (vals = []));
    const cats: string[] = [];
    if (s.metadata.length > 0) cats.push('"structuredMetadata":' + JSON.stringify(labelsToObject(s.metadata)));
    if (s.parsed.length > 0) cats.push('"parsed":' + JSON.stringify(labelsToObject(s.parsed)));
    const md = '{' + cats.join(',') + '}';
    for (const e of s.entries) vals.push({ ts: e.tsNs, order: ord, line: e.line, s: '["' + e.tsNs.toString() + '",' + JSON.stringify(e.line.toString('utf8')) + ',' + md + ']' });
  }
  for (const [k, vals] of byLabels) parts.push('{"stream":' + k + ',"values":[' + order(vals) + ']}');
  return '[' + parts.join(',') + ']';
}

const emptyCache = () => ({ entriesFound: 0, entriesRequested: 0, entriesStored: 0, bytesReceived: 0, bytesSent: 0, requests: 0, downloadTime: 0, queryLengthServed: 0 });

/** Loki's query statistics object, filled from what the scan counted. */
export function statsJson(r: LogQueryResult): unknown {
  const s = r.stats;
  const execSec = r.execMs / 1000;
  let returned = 0;
  for (const st of r.streams) returned += st.entries.length;
  const chunk = {
    headChunkBytes: 0,
    headChunkLines: 0,
    decompressedBytes: s.bytesProcessed,
    decompressedLines: s.linesProcessed,
    compressedBytes: s.compressedBytesFetched,
    totalDuplicates: s.duplicates,
    postFilterLines: s.postFilterLines,
    headChunkStructuredMetadataBytes: 0,
    decompressedStructuredMetadataBytes: s.structuredMetadataBytes,
  };
  const store = {
    totalChunksRef: s.chunksFetched + s.chunksSkipped,
    totalChunksDownloaded: s.chunksFetched,
    chunksDownloadTime: 0,
    queryReferencedStructuredMetadata: s.structuredMetadataBytes > 0,
    chunk,
    chunkRefsFetchTime: 0,
    congestionControlLatency: 0,
    pipelineWrapperFilteredLines: 0,
  };
  return {
    summary: {
      bytesProcessedPerSecond: execSec > 0 ? Math.round(s.bytesProcessed / execSec) : 0,
      linesProcessedPerSecond: execSec > 0 ? Math.round(s.linesProcessed / execSec) : 0,
      totalBytesProcessed: s.bytesProcessed,
      totalLinesProcessed: s.linesProcessed,
      execTime: execSec,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: returned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: s.postFilterLines,
      totalStructuredMetadataBytesProcessed: s.structuredMetadataBytes,
    },
    querier: { store },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: { ...store, chunk: { ...chunk } } },
    cache: {
      chunk: emptyCache(),
      index: emptyCache(),
      result: emptyCache(),
      statsResult: emptyCache(),
      volumeResult: emptyCache(),
      seriesResult: emptyCache(),
      labelResult: emptyCache(),
      instantMetricResult: emptyCache(),
    },
    index: { totalChunks: s.chunksFetched + s.chunksSkipped, postFilterChunks: s.chunksFetched, shardsDuration: 0, usedBloomFilters: s.blocksSkippedByBloom > 0 },
  };
}
