/**
 * The /ring page, as pure functions of a `ReadRing`: Loki's JSON (dskit `ring_http.go`,
 * served when the request accepts application/json) and its HTML table
 * (`ring_status.gohtml`), minus the "Forget" button: members on leases leave by themselves.
 */
import { RingSnapshot } from './snapshot.js';
import type { ReadRing } from './types.js';

/** Go's zero `time.Time` in JSON. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Unix ms as Go marshals `time.Unix(sec, 0).UTC()`: RFC 3339, whole seconds, `Z`. */
function goSeconds(ms: number): string {
  if (ms <= 0) return GO_ZERO_TIME;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Unix ms as Go marshals a UTC `time.Time` (RFC3339Nano: trailing zeros of the fraction dropped). */
function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/**
 * `{"shards":[…],"now":…}` with dskit's field names. `state` is UNHEALTHY for a member whose
 * heartbeat is older than the ring's timeout. Timestamps are whole seconds, as Loki stores them.
 * Ends with a newline, as Go's `json.Encoder` does.
 */
export function renderRingJson(ring: ReadRing, nowMs: number = Date.now()): string {
  const shards = ring.instances().map((i) => ({
    id: i.id,
    state: ring.isHealthy(i, 'reporting') ? i.state : 'UNHEALTHY',
    address: i.addr,
    timestamp: goSeconds(i.timestampMs),
    registered_timestamp: goSeconds(i.registeredAtMs),
    read_only: false,
    read_only_updated_timestamp: GO_ZERO_TIME,
    zone: i.zone,
    tokens: i.tokens.length > 0 ? i.tokens : null,
  }));
  return JSON.stringify({ shards, now: goTime(nowMs) }) + '\n';
}

/** Go's `%.3g`: 3 significant digits, exponent form below 1e-4 or from 1e3, trailing zeros dropped. */
export function formatG3(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  const [mant, expStr] = x.toExponential(2).split('e') as [string, string];
  const exp = Number(expStr);
  const trim = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= 3) return `${trim(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return trim(x.toFixed(Math.max(0, 2 - exp)));
}

/** Whole seconds as Go's `Duration.String()` after truncation: `1h2m5s`, `45s`, `0s`. */
function goDurationSeconds(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A link target only for http(s) URLs; anything else is shown as text. */
function safeHref(url: string): string | null {
  return /^https?:\/\/[^\s"'<>]+$/i.test(url) ? url : null;
}

/**
 * The HTML status page: one row per member with id (linked to its HTTP address), zone,
 * state, address, registered at, last heartbeat ("12s ago (15:04:05.999)"), token count and
 * ownership percentage. With `showTokens` every member's tokens are listed below the table.
 */
export function renderRingHtml(ring: ReadRing, opts: { nowMs?: number; showTokens?: boolean; title?: string } = {}): string {
  const nowMs = opts.nowMs ?? Date.now();
  const title = opts.title ?? 'Ring Status';
  const instances = ring.instances();
  const ownership = RingSnapshot.build(instances).ownership();
  const rows: string[] = [];
  instances.forEach((i, n) => {
    const state = ring.isHealthy(i, 'reporting') ? i.state : 'UNHEALTHY';
    const href = safeHref(i.httpAddr);
    const id = href ? `<a href="${esc(href)}">${esc(i.id)}</a>` : esc(i.id);
    const hb = new Date(i.timestampMs).toISOString().slice(11, 23).replace(/\.?0+$/, '');
    rows.push(
      `<tr${n % 2 === 0 ? '' : ' bgcolor="#BEBEBE"'}>` +
        `<td>${id}</td><td>${esc(i.zone)}</td><td>${esc(state)}</td><td>${esc(i.addr)}</td>` +
        `<td>${i.registeredAtMs > 0 ? goSeconds(i.registeredAtMs) : ''}</td>` +
        `<td>${goDurationSeconds(nowMs - i.timestampMs)} ago (${hb})</td>` +
        `<td>${i.tokens.length}</td><td>${formatG3(ownership.get(i.id) ?? 0)}%</td></tr>`,
    );
  });
  const tokens = opts.showTokens
    ? instances.map((i) => `<h2>Instance: ${esc(i.id)}</h2>\n<p>Tokens:<br/>${i.tokens.join(' ')}</p>`).join('\n')
    : '';
  const toggle = opts.showTokens ? `<input type="button" value="Hide Tokens" onclick="window.location.href = '?tokens=false'"/>` : `<input type="button" value="Show Tokens" onclick="window.location.href = '?tokens=true'"/>`;
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<title>${esc(title)}</title>
</head>
<body>
<h1>${esc(title)}</h1>
<p>Current time: ${goTime(nowMs)}</p>
<table width="100%" border="1">
<thead>
<tr><th>Instance ID</th><th>Availability Zone</th><th>State</th><th>Address</th><th>Registered At</th><th>Last Heartbeat</th><th>Tokens</th><th>Ownership</th></tr>
</thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<br>
${toggle}
${tokens}
</body>
</html>
`;
}
