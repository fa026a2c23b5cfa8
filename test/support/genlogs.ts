/**
 * Runs the shared deterministic workload generator (../shared/bench/genlogs.mjs) and parses
 * its jsonl output: the reference data for end-to-end tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GENLOGS_PATH = path.resolve(REPO_ROOT, '../shared/bench/genlogs.mjs');
/**
 * The generator's real path: it runs its main() only when started by its own (resolved) file
 * name, so a symlinked ../shared would otherwise produce no output.
 */
export const GENLOGS = existsSync(GENLOGS_PATH) ? realpathSync(GENLOGS_PATH) : GENLOGS_PATH;

export interface GenEntry {
  labels: Record<string, string>;
  tsNs: bigint;
  line: string;
}

export interface GenOptions {
  lines: number;
  streams?: number;
  seed?: number;
  /** ms epoch of the first entry; default: `lines / rate` seconds before now, minus a minute. */
  startMs?: number;
  rate?: number;
}

/** Generates entries (strictly increasing timestamps) with the shared generator. */
export function genEntries(o: GenOptions): GenEntry[] {
  if (!existsSync(GENLOGS)) throw new Error(`workload generator not found at ${GENLOGS}`);
  const rate = o.rate ?? 1000;
  const startMs = o.startMs ?? Date.now() - Math.ceil((o.lines / rate) * 1000) - 60_000;
  const out = execFileSync(
    process.execPath,
    [GENLOGS, '--format', 'jsonl', '--lines', String(o.lines), '--streams', String(o.streams ?? 100), '--seed', String(o.seed ?? 1), '--start', String(startMs), '--rate', String(rate)],
    { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] },
  ).toString('utf8');
  const entries: GenEntry[] = [];
  for (const l of out.split('\n')) {
    if (l === '') continue;
    const o2 = JSON.parse(l) as { labels: Record<string, string>; ts_ns: string; line: string };
    entries.push({ labels: o2.labels, tsNs: BigInt(o2.ts_ns), line: o2.line });
  }
  return entries;
}

/** Canonical key of a label object (sorted), for grouping. */
export function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** Groups entries into Loki push streams, keeping order. */
export function toStreams(entries: readonly GenEntry[]): { stream: Record<string, string>; values: [string, string][] }[] {
  const m = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
  for (const e of entries) {
    const k = labelKey(e.labels);
    let s = m.get(k);
    if (!s) m.set(k, (s = { stream: e.labels, values: [] }));
    s.values.push([e.tsNs.toString(), e.line]);
  }
  return [...m.values()];
}
