/**
 * Go text/template for LogQL `line_format` / `label_format`: parse once with
 * `compileTemplate`, then `execute` per entry. Syntax errors are ParseErrors worded like Go
 * (`template: line:1: function "foo" not defined`); runtime failures throw TemplateExecError,
 * which the pipeline turns into `__error__=TemplateFormatErr`.
 */
import { Compiler } from './compile.js';
import { FUNCS } from './funcs.js';
import { parseTemplate } from './parse.js';
import type { CompiledTemplate, TemplateContext } from './types.js';
import { labelMaps } from './values.js';

export { TemplateExecError } from './types.js';
export type { CompiledTemplate, TemplateContext } from './types.js';

/** Names callable from templates (Go builtins plus Loki's function map). */
export const TEMPLATE_FUNCTIONS: readonly string[] = [...FUNCS.keys()];

/**
 * Parses once; throws ParseError (with line/col relative to the template) on syntax errors and
 * unknown functions. `name` is the template name used in messages: Loki uses "line" for
 * line_format and "label" for label_format.
 */
export function compileTemplate(text: string, name = 'line'): CompiledTemplate {
  const parsed = parseTemplate(text, name, (fn) => FUNCS.has(fn));
  const compiler = new Compiler(text, name);
  const run = compiler.compile(parsed);
  const referencedLabels = compiler.opaque ? null : Object.freeze([...compiler.refs].sort());
  return {
    referencedLabels,
    execute: (ctx: TemplateContext) => run(ctx),
  };
}

/**
 * Marks a plain object as a label map (Go's map[string]string), so that a missing key reads as
 * "" instead of `<no value>`. Returns the same object.
 */
export function asLabelMap<T extends object>(o: T): T {
  labelMaps.add(o);
  return o;
}
