import { runIngesterClientContract } from './client.contract.js';
import { GrpcIngesterClient } from './grpc/client.js';
import { serveIngester } from './grpc/testing.js';

runIngesterClientContract('in-process (LocalIngesterClient)', (local) => Promise.resolve({ client: local, cleanup: () => Promise.resolve() }));

runIngesterClientContract('gRPC (GrpcIngesterClient → server on 127.0.0.1 → LocalIngesterClient)', async (local) => {
  const served = await serveIngester(local);
  const client = new GrpcIngesterClient(served.address);
  return {
    client,
    cleanup: async () => {
      client.close();
      await served.close();
    },
  };
});
