import type { LogQueryResult, ResultStream } from '../querier/querier.js';
import { labelsToObject, sortLabels, type Label } from '../model/index.js';

/**
 * Loki's `streams` result. Without categorize-labels, structured metadata joins the stream
 * labels (so entries with different metadata form different streams); with it, the stream
 * holds only indexed labels and each value carries `{"structuredMetadata": {...}}`.
 */
export function encodeStreams(streams: readonly ResultStream[], categorize: boolean): string {
  const parts: string[] = [];
  if (!categorize) {
    for (const s of streams) {
      const merged: Label[] = [...s.labels];
      for (const m of s.metadata) if (!s.labels.some((l) => l.name === m.name)) merged.push(m);
      let vals = '';
      for (const e of s.entries) vals += (vals ? ',' : '') + '["' + e.tsNs.toString() + '",' + JSON.stringify(e.line.toString('utf8')) + ']';
      parts.push('{"stream":' + JSON.stringify(labelsToObject(sortLabels(merged))) + ',"values":[' + vals + ']}');
    }
    return '[' + parts.join(',') + ']';
  }
  // Categorized: group by indexed labels only; keep each entry's metadata beside it.
  const byLabels = new Map<string, { labels: string; vals: { ts: bigint; s: string }[] }>();
  for (const s of streams) {
    const key = JSON.stringify(labelsToObject(s.labels));
    let g = byLabels.get(key);
    if (!g) byLabels.set(key, (g = { labels: key, vals: [] }));
    const md = s.metadata.length > 0 ? '{"structuredMetadata":' + JSON.stringify(labelsToObject(s.metadata)) + '}' : '{}';
    for (const e of s.entries) g.vals.push({ ts: e.tsNs, s: '["' + e.tsNs.toString() + '",' + JSON.stringify(e.line.toString('utf8')) + ',' + md + ']' });
  }
  for (const g of byLabels.values()) {
    parts.push('{"stream":' + g.labels + ',"values":[' + g.vals.map((v) => v.s).join(',') + ']}');
  }
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
    totalDuplicates: 0,
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
