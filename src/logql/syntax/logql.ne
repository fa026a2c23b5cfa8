# LogQL grammar (Loki 3.x), written from Loki's syntax.y semantics for nearley.
# Regenerate with: node src/logql/syntax/gen.mjs   (runs nearleyc and adds the DO-NOT-EDIT header)
#
# Rules are left-recursive (fast in Earley) and unambiguous: every input has at most one parse,
# which the tests assert. Binary operators get one rule per precedence level, lowest first:
#   or < and unless < == != > >= < <= < + - < * / % < ^ (right-associative), applied in build.ts.
# Postprocessors only build nodes (build.ts); semantic checks run after parsing (validate.ts).
#
# This grammar is the specification. parseExpr first runs fast-parse.ts, a hand-written
# recursive-descent copy of it that calls the same build.ts constructors; change both together.
# test/logql/fast-parse.test.ts checks they agree (corpora, generated queries, fuzz).

@preprocessor typescript

@{%
// DO NOT EDIT: generated from logql.ne by gen.mjs.
import { LogqlLexer } from './lexer.js';
import * as b from './build.js';

export const lexer = new LogqlLexer();

// Token classes matched by one Earley item instead of one item per alternative.
const matchOp = b.tokenClass(['EQ', 'NEQ', 'RE', 'NRE']);
const filterOp = b.tokenClass(['PIPE_EXACT', 'NEQ', 'PIPE_MATCH', 'NRE', 'PIPE_PATTERN', 'NPA']);
const cmpOp = b.tokenClass(['GT', 'GTE', 'LT', 'LTE', 'NEQ', 'EQ', 'CMP_EQ']);
const binOpToken = b.tokenClass(['OR', 'AND', 'UNLESS', 'CMP_EQ', 'NEQ', 'GT', 'GTE', 'LT', 'LTE', 'ADD', 'SUB', 'MUL', 'DIV', 'MOD', 'POW']);
const byOrWithout = b.tokenClass(['BY', 'WITHOUT']);
const onOrIgnoring = b.tokenClass(['ON', 'IGNORING']);
const groupSide = b.tokenClass(['GROUP_LEFT', 'GROUP_RIGHT']);
const eqOrNeq = b.tokenClass(['EQ', 'NEQ']);
const filterSep = b.tokenClass(['AND', 'OR', 'COMMA']);

/** Rejects the parse where a bare `drop a`/`keep a` is followed by a `!=`/`!~` line filter: yacc
 * shifts there and reads `a != "x"` as a matcher, so we keep only that reading. */
function pipelineAppend(d: any[], _loc: number, reject: any): any {
  const prev = d[0][d[0].length - 1];
  const next = d[1];
  if (next.kind === 'lineFilter' && (next.op === '!=' || next.op === '!~') && prev !== undefined &&
      (prev.kind === 'drop' || prev.kind === 'keep') && prev.labels[prev.labels.length - 1].matcher === null) {
    return reject;
  }
  return [...d[0], next];
}
%}

@lexer lexer

Root -> LogExpr {% id %}
      | MetricExpr {% id %}

# ---------------------------------------------------------------------------------------------
# Log queries

LogExpr -> Selector {% id %}
         | Selector Pipeline {% (d) => b.withStages(d[0], d[1]) %}
         | %OPEN_PARENTHESIS LogExpr %CLOSE_PARENTHESIS {% (d) => d[1] %}

Selector -> %OPEN_BRACE Matchers %CLOSE_BRACE {% (d) => b.selector(d[0], d[1], null) %}
          | %OPEN_BRACE %CLOSE_BRACE {% (d) => b.selector(d[0], null, null) %}

Matchers -> Matcher {% (d) => [d[0]] %}
          | Matchers %COMMA Matcher {% (d) => [...d[0], d[2]] %}

Matcher -> %IDENTIFIER %matchOp %STRING {% (d) => b.matcher(d[0], d[1], d[2]) %}

Pipeline -> Stage {% (d) => [d[0]] %}
          | Pipeline Stage {% pipelineAppend %}

Stage -> LineFilter {% (d) => b.lineFilter(d[0][0], d[0][1]) %}
       | %PIPE PipeBody {% (d) => (d[1].kind === undefined ? b.labelFilterStage(d[0], d[1][0]) : d[1]) %}

# A label filter is wrapped in a 1-tuple to tell it apart from the other stages.
PipeBody -> PipeStage {% id %}
          | LabelFilter {% (d) => [d[0]] %}

LineFilter -> %filterOp FilterArg {% (d) => [d[0], [d[1]]] %}
            | LineFilter %OR FilterArg {% (d) => [d[0][0], [...d[0][1], d[2]]] %}

FilterArg -> %STRING {% (d) => b.lineFilterArg(d[0], false) %}
           | %IP %OPEN_PARENTHESIS %STRING %CLOSE_PARENTHESIS {% (d) => b.lineFilterArg(d[2], true) %}

PipeStage -> %JSON {% () => ({ kind: 'json', params: [] }) %}
           | %JSON Extractions {% (d) => ({ kind: 'json', params: d[1] }) %}
           | %LOGFMT Flags:? Extractions:? {% (d) => b.logfmt(d[1], d[2]) %}
           | %REGEXP %STRING {% (d) => b.stringStage('regexp', d[1]) %}
           | %PATTERN %STRING {% (d) => b.stringStage('pattern', d[1]) %}
           | %UNPACK {% () => ({ kind: 'unpack' }) %}
           | %LINE_FMT %STRING {% (d) => b.stringStage('lineFormat', d[1]) %}
           | %LABEL_FMT LabelFormats {% (d) => ({ kind: 'labelFormat', formats: d[1] }) %}
           | %DECOLORIZE {% () => ({ kind: 'decolorize' }) %}
           | %DROP NamedMatchers {% (d) => ({ kind: 'drop', labels: d[1] }) %}
           | %KEEP NamedMatchers {% (d) => ({ kind: 'keep', labels: d[1] }) %}

Flags -> %PARSER_FLAG {% (d) => [d[0]] %}
       | Flags %PARSER_FLAG {% (d) => [...d[0], d[1]] %}

Extractions -> Extraction {% (d) => [d[0]] %}
             | Extractions %COMMA Extraction {% (d) => [...d[0], d[2]] %}

Extraction -> %IDENTIFIER %EQ %STRING {% (d) => b.extraction(d[0], d[2]) %}
            | %IDENTIFIER {% (d) => b.extraction(d[0], null) %}

LabelFormats -> LabelFormat {% (d) => [d[0]] %}
              | LabelFormats %COMMA LabelFormat {% (d) => [...d[0], d[2]] %}

LabelFormat -> %IDENTIFIER %EQ %IDENTIFIER {% (d) => b.labelFormat(d[0], d[2]) %}
             | %IDENTIFIER %EQ %STRING {% (d) => b.labelFormat(d[0], d[2]) %}

NamedMatchers -> NamedMatcher {% (d) => [d[0]] %}
               | NamedMatchers %COMMA NamedMatcher {% (d) => [...d[0], d[2]] %}

NamedMatcher -> %IDENTIFIER {% (d) => b.namedMatcher(d[0]) %}
              | Matcher {% (d) => b.namedMatcher(d[0]) %}

# Label filters: a flat list of primaries and separators, shaped into a tree like yacc does.
LabelFilter -> LabelFilterPrimary LabelFilterTail:* {% (d) => b.labelFilterList(d[0], d[1]) %}

LabelFilterTail -> %filterSep LabelFilterPrimary {% (d) => [d[0], d[1]] %}
                 | LabelFilterPrimary {% (d) => [null, d[0]] %}

LabelFilterPrimary -> %IDENTIFIER LabelFilterRest {% (d) => b.labelFilterPrimary(d[0], d[1]) %}
                    | %OPEN_PARENTHESIS LabelFilter %CLOSE_PARENTHESIS {% (d) => d[1] %}

# What follows the label name; returned as [op, value, kind] for labelFilterPrimary.
LabelFilterRest -> %matchOp %STRING {% (d) => [d[0], d[1], 'string'] %}
                 | %cmpOp %DURATION {% (d) => [d[0], d[1], 'duration'] %}
                 | %cmpOp %BYTES {% (d) => [d[0], d[1], 'bytes'] %}
                 | %cmpOp Literal {% (d) => [d[0], d[1], 'number'] %}
                 | %eqOrNeq %IP %OPEN_PARENTHESIS %STRING %CLOSE_PARENTHESIS {% (d) => [d[0], d[3], 'ip'] %}

# ---------------------------------------------------------------------------------------------
# Range vectors

Unwrap -> %PIPE %UNWRAP %IDENTIFIER {% (d) => b.unwrap(d[2], null) %}
        | %PIPE %UNWRAP %CONV_OP %OPEN_PARENTHESIS %IDENTIFIER %CLOSE_PARENTHESIS {% (d) => b.unwrap(d[4], d[2]) %}
        | Unwrap %PIPE LabelFilter {% (d) => b.unwrapFilter(d[0], d[2]) %}

PipeUnwrap -> Pipeline {% (d) => [d[0], null] %}
            | Unwrap {% (d) => [null, d[0]] %}
            | Pipeline Unwrap {% (d) => [d[0], d[1]] %}

Offset -> %OFFSET %DURATION {% (d) => d[1] %}

LogRange -> Selector PipeUnwrap:? %RANGE Offset:? {% (d) => b.logRange(d[0], d[1], d[2], d[3]) %}
          | Selector %RANGE Offset:? PipeUnwrap {% (d) => b.logRange(d[0], d[3], d[1], d[2]) %}
          | %OPEN_PARENTHESIS Selector PipeUnwrap:? %CLOSE_PARENTHESIS %RANGE Offset:? {% (d) => b.logRange(d[1], d[2], d[4], d[5]) %}
          | %OPEN_PARENTHESIS Selector %CLOSE_PARENTHESIS %RANGE Offset:? Unwrap {% (d) => b.logRange(d[1], [null, d[5]], d[3], d[4]) %}
          | %OPEN_PARENTHESIS LogRange %CLOSE_PARENTHESIS {% (d) => d[1] %}

# ---------------------------------------------------------------------------------------------
# Metric queries

# Binary operations: a flat `operand (op modifiers operand)*` list shaped by precedence climbing
# in build.ts (fewer Earley items than one rule per precedence level).
MetricExpr -> Primary BinTail:* {% (d) => b.binChain(d[0], d[1]) %}

BinTail -> %binOpToken BinMod Primary {% (d) => [d[0], d[1], d[2]] %}

BinMod -> %BOOL:? OnIgnoring:? {% (d) => b.binMod(d[0], d[1]) %}

OnIgnoring -> %onOrIgnoring %OPEN_PARENTHESIS Labels:? %CLOSE_PARENTHESIS GroupMod:? {% (d) => b.onIgnoring(d[0], d[2], d[4]) %}

GroupMod -> %groupSide {% (d) => [d[0], null] %}
          | %groupSide %OPEN_PARENTHESIS Labels:? %CLOSE_PARENTHESIS {% (d) => [d[0], d[2]] %}

Primary -> RangeAggregation {% id %}
         | VectorAggregation {% id %}
         | Literal {% id %}
         | %LABEL_REPLACE %OPEN_PARENTHESIS MetricExpr %COMMA %STRING %COMMA %STRING %COMMA %STRING %COMMA %STRING %CLOSE_PARENTHESIS
             {% (d) => b.labelReplace(d[0], d[2], d[4], d[6], d[8], d[10]) %}
         | %VECTOR %OPEN_PARENTHESIS %NUMBER %CLOSE_PARENTHESIS {% (d) => b.vector(d[0], d[2]) %}
         | %OPEN_PARENTHESIS MetricExpr %CLOSE_PARENTHESIS {% (d) => d[1] %}

Literal -> %NUMBER {% (d) => b.literal(null, d[0]) %}
         | %ADD %NUMBER {% (d) => b.literal(d[0], d[1]) %}
         | %SUB %NUMBER {% (d) => b.literal(d[0], d[1]) %}

RangeAggregation -> %RANGE_OP %OPEN_PARENTHESIS LogRange %CLOSE_PARENTHESIS Grouping:? {% (d) => b.rangeAgg(d[0], null, d[2], d[4]) %}
                  | %RANGE_OP %OPEN_PARENTHESIS %NUMBER %COMMA LogRange %CLOSE_PARENTHESIS Grouping:? {% (d) => b.rangeAgg(d[0], d[2], d[4], d[6]) %}

VectorAggregation -> %VECTOR_OP %OPEN_PARENTHESIS VectorArgs %CLOSE_PARENTHESIS Grouping:? {% (d) => b.vectorAgg(d[0], d[2][0], d[2][1], d[4]) %}
                   | %VECTOR_OP Grouping %OPEN_PARENTHESIS VectorArgs %CLOSE_PARENTHESIS {% (d) => b.vectorAgg(d[0], d[3][0], d[3][1], d[1]) %}

VectorArgs -> MetricExpr {% (d) => [null, d[0]] %}
            | %NUMBER %COMMA MetricExpr {% (d) => [d[0], d[2]] %}

Grouping -> %byOrWithout %OPEN_PARENTHESIS Labels:? %CLOSE_PARENTHESIS {% (d) => b.grouping(d[0], d[2]) %}

Labels -> %IDENTIFIER {% (d) => [d[0]] %}
        | Labels %COMMA %IDENTIFIER {% (d) => [...d[0], d[2]] %}
