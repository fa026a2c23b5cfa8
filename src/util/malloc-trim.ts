/**
 * glibc's `malloc_trim(0)`, reached through the koffi FFI (ADR 0036). `free()` gives memory
 * back to the OS only from the top of a malloc heap; the free chunks left between live ones (a
 * head block's columns freed each time they grow, a push body, a worker thread's arena) stay
 * resident until malloc reuses them. `malloc_trim` hands back every whole free page in every
 * arena. After a push over 50,818 streams it took a settled server from 531 to 475 MB
 * (bench/RESULTS.md, "eighth session: malloc's free pages handed back").
 *
 * Loaded on first use (koffi and the C library), and only on Linux with glibc: elsewhere (musl,
 * macOS, Windows) there is no such function and `mallocTrim()` answers null.
 */
import type * as Koffi from 'koffi';
import { lazyModule } from './lazy-module.js';

const koffi = lazyModule<typeof Koffi>('koffi');

/** Runs one trim off the event loop; resolves to whether any memory went back to the OS. */
export type MallocTrim = () => Promise<boolean>;

let resolved: MallocTrim | null | undefined;

/**
 * The trim, or null where it does not exist. `soname` is the C library to look in (a test
 * names a missing one).
 */
export function mallocTrim(soname = 'libc.so.6'): MallocTrim | null {
  if (soname === 'libc.so.6' && resolved !== undefined) return resolved;
  let trim: MallocTrim | null = null;
  if (process.platform === 'linux') {
    try {
      const fn = koffi().load(soname).func('int malloc_trim(size_t pad)');
      // `async` calls it on a libuv pool thread: the walk over every arena's free chunks took
      // 25–50 ms for a 250 MB heap, event-loop time it need not take. malloc locks each arena
      // while it trims it, so other threads allocating meanwhile only wait.
      trim = () =>
        new Promise<boolean>((resolve, reject) => {
          fn.async(0, (err: unknown, released: number) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(released === 1)));
        });
    } catch {
      trim = null;
    }
  }
  if (soname === 'libc.so.6') resolved = trim;
  return trim;
}
