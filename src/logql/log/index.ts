/** LogQL evaluation pieces: compiled matchers and block line filters. */
export { compileMatcher, compileMatchers, compileSelector, selectorMatchers, firstLogSelector } from './matcher.js';
export { compileLineFilters, compileLineFilterStage, requiredBlockProbe, type BlockLineFilter } from './line-filter.js';
export { describeUnsupported } from './unsupported.js';
export { compilePipeline, compileSampleExtractor, needsAfterStages, type PipelineOptions, type SampleExtractorOptions } from './compile.js';
export type { TemplateCompiler, CompiledTemplate, TemplateContext } from './stage-format.js';
export { LabelsBuilder } from './labels-builder.js';
export type * from './pipeline.js';
