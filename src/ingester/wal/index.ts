export { Wal, defaultWalConfig } from './wal.js';
export type {
  CheckpointChunk,
  CheckpointStream,
  FlushMark,
  FsyncPolicy,
  ReplayStream,
  WalConfig,
  WalEntry,
  WalReplayResult,
  WalSnapshotTenant,
  WalStats,
  WalStream,
} from './wal.js';
export { encodeStreamHeader, newStreamRef, type WalStreamRef } from './record.js';
