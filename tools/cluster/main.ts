/** Entry point of `npm run cluster` (and of the supervisor process `up` starts); see cli.ts. */
import { runCli } from './cli.js';

// On Ctrl-C while `up` waits, stop what was started: a half-started cluster helps nobody.
const argv = process.argv.slice(2);
if (argv[0] === 'up') {
  process.once('SIGINT', () => {
    void import('./cluster.js').then(async ({ stopCluster }) => {
      const i = argv.indexOf('--dir');
      const dir = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--dir='))?.slice(6);
      if (dir !== undefined) await stopCluster(dir).catch(() => undefined);
      process.exit(130);
    });
  });
}
process.exitCode = await runCli(argv);
