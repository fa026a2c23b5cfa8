/**
 * The cluster's S3 server: s3rver on 127.0.0.1, one bucket, objects kept in a directory (so a
 * restart by the supervisor keeps them). `s3-server.ts <dir> <bucket> <port>`; stops on SIGTERM.
 */
import { createRequire } from 'node:module';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(cb: () => void): void;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;
const [dir, bucket, port] = process.argv.slice(2);
if (dir === undefined || bucket === undefined || port === undefined) {
  process.stderr.write('usage: s3-server.ts <dir> <bucket> <port>\n');
  process.exit(2);
}
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
server.run().then(
  (a) => process.stdout.write(`s3rver listening on 127.0.0.1:${a.port}, bucket ${bucket}, data in ${dir}\n`),
  (e: unknown) => {
    process.stderr.write(`s3rver failed to start: ${String(e)}\n`);
    process.exit(1);
  },
);
const stop = (): void => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
