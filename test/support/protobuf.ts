/**
 * An independent encoder for Loki push bodies (protobufjs over proto/push.proto, then
 * snappy), so tests never check our decoder with our own encoder.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { REPO_ROOT } from './genlogs.js';

let typeCache: protobuf.Type | null = null;

function pushType(): protobuf.Type {
  if (!typeCache) {
    const root = protobuf.loadSync(path.join(REPO_ROOT, 'proto/push.proto'));
    const t = root.lookupType('logproto.PushRequest');
    typeCache = t;
  }
  return typeCache;
}

export interface PbEntry {
  tsNs: bigint;
  line: string;
  metadata?: Record<string, string>;
}

/** Loki label string for a label object. */
export function labelString(labels: Record<string, string>): string {
  return '{' + Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') + '}';
}

/** Encodes streams as a snappy-compressed protobuf PushRequest. */
export function encodePush(streams: { labels: string; entries: PbEntry[] }[]): Buffer {
  return snappy.compressSync(encodePushRaw(streams));
}

/** Encodes streams as an uncompressed protobuf PushRequest (the gRPC message). */
export function encodePushRaw(streams: { labels: string; entries: PbEntry[] }[]): Buffer {
  const t = pushType();
  const msg = t.fromObject({
    streams: streams.map((s) => ({
      labels: s.labels,
      entries: s.entries.map((e) => ({
        timestamp: { seconds: (e.tsNs / 1_000_000_000n).toString(), nanos: Number(e.tsNs % 1_000_000_000n) },
        line: e.line,
        structuredMetadata: Object.entries(e.metadata ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })),
  });
  return Buffer.from(t.encode(msg).finish());
}
