/**
 * The metric engine's view of storage: every entry of a selector exactly once, from memory
 * and stored chunks together, with time range and line filters applied — compared with a
 * brute-force filter over the pushed data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExpr, type LogSelectorExpr } from '../src/logql/syntax/index.js';
import { QuerierEntrySource } from '../src/querier/entry-source.js';
import { genEntries, labelKey } from './support/genlogs.js';
import { startInProcess, tempDir, type InProcess, NO_INGEST_ENRICHMENT, pushEntries } from './support/silt.js';

let silt: InProcess;
const entries = genEntries({ lines: 4000, streams: 25, rate: 100 });

async function push(from: number, to: number): Promise<void> {
  const r = await pushEntries(silt.url, entries.slice(from, to));
  expect(r.status).toBe(204);
}

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT, '-ingester.chunk-target-size=32KiB', '-ingester.chunks-block-size=8KiB', '-ingester.chunks-retain-period=1h']);
  await push(0, 2500);
  await silt.app.ingester!.flushNow(true); // first part flushed but still retained in memory
  await push(2500, 4000);
});
afterAll(async () => {
  await silt?.stop();
});

async function collect(query: string, fromNs: bigint, throughNs: bigint): Promise<string[]> {
  const src = new QuerierEntrySource('fake', silt.app.ingester, (silt.app.querier as any).deps.store, 4);
  const out: string[] = [];
  await src.scan(parseExpr(query) as LogSelectorExpr, fromNs, throughNs, (v) => {
    const obj = Object.fromEntries(v.labels.map((l) => [l.name, l.value]));
    for (let i = v.lo; i < v.hi; i++) {
      if (v.sel[i] !== 1) continue;
      const line = v.block.lines.toString('utf8', v.block.lineOffsets[i]!, v.block.lineOffsets[i + 1]!);
      out.push(`${labelKey(obj)}|${v.block.baseNs + BigInt(v.block.tsRel[i]!)}|${line}`);
    }
  });
  return out.sort();
}

describe('QuerierEntrySource', () => {
  it.each([
    ['{cluster=~".+"}', () => true],
    ['{cluster="prod-eu-west-1"} |= "GET"', (l: string, c: string) => c === 'prod-eu-west-1' && l.includes('GET')],
    ['{cluster=~".+"} |= "ERR_RATE_LIMITED_7F1A"', (l: string) => l.includes('ERR_RATE_LIMITED_7F1A')],
    ['{cluster=~".+"} != "info"', (l: string) => !l.includes('info')],
  ])('%s visits each entry once', async (query, pred) => {
    const from = entries[300]!.tsNs;
    const through = entries[3700]!.tsNs;
    const want = entries
      .filter((e) => e.tsNs >= from && e.tsNs <= through && (pred as (l: string, c: string) => boolean)(e.line, e.labels['cluster']!))
      .map((e) => `${labelKey(e.labels)}|${e.tsNs}|${e.line}`)
      .sort();
    expect(await collect(query, from, through)).toEqual(want);
  });
});
