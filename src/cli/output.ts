/**
 * logcli's output modes for log lines: `default` (`<ts> <labels> <line>`), `raw` (the line)
 * and `jsonl` (`{"labels":…,"line":…,"timestamp":…}`), plus colour on a terminal only.
 */
import { formatTime, type Zone } from './time.js';

export type OutputMode = 'default' | 'raw' | 'jsonl';
export type LabelSet = Record<string, string>;

/** Go's strconv.Quote for the ASCII-printable common case; other characters as JSON escapes. */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** loghttp.LabelSet.String(): `{a="1", b="2"}`, names sorted. */
export function labelSetString(ls: LabelSet): string {
  const keys = Object.keys(ls).sort();
  return '{' + keys.map((k) => `${k}=${quote(ls[k]!)}`).join(', ') + '}';
}

/** Sorted copy, so JSON output has Go's map key order. */
export function sortedLabels(ls: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const k of Object.keys(ls).sort()) out[k] = ls[k]!;
  return out;
}

const ESC = '\u001b[';
export const COLORS = { reset: ESC + '0m', red: ESC + '31m', green: ESC + '32m', yellow: ESC + '33m', blue: ESC + '34m', magenta: ESC + '35m', cyan: ESC + '36m', dim: ESC + '2m', bold: ESC + '1m' } as const;

const LEVEL_WORD = /\b(?:level|lvl|severity)"?\s*[=:]\s*"?([A-Za-z]+)|\b(TRACE|DEBUG|INFO|WARN(?:ING)?|ERROR|ERR|CRIT(?:ICAL)?|FATAL|PANIC)\b/i;

/** The level of a line, from its labels or the line itself; '' when none is found. */
export function lineLevel(labels: LabelSet, line: string): string {
  const l = labels['level'] ?? labels['detected_level'] ?? labels['lvl'] ?? labels['severity'];
  const m = l === undefined ? LEVEL_WORD.exec(line.length > 300 ? line.slice(0, 300) : line) : null;
  const v = (l ?? m?.[1] ?? m?.[2] ?? '').toLowerCase();
  if (v.startsWith('err') || v === 'fatal' || v === 'panic' || v.startsWith('crit')) return 'error';
  if (v.startsWith('warn')) return 'warn';
  if (v === 'info' || v === 'information' || v === 'notice') return 'info';
  if (v === 'debug' || v === 'trace' || v === 'dbg') return 'debug';
  return '';
}

const LEVEL_COLOR: Record<string, string> = { error: COLORS.red, warn: COLORS.yellow, info: COLORS.green, debug: COLORS.dim };

export interface OutputOptions {
  mode: OutputMode;
  zone: Zone;
  /** RFC3339Nano (true) or RFC3339. */
  nano: boolean;
  noLabels: boolean;
  /** ANSI colours: only when stdout is a terminal. */
  color: boolean;
  write: (s: string) => void;
}

/** Prints one log line per call in the chosen mode. */
export class LogPrinter {
  constructor(private readonly o: OutputOptions) {}

  /** `labels` are the labels to show (common labels already removed); `full` decides the level colour. */
  print(tsNs: bigint, labels: LabelSet, maxLabelsLen: number, line: string, full: LabelSet = labels): void {
    const o = this.o;
    if (o.mode === 'raw') {
      o.write((line.endsWith('\n') ? line.slice(0, -1) : line) + '\n');
      return;
    }
    if (o.mode === 'jsonl') {
      const entry: Record<string, unknown> = {};
      if (!o.noLabels) entry['labels'] = sortedLabels(labels);
      entry['line'] = line;
      entry['timestamp'] = formatTime(tsNs, o.zone, true);
      o.write(JSON.stringify(entry) + '\n');
      return;
    }
    const ts = formatTime(tsNs, o.zone, o.nano);
    const text = line.trim();
    const c = o.color;
    const lvl = c ? LEVEL_COLOR[lineLevel(full, text)] : undefined;
    const body = lvl ? lvl + text + COLORS.reset : text;
    const tsOut = c ? COLORS.blue + ts + COLORS.reset : ts;
    if (o.noLabels) {
      o.write(`${tsOut} ${body}\n`);
      return;
    }
    const ls = labelSetString(labels).padEnd(maxLabelsLen);
    o.write(`${tsOut} ${c ? COLORS.red + ls + COLORS.reset : ls} ${body}\n`);
  }
}

/** Labels shared with the same value by every set. */
export function commonLabels(sets: readonly LabelSet[]): LabelSet {
  if (sets.length === 0) return {};
  const out: LabelSet = { ...sets[0] };
  for (const s of sets.slice(1)) for (const k of Object.keys(out)) if (s[k] !== out[k]) delete out[k];
  return out;
}

/** `ls` without the labels `common` holds with the same value. */
export function subtract(ls: LabelSet, common: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const [k, v] of Object.entries(ls)) if (common[k] !== v) out[k] = v;
  return out;
}

/** logcli's --include-label (keep only) / --exclude-label (drop). */
export function matchLabels(keep: boolean, ls: LabelSet, names: readonly string[]): LabelSet {
  const out: LabelSet = {};
  for (const [k, v] of Object.entries(ls)) if (names.includes(k) === keep) out[k] = v;
  return out;
}
