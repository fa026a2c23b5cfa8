/**
 * Cost of what the distributor adds on ingestion (service_name, metadata name normalisation,
 * detected_level) over 200k generator lines without a level label, in-process, 3 rounds.
 * Usage: npx tsx bench/field-detection.ts
 */
import { genEntries } from '../test/support/genlogs.js';
import { addDetectedLevels, discoverServiceName, LevelDetector, normalizeMetadataNames } from '../src/distributor/field-detection.js';
import { LabelsCache } from '../src/distributor/labels-parser.js';
import { otlpLabelName } from '../src/distributor/otlp.js';
import { defaultLimits } from '../src/distributor/limits.js';
import { fingerprint, labelsToString, labelsFromObject } from '../src/model/index.js';
import type { ValidStream } from '../src/model/index.js';

const entries = genEntries({ lines: 200_000, streams: 100 });
const det = new LevelDetector(defaultLimits.logLevelFields, 2);
// Parsed label strings, kept across rounds as the validator's cache keeps them.
const parses = new LabelsCache();
function build(): ValidStream[] {
  const by = new Map<string, ValidStream>();
  for (const e of entries) {
    const noLevel = { ...e.labels };
    delete noLevel['level'];
    const ls = labelsFromObject(noLevel);
    const k = labelsToString(ls);
    let s = by.get(k);
    if (!s) by.set(k, (s = { labels: ls, labelsString: k, fingerprint: fingerprint(ls), entries: [] }));
    s.entries.push({ tsNs: e.tsNs, line: Buffer.from(e.line), metadata: [] });
  }
  return [...by.values()];
}
let bytes = 0;
for (const e of entries) bytes += Buffer.byteLength(e.line);
for (let round = 0; round < 3; round++) {
  const streams = build();
  const t0 = performance.now();
  // Service-name discovery as the validator runs it: on the cached parse, once per label string.
  for (const s of streams) {
    const p = parses.get(s.labelsString);
    discoverServiceName(p, defaultLimits.discoverServiceName);
    s.labels = p.labels;
    s.labelsString = p.labelsString;
    s.fingerprint = p.fingerprint;
  }
  const out = streams;
  const t1 = performance.now();
  normalizeMetadataNames(out, otlpLabelName);
  const t2 = performance.now();
  addDetectedLevels(out, det);
  const ms = performance.now() - t0;
  const split = { serviceNameMs: Math.round(t1 - t0), metadataNamesMs: Math.round(t2 - t1), detectedLevelMs: Math.round(performance.now() - t2) };
  const levels = new Map<string, number>();
  for (const s of out) for (const e of s.entries) for (const m of e.metadata) if (m.name === 'detected_level') levels.set(m.value, (levels.get(m.value) ?? 0) + 1);
  console.log(JSON.stringify({ round, ...split, entries: entries.length, ms: Math.round(ms), nsPerEntry: Math.round((ms * 1e6) / entries.length), mbPerSec: Math.round(bytes / 1e6 / (ms / 1000)), levels: Object.fromEntries(levels) }));
}
