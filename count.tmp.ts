import nearley from 'nearley';
import grammar from './src/logql/syntax/grammar.gen.js';
const g = nearley.Grammar.fromCompiled(grammar as any);
const p = new nearley.Parser(g, { keepHistory: true });
p.feed('sum by (level) (count_over_time({app="x", env=~"prod|dev"} |= "err" | json | level="error" [5m]))');
const byRule: Record<string, number> = {}; let tot = 0;
for (const col of (p as any).table) for (const st of col.states) { byRule[st.rule.name] = (byRule[st.rule.name] ?? 0) + 1; tot++; }
console.log('columns', (p as any).table.length, 'states', tot);
console.log(Object.entries(byRule).sort((a, b) => b[1] - a[1]).slice(0, 25));
