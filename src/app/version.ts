/** Silt's version, reported by /loki/api/v1/status/buildinfo. */
export const VERSION = '0.1.0';
