/**
 * The level of a log line for pattern grouping, in the spirit of Loki's detected_level:
 * a `detected_level`/`level` label or metadata first, then a level key in the line, then a
 * level word; `unknown` otherwise.
 */
import { knownLevel, LEVEL_UNKNOWN, type Labels } from '../../model/index.js';

const LABELS = ['detected_level', 'level', 'lvl', 'severity', 'LEVEL', 'Level'];
const KEY = /(?:^|[\s{,"])(?:level|lvl|severity|LEVEL|Level|Severity|SEVERITY)"?\s*[=:]\s*"?([A-Za-z]+)/;
const WORD = /\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL)\b/i;

/** Loki's canonical level for `v` (see model/log-level.ts), `unknown` for other spellings. */
export function normalizeLevel(v: string): string {
  return knownLevel(v) ?? LEVEL_UNKNOWN;
}

export function detectLevel(labels: Labels, metadata: Labels, line: string): string {
  for (const set of [metadata, labels]) {
    for (const name of LABELS) {
      const l = set.find((x) => x.name === name);
      if (l) return normalizeLevel(l.value);
    }
  }
  const head = line.length > 512 ? line.slice(0, 512) : line;
  const k = KEY.exec(head);
  if (k) return normalizeLevel(k[1]!);
  const w = WORD.exec(head);
  return w ? normalizeLevel(w[1]!) : 'unknown';
}
