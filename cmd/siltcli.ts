#!/usr/bin/env node
/** siltcli: the logcli-compatible command line (see src/cli/main.ts). */
import { once } from 'node:events';
import { runCli } from '../src/cli/main.js';

const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));

const stdout = {
  isTTY: process.stdout.isTTY === true,
  write(s: string | Uint8Array): void | Promise<void> {
    if (!process.stdout.write(s)) return once(process.stdout, 'drain').then(() => undefined);
  },
};

// A closed pipe (siltcli … | head) ends the program quietly, as Go programs do on EPIPE.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout,
  stderr: { isTTY: process.stderr.isTTY === true, columns: process.stderr.columns ?? 80, write: (s) => void process.stderr.write(s) },
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  interrupted,
  nowMs: () => Date.now(),
});
process.exitCode = code;
