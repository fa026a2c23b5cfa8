/** Helpers for tests that run the ring against a real etcd (test/support/etcd.ts). */
import type { LifecyclerConfig } from './lifecycler.js';

/** Polls `cond` every 20 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A lifecycler config with short timings (1 s lease, 200 ms heartbeats), overridable. */
export function testLifecyclerConfig(id: string, over: Partial<LifecyclerConfig> = {}): LifecyclerConfig {
  return {
    ringName: 'ring',
    id,
    addr: `127.0.0.1:${9000 + (hashId(id) % 1000)}`,
    httpAddr: `http://127.0.0.1:${3000 + (hashId(id) % 1000)}`,
    numTokens: 16,
    heartbeatPeriodMs: 200,
    heartbeatTimeoutMs: 1000,
    joinAfterMs: 0,
    finalSleepMs: 0,
    tokensFilePath: '',
    ...over,
  };
}

function hashId(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h;
}
