/**
 * Sealing a cut block — compressing its payload, building its token filter and checksumming
 * the compressed bytes — is the most expensive step of ingestion per byte, and it needs
 * nothing but the payload. A `BlockSealer` does it off the event loop: MemChunk keeps the
 * block readable from its uncompressed payload meanwhile and swaps in the sealed bytes when
 * they arrive (see MemChunk.cutBlock).
 */
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { decodeBlockPayload } from './block.js';
import { buildBlockBloom } from './bloom.js';
import { type Codec, compress } from './codec.js';

/** What a sealer needs: the encoded payload and the facts to decode it. */
export interface SealJob {
  codec: Codec;
  /** The uncompressed block payload. Read-only: MemChunk serves reads from it until the seal arrives, so a sealer copies what it sends elsewhere. */
  payload: Buffer;
  entries: number;
  /** maxTs - minTs of the block, ns. */
  spanNs: number;
  symbolCount: number;
}

/** A sealed block: compressed payload, crc32 of the compressed bytes, token filter (null: none). */
export interface SealedBlock {
  compressed: Buffer;
  crc: number;
  bloom: Buffer | null;
}

/** Seals blocks asynchronously. `seal` may reject (the caller then seals inline). */
export interface BlockSealer {
  seal(job: SealJob): Promise<SealedBlock>;
}

/** Seals a block on the calling thread. */
export function sealBlockSync(job: SealJob): SealedBlock {
  const block = decodeBlockPayload(job.payload, job.entries, 0n, job.spanNs, job.symbolCount, () => []);
  const compressed = compress(job.codec, job.payload);
  return { compressed, crc: zlib.crc32(compressed), bloom: buildBlockBloom(block.lines, block.lineOffsets, block.n) };
}

interface Pending {
  resolve: (b: SealedBlock) => void;
  reject: (e: Error) => void;
}

/** Reply from the worker: the job id, then the sealed block or an error message. */
export interface SealReply {
  id: number;
  compressed?: Uint8Array;
  crc?: number;
  bloom?: Uint8Array | null;
  error?: string;
}

/**
 * One worker thread that seals blocks in submission order. Started on first use and
 * unref'd, so it never keeps a process alive. If the worker dies, pending and later jobs
 * reject and callers seal inline: sealing is an optimisation, never a point of failure.
 */
export class WorkerBlockSealer implements BlockSealer {
  #worker: Worker | null = null;
  #failed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  seal(job: SealJob): Promise<SealedBlock> {
    const w = this.#start();
    if (w === null) return Promise.reject(new Error('block sealer worker unavailable'));
    const id = this.#nextId++;
    return new Promise<SealedBlock>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Copy into a buffer of our own so the transfer never detaches memory others use.
      const own = new Uint8Array(job.payload.length);
      own.set(job.payload);
      if (this.#pending.size === 1) w.ref();
      w.postMessage({ id, codec: job.codec, payload: own, entries: job.entries, spanNs: job.spanNs, symbolCount: job.symbolCount }, [own.buffer]);
    });
  }

  /** Stops the worker; pending jobs reject. */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (w !== null) await w.terminate();
    this.#failAll(new Error('block sealer closed'));
  }

  #start(): Worker | null {
    if (this.#worker !== null) return this.#worker;
    if (this.#failed) return null;
    const ts = import.meta.url.endsWith('.ts');
    const entry = new URL(ts ? './seal-worker.ts' : './seal-worker.js', import.meta.url).href;
    let w: Worker;
    try {
      w = new Worker(new URL('./seal-worker-boot.mjs', import.meta.url), { workerData: { entry, ts } });
    } catch {
      this.#failed = true;
      return null;
    }
    w.unref();
    w.on('message', (m: SealReply) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) w.unref();
      if (m.error !== undefined || m.compressed === undefined) p.reject(new Error(m.error ?? 'no result'));
      else {
        const c = m.compressed;
        const b = m.bloom ?? null;
        p.resolve({ compressed: Buffer.from(c.buffer, c.byteOffset, c.byteLength), crc: m.crc ?? 0, bloom: b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength) });
      }
    });
    const die = (e: Error): void => {
      this.#failed = true;
      this.#worker = null;
      this.#failAll(e);
    };
    w.on('error', die);
    w.on('exit', (code) => {
      if (this.#worker === w) die(new Error(`block sealer worker exited with code ${code}`));
    });
    this.#worker = w;
    return w;
  }

  #failAll(e: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(e);
  }
}

let shared: WorkerBlockSealer | null = null;

/** The process-wide worker sealer (one worker thread serves every chunk). */
export function sharedBlockSealer(): WorkerBlockSealer {
  return (shared ??= new WorkerBlockSealer());
}
