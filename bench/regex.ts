/**
 * LogQL regex workloads on generator data, in-process, one core: line filters `|~` (per line
 * of 256 KiB blocks, as Buffers), label matchers `=~` (fully anchored, on label value strings),
 * the `regexp` parser (named captures per line) and label_replace (anchored, with groups, per
 * series). Two levels:
 *  - `silt`: Silt's own code paths (compileLineFilters, compileMatcher, compilePipeline with
 *    `| regexp`, the wrapper for label_replace), i.e. whatever engine src/logql/syntax/regex.ts uses;
 *  - `engines`: the bare engines on the same inputs, in the same run: re2js (Silt's), and when
 *    installed (`npm i --no-save re2 re2-wasm`, not dependencies of Silt) the `re2` native
 *    addon and `re2-wasm`, each used as Silt would use it (re2: Buffers as they are; re2-wasm:
 *    strings only, so Buffers are decoded first).
 * Reports MB/s of line text (lines) or millions of values/s (labels), best of 5 rounds.
 * Usage: npx tsx bench/regex.ts [lines=200000]
 */
import { RE2JS } from 're2js';
import { labelsFromObject } from '../src/model/labels.js';
import { compileLineFilters, compileMatcher, compilePipeline } from '../src/logql/log/index.js';
import { parseExpr, parseLogSelector } from '../src/logql/syntax/index.js';
import { compileUnanchored } from '../src/logql/syntax/regex.js';
import { genEntries } from '../test/support/genlogs.js';

const entries = genEntries({ lines: Number(process.argv[2] ?? 200_000), streams: 1000 });
const lines = entries.map((e) => Buffer.from(e.line));
const body = Buffer.concat(lines);
const offsets = new Int32Array(lines.length + 1);
for (let i = 0, at = 0; i < lines.length; i++) offsets[i + 1] = at += lines[i]!.length;
const mb = body.length / 1e6;
// Label values a selector or label filter looks at: every entry's pod, app and cluster.
const values: string[] = entries.flatMap((e) => [e.labels['pod'] ?? '', e.labels['app'] ?? '', e.labels['cluster'] ?? '']);
const pods = [...new Set(entries.map((e) => e.labels['pod'] ?? ''))];

// Blocks as the head block cuts them: ~256 KiB of whole lines.
const blocks: { lines: Buffer; offsets: Int32Array; n: number }[] = [];
for (let i = 0; i < lines.length; ) {
  let j = i;
  while (j < lines.length && offsets[j]! - offsets[i]! < 256 * 1024) j++;
  const base = offsets[i]!;
  blocks.push({ lines: body.subarray(base, offsets[j]!), offsets: offsets.slice(i, j + 1).map((o) => o - base), n: j - i });
  i = j;
}

function best(fn: () => void): number {
  let ms = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
const mbps = (ms: number): number => Math.round(mb / (ms / 1000));
const mops = (n: number, ms: number): number => Number((n / (ms / 1000) / 1e6).toFixed(2));

// Patterns that reach the regex engine: Silt answers literals and literal alternations
// (`|~ "foo"`, `=~ "a|b"`, `.*`, `.+`) and `(?i)` literals without k or s without it
// (`(?i)timeout|deadlock` has a k, whose folds include U+212A).
const FILTERS = ['status=5[0-9]{2}', '(?i)timeout|deadlock', '(?i)time.?out|dead.?lock', 'duration=[0-9]{3,}\\.[0-9]ms', '(GET|POST) /api/v[0-9]+/users/[0-9]+'];
const MATCHERS = ['(invoice|cart)-.*', '.*-api-.*', 'prod-(us|eu)-.*-1', '[a-z]+-service-[a-z0-9]{10}-[a-z0-9]{5}'];
const REGEXP = '(?P<ip>\\S+) - - \\[(?P<ts>[^\\]]+)\\] "(?P<method>\\S+) (?P<path>\\S+) \\S+" (?P<status>\\d+) (?P<bytes>\\d+)';
const LABEL_REPLACE = '(.*)-([a-z0-9]+)-([a-z0-9]+)';

/** An engine as Silt would drive it. */
interface Engine {
  /** Compiles a pattern with Go/RE2 syntax. */
  compile(p: string): unknown;
  test(re: unknown, input: Buffer | string): boolean;
  /** The first match with its groups, or null. */
  exec(re: unknown, input: Buffer | string): Match | null;
}
type Match = ArrayLike<unknown> & { groups?: Record<string, unknown> | undefined };

const engines: Record<string, Engine> = {
  re2js: {
    compile: (p) => RE2JS.compile(p),
    test: (re, s) => (re as RE2JS).test(s),
    exec: (re, s) => (re as RE2JS).exec(s) as Match | null,
  },
};
try {
  const RE2 = (await import('re2' as string)).default as new (p: string, f: string) => { test(s: Buffer | string): boolean; exec(s: Buffer | string): Match | null };
  engines['re2 (native)'] = {
    compile: (p) => new RE2(p, 'u'),
    test: (re, s) => (re as InstanceType<typeof RE2>).test(s),
    exec: (re, s) => (re as InstanceType<typeof RE2>).exec(s),
  };
} catch {
  /* not installed */
}
try {
  const { RE2 } = (await import('re2-wasm' as string)) as { RE2: new (p: string, f: string) => { test(s: string): boolean; exec(s: string): Match | null } };
  const str = (s: Buffer | string): string => (typeof s === 'string' ? s : s.toString('utf8'));
  engines['re2-wasm'] = {
    compile: (p) => new RE2(p, 'u'),
    test: (re, s) => (re as InstanceType<typeof RE2>).test(str(s)),
    exec: (re, s) => (re as InstanceType<typeof RE2>).exec(str(s)),
  };
} catch {
  /* not installed */
}

let sink = 0;
const result: Record<string, Record<string, number>> = {};
const put = (level: string, key: string, v: number): void => {
  (result[level] ??= {})[key] = v;
};

// ---- Silt's code paths
for (const p of FILTERS) {
  const f = compileLineFilters(parseExpr(`{a="b"} |~ ${JSON.stringify(p)}`))!;
  const sel = new Uint8Array(70_000);
  put('silt', `|~ ${p} (MB/s)`, mbps(best(() => {
    for (const b of blocks) {
      sel.fill(1, 0, b.n);
      f.apply(b.lines, b.offsets, b.n, sel);
      for (let i = 0; i < b.n; i++) sink += sel[i]!;
    }
  })));
}
for (const p of MATCHERS) {
  const m = compileMatcher('pod', '=~', p);
  put('silt', `=~ ${p} (M values/s)`, mops(values.length, best(() => {
    for (let i = 0; i < values.length; i++) if (m.matches(values[i]!)) sink++;
  })));
}
{
  const sp = compilePipeline(parseLogSelector(`{a="b"} | regexp ${JSON.stringify(REGEXP)}`)).forStream(labelsFromObject({ a: 'b' }));
  put('silt', '| regexp (MB/s)', mbps(best(() => {
    for (let i = 0; i < lines.length; i++) {
      const r = sp.process(0n, lines[i]!, []);
      if (r?.labels.get('method') !== undefined) sink++;
    }
  })));
  const re = compileUnanchored(`^(?:${LABEL_REPLACE})$`);
  put('silt', 'label_replace (M series/s)', mops(pods.length * 20, best(() => {
    for (let k = 0; k < 20; k++) for (let i = 0; i < pods.length; i++) if (re.exec(pods[i]!) !== null) sink++;
  })));
}

// ---- Bare engines, same inputs
for (const [name, e] of Object.entries(engines)) {
  for (const p of FILTERS) {
    const re = e.compile(p);
    put(name, `|~ ${p} (MB/s)`, mbps(best(() => {
      for (let i = 0; i < lines.length; i++) if (e.test(re, lines[i]!)) sink++;
    })));
  }
  for (const p of MATCHERS) {
    const re = e.compile(`^(?s:${p})$`);
    put(name, `=~ ${p} (M values/s)`, mops(values.length, best(() => {
      for (let i = 0; i < values.length; i++) if (e.test(re, values[i]!)) sink++;
    })));
  }
  const rx = e.compile(REGEXP);
  put(name, '| regexp (MB/s)', mbps(best(() => {
    for (let i = 0; i < lines.length; i++) if (e.exec(rx, lines[i]!)?.groups !== undefined) sink++;
  })));
  const lr = e.compile(`^(?:${LABEL_REPLACE})$`);
  put(name, 'label_replace (M series/s)', mops(pods.length * 20, best(() => {
    for (let k = 0; k < 20; k++) for (let i = 0; i < pods.length; i++) if (e.exec(lr, pods[i]!) !== null) sink++;
  })));
}

console.log(JSON.stringify({ bench: 'regex', lines: lines.length, mb: Number(mb.toFixed(1)), label_values: values.length, series: pods.length, results: result, sink: sink > 0 }, null, 1));
