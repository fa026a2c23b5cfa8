/**
 * Log level names as Loki normalises them (its distributor's `normalizeLogLevel`). Shared by
 * ingestion (`detected_level`) and the query side (pattern grouping), so both agree.
 */

/** The level of entries whose level could not be told. */
export const LEVEL_UNKNOWN = 'unknown';

/**
 * Every level `detected_level` can take when read from a line, by a small code (a decode worker
 * sends levels as one byte per entry). Code 255 means "not computed".
 */
export const LINE_LEVELS: readonly string[] = Object.freeze([LEVEL_UNKNOWN, 'trace', 'debug', 'info', 'warn', 'error', 'critical', 'fatal']);
export const LINE_LEVEL_NONE = 255;
const LINE_LEVEL_CODES = new Map(LINE_LEVELS.map((l, i) => [l, i]));

/** The code of a canonical line level (LINE_LEVELS), or LINE_LEVEL_NONE. */
export function lineLevelCode(level: string): number {
  return LINE_LEVEL_CODES.get(level) ?? LINE_LEVEL_NONE;
}

/** Every spelling Loki recognises (lower case) and its canonical level. */
const SPELLINGS: readonly (readonly [string, string])[] = [
  ['trace', 'trace'],
  ['trc', 'trace'],
  ['debug', 'debug'],
  ['dbg', 'debug'],
  ['info', 'info'],
  ['inf', 'info'],
  ['information', 'info'],
  ['warn', 'warn'],
  ['wrn', 'warn'],
  ['warning', 'warn'],
  ['error', 'error'],
  ['err', 'error'],
  ['critical', 'critical'],
  ['fatal', 'fatal'],
];
const BY_SPELLING = new Map<string, string>(SPELLINGS);
const SPELLING_BYTES = SPELLINGS.map(([s, canonical]) => [Buffer.from(s), canonical] as const);
/** Spellings are 3 to 11 characters long: anything else is rejected before lower-casing. */
const MIN_LEN = 3;
const MAX_LEN = 11;

/** Canonical level for a spelling compared case-insensitively, or null when it is none of Loki's. */
export function knownLevel(v: string): string | null {
  if (v.length < MIN_LEN || v.length > MAX_LEN) return null;
  return BY_SPELLING.get(v.toLowerCase()) ?? null;
}

/**
 * `knownLevel` of the bytes `b[start, end)` without making a string (ingestion reads levels
 * straight from line bytes). Spellings are ASCII, so ASCII case folding gives the same answer.
 */
export function knownLevelAt(b: Uint8Array, start: number, end: number): string | null {
  const n = end - start;
  if (n < MIN_LEN || n > MAX_LEN) return null;
  outer: for (let s = 0; s < SPELLING_BYTES.length; s++) {
    const [w, canonical] = SPELLING_BYTES[s]!;
    if (w.length !== n) continue;
    for (let k = 0; k < n; k++) {
      let c = b[start + k]!;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== w[k]) continue outer;
    }
    return canonical;
  }
  return null;
}

/** Loki's `normalizeLogLevel`: a known spelling becomes its canonical name, anything else stays as is. */
export function normalizeLogLevel(v: string): string {
  return knownLevel(v) ?? v;
}
