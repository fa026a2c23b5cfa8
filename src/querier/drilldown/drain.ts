/**
 * Log pattern detection with the Drain algorithm (He et al., 2017), as Loki's pattern
 * ingester uses it (pkg/pattern/drain): lines are split into tokens at spaces and
 * punctuation; a fixed-depth prefix tree keyed by token count and leading tokens finds
 * candidate clusters; a line joins the most similar cluster when at least `simTh` of the
 * tokens agree, and the positions that differ become the `<_>` placeholder.
 */

export interface DrainConfig {
  /** Tree depth including the root and the token-count layer (Loki: 30). */
  depth: number;
  /** Share of equal tokens needed to join a cluster (Loki: 0.3). */
  simTh: number;
  /** Children per tree node before tokens fall into the placeholder child (Loki: 15). */
  maxChildren: number;
  /** Clusters kept; the least recently matched goes first (Loki: 300). */
  maxClusters: number;
  /** Longer lines are not clustered (Loki: 3000). */
  maxLineLength: number;
}

export const DEFAULT_DRAIN_CONFIG: Readonly<DrainConfig> = Object.freeze({ depth: 30, simTh: 0.3, maxChildren: 15, maxClusters: 300, maxLineLength: 3000 });

/** The placeholder for a variable token. */
export const PARAM = '<_>';
/** Lines with fewer or more tokens are skipped, as Loki does. */
const MIN_TOKENS = 4;
const MAX_TOKENS = 80;
/** Tokens per line considered at most. */
const TOKEN_CAP = 127;

/** One pattern: its template tokens, where spaces go, and a payload the caller keeps. */
export class Cluster<T> {
  constructor(
    readonly id: number,
    public tokens: string[],
    /** Index of the token each space follows (from the first line). */
    readonly spacesAfter: number[],
    readonly data: T,
  ) {}

  /** The template with `<_>` runs collapsed to one. */
  pattern(): string {
    let s = '';
    let sp = 0;
    for (let i = 0; i < this.tokens.length; i++) {
      s += this.tokens[i];
      while (sp < this.spacesAfter.length && this.spacesAfter[sp] === i) {
        s += ' ';
        sp++;
      }
    }
    return s.replace(/(?:<_>){2,}/g, PARAM);
  }
}

interface Node {
  children: Map<string, Node>;
  clusters: number[];
}

const newNode = (): Node => ({ children: new Map(), clusters: [] });

function isLetterOrNumber(c: string): boolean {
  return /[\p{L}\p{N}]/u.test(c);
}

/** Loki's punctuation tokenizer: splits at spaces and punctuation except `_ - . : /`; keeps `=` and punctuation as tokens. */
export function tokenize(line: string): { tokens: string[]; spacesAfter: number[] } {
  const tokens: string[] = [];
  const spacesAfter: number[] = [];
  let start = 0;
  let i = 0;
  for (const ch of line) {
    if (tokens.length >= TOKEN_CAP) break;
    const len = ch.length;
    const code = ch.codePointAt(0)!;
    const isAsciiWord = (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
    if (isAsciiWord || ch === '_' || ch === '-' || ch === '.' || ch === ':' || ch === '/' || (code >= 128 && isLetterOrNumber(ch))) {
      i += len;
      continue;
    }
    const punct = ch === '=' || /[\p{P}]/u.test(ch);
    if (ch === ' ' || punct) {
      if (i > start) tokens.push(line.slice(start, i));
      if (ch === ' ') spacesAfter.push(tokens.length - 1);
      else tokens.push(ch);
      start = i + len;
    }
    i += len;
  }
  // As Loki: past the cap, the rest of the line is one last token.
  if (start < line.length) tokens.push(line.slice(start));
  return { tokens, spacesAfter };
}

/** A Drain instance; `T` is per-cluster data created by `init`. */
export class Drain<T> {
  private readonly cfg: DrainConfig;
  private readonly root = newNode();
  /** Insertion order is recency order (re-inserted on every match). */
  private readonly clusters = new Map<number, Cluster<T>>();
  private nextId = 0;

  constructor(
    private readonly init: () => T,
    cfg: Partial<DrainConfig> = {},
  ) {
    this.cfg = { ...DEFAULT_DRAIN_CONFIG, ...cfg };
  }

  /** Every live cluster. */
  all(): Cluster<T>[] {
    return [...this.clusters.values()];
  }

  /** Adds a line; returns its cluster, or null when the line is skipped (too short, long or few tokens). */
  train(line: string): Cluster<T> | null {
    if (line.length > this.cfg.maxLineLength) return null;
    const { tokens, spacesAfter } = tokenize(line);
    if (tokens.length < MIN_TOKENS || tokens.length > MAX_TOKENS) return null;
    let c = this.search(tokens);
    if (!c) {
      c = new Cluster(++this.nextId, tokens, spacesAfter, this.init());
      this.clusters.set(c.id, c);
      if (this.clusters.size > this.cfg.maxClusters) this.clusters.delete(this.clusters.keys().next().value!);
      this.insert(c);
    } else {
      for (let i = 0; i < tokens.length; i++) if (c.tokens[i] !== tokens[i]) c.tokens[i] = PARAM;
      this.clusters.delete(c.id);
      this.clusters.set(c.id, c);
    }
    return c;
  }

  private search(tokens: string[]): Cluster<T> | null {
    let node = this.root.children.get(String(tokens.length));
    if (!node) return null;
    const maxDepth = this.cfg.depth - 2;
    let depth = 1;
    for (const t of tokens) {
      if (depth >= maxDepth || depth === tokens.length) break;
      const next: Node | undefined = node.children.get(t) ?? node.children.get(PARAM);
      if (!next) return null;
      node = next;
      depth++;
    }
    let best: Cluster<T> | null = null;
    let bestSim = -1;
    let bestParams = -1;
    for (const id of node.clusters) {
      const c = this.clusters.get(id);
      if (!c) continue;
      let same = 0;
      let params = 0;
      for (let i = 0; i < tokens.length; i++) {
        if (c.tokens[i] === PARAM) params++;
        else if (c.tokens[i] === tokens[i]) same++;
      }
      const sim = same / tokens.length;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        bestSim = sim;
        bestParams = params;
        best = c;
      }
    }
    return bestSim >= this.cfg.simTh ? best : null;
  }

  private insert(c: Cluster<T>): void {
    const n = c.tokens.length;
    let node = this.root.children.get(String(n));
    if (!node) this.root.children.set(String(n), (node = newNode()));
    const maxDepth = this.cfg.depth - 2;
    let depth = 1;
    for (const t of c.tokens) {
      if (depth >= maxDepth || depth >= n) {
        node.clusters = node.clusters.filter((id) => this.clusters.has(id));
        node.clusters.push(c.id);
        return;
      }
      let next = node.children.get(t);
      if (!next) {
        const param = node.children.get(PARAM);
        const size = node.children.size;
        if (/\p{N}/u.test(t)) {
          if (!param) node.children.set(PARAM, (next = newNode()));
          else next = param;
        } else if (param) {
          if (size < this.cfg.maxChildren) node.children.set(t, (next = newNode()));
          else next = param;
        } else if (size + 1 < this.cfg.maxChildren) node.children.set(t, (next = newNode()));
        else if (size + 1 === this.cfg.maxChildren) node.children.set(PARAM, (next = newNode()));
        else next = node.children.get(PARAM) ?? newNode();
      }
      node = next;
      depth++;
    }
    node.clusters.push(c.id);
  }
}
