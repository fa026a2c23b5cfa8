export * from './labels.js';
export * from './time.js';
export * from './stream.js';
export * from './matcher.js';
export * from './tenant.js';
export * from './log-level.js';
export * from './shard.js';
