/**
 * The body of a querier thread (`querier-threads.ts` starts it): a querier of its own, as a
 * `-target=querier` process would run it, inside the `-target=all` process. It reads stored
 * chunks itself, reaches the process's ingester over local gRPC (the IngesterQuerier a
 * querier of a cluster uses) and pulls pieces from the process's query-frontend over gRPC
 * (FrontendWorker), so one query's shards and windows run on several cores.
 *
 * Messages from the process: `{ type: 'metrics', id }` → `{ type: 'metrics', id, metrics }`
 * (this thread's registry as JSON, summed into the process's /metrics); `{ type: 'stop',
 * drainMs }` → pieces in hand are finished and answered, connections closed, `{ type: 'stopped' }`;
 * `{ type: 'deletes', tenant }`: the process changed a delete request of `tenant`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Counter, Registry } from 'prom-client';
import { DeleteRequestsStore } from '../compactor/index.js';
import type { SiltConfig } from '../config/config.js';
import { RuntimeConfig } from '../config/runtime-config.js';
import { GrpcIngesterClient } from '../ingester/grpc/client.js';
import { FrontendWorker, type PieceExecutor } from '../querier/worker.js';
import { newLogger } from './logger.js';
import { newObjectStore, newPieceExecutor, newQuerier, newStoreReaders, readCacheSizes, registerCacheMetrics } from './read-path.js';
import type { QuerierThreadData, ThreadReply, ThreadRequest } from './querier-threads.js';

const data = workerData as QuerierThreadData;
const cfg: SiltConfig = data.cfg;
const port = parentPort!;
const logger = newLogger(cfg.server).child({ querierThread: data.index });
const registry = new Registry();
const { objects } = newObjectStore(cfg, registry);
const rc = new RuntimeConfig({ file: cfg.runtime_config.file, periodMs: cfg.runtime_config.period, defaults: cfg.limits_config, logger: logger.child({ component: 'runtime-config' }), registry: new Registry() });
rc.start();
const sizes = readCacheSizes(cfg, data.queriers);
const readers = newStoreReaders(objects, cfg, sizes, registry);
registerCacheMetrics(registry, readers.caches);
const ingester = new GrpcIngesterClient(data.address);
const deletes = new DeleteRequestsStore(objects);
const querier = newQuerier(cfg, {
  store: readers.store,
  ingester,
  limits: (tenant) => rc.limitsOf(tenant),
  deletes,
  blockCacheBytes: sizes.blocks,
  dedup: false,
  logger: logger.child({ component: 'querier' }),
  queriers: data.queriers,
});
const execute = newPieceExecutor(querier, cfg, { logger: logger.child({ component: 'querier-pieces' }), registry, build: data.build, rangeMetricQuery: null });
const pieces = new Counter({ name: 'silt_querier_thread_pieces_total', help: 'Query pieces run by the querier threads (querier.threads); the rest ran on the process\'s own querier.', registers: [registry] });
const run: PieceExecutor = (w, signal) => {
  pieces.inc();
  return execute(w, signal);
};
const worker = new FrontendWorker({ addresses: [data.address], concurrency: data.concurrency, querierId: `thread-${data.index}/${process.pid}`, run, logger: logger.child({ component: 'frontend-worker' }), registry });
worker.start();

const reply = (m: ThreadReply): void => port.postMessage(m);
port.on('message', (m: ThreadRequest) => {
  if (m.type === 'metrics') {
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ type: 'metrics', id: m.id, metrics }),
      () => reply({ type: 'metrics', id: m.id, metrics: [] }),
    );
  } else if (m.type === 'deletes') {
    deletes.invalidate(m.tenant);
  } else if (m.type === 'stop') {
    void (async () => {
      await worker.stop(m.drainMs);
      rc.stop();
      ingester.close();
      await objects.close();
      reply({ type: 'stopped', metrics: await registry.getMetricsAsJSON().catch(() => []) });
      port.close();
    })();
  }
});
