import { parseExpr } from './src/logql/syntax/parse.js';
const qs = [
 'sum by (level) (count_over_time({app="x", env=~"prod|dev"} |= "err" | json | level="error" [5m]))',
 '{app="foo", namespace="bar"} |= "error" != "timeout" | logfmt | duration > 10s',
 'rate({job="varlogs"}[1m])',
 'topk(10, sum by (host) (rate({app="nginx"} | json | status >= 500 [5m])))',
];
for (const q of qs) {
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const n = 5000; const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) parseExpr(q);
    best = Math.max(best, n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  console.log(best.toFixed(0), 'q/s', q.slice(0, 70));
}
