/**
 * Push validation: Loki's `pkg/distributor/validator.go` plus the per-stream part of
 * `Distributor.pushWithResolver`, with Loki's discard reasons (`pkg/validation/validate.go`)
 * and message texts. One `validateRequest` call walks a request once:
 *
 * - streams without entries are skipped silently;
 * - each stream's label string is parsed once per process (`LabelsCache`) and checked:
 *   syntax, at least one label, label count, name/value length, duplicate names;
 * - each entry is checked, in Loki's order: too old, too new, line too long, structured
 *   metadata (allowed, size, count). Over-long lines are truncated first when
 *   `maxLineSizeTruncate` is on;
 * - Loki's service-name discovery runs on each valid label set (once per distinct label
 *   string: the cached parse keeps the result in place of its parsed labels);
 * - valid entries are grouped by final label set: streams repeated in a request merge, and so
 *   do streams that discovery made equal (one sent service_name, another got the same one).
 *
 * Per entry that is two bigint and one number comparison in the common case; the
 * timestamp bounds are computed once per request.
 */
import { labelsToString, type Label } from '../model/labels.js';
import { LINE_LEVEL_NONE } from '../model/log-level.js';
import type { PushEntry, PushRequest, ValidStream } from '../model/stream.js';
import { discoverServiceName, withServiceName } from './field-detection.js';
import { LabelsCache, parsedLabelsAsSent, utf8Length, type ParsedLabels } from './labels-parser.js';
import { RequestGroups } from '../util/request-groups.js';
import { formatRfc3339 } from '../util/go/rfc3339.js';
import type { TenantLimits } from './limits.js';

/** Discard reasons (the `reason` label of the discarded counters), as named by Loki. */
export const Reason = {
  invalidLabels: 'invalid_labels',
  missingLabels: 'missing_labels',
  maxLabelNamesPerSeries: 'max_label_names_per_series',
  labelNameTooLong: 'label_name_too_long',
  labelValueTooLong: 'label_value_too_long',
  duplicateLabelNames: 'duplicate_label_names',
  lineTooLong: 'line_too_long',
  greaterThanMaxSampleAge: 'greater_than_max_sample_age',
  tooFarInFuture: 'too_far_in_future',
  disallowedStructuredMetadata: 'disallowed_structured_metadata',
  structuredMetadataTooLarge: 'structured_metadata_too_large',
  structuredMetadataTooMany: 'structured_metadata_too_many',
  rateLimited: 'rate_limited',
  perStreamRateLimit: 'per_stream_rate_limit',
  streamLimit: 'stream_limit',
} as const;

/** Loki's message texts (pkg/validation/validate.go), as functions of their arguments. */
export const Msg = {
  missingStreams: 'error at least one valid stream is required for ingestion',
  missingLabels: 'error at least one label pair is required per stream',
  invalidLabels: (labels: string, err: string) => `error parsing labels '${labels}' with error: ${err}`,
  maxLabelNames: (labels: string, n: number, limit: number) =>
    `entry for stream '${labels}' has ${n} label names; limit ${limit}`,
  labelNameTooLong: (labels: string, name: string) => `stream '${labels}' has label name too long: '${name}'`,
  labelValueTooLong: (labels: string, value: string) => `stream '${labels}' has label value too long: '${value}'`,
  duplicateLabelNames: (labels: string, name: string) => `stream '${labels}' has duplicate label name: '${name}'`,
  lineTooLong: (max: number, labels: string, len: number) =>
    `max entry size '${max}' bytes exceeded for stream '${labels}' while adding an entry with length '${len}' bytes`,
  tooOld: (labels: string, ts: string, oldest: string) =>
    `entry for stream '${labels}' has timestamp too old: ${ts}, oldest acceptable timestamp is: ${oldest}`,
  tooNew: (labels: string, ts: string) => `entry for stream '${labels}' has timestamp too new: ${ts}`,
  disallowedStructuredMetadata: (labels: string) =>
    `stream '${labels}' includes structured metadata, but this feature is disallowed. Please see \`limits_config.allow_structured_metadata\` or contact your Loki administrator to enable it`,
  structuredMetadataTooLarge: (labels: string, size: number, limit: number) =>
    `stream '${labels}' has structured metadata too large: '${size}' bytes, limit: '${limit}' bytes. Please see \`limits_config.max_structured_metadata_size\` or contact your Loki administrator to increase it`,
  structuredMetadataTooMany: (labels: string, n: number, limit: number) =>
    `stream '${labels}' has too many structured metadata labels: '${n}', limit: '${limit}'. Please see \`limits_config.max_structured_metadata_entries_count\` or contact your Loki administrator to increase it`,
  rateLimited: (tenant: string, limitBytesPerSec: number, lines: number, bytes: number) =>
    `ingestion rate limit exceeded for user ${tenant} (limit: ${limitBytesPerSec} bytes/sec) while attempting to ingest '${lines}' lines totaling '${bytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased`,
} as const;

const NS_PER_MS = 1_000_000n;
/** Below any int64, so "no lower bound" stays a plain bigint comparison. */
const NO_MIN_TS = -(1n << 80n);

/** Loki leaves this metadata label (which it adds itself) out of size accounting. */
const DETECTED_LEVEL = 'detected_level';

/** Go `time.Format(time.RFC3339)` of a UTC instant given in ns (fraction dropped). */
export { formatRfc3339 };

/** Structured metadata bytes as Loki counts them (names + values, detected_level excluded). */
export function structuredMetadataBytes(md: readonly Label[]): number {
  let n = 0;
  for (let i = 0; i < md.length; i++) {
    const l = md[i]!;
    if (l.name === DETECTED_LEVEL) continue;
    n += utf8Length(l.name) + utf8Length(l.value);
  }
  return n;
}

/** Lines and bytes counted under one reason. */
export interface Tally {
  lines: number;
  bytes: number;
}

/**
 * Validation errors grouped by message, rendered like Loki's `util.GroupedErrors`:
 * distinct messages joined by "; ", each prefixed "N errors like: " when there is more
 * than one distinct message or it occurred more than once. Order is first occurrence.
 */
export class GroupedErrors {
  readonly #counts = new Map<string, number>();
  /** Reason of the first error added (the one the thrown ValidationError carries). */
  firstReason = '';
  /** Total errors added. */
  total = 0;

  add(reason: string, message: string): void {
    if (this.total === 0) this.firstReason = reason;
    this.total++;
    this.#counts.set(message, (this.#counts.get(message) ?? 0) + 1);
  }

  message(): string {
    const unique = this.#counts.size;
    let out = '';
    let i = 0;
    for (const [msg, n] of this.#counts) {
      if (i++ > 0) out += '; ';
      if (unique > 1 || n > 1) out += `${n} errors like: `;
      out += msg;
    }
    return out;
  }
}

/** What one request validation produced. */
export interface ValidationResult {
  /** Valid entries grouped by label set, in first-seen order. */
  streams: ValidStream[];
  /** Lines and bytes (line + structured metadata) in the request, valid or not. */
  receivedLines: number;
  receivedBytes: number;
  /** Of receivedBytes, the structured metadata's. */
  receivedMetadataBytes: number;
  /** Lines and bytes that passed validation (what the rate limiter is charged). */
  validLines: number;
  validBytes: number;
  /** Discarded lines and bytes per reason. */
  discarded: Map<string, Tally>;
  /** Lines truncated (max_line_size_truncate) and the bytes cut off. */
  truncatedLines: number;
  truncatedBytes: number;
  /** Per-stream and per-entry errors, or null when everything was valid. */
  errors: GroupedErrors | null;
}

/** Options of a `Validator`. */
export interface ValidatorOptions {
  /** Distinct label strings kept parsed (Loki keeps 100k). */
  labelCacheSize?: number;
}

/** Validates push requests against tenant limits. Holds only the label cache; reusable. */
export class Validator {
  readonly labelsCache: LabelsCache;
  /** Streams of the request being validated, by canonical label string. */
  readonly #byLabels = new RequestGroups<ValidStream>();

  constructor(opts: ValidatorOptions = {}) {
    this.labelsCache = new LabelsCache(opts.labelCacheSize ?? 100_000);
  }

  /** Forgets the per-label-set state kept between requests (the grouping's slots); see RequestGroups.forget. */
  forgetScratch(): void {
    this.#byLabels.forget();
  }

  /**
   * Validates `req` at time `nowMs`. Entries are not copied: valid streams reference the
   * request's entry objects (and, when a stream is entirely valid, its entry array).
   * Truncation (when enabled) replaces `line` on the request's entry objects.
   */
  validateRequest(limits: TenantLimits, nowMs: number, req: PushRequest): ValidationResult {
    const res: ValidationResult = {
      streams: [],
      receivedLines: 0,
      receivedBytes: 0,
      receivedMetadataBytes: 0,
      validLines: 0,
      validBytes: 0,
      discarded: new Map(),
      truncatedLines: 0,
      truncatedBytes: 0,
      errors: null,
    };
    const nowNs = BigInt(Math.trunc(nowMs)) * NS_PER_MS;
    const minTs = limits.rejectOldSamples ? nowNs - BigInt(Math.trunc(limits.rejectOldSamplesMaxAge)) * NS_PER_MS : NO_MIN_TS;
    const maxTs = nowNs + BigInt(Math.trunc(limits.creationGracePeriod)) * NS_PER_MS;
    const maxLine = limits.maxLineSize > 0 ? limits.maxLineSize : Infinity;
    const truncateTo = limits.maxLineSizeTruncate ? maxLine - Buffer.byteLength(limits.maxLineSizeTruncateIdentifier) : 0;
    const truncateSuffix = Buffer.from(limits.maxLineSizeTruncateIdentifier);
    const allowMd = limits.allowStructuredMetadata;
    const maxMdBytes = limits.maxStructuredMetadataSize > 0 ? limits.maxStructuredMetadataSize : Infinity;
    const maxMdCount = limits.maxStructuredMetadataEntriesCount > 0 ? limits.maxStructuredMetadataEntriesCount : Infinity;

    const byLabels = this.#byLabels;
    byLabels.begin();
    /** Entry arrays made by merging streams with equal labels (ours to append to). */
    let merged: PushEntry[][] | null = null;

    const fail = (reason: string, msg: string, lines: number, bytes: number): void => {
      (res.errors ??= new GroupedErrors()).add(reason, msg);
      const t = res.discarded.get(reason);
      if (t === undefined) res.discarded.set(reason, { lines, bytes });
      else {
        t.lines += lines;
        t.bytes += bytes;
      }
    };

    const streams = req.streams;
    for (let si = 0; si < streams.length; si++) {
      const s = streams[si]!;
      const entries = s.entries;
      const n = entries.length;
      if (n === 0) continue;

      // Sizes and truncation first, so every later step sees final line lengths (as Loki).
      let streamBytes = 0;
      let streamMdBytes = 0;
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        let len = e.line.length;
        if (len > maxLine && truncateTo > 0) {
          e.line = truncateSuffix.length === 0 ? e.line.subarray(0, truncateTo) : Buffer.concat([e.line.subarray(0, truncateTo), truncateSuffix]);
          e.lineLevel = LINE_LEVEL_NONE; // computed from the whole line
          res.truncatedLines++;
          res.truncatedBytes += len - truncateTo;
          len = e.line.length;
        }
        if (e.metadata.length === 0) streamBytes += len;
        else {
          const md = structuredMetadataBytes(e.metadata);
          streamBytes += len + md;
          streamMdBytes += md;
        }
      }
      res.receivedLines += n;
      res.receivedBytes += streamBytes;
      res.receivedMetadataBytes += streamMdBytes;

      const p = this.labelsCache.get(s.labels);
      if (!labelsValid(p, limits)) {
        const [reason, msg] = labelsProblem(p, s.labels, limits);
        fail(reason, msg, n, streamBytes);
        continue;
      }
      discoverServiceName(p, limits.discoverServiceName);
      const labelsString = p.labelsString;

      let kept: PushEntry[] | null = null; // null: every entry so far was valid
      let keptBytes = 0;
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        const ts = e.tsNs;
        const len = e.line.length;
        const md = e.metadata;
        let reason: string | null = null;
        let msg = '';
        let mdBytes = 0;
        if (md.length !== 0) mdBytes = structuredMetadataBytes(md);
        if (ts < minTs) {
          reason = Reason.greaterThanMaxSampleAge;
          msg = Msg.tooOld(labelsString, formatRfc3339(ts), formatRfc3339(minTs));
        } else if (ts > maxTs) {
          reason = Reason.tooFarInFuture;
          msg = Msg.tooNew(labelsString, formatRfc3339(ts));
        } else if (len > maxLine) {
          reason = Reason.lineTooLong;
          msg = Msg.lineTooLong(limits.maxLineSize, labelsString, len);
        } else if (md.length !== 0) {
          if (!allowMd) {
            reason = Reason.disallowedStructuredMetadata;
            msg = Msg.disallowedStructuredMetadata(labelsString);
          } else if (mdBytes > maxMdBytes) {
            reason = Reason.structuredMetadataTooLarge;
            msg = Msg.structuredMetadataTooLarge(labelsString, mdBytes, limits.maxStructuredMetadataSize);
          } else if (md.length > maxMdCount) {
            reason = Reason.structuredMetadataTooMany;
            msg = Msg.structuredMetadataTooMany(labelsString, md.length, limits.maxStructuredMetadataEntriesCount);
          }
        }
        if (reason !== null) {
          kept ??= entries.slice(0, i);
          fail(reason, msg, 1, len + mdBytes);
          continue;
        }
        if (kept !== null) kept.push(e);
        keptBytes += len + mdBytes;
      }
      const valid = kept ?? entries;
      if (valid.length === 0) continue;
      res.validLines += valid.length;
      res.validBytes += keptBytes;

      const prev = byLabels.get(labelsString);
      if (prev === undefined) {
        const vs: ValidStream = { labels: p.labels, labelsString, fingerprint: p.fingerprint, entries: valid };
        byLabels.set(labelsString, vs);
        res.streams.push(vs);
      } else {
        // A label set seen before in this request: append to a copy of our own (its entries
        // may still be the request's array), copied only on the first merge.
        if (merged === null || !merged.includes(prev.entries)) {
          prev.entries = prev.entries.slice();
          (merged ??= []).push(prev.entries);
        }
        for (let i = 0; i < valid.length; i++) prev.entries.push(valid[i]!);
      }
    }
    // The slots must not keep this request's entries alive.
    byLabels.release();
    return res;
  }
}

/** The common case in two-three comparisons. */
function labelsValid(p: ParsedLabels, l: TenantLimits): boolean {
  return (
    p.error === null &&
    p.labels.length > 0 &&
    p.numNames <= l.maxLabelNamesPerSeries &&
    p.maxNameBytes <= l.maxLabelNameLength &&
    p.maxValueBytes <= l.maxLabelValueLength &&
    !p.hasDuplicate
  );
}

/**
 * A stream's labels as Loki's messages show them: the canonical text with the service_name
 * that discovery adds (Loki adds it while it parses the push body, pkg/loghttp/push, before the
 * distributor validates; the label count still leaves it out). For labels that failed the
 * checks, which discovery does not visit.
 */
function shownLabels(sent: readonly Label[], p: ParsedLabels, l: TenantLimits): string {
  const discovered = withServiceName(sent, l.discoverServiceName);
  return discovered === null ? (sent === p.labels ? p.labelsString : labelsToString(sent)) : labelsToString(discovered);
}

/**
 * Reason and message for labels that failed `labelsValid`, in Loki's order: parse error,
 * no labels, label count, then per label in sorted order: name too long, value too long,
 * duplicate name. Messages show the canonical label text with the discovered service_name
 * (shownLabels); a parse error shows the text as sent.
 */
function labelsProblem(p: ParsedLabels, sent: string, l: TenantLimits): [string, string] {
  if (p.error !== null) return [Reason.invalidLabels, Msg.invalidLabels(sent, p.error)];
  if (p.labels.length === 0) return [Reason.missingLabels, Msg.missingLabels];
  // Another tenant's push may have run discovery on this parse: check the labels as sent.
  const labels = parsedLabelsAsSent(p);
  const shown = shownLabels(labels, p, l);
  if (p.numNames > l.maxLabelNamesPerSeries) {
    return [Reason.maxLabelNamesPerSeries, Msg.maxLabelNames(shown, p.numNames, l.maxLabelNamesPerSeries)];
  }
  let last = '';
  for (const lb of labels) {
    if (utf8Length(lb.name) > l.maxLabelNameLength) return [Reason.labelNameTooLong, Msg.labelNameTooLong(shown, lb.name)];
    if (utf8Length(lb.value) > l.maxLabelValueLength) return [Reason.labelValueTooLong, Msg.labelValueTooLong(shown, lb.value)];
    if (lb.name === last) return [Reason.duplicateLabelNames, Msg.duplicateLabelNames(shown, lb.name)];
    last = lb.name;
  }
  // Unreachable when labelsValid returned false; keep a defined answer anyway.
  return [Reason.invalidLabels, Msg.invalidLabels(sent, 'invalid labels')];
}
