/**
 * What the generated data looks like, discovered from the entries themselves, so queries name
 * real apps and namespaces: which apps log JSON, logfmt, nginx, Java or Python lines.
 */
import type { RefEntry } from './pipeline.js';

export interface DataFacts {
  jsonApps: string[];
  logfmtApps: string[];
  nginxApps: string[];
  javaApps: string[];
  pythonApps: string[];
  namespaces: string[];
  clusters: string[];
  /** An app with several pods (for by/without pod). */
  busyApp: string;
  firstNs: bigint;
  lastNs: bigint;
}

export function lineKind(e: RefEntry): 'json' | 'logfmt' | 'nginx' | 'java' | 'python' {
  if (e.line.startsWith('{')) return 'json';
  if (e.line.startsWith('ts=')) return 'logfmt';
  if (e.labels['container'] === 'nginx') return 'nginx';
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} /.test(e.line)) return 'java';
  return 'python';
}

export function describeData(entries: readonly RefEntry[]): DataFacts {
  const kinds = new Map<string, Set<string>>();
  const pods = new Map<string, Set<string>>();
  const ns = new Set<string>();
  const cl = new Set<string>();
  for (const e of entries) {
    const app = e.labels['app']!;
    const k = lineKind(e);
    if (!kinds.has(k)) kinds.set(k, new Set());
    kinds.get(k)!.add(app);
    if (!pods.has(app)) pods.set(app, new Set());
    pods.get(app)!.add(e.labels['pod']!);
    ns.add(e.labels['namespace']!);
    cl.add(e.labels['cluster']!);
  }
  const sorted = (s: Set<string> | undefined): string[] => [...(s ?? [])].sort();
  // An app counts for a kind only when all its lines are of that kind.
  const pure = (k: string): string[] => sorted(kinds.get(k)).filter((a) => [...kinds].every(([k2, apps]) => k2 === k || !apps.has(a)));
  const busyApp = [...pods].sort((a, b) => b[1].size - a[1].size || (a[0] < b[0] ? -1 : 1))[0]![0];
  return {
    jsonApps: pure('json'),
    logfmtApps: pure('logfmt'),
    nginxApps: pure('nginx'),
    javaApps: pure('java'),
    pythonApps: pure('python'),
    namespaces: sorted(ns),
    clusters: sorted(cl),
    busyApp,
    firstNs: entries[0]!.tsNs,
    lastNs: entries[entries.length - 1]!.tsNs,
  };
}

/** Regex-escapes names for a `=~` alternative. */
export function alt(names: readonly string[]): string {
  return names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|');
}

/** Replaces the corpus placeholders with real values. */
export function instantiate(template: string, f: DataFacts): string {
  return template
    .replaceAll('$LOGFMT', `app=~"${alt(f.logfmtApps)}"`)
    .replaceAll('$JAVA', `app=~"${alt(f.javaApps)}"`)
    .replaceAll('$PYTHON', `app=~"${alt(f.pythonApps)}"`)
    .replaceAll('$JSONAPP', f.jsonApps[0]!)
    .replaceAll('$NGINXAPP', f.nginxApps[0]!)
    .replaceAll('$BUSYAPP', f.busyApp)
    .replaceAll('$NS2', f.namespaces[1] ?? f.namespaces[0]!)
    .replaceAll('$NS', f.namespaces[0]!)
    .replaceAll('$CLUSTER', f.clusters[0]!);
}
