/** Public API of the chunk format: MemChunk for writing, decodeChunk for reading, codecs and limits. */
export { chunkPieceRanges, decodeChunkOnce, decodeChunkPieces, decodeChunkTail, readBlockAsync, chunkTailGuess, trimChunkTail, type ChunkIndex, type ChunkPiece } from './layout.js';
export { BlockProbe, needleGramHashes, NEEDLE_MIN_BYTES } from './needle.js';
export {
  MemChunk,
  decodeChunk,
  defaultChunkOptions,
  blockEntryTs,
  EMPTY_METADATA,
  type BlockMeta,
  type ChunkOptions,
  type DecodedBlock,
  type LackingBlock,
  type ReadableChunk,
} from './mem-chunk.js';
export { type Codec, CODECS, CODEC_IDS, parseCodec, codecId, codecFromId, compress, decompress } from './codec.js';
export * from './consts.js';
export { cutBlocksView, encodeCutBlocks } from './cut-view.js';
export { encodeBlock, decodeBlock, type EncodedBlock } from './block.js';
export { type BlockSealer, WorkerBlockSealer, sharedBlockSealer } from './sealer.js';
export { ColumnPool } from './column-pool.js';
