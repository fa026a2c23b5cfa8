/**
 * Child process for wal-kill.test.ts: appends numbered records with fsync 'always' as fast as
 * it can (16 in flight, so group commit kicks in) and prints each number to stdout only after
 * its append() resolved. The parent SIGKILLs it at a random moment. Mode 'checkpoint' also keeps
 * everything in memory and checkpoints every 300 records, exercising rename/delete under kill.
 * Usage: node --import tsx kill-child.ts <dir> <plain|checkpoint>
 */
import { Wal } from '../wal.js';
import type { WalEntry } from '../record.js';
import type { WalSnapshotTenant } from '../wal.js';
import { expectedEntries, streamOf } from './kill-records.js';

const dir = process.argv[2]!;
const mode = process.argv[3] ?? 'plain';

const wal = await Wal.open({ enabled: true, dir, fsync: 'always', fsyncIntervalMs: 1000, segmentSizeBytes: 256 * 1024 });
await wal.replay(() => undefined);

/** Per stream: everything applied, as one chunk covering sequence numbers firstSeq..lastSeq. */
const memory = new Map<string, { labels: string; fingerprint: string; firstSeq: number; lastSeq: number; entries: WalEntry[] }>();
let next = 0;
let nextSeq = 1;

function snapshot(): Iterable<WalSnapshotTenant> {
  const streams = [...memory.values()].map((m) => ({
    labels: m.labels,
    fingerprint: m.fingerprint,
    appliedSeq: m.lastSeq,
    chunks: [{ firstSeq: m.firstSeq, lastSeq: m.lastSeq, closed: false, continues: false, entries: m.entries }],
  }));
  return [{ tenant: 'kill', streams, marks: [] }];
}

async function appender(): Promise<void> {
  for (;;) {
    const seq = next++;
    const entries = expectedEntries(seq);
    const s = streamOf(seq);
    const firstSeq = nextSeq;
    nextSeq += entries.length;
    const done = wal.append('kill', [{ labels: s.labels, fingerprint: s.fingerprint, entries, firstSeq }]);
    if (mode === 'checkpoint' && seq % 300 === 299) wal.checkpoint(snapshot).catch((e: unknown) => process.stderr.write(`checkpoint failed: ${String(e)}\n`));
    await done;
    if (mode === 'checkpoint') {
      // Memory second, once the record is durable: the ingester's contract.
      let m = memory.get(s.fingerprint);
      if (!m) memory.set(s.fingerprint, (m = { labels: s.labels, fingerprint: s.fingerprint, firstSeq, lastSeq: firstSeq, entries: [] }));
      m.entries.push(...entries);
      m.lastSeq = firstSeq + entries.length - 1;
    }
    process.stdout.write(`${seq}\n`);
  }
}

for (let i = 0; i < 16; i++) void appender();
