#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=300
/**
 * silt: the server. `silt -config.file=silt.yaml -target=all`; with no file it runs on the
 * built-in defaults (filesystem storage under ./data, HTTP 3100).
 *
 * The node flags on the first line are the server's:
 * - a 16 MB young-generation semi-space, V8's own maximum on 64-bit made explicit: 32 MB
 *   (ADR 0012) no longer showed an ingest gain and cost ~30 MB of RSS under load (ADR 0037);
 * - the old generation may grow to 4x its live size before the next full collection, so the
 *   concurrent marking of every full collection runs about half as often (ADR 0015); 2x when
 *   ingester.memory_limit is set (src/app/runtime-flags.ts, ADR 0037).
 * `npm start` and the tests start the server with the same flags.
 */
import { App } from '../src/app/app.js';
import { newLogger } from '../src/app/logger.js';
import { applyRuntimeNodeFlags } from '../src/app/runtime-flags.js';
import { VERSION } from '../src/app/version.js';
import { loadConfig, parseArgs, usage } from '../src/config/config.js';
import { formatDurationMs } from '../src/util/go/duration.js';

/** Longest wait for the last log lines before the process exits. */
const EXIT_LOG_FLUSH_MS = 200;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let cfg;
  try {
    if (parseArgs(argv).help) {
      process.stdout.write(usage());
      return;
    }
    if (argv.includes('-version') || argv.includes('--version')) {
      process.stdout.write(`silt, version ${VERSION}\n`);
      return;
    }
    cfg = loadConfig(argv);
  } catch (e) {
    process.stderr.write(`error loading config: ${(e as Error).message}\n`);
    process.exit(1);
  }
  // JSON lines by default, logfmt with -log.format=logfmt; levels as names (`info`).
  const logger = newLogger(cfg.server);
  const v8Flags = applyRuntimeNodeFlags(cfg);
  if (v8Flags.length > 0) logger.info({ v8Flags }, `V8 flags for this config: ${v8Flags.join(' ')}`);
  // The first exit request of a shutdown logs its line, waits (briefly: pino writes
  // asynchronously) for the lines to be out and exits; later ones (a timer racing a finished
  // stop) are ignored.
  let exiting = false;
  const exit = (code: number, log: () => void): void => {
    if (exiting) return;
    exiting = true;
    log();
    setTimeout(() => process.exit(code), EXIT_LOG_FLUSH_MS);
    logger.flush(() => process.exit(code));
  };
  let app: App;
  try {
    app = new App(cfg, logger);
  } catch (e) {
    // E.g. an invalid runtime_config file: Loki refuses to start as well.
    logger.fatal({ err: (e as Error).message }, 'failed to initialise');
    process.exit(1);
  }
  // Shutdown: the first signal stops gracefully within server.graceful_shutdown_timeout; a
  // second one, or running out of time, exits at once. Either way the WAL keeps what was not
  // flushed, and the exit code says so.
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) {
      const left = app.unflushedChunks();
      exit(1, () => logger.warn({ signal: sig, unflushedChunks: left }, `second ${sig} during shutdown: exiting now with ${left} chunks not flushed; the WAL keeps them`));
      return;
    }
    stopping = true;
    const t0 = Date.now();
    const limitMs = cfg.server.graceful_shutdown_timeout;
    logger.info({ signal: sig }, 'shutting down: flushing chunks');
    if (limitMs > 0) {
      // Not unref'd: a stop stuck on a promise must still end here, not in a silent exit 0.
      setTimeout(() => {
        const left = app.unflushedChunks();
        const limit = formatDurationMs(limitMs);
        exit(1, () => logger.error({ timeout: limit, unflushedChunks: left }, `graceful shutdown timed out after ${limit}: ${left} chunks not flushed; the WAL keeps them`));
      }, limitMs);
    }
    app.stop().then(
      () => {
        const left = app.unflushedChunks();
        if (left > 0) exit(1, () => logger.error({ unflushedChunks: left }, `shutdown ended with ${left} chunks not flushed; the WAL keeps them`));
        else exit(0, () => logger.info({ durationMs: Date.now() - t0 }, 'shutdown complete'));
      },
      (e: unknown) => exit(1, () => logger.error({ err: e }, 'shutdown failed; the WAL keeps unflushed data')),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await app.start();
  } catch (e) {
    logger.fatal({ err: e }, 'failed to start');
    process.exit(1);
  }
}

void main();
