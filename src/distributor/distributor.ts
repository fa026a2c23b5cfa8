/**
 * The distributor role: validates a decoded push, applies the tenant ingestion rate limit
 * and forwards the valid part to the ingester. Mirrors Loki's
 * `Distributor.pushWithResolver` (pkg/distributor/distributor.go):
 *
 * 1. no streams at all → 422 `error at least one valid stream is required for ingestion`;
 * 2. validate every stream and entry (validate.ts), collecting grouped errors;
 * 3. nothing valid left → the validation error (400), or success if there were no errors
 *    (e.g. every stream was empty);
 * 4. the tenant bucket is charged the valid bytes, all or nothing → 429 and nothing stored;
 * 5. add what Loki adds on ingestion (field-detection.ts): the `service_name` label and
 *    `detected_level` structured metadata; then push the valid streams; an ingester failure
 *    propagates as is;
 * 6. then, if some streams or entries were invalid, the 400 with Loki's grouped message.
 */
import { Counter, type Registry } from 'prom-client';
import { RateLimitError, UnprocessableError, ValidationError } from '../errors.js';
import type { PushRequest, ValidStream } from '../model/stream.js';
import type { LimitsProvider, TenantLimits } from './limits.js';
import { RateLimiters } from '../util/rate-limiter.js';
import { type GroupedErrors, Msg, Reason, Validator, type ValidationResult } from './validate.js';
import { addDetectedLevels, LevelDetector, normalizeMetadataNames } from './field-detection.js';
import { otlpLabelName } from './otlp.js';

/** What the distributor needs from the ingester (defined here, by the consumer). */
export interface IngesterPusher {
  /**
   * Stores the streams for `tenant`; resolves once they are acknowledged. Entry lines are
   * views into the request body: copy what must outlive the call.
   */
  push(tenant: string, streams: ValidStream[]): Promise<void>;
}

/**
 * A request that is well-formed but has nothing to ingest (Loki answers 422 Unprocessable
 * Entity). Kind `unprocessable`. Belongs in src/errors.ts; lives here until it moves.
 */
export { UnprocessableError } from '../errors.js';

/** Constructor options of `Distributor`. */
export interface DistributorOptions {
  limits: LimitsProvider;
  ingester: IngesterPusher;
  /** Where the distributor's counters are registered (reused if already there). */
  registry: Registry;
  /** Clock in ms; Date.now by default. */
  nowMs?: () => number;
  /** Distinct stream label strings kept parsed; default 100k (as Loki). */
  labelCacheSize?: number;
}

const BYTES_PER_MB = 1 << 20;

/** The `ingester` label of append failures: Loki names the ingester's address; Silt's is in the process. */
const IN_PROCESS_INGESTER = 'in-process';

const RESOLVED: Promise<void> = Promise.resolve();

/** Gets a counter from the registry or registers it (several distributors may share one). */
function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** Validates, rate-limits and forwards pushes. One instance serves all tenants. */
export class Distributor {
  readonly #limits: LimitsProvider;
  readonly #ingester: IngesterPusher;
  readonly #nowMs: () => number;
  readonly #validator: Validator;
  readonly #rateLimiters: RateLimiters;
  readonly #discardedSamples: Counter<string>;
  readonly #discardedBytes: Counter<string>;
  readonly #linesReceived: Counter<string>;
  readonly #bytesReceived: Counter<string>;
  readonly #metadataBytesReceived: Counter<string>;
  readonly #appendFailures: Counter<string>;
  readonly #mutatedSamples: Counter<string>;
  readonly #mutatedBytes: Counter<string>;
  /** One level detector per distinct limits object (tenants sharing limits share it). */
  #levelDetectors = new WeakMap<TenantLimits, LevelDetector>();

  constructor(opts: DistributorOptions) {
    this.#limits = opts.limits;
    this.#ingester = opts.ingester;
    this.#nowMs = opts.nowMs ?? Date.now;
    this.#rateLimiters = new RateLimiters({ nowMs: this.#nowMs });
    this.#validator = new Validator(opts.labelCacheSize === undefined ? {} : { labelCacheSize: opts.labelCacheSize });
    // Loki's names (pkg/validation, pkg/loghttp/push, pkg/distributor). Loki's extra labels
    // (retention_hours, policy, format, is_internal_stream) are left out: Silt has no
    // ingestion policies or internal streams, and the mixin sums them away.
    const r = opts.registry;
    this.#discardedSamples = counter(r, 'loki_discarded_samples_total', 'The total number of samples that were discarded.', ['reason', 'tenant']);
    this.#discardedBytes = counter(r, 'loki_discarded_bytes_total', 'The total number of bytes that were discarded (line + structured metadata).', ['reason', 'tenant']);
    this.#linesReceived = counter(r, 'loki_distributor_lines_received_total', 'The total number of lines received per tenant (before validation).', ['tenant']);
    this.#bytesReceived = counter(r, 'loki_distributor_bytes_received_total', 'The total number of uncompressed bytes received per tenant. Includes structured metadata bytes.', ['tenant']);
    this.#metadataBytesReceived = counter(r, 'loki_distributor_structured_metadata_bytes_received_total', "The total number of uncompressed bytes received per tenant for entries' structured metadata.", ['tenant']);
    this.#appendFailures = counter(r, 'loki_distributor_ingester_append_failures_total', 'The total number of failed batch appends sent to ingesters (Silt: the in-process ingester could not store a push, e.g. its WAL write failed).', ['ingester']);
    this.#mutatedSamples = counter(r, 'loki_mutated_samples_total', 'The total number of samples that have been mutated.', ['reason', 'tenant']);
    this.#mutatedBytes = counter(r, 'loki_mutated_bytes_total', 'The total number of bytes that have been mutated.', ['reason', 'tenant']);
    // One ingester, known from the start: its series shows 0 until a failure.
    this.#appendFailures.inc({ ingester: IN_PROCESS_INGESTER }, 0);
  }

  /**
   * Validates and forwards. Resolves when the ingester acknowledged the valid part.
   * Throws `UnprocessableError` (422) for a request without streams; `RateLimitError`
   * (429, reason `rate_limited`) when the tenant limit rejects the request (nothing
   * stored); `ValidationError` (400, Loki's grouped message, `reason` of the first
   * problem) when some streams or entries were invalid, after the valid ones were pushed;
   * whatever the ingester throws if the push fails.
   */
  push(tenant: string, req: PushRequest): Promise<void> {
    // Not async: the request must not stay reachable while the ingester waits for its WAL
    // (see Ingester.push); only the error to report afterwards is kept.
    let pushed: Promise<void>;
    let errors: GroupedErrors | null;
    try {
      [pushed, errors] = this.#push(tenant, req);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (errors === null) return pushed;
    const e = errors;
    return pushed.then(() => Promise.reject(new ValidationError(e.firstReason, e.message())));
  }

  /** The synchronous part of push: the ingester's promise, and the validation errors to report after it. */
  #push(tenant: string, req: PushRequest): [Promise<void>, GroupedErrors | null] {
    if (req.streams.length === 0) throw new UnprocessableError(Msg.missingStreams);
    const limits = this.#limits.forTenant(tenant);
    const nowMs = this.#nowMs();
    const res = this.#validator.validateRequest(limits, nowMs, req);
    this.#record(tenant, res);

    if (res.streams.length === 0) {
      if (res.errors !== null) throw new ValidationError(res.errors.firstReason, res.errors.message());
      return [RESOLVED, null];
    }

    const rate = limits.ingestionRateMb * BYTES_PER_MB;
    const burst = limits.ingestionBurstSizeMb * BYTES_PER_MB;
    if (!this.#rateLimiters.allowN(tenant, nowMs, res.validBytes, rate, burst)) {
      this.#discardedSamples.inc({ reason: Reason.rateLimited, tenant }, res.validLines);
      this.#discardedBytes.inc({ reason: Reason.rateLimited, tenant }, res.validBytes);
      throw new RateLimitError(Reason.rateLimited, Msg.rateLimited(tenant, Math.trunc(rate), res.validLines, res.validBytes));
    }

    const streams = res.streams;
    normalizeMetadataNames(streams, otlpLabelName);
    if (limits.discoverLogLevels && limits.allowStructuredMetadata) addDetectedLevels(streams, this.#levelDetector(limits));
    return [this.#ingester.push(tenant, streams).catch(this.#onAppendFailure), res.errors];
  }

  /** Counts an ingester failure to store a push (not its own 4xx rejections), then passes it on. */
  readonly #onAppendFailure = (e: unknown): never => {
    const kind = (e as { kind?: unknown }).kind;
    if (kind !== 'invalid' && kind !== 'limited' && kind !== 'too_large' && kind !== 'unprocessable') this.#appendFailures.inc({ ingester: IN_PROCESS_INGESTER });
    throw e;
  };

  /**
   * Forgets what pushes left behind per label set and is rebuilt by the next push: the
   * validator's grouping slots and the level detectors' answers per label array (~120 B per
   * stream). Called when the process goes quiet (IdleMemoryRelease's `beforeCollect`), between
   * requests: validation is synchronous.
   */
  forgetScratch(): void {
    this.#validator.forgetScratch();
    this.#levelDetectors = new WeakMap();
  }

  #levelDetector(limits: TenantLimits): LevelDetector {
    let d = this.#levelDetectors.get(limits);
    if (d === undefined) {
      d = new LevelDetector(limits.logLevelFields, limits.logLevelFromJsonMaxDepth);
      this.#levelDetectors.set(limits, d);
    }
    return d;
  }

  #record(tenant: string, res: ValidationResult): void {
    if (res.receivedLines > 0) {
      this.#linesReceived.inc({ tenant }, res.receivedLines);
      this.#bytesReceived.inc({ tenant }, res.receivedBytes);
      this.#metadataBytesReceived.inc({ tenant }, res.receivedMetadataBytes);
    }
    for (const [reason, t] of res.discarded) {
      this.#discardedSamples.inc({ reason, tenant }, t.lines);
      this.#discardedBytes.inc({ reason, tenant }, t.bytes);
    }
    if (res.truncatedLines > 0) {
      this.#mutatedSamples.inc({ reason: Reason.lineTooLong, tenant }, res.truncatedLines);
      this.#mutatedBytes.inc({ reason: Reason.lineTooLong, tenant }, res.truncatedBytes);
    }
  }
}
