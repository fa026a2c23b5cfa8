/**
 * A client library loaded the first time a process needs it, not when Silt starts: the S3 SDK,
 * etcd3 and ioredis hold ~23 MB of a server's idle memory and most of its module load time,
 * and a process that stores chunks in a folder, keeps no ring and caches results in memory
 * never calls them (bench/RESULTS.md, "Optional clients loaded on first use").
 *
 * The module is loaded synchronously (its CommonJS build, through `require`), so the clients
 * keep their synchronous constructors and a bad setting still fails when the process starts,
 * where the client is built. Use `import type` for the module's types beside it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A function answering `specifier`'s exports, loading the module on its first call. */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
