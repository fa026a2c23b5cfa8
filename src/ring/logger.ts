/**
 * The logging the ring needs: a pino `Logger` (or its `child`) fits, so does a test double.
 * Called rarely (state changes, outages), never per request.
 */
export interface RingLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Logs nothing. */
export const NOOP_LOGGER: RingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
