/** Test and benchmark helper: the ingester's gRPC services on a real server at 127.0.0.1. Not used by production code. */
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import type { IngesterClient } from '../client.js';
import { registerIngesterServices, type IngesterServices, type IngesterServicesOptions } from './server.js';

/** A running server: its address, its services, and a close that ends everything it started. */
export interface ServedIngester {
  address: string;
  services: IngesterServices;
  close(): Promise<void>;
}

/** Serves `backend` on a random free port of 127.0.0.1. */
export async function serveIngester(backend: IngesterClient, opts: Partial<IngesterServicesOptions> & { logger?: Logger; maxRecvMsgSizeBytes?: number } = {}): Promise<ServedIngester> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': opts.maxRecvMsgSizeBytes ?? 4 * 1024 * 1024, 'grpc.max_send_message_length': 16 * 1024 * 1024 });
  const services = registerIngesterServices(server, backend, { ...opts, logger: opts.logger ?? pino({ level: 'silent' }) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    services,
    close: () =>
      new Promise<void>((resolve) => {
        services.close();
        server.tryShutdown(() => resolve());
        // Streams a client never ends would hold tryShutdown open.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000).unref();
      }),
  };
}
