import { parseExpr } from './src/logql/syntax/parse.js';
const q = 'sum by (level) (count_over_time({app="x", env=~"prod|dev"} |= "err" | json | level="error" [5m]))';
for (let i = 0; i < 60000; i++) parseExpr(q);
