/** Worker thread body of WorkerBlockSealer: seals each job and replies with transferable bytes. */
import { parentPort } from 'node:worker_threads';
import type { Codec } from './codec.js';
import { type SealReply, sealBlockSync } from './sealer.js';

interface Job {
  id: number;
  codec: Codec;
  zstdLevel?: number | undefined;
  payload: Uint8Array;
  entries: number;
  spanNs: number;
  symbolCount: number;
}

const port = parentPort;
if (port === null) throw new Error('seal-worker must run in a worker thread');
port.on('message', (j: Job) => {
  let reply: SealReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const payload = Buffer.from(j.payload.buffer, j.payload.byteOffset, j.payload.byteLength);
    const s = sealBlockSync({ codec: j.codec, zstdLevel: j.zstdLevel, payload, entries: j.entries, spanNs: j.spanNs, symbolCount: j.symbolCount });
    // Copy into exact-size arrays we own: the codec's output may live in a shared pool.
    const compressed = new Uint8Array(s.compressed);
    const bloom = s.bloom === null ? null : new Uint8Array(s.bloom);
    const grams = s.grams === null ? null : new Uint8Array(s.grams);
    transfer.push(compressed.buffer);
    if (bloom !== null) transfer.push(bloom.buffer);
    if (grams !== null) transfer.push(grams.buffer);
    reply = { id: j.id, compressed, crc: s.crc, bloom, grams };
  } catch (e) {
    reply = { id: j.id, error: (e as Error).message };
  }
  port.postMessage(reply, transfer);
});
