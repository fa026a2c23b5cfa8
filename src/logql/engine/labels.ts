/**
 * Label-set helpers of the engine: Prometheus' `labels.Compare` order (byte-wise, as Go compares
 * UTF-8 strings), series keys, and by/without grouping.
 */
import { labelsToString, type Label, type Labels } from '../../model/index.js';
import type { Grouping } from '../syntax/ast.js';

/** Go's byte-wise order of two strings (UTF-8 order, which differs from UTF-16 only above U+D7FF). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points, 4 UTF-8 bytes) sort after U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Prometheus `labels.Compare`: name, then value, label by label; a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return compareStrings(x.name, y.name);
    if (x.value !== y.value) return compareStrings(x.value, y.value);
  }
  return a.length - b.length;
}

/** Unambiguous key of a label set (its canonical text). */
export function labelsKey(l: Labels): string {
  return labelsToString(l);
}

export const NO_LABELS: Labels = Object.freeze([]) as Labels;

/** Labels kept by `by (names)` (absent names are simply missing). */
export function keepLabels(l: Labels, names: ReadonlySet<string>): Label[] {
  const out: Label[] = [];
  for (const x of l) if (names.has(x.name)) out.push(x);
  return out;
}

/** Labels left by `without (names)`. */
export function dropLabels(l: Labels, names: ReadonlySet<string>): Label[] {
  const out: Label[] = [];
  for (const x of l) if (!names.has(x.name)) out.push(x);
  return out;
}

/** A compiled grouping: `apply(labels)` returns the group's labels. */
export class Grouper {
  private readonly names: ReadonlySet<string>;
  constructor(
    readonly without: boolean,
    names: readonly string[],
  ) {
    this.names = new Set(names);
  }
  /** null grouping = `by ()`. */
  static of(g: Grouping | null): Grouper {
    return g === null ? new Grouper(false, []) : new Grouper(g.without, g.labels);
  }
  apply(l: Labels): Labels {
    if (this.without) return this.names.size === 0 ? l : dropLabels(l, this.names);
    return this.names.size === 0 ? NO_LABELS : keepLabels(l, this.names);
  }
}

/** Same names and values, in order. */
export function sameLabels(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.value !== y.value) return false;
  }
  return true;
}

/** Sets (or with '' removes) one label, keeping the set sorted. */
export function setLabel(l: Labels, name: string, value: string): Label[] {
  const out: Label[] = [];
  let placed = value === '';
  for (const x of l) {
    if (x.name === name) continue;
    if (!placed && compareStrings(x.name, name) > 0) {
      out.push({ name, value });
      placed = true;
    }
    out.push(x);
  }
  if (!placed) out.push({ name, value });
  return out;
}

/** Value of a label, '' when absent. */
export function getLabel(l: Labels, name: string): string {
  for (const x of l) if (x.name === name) return x.value;
  return '';
}
