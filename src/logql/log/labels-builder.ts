/**
 * The per-entry label state of a stream pipeline (Loki's LabelsBuilder, pkg/logql/log/labels.go):
 * the stream labels (fixed per stream), the entry's structured metadata, labels set by stages
 * (parsed category), deletions, and `__error__` / `__error_details__`.
 *
 * Precedence follows Loki: parsed > metadata > stream. Metadata whose name clashes with a stream
 * label is renamed `<name>_extracted`; metadata named `__error__`/`__error_details__` sets the
 * error. Storage is parallel string arrays with counts that `reset()` rewinds without
 * allocating; `labels()` is sorted, cached until the next change, and when an entry yields the
 * same labels as the previous one the previous array is returned again.
 */
import type { Label, Labels, StructuredMetadata } from '../../model/index.js';
import type { LabelsView } from './pipeline.js';
import { DUPLICATE_SUFFIX, ERROR_DETAILS_LABEL, ERROR_LABEL } from './sanitize.js';

const EMPTY: Labels = Object.freeze([]) as Labels;

/** Growable parallel name/value arrays with a count (no per-entry allocation). */
class Pairs {
  names: string[] = [];
  values: string[] = [];
  n = 0;

  indexOf(name: string): number {
    const names = this.names;
    for (let i = 0; i < this.n; i++) if (names[i] === name) return i;
    return -1;
  }

  set(name: string, value: string): void {
    const i = this.indexOf(name);
    if (i >= 0) {
      this.values[i] = value;
      return;
    }
    this.names[this.n] = name;
    this.values[this.n] = value;
    this.n++;
  }

  remove(name: string): boolean {
    const i = this.indexOf(name);
    if (i < 0) return false;
    for (let j = i + 1; j < this.n; j++) {
      this.names[j - 1] = this.names[j]!;
      this.values[j - 1] = this.values[j]!;
    }
    this.n--;
    return true;
  }
}

export class LabelsBuilder implements LabelsView {
  /** Stream labels, sorted. */
  readonly base: Labels;
  private readonly baseMap: Map<string, string>;
  private readonly md = new Pairs();
  private readonly parsed = new Pairs();
  private readonly deleted: string[] = [];
  private delN = 0;
  private err = '';
  private errDetails = '';
  /** True when something differs from the bare stream labels. */
  private dirty = false;
  /** Bumped on every change; labels() caches by it. */
  private version = 0;
  private cachedVersion = -1;
  private cached: Labels = EMPTY;
  // Scratch for labels().
  private sn: string[] = [];
  private sv: string[] = [];
  private order: number[] = [];

  constructor(base: Labels) {
    this.base = base;
    this.baseMap = new Map();
    for (const l of base) this.baseMap.set(l.name, l.value);
  }

  /** Starts a new entry: back to the stream labels. */
  reset(): void {
    if (!this.dirty) return;
    this.md.n = 0;
    this.parsed.n = 0;
    this.delN = 0;
    this.err = '';
    this.errDetails = '';
    this.dirty = false;
    this.version++;
  }

  private touch(): void {
    this.dirty = true;
    this.version++;
  }

  /** Adds the entry's structured metadata (Loki `Add(StructuredMetadataLabel, ...)`). */
  addMetadata(md: StructuredMetadata): void {
    for (let i = 0; i < md.length; i++) {
      const l = md[i]!;
      let name = l.name;
      if (this.baseMap.has(name)) name += DUPLICATE_SUFFIX;
      if (name === ERROR_LABEL) this.setError(l.value);
      else if (name === ERROR_DETAILS_LABEL) this.setErrorDetails(l.value);
      else if (this.parsed.indexOf(name) < 0) {
        this.md.set(name, l.value);
        this.touch();
      }
    }
  }

  /** True when the stream labels have `name` (Loki `BaseHas`, deletions ignored). */
  baseHas(name: string): boolean {
    return this.baseMap.has(name);
  }

  /** True when the entry's metadata has `name`. */
  hasMetadata(name: string): boolean {
    return this.md.n > 0 && this.md.indexOf(name) >= 0;
  }

  /** True when a stage already set `name` for this entry (Loki's `Extracted`: parsers never overwrite). */
  hasParsed(name: string): boolean {
    return this.parsed.n > 0 && this.parsed.indexOf(name) >= 0;
  }

  /** The name a parser must use for `name`: `<name>_extracted` when a stream label or metadata has it. */
  parsedName(name: string): string {
    return this.baseMap.has(name) || this.hasMetadata(name) ? name + DUPLICATE_SUFFIX : name;
  }

  /** Sets a parsed label (overrides metadata and stream labels of the same name). */
  setParsed(name: string, value: string): void {
    if (this.md.n > 0) this.md.remove(name);
    this.parsed.set(name, value);
    this.touch();
  }

  /** Deletes a label of any category. */
  del(name: string): void {
    if (this.parsed.n > 0) this.parsed.remove(name);
    if (this.md.n > 0) this.md.remove(name);
    this.deleted[this.delN++] = name;
    this.touch();
  }

  private isDeleted(name: string): boolean {
    for (let i = 0; i < this.delN; i++) if (this.deleted[i] === name) return true;
    return false;
  }

  /** Value of a label; `__error__`/`__error_details__` when set. Stream labels with empty values count as absent. */
  get(name: string): string | undefined {
    if (this.dirty) {
      if (this.parsed.n > 0) {
        const i = this.parsed.indexOf(name);
        if (i >= 0) return this.parsed.values[i];
      }
      if (this.md.n > 0) {
        const i = this.md.indexOf(name);
        if (i >= 0) return this.md.values[i];
      }
      if (this.delN > 0 && this.isDeleted(name)) return undefined;
      if (name === ERROR_LABEL) return this.err === '' ? undefined : this.err;
      if (name === ERROR_DETAILS_LABEL) return this.errDetails === '' ? undefined : this.errDetails;
    }
    const v = this.baseMap.get(name);
    return v === '' ? undefined : v;
  }

  /** The label's category, or null when absent. */
  categoryOf(name: string): 'stream' | 'metadata' | 'parsed' | null {
    if (this.parsed.indexOf(name) >= 0) return 'parsed';
    if (this.md.indexOf(name) >= 0) return 'metadata';
    if (this.isDeleted(name)) return null;
    const v = this.baseMap.get(name);
    return v === undefined || v === '' ? null : 'stream';
  }

  error(): string {
    return this.err;
  }

  errorDetails(): string {
    return this.errDetails;
  }

  setError(e: string): void {
    this.err = e;
    this.touch();
  }

  setErrorDetails(d: string): void {
    this.errDetails = d;
    this.touch();
  }

  /** Sets `__error__` and `__error_details__` unless an error is already set (label filters). */
  setErrorOnce(e: string, details: string): void {
    if (this.err !== '') return;
    this.err = e;
    this.errDetails = details;
    this.touch();
  }

  resetError(): void {
    if (this.err === '') return;
    this.err = '';
    this.touch();
  }

  resetErrorDetails(): void {
    if (this.errDetails === '') return;
    this.errDetails = '';
    this.touch();
  }

  /** True when nothing differs from the stream labels. */
  unchanged(): boolean {
    return !this.dirty;
  }

  /** Collects the visible labels into the scratch arrays; returns the count (unsorted). */
  private collect(): number {
    const sn = this.sn;
    const sv = this.sv;
    let k = 0;
    const md = this.md;
    const parsed = this.parsed;
    for (let i = 0; i < this.base.length; i++) {
      const l = this.base[i]!;
      if (this.delN > 0 && this.isDeleted(l.name)) continue;
      if (md.n > 0 && md.indexOf(l.name) >= 0) continue;
      if (parsed.n > 0 && parsed.indexOf(l.name) >= 0) continue;
      sn[k] = l.name;
      sv[k++] = l.value;
    }
    for (let i = 0; i < md.n; i++) {
      if (parsed.n > 0 && parsed.indexOf(md.names[i]!) >= 0) continue;
      sn[k] = md.names[i]!;
      sv[k++] = md.values[i]!;
    }
    for (let i = 0; i < parsed.n; i++) {
      sn[k] = parsed.names[i]!;
      sv[k++] = parsed.values[i]!;
    }
    if (this.err !== '') {
      sn[k] = ERROR_LABEL;
      sv[k++] = this.err;
    }
    if (this.errDetails !== '') {
      sn[k] = ERROR_DETAILS_LABEL;
      sv[k++] = this.errDetails;
    }
    return k;
  }

  /** All labels sorted by name (stream ∪ metadata ∪ parsed ∪ errors). */
  labels(): Labels {
    if (!this.dirty) return this.base;
    if (this.cachedVersion === this.version) return this.cached;
    const k = this.collect();
    const res = sortedLabels(this.sn, this.sv, k, this.order, this.cached);
    this.cached = res;
    this.cachedVersion = this.version;
    return res;
  }

  categorized(): { stream: Labels; metadata: Labels; parsed: Labels } {
    if (!this.dirty) return { stream: this.base, metadata: EMPTY, parsed: EMPTY };
    const stream: Label[] = [];
    const metadata: Label[] = [];
    const parsed: Label[] = [];
    for (const l of this.labels()) {
      if (l.name === ERROR_LABEL || l.name === ERROR_DETAILS_LABEL || this.parsed.indexOf(l.name) >= 0) parsed.push(l);
      else if (this.md.indexOf(l.name) >= 0) metadata.push(l);
      else stream.push(l);
    }
    return { stream, metadata, parsed };
  }
}

/**
 * Sorts the first `k` scratch pairs by name into a Labels array; returns `prev` itself when it
 * holds exactly the same pairs (no allocation for repeated label sets).
 */
export function sortedLabels(sn: string[], sv: string[], k: number, order: number[], prev: Labels): Labels {
  for (let i = 0; i < k; i++) order[i] = i;
  // Insertion sort: label sets are small.
  for (let i = 1; i < k; i++) {
    const x = order[i]!;
    const name = sn[x]!;
    let j = i - 1;
    while (j >= 0 && sn[order[j]!]! > name) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = x;
  }
  if (prev.length === k) {
    let same = true;
    for (let i = 0; i < k; i++) {
      const l = prev[i]!;
      const o = order[i]!;
      if (l.name !== sn[o] || l.value !== sv[o]) {
        same = false;
        break;
      }
    }
    if (same) return prev;
  }
  const out: Label[] = new Array<Label>(k);
  for (let i = 0; i < k; i++) {
    const o = order[i]!;
    out[i] = { name: sn[o]!, value: sv[o]! };
  }
  return out;
}

export const EMPTY_LABELS = EMPTY;
