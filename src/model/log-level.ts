/**
 * Log level names as Loki normalises them (its distributor's `normalizeLogLevel`). Shared by
 * ingestion (`detected_level`) and the query side (pattern grouping), so both agree.
 */

/** The level of entries whose level could not be told. */
export const LEVEL_UNKNOWN = 'unknown';

/** Canonical level for a spelling compared case-insensitively, or null when it is none of Loki's. */
export function knownLevel(v: string): string | null {
  if (v.length < 3 || v.length > 11) return null;
  switch (v.toLowerCase()) {
    case 'trace':
    case 'trc':
      return 'trace';
    case 'debug':
    case 'dbg':
      return 'debug';
    case 'info':
    case 'inf':
    case 'information':
      return 'info';
    case 'warn':
    case 'wrn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'err':
      return 'error';
    case 'critical':
      return 'critical';
    case 'fatal':
      return 'fatal';
    default:
      return null;
  }
}

/** Loki's `normalizeLogLevel`: a known spelling becomes its canonical name, anything else stays as is. */
export function normalizeLogLevel(v: string): string {
  return knownLevel(v) ?? v;
}
