// Bootstrap of Silt's worker threads (util/worker-channel.ts). Under tsx or vitest the worker
// must register the TypeScript loader itself (Node 20 workers do not inherit --import); the
// built package loads the compiled module directly.
import { workerData } from 'node:worker_threads';

if (workerData.ts) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
