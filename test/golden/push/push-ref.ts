/**
 * Test-only helpers for the distributor's push tests (kept out of src/ so the build never
 * ships protobufjs as a runtime dependency of the decoder): a seeded
 * PRNG and the protobufjs reference codec of proto/push.proto.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export { seededRandom as prng } from '../../../src/util/random.js';

/** An integer in [0, n). */
export function randInt(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}

const ALPHABET = 'abcxyz_019 "\\\n\t={},é日本🙂\u0000\u007f';

/** A random string from an alphabet that exercises quoting, escapes and multi-byte UTF-8. */
export function randString(rnd: () => number, maxLen: number): string {
  const n = randInt(rnd, maxLen + 1);
  const chars = [...ALPHABET];
  let s = '';
  for (let i = 0; i < n; i++) s += chars[randInt(rnd, chars.length)];
  return s;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** proto/push.proto loaded by protobufjs (the reference decoder/encoder). */
export const pushProtoRoot: protobuf.Root = protobuf.loadSync(path.resolve(here, '../../../proto/push.proto'));
export const PushRequestType: protobuf.Type = pushProtoRoot.lookupType('logproto.PushRequest');

/** Plain object shape protobufjs accepts for PushRequest. */
export interface RefRequest {
  streams: {
    labels?: string;
    hash?: number;
    entries: {
      timestamp?: { seconds: number; nanos: number };
      line?: string;
      structuredMetadata?: { name: string; value: string }[];
    }[];
  }[];
}

/** Encodes with protobufjs. */
export function encodeRef(req: RefRequest): Buffer {
  return Buffer.from(PushRequestType.encode(PushRequestType.fromObject(req)).finish());
}
