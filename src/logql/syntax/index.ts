/** LogQL syntax: parse, print, and the AST types. */
export * from './ast.js';
export { parseExpr, parseLogSelector, parseSelector, lineColOf, MAX_INPUT_SIZE_BYTES } from './parse.js';
export { printExpr, printLogSelector, printMatchers, printSample, printStage, printLabelFilter, printLogRange } from './printer.js';
export { formatTree } from './tree.js';
export { formatDuration, parseLokiDuration } from './literals.js';
