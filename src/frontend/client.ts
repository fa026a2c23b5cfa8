/**
 * What queriers use of the frontend (their worker, src/querier/worker.ts): the Process method,
 * its codecs and the worker's timings. The frontend's own side is frontend.ts and server.ts.
 */
export { PROCESS_PATH } from './services.js';
export { decodeFrontendMessage, decodeWork, encodeHello, encodeResult, type HelloMessage, type ResultMessage, type WorkMessage } from './wire.js';
export { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS, MAX_MESSAGE_BYTES, WORKER_BACKOFF_MAX_MS, WORKER_BACKOFF_MIN_MS } from './consts.js';
