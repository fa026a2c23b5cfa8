/** Public API of the storage layer: object clients, chunk store and label index. */
export type { ListResult, ObjectClient, ObjectInfo } from './object-client.js';
export { MAX_KEY_BYTES, compareKeys, validateKey } from './object-client.js';
export { FilesystemObjectClient } from './fs-client.js';
export { MemoryObjectClient } from './memory-client.js';
export { S3ObjectClient, DEFAULT_S3_CONFIG } from './s3-client.js';
export type { RequestObserver, S3ObjectClientConfig, S3ClientStats } from './s3-client.js';
export type { ChunkRef } from './chunk-ref.js';
export { chunkKey, isFingerprint, validateChunkRef, validateTenant } from './chunk-ref.js';
export { ChunkStore, DEFAULT_CHUNK_CACHE_BYTES } from './chunk-store.js';
export type { ChunkStoreOptions } from './chunk-store.js';
export { ByteLru } from './lru.js';
export { IndexWriter } from './index/writer.js';
export type { SeriesEntry } from './index/writer.js';
export { IndexReader } from './index/reader.js';
export type { IndexReaderOptions, IndexStats } from './index/reader.js';
export { IndexCorruptError } from './index/errors.js';
export { DAY_NS } from './index/consts.js';
export { dayOf, segmentKey } from './index/keys.js';
