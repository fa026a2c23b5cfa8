import { describe, expect, it } from 'vitest';
import { mallocTrim } from './malloc-trim.js';

describe('mallocTrim', () => {
  it('answers null where the C library has no malloc_trim', () => {
    expect(mallocTrim('libsilt-no-such-library.so.9')).toBeNull();
  });

  // Linux with glibc (CI, Debian): the function exists and hands back what a freed region left.
  const trim = mallocTrim();
  (trim === null ? it.skip : it)('is looked up once, answers whether pages went back, and leaves live memory alone', async () => {
    expect(mallocTrim()).toBe(trim);
    // 64 MB of 4 KiB pieces, every second one dropped: free chunks between live ones once collected.
    let pieces: Buffer[] | null = Array.from({ length: 16_384 }, (_, i) => Buffer.allocUnsafeSlow(4096).fill(i & 0xff));
    const kept = pieces.filter((_, i) => i % 2 === 0);
    pieces = null;
    const released = trim!();
    expect(released).toBeInstanceOf(Promise);
    expect(typeof (await released)).toBe('boolean');
    // Every live piece still holds its bytes (the trim hands back free pages only).
    expect(kept.every((b, k) => b[0] === ((2 * k) & 0xff) && b[4095] === ((2 * k) & 0xff))).toBe(true);
  });
});
