/**
 * IP matching for `ip("...")` line and label filters, following Loki's pkg/logql/log/ip.go:
 * the pattern is a single address, a CIDR prefix or an `a-b` range (Go's netip / netipx
 * parsers); a line matches when any IP-looking token in it (found with Loki's v4/v6 hints and
 * character sets) parses as an address the pattern contains. Addresses are 16-byte arrays
 * plus a family flag; IPv4 and IPv6 never match each other (netip semantics, so
 * `::ffff:1.2.3.4` is not `1.2.3.4`).
 */

/** A parsed address: 4 or 16 bytes in `b` (first `len` used). Reused by the scanner. */
export class IpAddr {
  readonly b = new Uint8Array(16);
  len = 0;
}

function digit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** netip.ParseAddr's IPv4 rules (no leading zeros, 4 fields), into out.b[off..off+4). */
function parseV4(s: Uint8Array, start: number, end: number, out: Uint8Array, off: number): boolean {
  let field = 0;
  let val = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = s[i]!;
    if (digit(c)) {
      if (digits === 1 && val === 0) return false;
      val = val * 10 + (c - 48);
      if (val > 255) return false;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || field === 3) return false;
      out[off + field] = val;
      field++;
      val = 0;
      digits = 0;
    } else return false;
  }
  if (field !== 3 || digits === 0) return false;
  out[off + 3] = val;
  return true;
}

/** netip.ParseAddr's IPv6 rules (`::` once, embedded IPv4 last, no zone here). */
function parseV6(s: Uint8Array, start: number, end: number, out: Uint8Array): boolean {
  let ellipsis = -1;
  let i = start;
  let n = 0; // bytes written
  if (end - start >= 2 && s[i] === 58 && s[i + 1] === 58) {
    ellipsis = 0;
    i += 2;
    if (i === end) {
      out.fill(0);
      return true;
    }
  }
  while (i < end) {
    let off = 0;
    let acc = 0;
    while (off < 4 && i + off < end) {
      const h = hexVal(s[i + off]!);
      if (h < 0) break;
      acc = (acc << 4) | h;
      off++;
    }
    if (off === 0) return false;
    if (i + off < end && s[i + off] === 46) {
      // Embedded IPv4 in the last 4 bytes.
      if (ellipsis < 0 && n !== 12) return false;
      if (n + 4 > 16) return false;
      if (!parseV4(s, i, end, out, n)) return false;
      n += 4;
      i = end;
      break;
    }
    if (i + off < end && hexVal(s[i + off]!) >= 0) return false; // more than 4 hex digits
    out[n] = acc >> 8;
    out[n + 1] = acc & 0xff;
    n += 2;
    i += off;
    if (i === end) break;
    if (s[i] !== 58 || i + 1 === end) return false;
    i++;
    if (s[i] === 58) {
      if (ellipsis >= 0) return false;
      ellipsis = n;
      i++;
      if (i === end) break;
    }
    if (n === 16) return false;
  }
  if (n < 16) {
    if (ellipsis < 0) return false;
    const tail = n - ellipsis;
    for (let j = tail - 1; j >= 0; j--) out[16 - tail + j] = out[ellipsis + j]!;
    for (let j = ellipsis; j < 16 - tail; j++) out[j] = 0;
  } else if (ellipsis >= 0) return false; // `::` must stand for at least one group
  return true;
}

/** Parses [start,end) of `s` as an IPv4 or IPv6 address (no zones). */
export function parseAddr(s: Uint8Array, start: number, end: number, out: IpAddr): boolean {
  for (let i = start; i < end; i++) {
    const c = s[i]!;
    if (c === 46) {
      out.len = 4;
      return parseV4(s, start, end, out.b, 0);
    }
    if (c === 58) {
      out.len = 16;
      return parseV6(s, start, end, out.b);
    }
  }
  return false;
}

function cmp(a: Uint8Array, b: Uint8Array, len: number): number {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** What an `ip()` pattern matches: an inclusive range [lo, hi] of one family. */
export class IpPattern {
  private constructor(
    private readonly len: number,
    private readonly lo: Uint8Array,
    private readonly hi: Uint8Array,
  ) {}

  contains(a: IpAddr): boolean {
    return a.len === this.len && cmp(a.b, this.lo, this.len) >= 0 && cmp(a.b, this.hi, this.len) <= 0;
  }

  /** Single address, CIDR (`10.0.0.0/8`, `::1/128`) or range (`a-b`); null when invalid. */
  static parse(pattern: string): IpPattern | null {
    const s = Buffer.from(pattern, 'latin1');
    const a = new IpAddr();
    if (parseAddr(s, 0, s.length, a)) return new IpPattern(a.len, a.b.slice(0, a.len), a.b.slice(0, a.len));
    const slash = pattern.indexOf('/');
    if (slash >= 0) {
      const bitsText = pattern.slice(slash + 1);
      if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return null;
      if (!parseAddr(s, 0, slash, a)) return null;
      const bits = Number(bitsText);
      if (bits > a.len * 8) return null;
      const lo = a.b.slice(0, a.len);
      const hi = a.b.slice(0, a.len);
      for (let i = 0; i < a.len; i++) {
        const keep = Math.max(0, Math.min(8, bits - i * 8));
        const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
        lo[i] = lo[i]! & mask;
        hi[i] = (hi[i]! & mask) | (~mask & 0xff);
      }
      return new IpPattern(a.len, lo, hi);
    }
    const dash = pattern.indexOf('-');
    if (dash >= 0) {
      const b = new IpAddr();
      if (!parseAddr(s, 0, dash, a) || !parseAddr(s, dash + 1, s.length, b)) return null;
      if (a.len !== b.len || cmp(a.b, b.b, a.len) > 0) return null;
      return new IpPattern(a.len, a.b.slice(0, a.len), b.b.slice(0, b.len));
    }
    return null;
  }
}

const V4_SET = new Uint8Array(256);
const V6_SET = new Uint8Array(256);
for (const c of '0123456789.') V4_SET[c.charCodeAt(0)] = 1;
for (const c of '0123456789abcdefABCDEF:.') V6_SET[c.charCodeAt(0)] = 1;

function isHex(c: number): boolean {
  return hexVal(c) >= 0;
}

/** Scans text for IP-looking tokens (Loki's ipFilter.filter). One scratch address per instance. */
export class IpScanner {
  private readonly addr = new IpAddr();
  constructor(private readonly pattern: IpPattern) {}

  private span(s: Uint8Array, start: number, end: number, set: Uint8Array): number {
    let i = start;
    while (i < end && set[s[i]!] === 1) i++;
    return i - start;
  }

  /** True when some IP in s[start,end) is in the pattern. */
  matches(s: Uint8Array, start: number, end: number): boolean {
    const n = end;
    for (let i = start; i < n; i++) {
      const c0 = s[i]!;
      if (i + 3 < n && digit(c0) && (s[i + 1] === 46 || s[i + 2] === 46 || s[i + 3] === 46)) {
        const len = this.span(s, i, n, V4_SET);
        if (parseAddr(s, i, i + len, this.addr) && this.pattern.contains(this.addr)) return true;
        i += len;
        continue;
      }
      const c1 = i + 1 < n ? s[i + 1]! : 0;
      const c2 = i + 2 < n ? s[i + 2]! : 0;
      const c3 = i + 3 < n ? s[i + 3]! : 0;
      const c4 = i + 4 < n ? s[i + 4]! : 0;
      const hint =
        (c0 === 58 && c1 === 58 && isHex(c2)) ||
        (isHex(c0) && c1 === 58) ||
        (isHex(c0) && isHex(c1) && c2 === 58) ||
        (isHex(c0) && isHex(c1) && isHex(c2) && c3 === 58) ||
        (isHex(c0) && isHex(c1) && isHex(c2) && isHex(c3) && c4 === 58);
      if (hint) {
        const len = this.span(s, i, n, V6_SET);
        if (parseAddr(s, i, i + len, this.addr) && this.pattern.contains(this.addr)) return true;
        i += len;
      }
    }
    return false;
  }
}
