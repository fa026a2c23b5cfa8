/** Public types of the template engine and the execution state shared by its parts. */
import { SiltError } from '../../errors.js';

export interface TemplateContext {
  /** Label value lookup (`.name`); undefined when absent (prints as empty, like Loki's map lookup). */
  get(name: string): string | undefined;
  /** The current line (`__line__`). */
  line: string;
  /** Entry timestamp in ns (`__timestamp__` → a time value). */
  tsNs: bigint;
  /** All labels as an object (for `range`, and `.` printing). */
  labels(): Record<string, string>;
}

export interface CompiledTemplate {
  execute(ctx: TemplateContext): string;
  /** Label names the template references (`.name` fields), for the json parser's key-subset optimisation; null when it cannot tell (e.g. uses `.` or `range`). */
  readonly referencedLabels: readonly string[] | null;
}

/**
 * A template failed while executing (bad argument, failed conversion, ...). Loki keeps the
 * entry and sets `__error__=TemplateFormatErr` with this message as `__error_details__`.
 */
export class TemplateExecError extends SiltError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'TemplateExecError';
  }
}

/** Mutable per-execution state. */
export interface ExecState {
  ctx: TemplateContext;
  /** Current dot; ROOT stands for the label map until it must be materialised. */
  dot: unknown;
  /** Variable slots; slot 0 is `$`. */
  vars: unknown[];
  /** 0, or BREAK / CONTINUE while unwinding a range body. */
  ctl: number;
  /** The label map, materialised on first use. */
  root: Record<string, string> | undefined;
}

export const BREAK = 1;
export const CONTINUE = 2;

/** The root data (label map) before materialisation. */
export const ROOT: object = Object.freeze({ root: true });
