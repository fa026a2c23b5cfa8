/**
 * Block compression codecs. Every function but `decompressAsync` is synchronous: a block is at
 * most a few hundred KiB and the codecs finish it in well under a millisecond, so a thread hop
 * would cost more (`decompressAsync` is for decompressing ahead while another core scans).
 * snappy and lz4 are napi-rs bindings shipped prebuilt in per-platform npm packages; lz4 blocks
 * are decoded by a WebAssembly kernel instead where it can (src/wasm, ADR 0030). zstd is
 * node:zlib's (libzstd inside Node) where Node has it (22.15+, 23.8+), else libzstd compiled to
 * WebAssembly (@foxglove/wasm-zstd), so nothing is compiled at install
 * (docs/adr/0018-no-native-compile.md). Both write and read standard zstd frames.
 *
 * `decompress` is given the uncompressed size recorded in the block meta and never allocates
 * more than that: for codecs whose stream carries its own size (snappy, lz4) that size is
 * checked first, zstd decompresses into a buffer of that size (plus one byte with node:zlib),
 * gzip is capped.
 */
import zlib from 'node:zlib';
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import { InvalidError } from '../errors.js';
import { Lz4Blocks } from '../wasm/kernels.js';

/** zstd level of the ingester's chunks: libzstd's default (3), which zstd-napi used too. */
export const ZSTD_LEVEL = 3;

/** The zstd levels a chunk may be written at (libzstd's 1..19 without --ultra; the compactor's recompression, ADR 0038). */
export const MIN_ZSTD_LEVEL = 1;
export const MAX_ZSTD_LEVEL = 19;

/** One zstd implementation: frames with the content size at a given level (default 3); decompress checks the size. */
export interface ZstdImpl {
  readonly name: 'node:zlib' | 'wasm';
  compress(src: Uint8Array, level?: number): Buffer;
  /** Decodes one frame that must fill exactly `uncompressedBytes`; throws otherwise. */
  decompress(src: Uint8Array, uncompressedBytes: number): Buffer;
}

/** node:zlib's zstd functions (Node 22.15+, 23.8+), which @types/node 20 does not declare. */
interface ZlibZstd {
  zstdCompressSync(src: Uint8Array, options: { params: Record<number, number>; pledgedSrcSize: number; chunkSize: number }): Buffer;
  zstdDecompressSync(
    src: Uint8Array,
    options: { maxOutputLength: number; chunkSize: number; info: true },
  ): { buffer: Buffer; engine: { bytesWritten: number } };
  constants: { ZSTD_c_compressionLevel: number };
}

/** node:zlib's zstd, or null on a Node without it (Node 20). */
export const nodeZstd: ZstdImpl | null = makeNodeZstd(zlib as unknown as Partial<ZlibZstd>);

function makeNodeZstd(z: Partial<ZlibZstd>): ZstdImpl | null {
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function') return null;
  const { zstdCompressSync, zstdDecompressSync } = z as ZlibZstd;
  const levelParam = (z as ZlibZstd).constants.ZSTD_c_compressionLevel;
  return {
    name: 'node:zlib',
    compress(src, level = ZSTD_LEVEL) {
      const params = { [levelParam]: level };
      // pledgedSrcSize writes the content size into the frame header, as the wasm build and
      // zstd-napi do; a chunkSize above ZSTD_compressBound gives one output buffer, copied to
      // its exact size so that a sealed block does not pin the spare bytes.
      const out = zstdCompressSync(src, { params, pledgedSrcSize: src.length, chunkSize: src.length + (src.length >> 7) + 1024 });
      return out.length === out.buffer.byteLength ? out : Buffer.from(out);
    },
    decompress(src, uncompressedBytes) {
      // One output buffer of the expected size plus one byte: libzstd then decodes a frame that
      // has its content size in one pass, and a frame decoding to more stops at maxOutputLength.
      // node:zlib decodes one frame and ignores what follows, so the rest (concatenated frames,
      // which libzstd's one-shot API and the wasm build read as one stream) is decoded in turn,
      // and a truncated frame returns what it decoded so far (the size check in `decompress`).
      const parts: Buffer[] = [];
      let have = 0;
      for (let off = 0; off < src.length; ) {
        const left = uncompressedBytes - have;
        const { buffer, engine } = zstdDecompressSync(off === 0 ? src : src.subarray(off), {
          maxOutputLength: Math.max(1, left),
          chunkSize: Math.max(64, left + 1),
          info: true,
        });
        if (engine.bytesWritten === 0) throw new Error(`no zstd frame at byte ${off} of ${src.length}`);
        off += engine.bytesWritten;
        parts.push(buffer);
        have += buffer.length;
        if (have > uncompressedBytes) throw new Error(`zstd produced over ${uncompressedBytes} bytes`);
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    },
  };
}

/**
 * libzstd in WebAssembly (@foxglove/wasm-zstd), loaded on first call. The module compiles
 * asynchronously, once per thread.
 */
export async function loadWasmZstd(): Promise<ZstdImpl> {
  const wasm = await import('@foxglove/wasm-zstd');
  await wasm.isLoaded;
  return {
    name: 'wasm',
    compress: (src, level = ZSTD_LEVEL) => wasm.compress(src, level),
    // Decompresses into a buffer of the expected size; zstd fails if the frame does not fit.
    decompress: (src, uncompressedBytes) => wasm.decompress(src, uncompressedBytes),
  };
}

/** The zstd implementation of this process: node:zlib's where Node has it, else the wasm build. */
export const zstd: ZstdImpl = nodeZstd ?? (await loadWasmZstd());

/** Block compression of a chunk; one codec per chunk, recorded in the header. */
export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** All codecs, in codec-id order. */
export const CODECS: readonly Codec[] = Object.freeze(['none', 'gzip', 'snappy', 'lz4', 'zstd']);

/** Codec byte stored in the chunk header. Never renumber: ids are part of the format. */
export const CODEC_IDS: Readonly<Record<Codec, number>> = Object.freeze({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });

/** Loki's names for its lz4 block-size variants; they all map to 'lz4' (block size is ours to choose). */
const ALIASES: Readonly<Record<string, Codec>> = Object.freeze({
  'lz4-64k': 'lz4',
  'lz4-256k': 'lz4',
  'lz4-1m': 'lz4',
  'lz4-4m': 'lz4',
});

/** The codec byte of a codec. */
export function codecId(codec: Codec): number {
  return CODEC_IDS[codec];
}

/** The codec of a codec byte, or null when the byte is unknown. */
export function codecFromId(id: number): Codec | null {
  return CODECS[id] ?? null;
}

/**
 * Parses a codec name from configuration (case-insensitive; Loki's `lz4-64k`…`lz4-4M` mean lz4).
 * Throws InvalidError naming the accepted values for anything else.
 */
export function parseCodec(name: string): Codec {
  const key = name.trim().toLowerCase();
  for (let i = 0; i < CODECS.length; i++) if (CODECS[i] === key) return CODECS[i]!;
  const alias = ALIASES[key];
  if (alias !== undefined) return alias;
  throw new InvalidError(`unknown chunk codec ${JSON.stringify(name)}: expected one of ${CODECS.join(', ')}`);
}

/**
 * Compresses `src` into a new Buffer (never a view of `src`, even for 'none'). `zstdLevel`
 * applies to zstd only (default ZSTD_LEVEL); a reader needs no level.
 */
export function compress(codec: Codec, src: Uint8Array, zstdLevel = ZSTD_LEVEL): Buffer {
  switch (codec) {
    case 'none':
      return Buffer.from(src);
    case 'gzip':
      return zlib.gzipSync(src);
    case 'snappy':
      // copyOutputData: napi external buffers made snappy ~20x slower here (measured on 256 KiB blocks).
      return snappy.compressSync(src, { copyOutputData: true });
    case 'lz4':
      return lz4.compressSync(asBuffer(src));
    case 'zstd':
      return zstd.compress(src, zstdLevel);
  }
}

/**
 * Decompresses `src`, which must decode to exactly `uncompressedBytes` bytes. Throws a plain
 * Error on any mismatch or codec failure; chunk readers wrap it into ChunkCorruptError.
 * For 'none' the result is `src` itself as a Buffer view (no copy).
 */
export function decompress(codec: Codec, src: Uint8Array, uncompressedBytes: number): Buffer {
  let out: Buffer;
  switch (codec) {
    case 'none':
      if (src.length !== uncompressedBytes) throw new Error(`stored ${src.length} bytes, expected ${uncompressedBytes}`);
      return asBuffer(src);
    case 'gzip':
      // maxOutputLength makes zlib stop instead of inflating a bomb; it must be at least 1.
      out = zlib.gunzipSync(src, { maxOutputLength: Math.max(1, uncompressedBytes) });
      break;
    case 'snappy': {
      const declared = snappyDeclaredLength(src);
      if (declared !== uncompressedBytes) throw new Error(`snappy stream declares ${declared} bytes, expected ${uncompressedBytes}`);
      // copyOutputData: as in compress, ~5x faster than an external buffer.
      out = snappy.uncompressSync(src, { asBuffer: true, copyOutputData: true }) as Buffer;
      break;
    }
    case 'lz4': {
      // lz4-napi prefixes the uncompressed size as u32 little-endian.
      const declared = src.length >= 4 ? asBuffer(src).readUInt32LE(0) : -1;
      if (declared !== uncompressedBytes) throw new Error(`lz4 stream declares ${declared} bytes, expected ${uncompressedBytes}`);
      out = lz4Blocks()?.decode(src.subarray(4), uncompressedBytes) ?? lz4.uncompressSync(src);
      break;
    }
    case 'zstd':
      out = zstd.decompress(src, uncompressedBytes);
      break;
  }
  if (out.length !== uncompressedBytes) throw new Error(`${codec} produced ${out.length} bytes, expected ${uncompressedBytes}`);
  return out;
}

/**
 * Like `decompress`, but the answer may be a view of memory that the next decompression on this
 * thread reuses (lz4 through the WebAssembly decoder: no allocation and no copy out). For a
 * reader that looks at the bytes before deciding to keep them: read it at once, copy what must
 * outlive the next call.
 */
export function decompressTransient(codec: Codec, src: Uint8Array, uncompressedBytes: number): { bytes: Buffer; transient: boolean } {
  if (codec === 'lz4') {
    const declared = src.length >= 4 ? asBuffer(src).readUInt32LE(0) : -1;
    if (declared !== uncompressedBytes) throw new Error(`lz4 stream declares ${declared} bytes, expected ${uncompressedBytes}`);
    const view = lz4Blocks()?.decodeInPlace(src.subarray(4), uncompressedBytes);
    if (view) return { bytes: view, transient: true };
  }
  return { bytes: decompress(codec, src, uncompressedBytes), transient: false };
}

/** The decoder whose memory holds `bytes`, a decompressTransient answer, or null. */
export function transientDecoder(bytes: Buffer): Lz4Blocks | null {
  return lz4Decoder && lz4Decoder.owns(bytes) ? lz4Decoder : null;
}

/**
 * Where `needle` first occurs in `bytes[start, end)`, or -1: `bytes` being a decompressTransient
 * answer, searched where it lies (the kernel, for a needle starting with a common byte).
 */
export function findInDecompressed(bytes: Buffer, needle: Uint8Array, start: number, end: number): number {
  return lz4Decoder ? lz4Decoder.find(bytes, needle, start, end) : bytes.subarray(0, end).indexOf(needle, start);
}

/**
 * Like `decompress`, but snappy, lz4 and gzip run on the libuv threadpool, so another core
 * can decompress while the main thread evaluates queries. Same checks and result.
 */
export async function decompressAsync(codec: Codec, src: Uint8Array, uncompressedBytes: number): Promise<Buffer> {
  let out: Buffer;
  switch (codec) {
    case 'snappy': {
      const declared = snappyDeclaredLength(src);
      if (declared !== uncompressedBytes) throw new Error(`snappy stream declares ${declared} bytes, expected ${uncompressedBytes}`);
      out = (await snappy.uncompress(asBuffer(src), { asBuffer: true, copyOutputData: true })) as Buffer;
      break;
    }
    case 'lz4': {
      const declared = src.length >= 4 ? asBuffer(src).readUInt32LE(0) : -1;
      if (declared !== uncompressedBytes) throw new Error(`lz4 stream declares ${declared} bytes, expected ${uncompressedBytes}`);
      out = await lz4.uncompress(asBuffer(src));
      break;
    }
    case 'gzip':
      out = await new Promise<Buffer>((resolve, reject) =>
        zlib.gunzip(src, { maxOutputLength: Math.max(1, uncompressedBytes) }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      break;
    default:
      return decompress(codec, src, uncompressedBytes);
  }
  if (out.length !== uncompressedBytes) throw new Error(`${codec} produced ${out.length} bytes, expected ${uncompressedBytes}`);
  return out;
}

let lz4Decoder: Lz4Blocks | null | undefined;

/** This thread's WebAssembly LZ4 decoder (`null` without WebAssembly: lz4-napi decodes). */
function lz4Blocks(): Lz4Blocks | null {
  if (lz4Decoder === undefined) lz4Decoder = Lz4Blocks.create();
  return lz4Decoder;
}

/** The uvarint length prefix of a raw snappy stream, or -1 when missing or over 32 bits. */
function snappyDeclaredLength(src: Uint8Array): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < src.length; i++) {
    const c = src[i]!;
    v += (c & 0x7f) * mul;
    if (c < 0x80) return v;
    mul *= 128;
  }
  return -1;
}

function asBuffer(src: Uint8Array): Buffer {
  return Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.length);
}
