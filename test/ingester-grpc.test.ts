/**
 * The ingester's gRPC services mounted on Silt's own GrpcServer (src/server/grpc.ts), as an
 * ingester process mounts them: the whole IngesterClient contract through it, and the rule that
 * the distributor and the ingester cannot both serve Loki's Pusher in one process.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { runIngesterClientContract, startTestIngester } from '../src/ingester/client.contract.js';
import { GrpcIngesterClient } from '../src/ingester/grpc/client.js';
import { registerIngesterServices } from '../src/ingester/grpc/server.js';
import { GrpcServer } from '../src/server/grpc.js';

const logger = pino({ level: 'silent' });

runIngesterClientContract('gRPC through GrpcServer.addService', async (local) => {
  const server = new GrpcServer({ logger, registry: new Registry(), authEnabled: true, maxRecvMsgSizeBytes: 4 << 20, push: null });
  const services = registerIngesterServices(server, local, { logger });
  const port = await server.listen('127.0.0.1', 0);
  const client = new GrpcIngesterClient(`127.0.0.1:${port}`);
  return {
    client,
    cleanup: async () => {
      client.close();
      services.close();
      await server.close(1000);
    },
  };
});

describe('GrpcServer with a distributor and an ingester', () => {
  it('refuses a second Pusher, and serves the ingester’s other services beside the distributor’s', async () => {
    const { ingester, local } = await startTestIngester();
    const push = { push: () => Promise.resolve() };
    const server = new GrpcServer({ logger, registry: new Registry(), authEnabled: true, maxRecvMsgSizeBytes: 4 << 20, push });
    try {
      expect(() => registerIngesterServices(server, local, { logger })).toThrow(/already provided/);
      const mounted = registerIngesterServices(server, local, { logger, lokiPusher: false });
      const port = await server.listen('127.0.0.1', 0);
      const client = new GrpcIngesterClient(`127.0.0.1:${port}`);
      expect(await client.tailersCount('t')).toBe(0);
      client.close();
      mounted.close();
    } finally {
      await server.close(1000);
      await ingester.stop(1000);
    }
  });
});
