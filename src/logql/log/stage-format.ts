/**
 * `| line_format "{{...}}"` and `| label_format dst=src, dst="{{...}}"` (Loki fmt.go).
 *
 * Templates come from the template engine (`src/logql/template`, injected as a
 * TemplateCompiler). line_format replaces the line; label_format renames (`dst=src`: when src
 * exists, dst takes its value and src is deleted, as Loki does) or sets dst from a template.
 * A template that fails at run time sets `__error__="TemplateFormatErr"` with the message in
 * `__error_details__` and leaves the line / label unchanged. Within one label_format, templates
 * see the labels as they were when the first template ran (Loki fills its map once per stage).
 */
import { InvalidError, ParseError } from '../../errors.js';
import type { Labels } from '../../model/index.js';
import type { LabelFormat } from '../syntax/ast.js';
import type { LabelsBuilder } from './labels-builder.js';
import { ERR_TEMPLATE_FORMAT, ERROR_LABEL } from './sanitize.js';
import type { Stage } from './stage.js';
import type { CompiledTemplate as FullCompiledTemplate, TemplateContext } from '../template/index.js';

/** What the pipeline needs of a compiled template (src/logql/template's CompiledTemplate). */
export type CompiledTemplate = Pick<FullCompiledTemplate, 'execute'>;
export type { TemplateContext };

/**
 * The template engine's `compileTemplate`: throws ParseError on bad templates. `name` is the
 * template's name in Go's messages: "line" for line_format, "label" for label_format, as in Loki.
 */
export type TemplateCompiler = (text: string, name?: string) => CompiledTemplate;

/**
 * Compiles a template, turning a syntax error into the InvalidError Loki answers when it builds
 * the stage: `<prefix>: template: line:1: function "x" not defined` (Go's text after Loki's own).
 */
function compileOrFail(compile: TemplateCompiler, text: string, name: string, prefix: string): CompiledTemplate {
  try {
    return compile(text, name);
  } catch (e) {
    if (e instanceof ParseError) throw new InvalidError(`${prefix}: ${e.detail}`, { cause: e });
    throw e;
  }
}

function toObject(labels: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of labels) o[l.name] = l.value;
  return o;
}

/** The reused context of one stage: live label lookups, the line decoded on first use. */
class LiveContext implements TemplateContext {
  lb!: LabelsBuilder;
  buf: Buffer = Buffer.alloc(0);
  tsNs = 0n;
  private decoded: string | null = null;

  reset(lb: LabelsBuilder, buf: Buffer, tsNs: bigint): void {
    this.lb = lb;
    this.buf = buf;
    this.tsNs = tsNs;
    this.decoded = null;
  }

  get line(): string {
    if (this.decoded === null) this.decoded = this.buf.toString('utf8');
    return this.decoded;
  }

  get(name: string): string | undefined {
    return this.lb.get(name);
  }

  labels(): Record<string, string> {
    return toObject(this.lb.labels());
  }
}

/** label_format with several templates: a snapshot of the labels taken when the first one runs. */
class SnapshotContext extends LiveContext {
  private snap: Labels | null = null;

  override reset(lb: LabelsBuilder, buf: Buffer, tsNs: bigint): void {
    super.reset(lb, buf, tsNs);
    this.snap = null;
  }

  take(): void {
    if (this.snap === null) this.snap = this.lb.labels();
  }

  override get(name: string): string | undefined {
    const s = this.snap;
    if (s === null) return this.lb.get(name);
    for (let i = 0; i < s.length; i++) if (s[i]!.name === name) return s[i]!.value;
    return undefined;
  }

  override labels(): Record<string, string> {
    return toObject(this.snap ?? this.lb.labels());
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class LineFormatStage implements Stage {
  private readonly tmpl: CompiledTemplate;
  private readonly ctx = new LiveContext();

  constructor(template: string, compile: TemplateCompiler) {
    this.tmpl = compileOrFail(compile, template, 'line', 'invalid line template');
  }

  process(tsNs: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    this.ctx.reset(lb, line, tsNs);
    let out: string;
    try {
      out = this.tmpl.execute(this.ctx);
    } catch (e) {
      lb.setError(ERR_TEMPLATE_FORMAT);
      lb.setErrorDetails(errorMessage(e));
      return line;
    }
    return Buffer.from(out, 'utf8');
  }
}

interface Format {
  readonly name: string;
  /** Source label for renames, '' for templates. */
  readonly src: string;
  readonly tmpl: CompiledTemplate | null;
}

export class LabelFormatStage implements Stage {
  private readonly formats: Format[];
  private readonly ctx = new SnapshotContext();
  private readonly snapshot: boolean;

  constructor(formats: readonly LabelFormat[], compile: TemplateCompiler | null) {
    const seen = new Set<string>();
    this.formats = formats.map((f) => {
      if (f.name === ERROR_LABEL) throw new InvalidError(`${ERROR_LABEL} cannot be formatted`);
      if (seen.has(f.name)) throw new InvalidError(`multiple label name '${f.name}' not allowed in a single format operation`);
      seen.add(f.name);
      if (f.rename) return { name: f.name, src: f.value, tmpl: null };
      if (compile === null) throw new InvalidError('not implemented yet: label_format templates (no template engine)');
      return { name: f.name, src: '', tmpl: compileOrFail(compile, f.value, 'label', `invalid template for label '${f.name}'`) };
    });
    this.snapshot = this.formats.filter((f) => f.tmpl !== null).length > 1;
  }

  process(tsNs: bigint, line: Buffer, lb: LabelsBuilder): Buffer | null {
    const ctx = this.ctx;
    ctx.reset(lb, line, tsNs);
    const fs = this.formats;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i]!;
      if (f.tmpl === null) {
        const v = lb.get(f.src);
        if (v !== undefined) {
          lb.setParsed(f.name, v);
          lb.del(f.src);
        }
        continue;
      }
      if (this.snapshot) ctx.take();
      let out: string;
      try {
        out = f.tmpl.execute(ctx);
      } catch (e) {
        lb.setError(ERR_TEMPLATE_FORMAT);
        lb.setErrorDetails(errorMessage(e));
        continue;
      }
      lb.setParsed(f.name, out);
    }
    return line;
  }
}

/**
 * Label names a template may read: every `.name` field reference. Null when it may read any
 * label (a bare `.` such as `{{ . }}` or `{{ range $k, $v := . }}`): callers then extract all.
 */
export function templateReferences(text: string): string[] | null {
  const names: string[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)?/g;
  for (const action of text.matchAll(/\{\{([\s\S]*?)\}\}/g)) {
    const body = action[1]!;
    for (let m = re.exec(body); m !== null; m = re.exec(body)) {
      const prev = m.index > 0 ? body[m.index - 1]! : ' ';
      if (m[1] === undefined) {
        // `1.5` is a number, not the dot.
        if (/[0-9]/.test(prev) || /[0-9]/.test(body[m.index + 1] ?? '')) continue;
        return null;
      }
      // `.a.b` chains and `$x.y` read fields of values, not labels; only the first field counts.
      if (/[A-Za-z0-9_\])]/.test(prev)) continue;
      names.push(m[1]);
    }
  }
  return names;
}
