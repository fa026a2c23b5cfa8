/**
 * Parsing and printing of the unit-bearing values used in config and query parameters:
 * Go/Prometheus durations (`1h30m`, `500ms`, `7d`) and byte sizes (`256KB`, `1.5MiB`).
 */

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/;

/** Parses a duration to milliseconds; returns null when malformed. `0` alone is accepted. */
export function parseDurationMs(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  if (s.length === 0) return null;
  let rest = s;
  let neg = false;
  if (rest.startsWith('-')) {
    neg = true;
    rest = rest.slice(1);
  }
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION_RE.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return neg ? -total : total;
}

/** Prints milliseconds like Go's time.Duration.String(): `2h0m0s`, `30s`, `500ms`, `0s`. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let v = Math.abs(ms);
  if (v < 1000) return (neg ? '-' : '') + `${v}ms`;
  const h = Math.floor(v / 3_600_000);
  v -= h * 3_600_000;
  const m = Math.floor(v / 60_000);
  v -= m * 60_000;
  const s = v / 1000;
  let out = neg ? '-' : '';
  if (h > 0) out += `${h}h${m}m`;
  else if (m > 0) out += `${m}m`;
  return out + `${s}s`;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Parses a byte size: a plain integer, or a number with a unit (`KB` = 1000 and `KiB` =
 * 1024, as Loki's flagext.ByteSize/humanize do). Returns null when malformed.
 */
export function parseBytes(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.floor(text) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = m[2]!.toLowerCase();
  if (unit === '') return Math.floor(Number(m[1]));
  const mul = BYTE_UNITS[unit];
  return mul === undefined ? null : Math.floor(Number(m[1]) * mul);
}

/** Prints a byte count exactly, in the largest binary unit that divides it (`256KiB`, `1536KiB`). */
export function formatBytes(n: number): string {
  const units: [string, number][] = [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]];
  for (const [u, mul] of units) if (n >= mul && n % mul === 0) return `${n / mul}${u}`;
  return String(n);
}
