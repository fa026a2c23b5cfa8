import { parseAll, parseExpr } from './src/logql/syntax/parse.js';
import { printExpr } from './src/logql/syntax/printer.js';
import { formatTree } from './src/logql/syntax/tree.js';
const qs = process.argv.slice(2);
for (const q of qs) {
  try {
    const all = parseAll(q);
    if (all.length !== 1) console.log('AMBIGUOUS', all.length);
    const e = parseExpr(q);
    console.log(q, '\n  =>', printExpr(e));
    console.log(formatTree(e));
  } catch (e) { console.log(q, '\n  ERR', (e as Error).message); }
}
