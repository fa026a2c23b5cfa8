/**
 * Block compression codecs. Every function is synchronous: a block is at most a few hundred KiB
 * and the codecs finish it in well under a millisecond, so a thread hop would cost more.
 * snappy and lz4 are napi-rs bindings shipped prebuilt in per-platform npm packages; zstd is
 * libzstd compiled to WebAssembly (@foxglove/wasm-zstd), so nothing is compiled at install
 * (docs/adr/0018-no-native-compile.md).
 *
 * `decompress` is given the uncompressed size recorded in the block meta and never allocates
 * more than that: for codecs whose stream carries its own size (snappy, lz4) that size is
 * checked first, zstd decompresses into a buffer of exactly that size, gzip is capped.
 */
import zlib from 'node:zlib';
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import * as zstd from '@foxglove/wasm-zstd';
import { InvalidError } from '../errors.js';

// The WebAssembly module compiles asynchronously, once per thread that imports this file.
await zstd.isLoaded;

/** zstd level: libzstd's default (3), which zstd-napi used too. */
const ZSTD_LEVEL = 3;

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

/** Compresses `src` into a new Buffer (never a view of `src`, even for 'none'). */
export function compress(codec: Codec, src: Uint8Array): Buffer {
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
      return zstd.compress(src, ZSTD_LEVEL);
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
      out = lz4.uncompressSync(src);
      break;
    }
    case 'zstd':
      // Decompresses into a buffer of the expected size; zstd fails if the frame does not fit.
      out = zstd.decompress(src, uncompressedBytes);
      break;
  }
  if (out.length !== uncompressedBytes) throw new Error(`${codec} produced ${out.length} bytes, expected ${uncompressedBytes}`);
  return out;
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
