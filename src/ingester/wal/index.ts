export { Wal, defaultWalConfig } from './wal.js';
export type { FsyncPolicy, WalConfig, WalEntry, WalReplayResult, WalSnapshotTenant, WalStats, WalStream } from './wal.js';
export { encodeStreamHeader, newStreamRef, type WalStreamRef } from './record.js';
