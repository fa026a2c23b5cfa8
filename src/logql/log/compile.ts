/**
 * Compiles a log selector's stages into a Pipeline (log queries) or a SampleExtractor (range
 * aggregations), following Loki's pipeline.go / metrics_extraction.go:
 *  - stages compile once into an array of Stage instances shared by every stream;
 *  - `forStream(labels)` returns a per-stream object cached by the label set, holding one
 *    LabelsBuilder that is reset per entry;
 *  - `process` runs the stages with plain calls and returns one reused result object, or null
 *    as soon as a stage filters the entry out (nothing allocated for it).
 *
 * Parser hints: the labels later stages and the output need are computed backwards over the
 * stages (label filters, template references, label_format sources, keep/drop, unwrap and its
 * post-filters, `by` grouping) and handed to each parser, which then extracts only those.
 * Log queries and `without` / ungrouped metric queries need every label.
 */
import { InvalidError, NotImplementedError } from '../../errors.js';
import type { Labels, StructuredMetadata } from '../../model/index.js';
import { labelsToString } from '../../model/labels.js';
import type { Grouping, LogRangeExpr, LogSelectorExpr, RangeOp, StageExpr } from '../syntax/ast.js';
import { EMPTY_LABELS, LabelsBuilder, sortedLabels } from './labels-builder.js';
import type {
  ExtractedSample,
  LabelsView,
  Pipeline,
  ProcessedEntry,
  SampleExtractor,
  StreamPipeline,
  StreamSampleExtractor,
} from './pipeline.js';
import { ERR_SAMPLE_EXTRACTION } from './sanitize.js';
import { DecolorizeStage } from './stage-decolorize.js';
import { LabelFormatStage, LineFormatStage, templateReferences, type TemplateCompiler } from './stage-format.js';
import { JsonParserStage, JsonPathStage } from './stage-json.js';
import { LabelFilterStage, compileLabelFilter, labelFilterNames, type LabelPredicate } from './stage-label-filter.js';
import { DropStage, KeepStage } from './stage-labels.js';
import { checkLineFilterRegexes } from './line-filter.js';
import { LineFilterStage } from './stage-line-filter.js';
import { LogfmtParamsStage, LogfmtParserStage } from './stage-logfmt.js';
import { PatternParserStage } from './stage-pattern.js';
import { RegexpParserStage } from './stage-regexp.js';
import { UnpackStage } from './stage-unpack.js';
import { LabelNeeds, type Stage } from './stage.js';
import { Conversion, parseBytesHuman, parseDurationGo, parseFloatGo } from './units.js';

export interface PipelineOptions {
  /** The template engine (`compileTemplate` of src/logql/template); required for line_format / label_format templates. */
  template?: TemplateCompiler | undefined;
  /**
   * True when the caller already applied the block line filters (`compileLineFilters`): the
   * line filters before the first line-rewriting stage are then left out of the per-line run.
   */
  prefiltered?: boolean | undefined;
}

export interface SampleExtractorOptions extends PipelineOptions {
  /**
   * `by` / `without` applied to sample labels: the range aggregation's own grouping or one an
   * outer aggregation pushes down (Loki's grouping override). Null / absent: all labels.
   * `by ()` gives samples without labels.
   */
  grouping?: Grouping | null | undefined;
}

// ---------------------------------------------------------------------------------------------
// Label needs (parser hints)

interface MutableNeeds {
  all: boolean;
  names: Set<string>;
}

function freeze(n: MutableNeeds): LabelNeeds {
  return n.all ? LabelNeeds.ALL : new LabelNeeds(false, new Set(n.names));
}

/** The needs AFTER each stage (what stages i+1.. and the output read), given the output's needs. */
export function needsAfterStages(stages: readonly StageExpr[], output: LabelNeeds): LabelNeeds[] {
  const cur: MutableNeeds = { all: output.all, names: new Set(output.names) };
  const out: LabelNeeds[] = new Array<LabelNeeds>(stages.length);
  const addRefs = (text: string): void => {
    const refs = templateReferences(text);
    if (refs === null) cur.all = true;
    else for (const r of refs) cur.names.add(r);
  };
  for (let i = stages.length - 1; i >= 0; i--) {
    out[i] = freeze(cur);
    const s = stages[i]!;
    switch (s.kind) {
      case 'labelFilter':
        labelFilterNames(s.filter, cur.names);
        break;
      case 'lineFormat':
        addRefs(s.template);
        break;
      case 'labelFormat':
        for (const f of s.formats) {
          if (f.rename) cur.names.add(f.value);
          else addRefs(f.value);
        }
        break;
      case 'keep': {
        const keep = new Set(s.labels.map((l) => (l.matcher === null ? l.name : l.matcher.name)));
        if (cur.all) {
          cur.all = false;
          cur.names = keep;
        } else {
          for (const n of [...cur.names]) if (!keep.has(n)) cur.names.delete(n);
          for (const l of s.labels) if (l.matcher !== null) cur.names.add(l.matcher.name);
        }
        break;
      }
      case 'drop':
        for (const l of s.labels) {
          if (l.matcher === null) cur.names.delete(l.name);
          else cur.names.add(l.matcher.name);
        }
        break;
      default:
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Stage compilation

/** Index of the first stage that rewrites the line (line filters before it see the raw line). */
function firstRewrite(stages: readonly StageExpr[]): number {
  for (let i = 0; i < stages.length; i++) {
    const k = stages[i]!.kind;
    if (k === 'lineFormat' || k === 'unpack' || k === 'decolorize') return i;
  }
  return stages.length;
}

function compileStage(s: StageExpr, needs: LabelNeeds, template: TemplateCompiler | null): Stage {
  switch (s.kind) {
    case 'lineFilter':
      checkLineFilterRegexes(s);
      return new LineFilterStage(s);
    case 'json':
      return s.params.length > 0 ? new JsonPathStage(s.params) : new JsonParserStage(needs);
    case 'logfmt':
      return s.params.length > 0 ? new LogfmtParamsStage(s.params, s.strict) : new LogfmtParserStage(s.strict, s.keepEmpty, needs);
    case 'regexp':
      return new RegexpParserStage(s.pattern, needs);
    case 'pattern':
      return new PatternParserStage(s.pattern, needs);
    case 'unpack':
      return new UnpackStage(needs);
    case 'labelFilter':
      return new LabelFilterStage(compileLabelFilter(s.filter));
    case 'lineFormat':
      if (template === null) throw new NotImplementedError('not implemented yet: line_format (no template engine)');
      return new LineFormatStage(s.template, template);
    case 'labelFormat':
      return new LabelFormatStage(s.formats, template);
    case 'decolorize':
      return new DecolorizeStage();
    case 'drop':
      return new DropStage(s.labels);
    case 'keep':
      return new KeepStage(s.labels);
  }
}

/**
 * `narrow`: parsers extract only what later stages and the output need (Loki's parser hints,
 * used for metric queries). Log queries extract everything, as Loki does, so `__error__`
 * reflects the whole line even when `keep`/`drop` later trim the labels.
 */
function compileStages(stages: readonly StageExpr[], output: LabelNeeds, opts: PipelineOptions | undefined, narrow = true): Stage[] {
  const needs = narrow ? needsAfterStages(stages, output) : stages.map(() => LabelNeeds.ALL);
  const skipUntil = opts?.prefiltered === true ? firstRewrite(stages) : 0;
  const out: Stage[] = [];
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i]!;
    if (s.kind === 'lineFilter' && i < skipUntil) continue;
    out.push(compileStage(s, needs[i]!, opts?.template ?? null));
  }
  return out;
}

/** Cache key of a label set. */
function streamKey(labels: Labels): string {
  return labelsToString(labels);
}

// ---------------------------------------------------------------------------------------------
// Log pipeline

class Processed implements ProcessedEntry {
  line: Buffer;
  labels: LabelsView;
  constructor(line: Buffer, labels: LabelsView) {
    this.line = line;
    this.labels = labels;
  }
}

class StreamPipelineImpl implements StreamPipeline {
  private readonly lb: LabelsBuilder;
  private readonly out: Processed;

  constructor(
    private readonly stages: readonly Stage[],
    labels: Labels,
  ) {
    this.lb = new LabelsBuilder(labels);
    this.out = new Processed(Buffer.alloc(0), this.lb);
  }

  process(tsNs: bigint, line: Buffer, metadata: StructuredMetadata): ProcessedEntry | null {
    const lb = this.lb;
    lb.reset();
    if (metadata.length > 0) lb.addMetadata(metadata);
    const stages = this.stages;
    for (let i = 0; i < stages.length; i++) {
      const r = stages[i]!.process(tsNs, line, lb);
      if (r === null) return null;
      line = r;
    }
    this.out.line = line;
    return this.out;
  }
}

class PipelineImpl implements Pipeline {
  private readonly cache = new Map<string, StreamPipelineImpl>();
  readonly noop: boolean;

  constructor(private readonly stages: readonly Stage[]) {
    this.noop = stages.every((s) => s instanceof LineFilterStage);
  }

  forStream(labels: Labels): StreamPipeline {
    const key = streamKey(labels);
    let sp = this.cache.get(key);
    if (sp === undefined) {
      sp = new StreamPipelineImpl(this.stages, labels);
      this.cache.set(key, sp);
    }
    return sp;
  }
}

/**
 * Compiles the stages of a log query. Throws ParseError / InvalidError for invalid stages and
 * NotImplementedError for line_format / label_format templates without `opts.template`.
 */
export function compilePipeline(selector: LogSelectorExpr, opts?: PipelineOptions): Pipeline {
  return new PipelineImpl(compileStages(selector.stages, LabelNeeds.ALL, opts, false));
}

// ---------------------------------------------------------------------------------------------
// Sample extraction

const GROUP_ALL = 0;
const GROUP_BY = 1;
const GROUP_WITHOUT = 2;
const GROUP_NONE = 3;

/** The labels of a sample: the builder's labels with `by` / `without` applied (Loki GroupedLabels). */
class GroupedView implements LabelsView {
  private last: Labels = EMPTY_LABELS;
  private lastSource: Labels | null = null;
  private readonly sn: string[] = [];
  private readonly sv: string[] = [];
  private readonly order: number[] = [];
  private readonly groupSet: ReadonlySet<string>;

  constructor(
    private readonly lb: LabelsBuilder,
    private readonly mode: number,
    /** Sorted, unique. */
    private readonly groups: readonly string[],
  ) {
    this.groupSet = new Set(groups);
  }

  labels(): Labels {
    const lb = this.lb;
    // An error keeps every label, so it is not lost to grouping (Loki).
    if (this.mode === GROUP_ALL || lb.error() !== '') return lb.labels();
    if (this.mode === GROUP_NONE) return EMPTY_LABELS;
    if (this.mode === GROUP_BY) {
      let k = 0;
      for (let i = 0; i < this.groups.length; i++) {
        const g = this.groups[i]!;
        const v = lb.get(g);
        if (v === undefined) continue;
        this.sn[k] = g;
        this.sv[k++] = v;
      }
      this.last = sortedLabels(this.sn, this.sv, k, this.order, this.last);
      return this.last;
    }
    const src = lb.labels();
    if (src === this.lastSource) return this.last;
    let k = 0;
    for (let i = 0; i < src.length; i++) {
      const l = src[i]!;
      if (this.groupSet.has(l.name)) continue;
      this.sn[k] = l.name;
      this.sv[k++] = l.value;
    }
    this.last = sortedLabels(this.sn, this.sv, k, this.order, this.last);
    this.lastSource = src;
    return this.last;
  }

  categorized(): { stream: Labels; metadata: Labels; parsed: Labels } {
    if (this.mode === GROUP_ALL || this.lb.error() !== '') return this.lb.categorized();
    return { stream: this.labels(), metadata: EMPTY_LABELS, parsed: EMPTY_LABELS };
  }

  get(name: string): string | undefined {
    const lb = this.lb;
    if (this.mode === GROUP_ALL || lb.error() !== '') return lb.get(name);
    if (this.mode === GROUP_NONE) return undefined;
    const inGroups = this.groupSet.has(name);
    return inGroups === (this.mode === GROUP_BY) ? lb.get(name) : undefined;
  }

  error(): string {
    return this.lb.error();
  }
}

class Sample implements ExtractedSample {
  value = 0;
  labels: LabelsView;
  constructor(labels: LabelsView) {
    this.labels = labels;
  }
}

const VALUE_ONE = 0;
const VALUE_BYTES = 1;
const VALUE_UNWRAP = 2;

const CONV_FLOAT = 0;
const CONV_DURATION = 1;
const CONV_BYTES = 2;

interface ExtractorSpec {
  readonly stages: readonly Stage[];
  readonly valueMode: number;
  readonly unwrapLabel: string;
  readonly conv: number;
  readonly post: readonly LabelPredicate[];
  readonly groupMode: number;
  readonly groups: readonly string[];
}

class StreamExtractorImpl implements StreamSampleExtractor {
  private readonly lb: LabelsBuilder;
  private readonly sample: Sample;
  private readonly conv = new Conversion();

  constructor(
    private readonly spec: ExtractorSpec,
    labels: Labels,
  ) {
    this.lb = new LabelsBuilder(labels);
    this.sample = new Sample(new GroupedView(this.lb, spec.groupMode, spec.groups));
  }

  process(tsNs: bigint, line: Buffer, metadata: StructuredMetadata): ExtractedSample | null {
    const lb = this.lb;
    const spec = this.spec;
    lb.reset();
    if (metadata.length > 0) lb.addMetadata(metadata);
    const stages = spec.stages;
    for (let i = 0; i < stages.length; i++) {
      const r = stages[i]!.process(tsNs, line, lb);
      if (r === null) return null;
      line = r;
    }
    let v: number;
    if (spec.valueMode === VALUE_ONE) v = 1;
    else if (spec.valueMode === VALUE_BYTES) v = line.length;
    else {
      const s = lb.get(spec.unwrapLabel);
      // A missing or empty unwrap label drops the entry (Loki issue 6713).
      if (s === undefined || s === '') return null;
      const c = this.conv;
      const ok = spec.conv === CONV_FLOAT ? parseFloatGo(s, c) : spec.conv === CONV_DURATION ? parseDurationGo(s, c) : parseBytesHuman(s, c);
      if (ok) v = spec.conv === CONV_DURATION ? c.value / 1e9 : c.value;
      else {
        v = 0;
        lb.setError(ERR_SAMPLE_EXTRACTION);
        lb.setErrorDetails(c.error);
      }
      const post = spec.post;
      for (let i = 0; i < post.length; i++) if (!post[i]!.test(lb)) return null;
    }
    this.sample.value = v;
    return this.sample;
  }
}

class SampleExtractorImpl implements SampleExtractor {
  private readonly cache = new Map<string, StreamExtractorImpl>();
  constructor(private readonly spec: ExtractorSpec) {}

  forStream(labels: Labels): StreamSampleExtractor {
    const key = streamKey(labels);
    let se = this.cache.get(key);
    if (se === undefined) {
      se = new StreamExtractorImpl(this.spec, labels);
      this.cache.set(key, se);
    }
    return se;
  }
}

/**
 * Compiles the extractor of `op(range)`: the pipeline, then the sample value (1 for
 * count_over_time / rate / absent_over_time without unwrap, the line's byte length for
 * bytes_over_time / bytes_rate, otherwise the unwrapped label converted as asked), then the
 * unwrap post-filters. Sample labels follow `opts.grouping`; the unwrapped label is removed
 * (Loki adds it to `without`, or it is absent from `by`). Conversion errors keep the sample
 * with value 0 and `__error__="SampleExtractionErr"`.
 */
export function compileSampleExtractor(range: LogRangeExpr, op: RangeOp, opts?: SampleExtractorOptions): SampleExtractor {
  const unwrap = range.unwrap;
  let valueMode: number;
  if (unwrap !== null) {
    if (op === 'count_over_time' || op === 'bytes_over_time' || op === 'bytes_rate') throw new InvalidError(`invalid aggregation ${op} with unwrap`);
    valueMode = VALUE_UNWRAP;
  } else if (op === 'count_over_time' || op === 'rate' || op === 'absent_over_time') valueMode = VALUE_ONE;
  else if (op === 'bytes_over_time' || op === 'bytes_rate') valueMode = VALUE_BYTES;
  else throw new InvalidError(`invalid aggregation ${op} without unwrap`);

  const grouping = opts?.grouping ?? null;
  let groupMode: number;
  let groups: string[];
  if (grouping === null || grouping.without) {
    groups = grouping === null ? [] : [...grouping.labels];
    if (unwrap !== null) groups.push(unwrap.label);
    groupMode = groups.length === 0 ? GROUP_ALL : GROUP_WITHOUT;
  } else {
    groups = [...grouping.labels];
    groupMode = groups.length === 0 ? GROUP_NONE : GROUP_BY;
  }
  groups = [...new Set(groups)].sort();

  let output: LabelNeeds;
  if (groupMode === GROUP_ALL || groupMode === GROUP_WITHOUT) output = LabelNeeds.ALL;
  else {
    const names = new Set(groupMode === GROUP_BY ? groups : []);
    if (unwrap !== null) {
      names.add(unwrap.label);
      for (const f of unwrap.postFilters) labelFilterNames(f, names);
    }
    output = new LabelNeeds(false, names);
  }
  const conv = unwrap === null || unwrap.conversion === null ? CONV_FLOAT : unwrap.conversion === 'bytes' ? CONV_BYTES : CONV_DURATION;
  return new SampleExtractorImpl({
    stages: compileStages(range.selector.stages, output, opts),
    valueMode,
    unwrapLabel: unwrap === null ? '' : unwrap.label,
    conv,
    post: unwrap === null ? [] : unwrap.postFilters.map(compileLabelFilter),
    groupMode,
    groups,
  });
}
