/**
 * The one crc32 of the code base: IEEE / zlib's polynomial (what `zlib.crc32` and Go's
 * `crc32.ChecksumIEEE` compute), unsigned. Chunks, blocks, chunk tails, WAL frames and index
 * segments are all summed with it, on every write and on every first read.
 *
 * @node-rs/crc32 (a prebuilt napi-rs binary, SIMD folding with PCLMULQDQ) measured 2.5–4x
 * `zlib.crc32` from 16 KiB up on this machine (~10 against ~4 GB/s) and the same at 64 bytes
 * (docs/adr/0042-native-crc32.md); it works on views of SharedArrayBuffers and in worker threads.
 */
import { crc32 as native } from '@node-rs/crc32';

/** crc32 of `bytes`, continuing from `seed` (a previous result, or any start value); unsigned. */
export function crc32(bytes: Uint8Array, seed = 0): number {
  return native(bytes, seed);
}
