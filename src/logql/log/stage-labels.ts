/**
 * `| drop` and `| keep` (Loki drop_labels.go, keep_labels.go).
 *  - drop: a bare name deletes the label; `__error__` / `__error_details__` clear the error;
 *    `name="v"` matchers delete only when the value matches (for `__error__`, the error value).
 *  - keep: deletes every label that is neither named nor matched by a matcher;
 *    `__error__`, `__error_details__` and `__preserve_error__` are always kept.
 */
import type { Matcher } from '../../model/matcher.js';
import type { NamedMatcher } from '../syntax/ast.js';
import type { LabelsBuilder } from './labels-builder.js';
import { compileMatcher } from './matcher.js';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, PRESERVE_ERROR_LABEL } from './sanitize.js';
import type { Stage } from './stage.js';

interface Compiled {
  readonly name: string;
  readonly matcher: Matcher | null;
}

function compile(labels: readonly NamedMatcher[]): Compiled[] {
  return labels.map((l) => ({
    name: l.matcher === null ? l.name : l.matcher.name,
    matcher: l.matcher === null ? null : compileMatcher(l.matcher.name, l.matcher.type, l.matcher.value),
  }));
}

export class DropStage implements Stage {
  private readonly items: Compiled[];
  constructor(labels: readonly NamedMatcher[]) {
    this.items = compile(labels);
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const name = it.name;
      if (name === ERROR_LABEL) {
        if (it.matcher === null || it.matcher.matches(lb.error())) lb.resetError();
        continue;
      }
      if (name === ERROR_DETAILS_LABEL) {
        if (it.matcher === null || it.matcher.matches(lb.errorDetails())) lb.resetErrorDetails();
        continue;
      }
      const v = lb.get(name);
      if (it.matcher === null) {
        if (v !== undefined) lb.del(name);
      } else if (it.matcher.matches(v ?? '')) lb.del(name);
    }
    return line;
  }
}

export class KeepStage implements Stage {
  private readonly items: Compiled[];
  private readonly toDelete: string[] = [];
  constructor(labels: readonly NamedMatcher[]) {
    this.items = compile(labels);
  }

  private kept(name: string, value: string): boolean {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.name !== name) continue;
      if (it.matcher === null || it.matcher.matches(value)) return true;
    }
    return false;
  }

  process(_ts: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    if (this.items.length === 0) return line;
    const all = lb.labels();
    let n = 0;
    for (let i = 0; i < all.length; i++) {
      const l = all[i]!;
      if (l.name === ERROR_LABEL || l.name === ERROR_DETAILS_LABEL || l.name === PRESERVE_ERROR_LABEL) continue;
      if (!this.kept(l.name, l.value)) this.toDelete[n++] = l.name;
    }
    for (let i = 0; i < n; i++) lb.del(this.toDelete[i]!);
    return line;
  }
}
