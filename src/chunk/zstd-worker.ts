/** Worker thread body of `decompressAsync` for zstd where it is WebAssembly (Node 20): one frame per job. */
import { parentPort } from 'node:worker_threads';
import { decompress } from './codec.js';

interface Job {
  id: number;
  src: Uint8Array;
  uncompressedBytes: number;
}

const port = parentPort;
if (port === null) throw new Error('zstd-worker must run in a worker thread');
port.on('message', (j: Job) => {
  try {
    const out = decompress('zstd', j.src, j.uncompressedBytes);
    // Exactly sized and ours: the codec's output may be a view into its WebAssembly memory.
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? new Uint8Array(out.buffer, 0, out.byteLength) : new Uint8Array(out);
    port.postMessage({ id: j.id, out: own }, [own.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: j.id, error: (e as Error).message });
  }
});
