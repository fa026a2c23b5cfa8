/** Seeded random WAL records for tests (round trip, torn tails, the kill -9 child). */
import type { Label } from '../../../model/index.js';
import { newStreamRef, type WalEntry, type WalStream } from '../record.js';

export { seededRandom as prng } from '../../../util/random.js';

export interface TestRecord {
  tenant: string;
  streams: WalStream[];
}

const TENANTS = ['fake', 'tenant-1', 'a.b_c!*()', 'x'.repeat(150)];
const UNICODE = ['héllo wörld', '日本語のログ', '🎉 emoji 🚀', 'Ελληνικά', 'tab\tand\nnewline', ''];
const INT64_MAX = 2n ** 63n - 1n;

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomLine(rnd: () => number): Buffer {
  const k = rnd();
  if (k < 0.1) return Buffer.alloc(0);
  if (k < 0.3) {
    const b = Buffer.allocUnsafe(1 + Math.floor(rnd() * 300));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  }
  if (k < 0.5) return Buffer.from(pick(rnd, UNICODE) + ' ' + Math.floor(rnd() * 1e9), 'utf8');
  if (k < 0.52) return Buffer.alloc(20_000 + Math.floor(rnd() * 50_000), 'L');
  let s = 'level=info msg="request done" id=';
  const n = Math.floor(rnd() * 200);
  for (let i = 0; i < n; i++) s += String.fromCharCode(32 + Math.floor(rnd() * 95));
  return Buffer.from(s, 'latin1');
}

function randomTs(rnd: () => number): bigint {
  const k = rnd();
  if (k < 0.1) return INT64_MAX - BigInt(Math.floor(rnd() * 1000));
  if (k < 0.13) return 0n;
  if (k < 0.15) return -(2n ** 63n) + BigInt(Math.floor(rnd() * 1000));
  return 1_700_000_000_000_000_000n + BigInt(Math.floor(rnd() * 1e15));
}

/** Live streams: records carrying them refer to the segment dictionary after their first use. */
const LIVE = Array.from({ length: 6 }, (_, i) => ({ labels: `{app="live-${i}", env="prod"}`, fingerprint: `live${i}`, ref: newStreamRef() }));
/** Shared frozen metadata arrays, as the distributor's detected_level pairs. */
const FROZEN: readonly (readonly Label[])[] = ['info', 'warn', 'error'].map((v) => Object.freeze([Object.freeze({ name: 'detected_level', value: v })]));

function randomMetadata(rnd: () => number): readonly Label[] {
  const k = rnd();
  if (k < 0.15) return pick(rnd, FROZEN);
  // Too long for a segment dictionary: written in full every time.
  if (k < 0.2) return [{ name: 'payload', value: 'p'.repeat(300 + Math.floor(rnd() * 100)) }];
  const n = rnd() < 0.6 ? 0 : 1 + Math.floor(rnd() * 3);
  const out: Label[] = [];
  for (let i = 0; i < n; i++) out.push({ name: pick(rnd, ['trace_id', 'user', 'näme']), value: pick(rnd, UNICODE) + String(Math.floor(rnd() * 100)) });
  return out;
}

/** One random record: 1–3 streams of 0–6 entries with edge-case timestamps, lines and metadata. */
/** Sequence numbers handed out by testSeqs, growing over the whole test process. */
let lastTestSeq = 0;

/** Reserves `n` consecutive sequence numbers (at least one) and returns the first, as the ingester does. */
export function testSeqs(n: number): number {
  const first = lastTestSeq + 1;
  lastTestSeq += Math.max(1, n);
  return first;
}

export function randomRecord(rnd: () => number): TestRecord {
  const streams: WalStream[] = [];
  const ns = 1 + Math.floor(rnd() * 3);
  for (let s = 0; s < ns; s++) {
    const entries: WalEntry[] = [];
    const ne = Math.floor(rnd() * 7);
    for (let e = 0; e < ne; e++) entries.push({ tsNs: randomTs(rnd), line: randomLine(rnd), metadata: randomMetadata(rnd) });
    if (rnd() < 0.5) {
      streams.push({ ...pick(rnd, LIVE), entries, firstSeq: testSeqs(entries.length) });
      continue;
    }
    const app = pick(rnd, ['api', 'db', 'wörker', 'x'.repeat(60)]);
    streams.push({ labels: `{app="${app}", env="prod"}`, fingerprint: Math.floor(rnd() * 2 ** 52).toString(16), entries, firstSeq: testSeqs(entries.length) });
  }
  return { tenant: pick(rnd, TENANTS), streams };
}

/** Comparable plain form (lines as base64) so views and copies compare equal. */
export function normalize(tenant: string, streams: readonly WalStream[]): unknown {
  return {
    tenant,
    streams: streams.map((s) => ({
      labels: s.labels,
      fingerprint: s.fingerprint,
      entries: s.entries.map((e) => ({ ts: e.tsNs.toString(), line: Buffer.from(e.line.buffer, e.line.byteOffset, e.line.length).toString('base64'), md: e.metadata.map((m) => [m.name, m.value]) })),
    })),
  };
}
