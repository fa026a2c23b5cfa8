#!/usr/bin/env -S node --max-semi-space-size=32 --heap-growing-percent=300
/**
 * silt: the server. `silt -config.file=silt.yaml -target=all`; with no file it runs on the
 * built-in defaults (filesystem storage under ./data, HTTP 3100).
 *
 * The node flags on the first line are the server's:
 * - a 32 MB young-generation semi-space makes ingestion's short-lived objects cheaper to
 *   collect (ADR 0012);
 * - the old generation may grow to 4x its live size before the next full collection, so the
 *   concurrent marking of every full collection runs about half as often (ADR 0015).
 * `npm start` and the tests start the server with the same flags.
 */
import { pino } from 'pino';
import { App } from '../src/app/app.js';
import { VERSION } from '../src/app/version.js';
import { loadConfig, parseArgs, usage } from '../src/config/config.js';

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
  const logger = pino({ level: cfg.server.log_level, base: { app: 'silt' } });
  let app: App;
  try {
    app = new App(cfg, logger);
  } catch (e) {
    // E.g. an invalid runtime_config file: Loki refuses to start as well.
    logger.fatal({ err: (e as Error).message }, 'failed to initialise');
    process.exit(1);
  }
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: sig }, 'shutting down: flushing chunks');
    app.stop().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed; the WAL keeps unflushed data');
        process.exit(1);
      },
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
