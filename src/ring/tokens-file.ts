/**
 * The tokens file (`tokens_file_path`): `{"tokens":[…]}`, the same JSON as dskit's
 * `Tokens.StoreToFile`, so a restarted instance claims the tokens it held before.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { MAX_TOKENS_PER_INSTANCE } from './consts.js';

/**
 * Tokens stored at `path`, sorted and distinct; [] when the file does not exist. Throws
 * `TypeError` when it exists but is not a tokens file.
 */
export function loadTokens(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`tokens file ${path}: invalid JSON: ${(e as Error).message}`);
  }
  const list = typeof o === 'object' && o !== null ? (o as { tokens?: unknown }).tokens : undefined;
  if (!Array.isArray(list)) throw new TypeError(`tokens file ${path}: no "tokens" array`);
  if (list.length > MAX_TOKENS_PER_INSTANCE) throw new TypeError(`tokens file ${path}: ${list.length} tokens exceed ${MAX_TOKENS_PER_INSTANCE}`);
  for (const t of list) if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffffffff) throw new TypeError(`tokens file ${path}: ${JSON.stringify(t)} is not a uint32`);
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

/** Writes `tokens` to `path` atomically (temp file, fsync, rename). */
export function storeTokens(path: string, tokens: readonly number[]): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify({ tokens }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
