/** Public API of the compactor role. */
export { Compactor, listTables, type CompactorConfig, type CompactorDeps, type RunOptions, type RunResult } from './compactor.js';
export { DeleteRequestsStore, type DeleteRequest, type DeleteRequestStatus } from './delete-requests.js';
export { DeleteRule, StreamDeleter, TenantDeleter } from './delete-filter.js';
export { TenantRetention, chunkExpired } from './retention.js';
export type { CompactionStep, TableResult } from './table.js';
export { chunksNotToReindex } from './markers.js';
export { deletionMetrics, type DeletionMetrics } from './metrics.js';
