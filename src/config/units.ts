/**
 * Former home of the config unit parsers, kept for importers outside `src/` (tools/cluster).
 * The parsers live in `util/go`: use `parseConfigDurationMs`, `formatDurationMs`,
 * `parseConfigBytes` and `formatConfigBytes` from there.
 */
export { parseConfigDurationMs as parseDurationMs, formatDurationMs } from '../util/go/duration.js';
export { parseConfigBytes as parseBytes, formatConfigBytes as formatBytes } from '../util/go/bytes.js';
