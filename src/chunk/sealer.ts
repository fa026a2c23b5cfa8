/**
 * Sealing a cut block — compressing its payload, building its token filter and checksumming
 * the compressed bytes — is the most expensive step of ingestion per byte, and it needs
 * nothing but the payload. A `BlockSealer` does it off the event loop: MemChunk keeps the
 * block readable from its uncompressed payload meanwhile and swaps in the sealed bytes when
 * they arrive (see MemChunk.cutBlock).
 */
import { crc32 } from '../util/crc32.js';
import { decodeBlockPayload } from './block.js';
import { buildBlockBloom } from './bloom.js';
import { buildNeedleFilter } from './needle.js';
import { type Codec, compress } from './codec.js';
import { WorkerChannel, type WorkerReply } from '../util/worker-channel.js';

/** What a sealer needs: the encoded payload and the facts to decode it. */
export interface SealJob {
  codec: Codec;
  /** zstd level (codec zstd only); absent: the default. */
  zstdLevel?: number | undefined;
  /** The uncompressed block payload. Read-only: MemChunk serves reads from it until the seal arrives, so a sealer copies what it sends elsewhere. */
  payload: Buffer;
  entries: number;
  /** maxTs - minTs of the block, ns. */
  spanNs: number;
  symbolCount: number;
}

/** A sealed block: compressed payload, crc32 of the compressed bytes, token and needle filters (null: none). */
export interface SealedBlock {
  compressed: Buffer;
  crc: number;
  bloom: Buffer | null;
  grams: Buffer | null;
}

/** Seals blocks asynchronously. `seal` may reject (the caller then seals inline). */
export interface BlockSealer {
  seal(job: SealJob): Promise<SealedBlock>;
  /** True while callers should seal on their own thread instead (memory pressure: see WorkerBlockSealer.shed). */
  readonly inline?: boolean;
}

/** Seals a block on the calling thread. */
export function sealBlockSync(job: SealJob): SealedBlock {
  const block = decodeBlockPayload(job.payload, job.entries, 0n, job.spanNs, job.symbolCount, () => []);
  const compressed = compress(job.codec, job.payload, job.zstdLevel);
  return {
    compressed,
    crc: crc32(compressed),
    bloom: buildBlockBloom(block.lines, block.lineOffsets, block.n),
    grams: buildNeedleFilter(block.lines, block.lineOffsets, block.n),
  };
}

/** Reply from the worker: the job id, then the sealed block or an error message. */
export interface SealReply extends WorkerReply {
  compressed?: Uint8Array;
  crc?: number;
  bloom?: Uint8Array | null;
  grams?: Uint8Array | null;
}

/**
 * One worker thread that seals blocks in submission order. If the worker dies, pending and
 * later jobs reject and callers seal inline: sealing is an optimisation, never a point of failure.
 */
export class WorkerBlockSealer implements BlockSealer {
  readonly #channel = new WorkerChannel<SealReply>(new URL('./seal-worker', import.meta.url), import.meta.url, 'block sealer');
  #inline = false;

  get inline(): boolean {
    return this.#inline;
  }

  /** Whether the worker thread is running (it starts on the first block and stops when idle or shed). */
  get running(): boolean {
    return this.#channel.running;
  }

  /**
   * `true`: callers seal inline from now on (each block's payload copy and the worker's isolate
   * and malloc arena, tens of MB in a push flood, are spared while memory is short) and the
   * worker stops once its pending blocks are sealed; `false`: back to the worker, started again
   * on the next block.
   */
  shed(on: boolean): void {
    this.#inline = on;
    if (on) this.#channel.stopWhenIdle();
  }

  async seal(job: SealJob): Promise<SealedBlock> {
    // Copy into a buffer of our own so the transfer never detaches memory others use.
    const own = new Uint8Array(job.payload.length);
    own.set(job.payload);
    const m = await this.#channel.call({ codec: job.codec, zstdLevel: job.zstdLevel, payload: own, entries: job.entries, spanNs: job.spanNs, symbolCount: job.symbolCount }, [own.buffer]);
    const c = m.compressed;
    if (c === undefined) throw new Error('block sealer: no result');
    const view = (b: Uint8Array | null | undefined): Buffer | null => (b == null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return { compressed: Buffer.from(c.buffer, c.byteOffset, c.byteLength), crc: m.crc ?? 0, bloom: view(m.bloom), grams: view(m.grams) };
  }

  /** Stops the worker; pending jobs reject. */
  close(): Promise<void> {
    return this.#channel.close();
  }
}

let shared: WorkerBlockSealer | null = null;

/** The process-wide worker sealer (one worker thread serves every chunk). */
export function sharedBlockSealer(): WorkerBlockSealer {
  return (shared ??= new WorkerBlockSealer());
}
