/**
 * The root logger of a Silt process (cmd/silt.ts makes one; roles get children per component).
 * Levels are written as names (`"level":"info"`, `level=info`), as Loki writes them, so
 * `| logfmt | level="error"` and `|= "level=error"` (the mixin's log panels) find errors.
 * `-log.format=logfmt` rewrites each JSON line pino builds into logfmt as it is written.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { SiltConfig } from '../config/config.js';
import { jsonLineToLogfmt } from '../util/logfmt.js';

/** The log settings (`server.log_level`, `server.log_format`). */
export type LogSettings = Pick<SiltConfig['server'], 'log_level' | 'log_format'>;

/** A pino logger with Silt's fields, level names and the configured format; stdout unless `destination`. */
export function newLogger(s: LogSettings, destination?: DestinationStream): Logger {
  const opts = {
    level: s.log_level,
    base: { app: 'silt' },
    formatters: { level: (label: string) => ({ level: label }) },
    ...(s.log_format === 'logfmt' ? { hooks: { streamWrite: jsonLineToLogfmt } } : {}),
  };
  return destination === undefined ? pino(opts) : pino(opts, destination);
}
