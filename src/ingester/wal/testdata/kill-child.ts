/**
 * Child process for wal-kill.test.ts: appends numbered records with fsync 'always' as fast as
 * it can (16 in flight, so group commit kicks in) and prints each number to stdout only after
 * its append() resolved. The parent SIGKILLs it at a random moment. Mode 'checkpoint' also keeps
 * everything in memory and checkpoints every 300 records, exercising rename/delete under kill.
 * Usage: node --import tsx kill-child.ts <dir> <plain|checkpoint>
 */
import { Wal } from '../wal.js';
import type { WalEntry, WalStream } from '../record.js';
import { expectedEntries, streamOf } from './kill-records.js';

const dir = process.argv[2]!;
const mode = process.argv[3] ?? 'plain';

const wal = await Wal.open({ enabled: true, dir, fsync: 'always', fsyncIntervalMs: 1000, segmentSizeBytes: 256 * 1024 });
await wal.replay(() => undefined);

const memory = new Map<string, { labels: string; fingerprint: string; entries: WalEntry[] }>();
let next = 0;

function snapshot(): Iterable<{ tenant: string; streams: WalStream[] }> {
  return [{ tenant: 'kill', streams: [...memory.values()] }];
}

async function appender(): Promise<void> {
  for (;;) {
    const seq = next++;
    const entries = expectedEntries(seq);
    const s = streamOf(seq);
    if (mode === 'checkpoint') {
      // Memory first, synchronously, then the WAL: the ingester's contract.
      let m = memory.get(s.fingerprint);
      if (!m) memory.set(s.fingerprint, (m = { labels: s.labels, fingerprint: s.fingerprint, entries: [] }));
      m.entries.push(...entries);
    }
    const done = wal.append('kill', [{ labels: s.labels, fingerprint: s.fingerprint, entries }]);
    // After the append (never between memory and append), or the record would be in both the
    // snapshot and the segment after the boundary.
    if (mode === 'checkpoint' && seq % 300 === 299) wal.checkpoint(snapshot).catch((e: unknown) => process.stderr.write(`checkpoint failed: ${String(e)}\n`));
    await done;
    process.stdout.write(`${seq}\n`);
  }
}

for (let i = 0; i < 16; i++) void appender();
