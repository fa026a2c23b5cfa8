/** LogQL evaluation pieces: compiled matchers and block line filters. */
export { compileMatcher, compileMatchers, compileSelector, selectorMatchers, firstLogSelector } from './matcher.js';
export { compileLineFilters, compileLineFilterStage, requiredTokenHashes, type BlockLineFilter } from './line-filter.js';
export { describeUnsupported } from './unsupported.js';
