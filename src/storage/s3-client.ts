/**
 * An ObjectClient over S3 or an S3-compatible store (MinIO, Ceph RGW, R2, s3rver, fauxqs).
 * The only importer of `@aws-sdk/client-s3` (ADR 0006). Every call runs under a concurrency
 * limit, a per-attempt deadline and a retry loop with capped exponential backoff, as Loki's
 * `storage_config.aws.backoff_config` does; only transient failures (network errors, 5xx,
 * 429/throttling, timeouts) are retried. What still fails becomes an UnavailableError, which
 * the status mapper turns into 503. A read's abort signal (a query's deadline) aborts its HTTP
 * request, frees its connection and concurrency slot at once, and ends the retry loop.
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { InvalidError, NotFoundError, UnavailableError } from '../errors.js';
import { abortReason, compareKeys, rollUp, throwIfAborted, validateKey, validateRange } from './object-client.js';
import { raceAbort } from '../util/abort.js';
import { lazyModule } from '../util/lazy-module.js';
import type { ListResult, ObjectClient, ObjectInfo, ReadOptions } from './object-client.js';

/** The SDK, loaded when the first S3 client is built (util/lazy-module.ts). */
const sdk = lazyModule<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** Settings of an S3ObjectClient; `storage_config.aws` in the config file. */
export interface S3ObjectClientConfig {
  /** Bucket name. */
  bucket: string;
  /** Endpoint URL or host[:port] (empty: AWS for `region`). A bare host gets http:// when `insecure`, else https://. */
  endpoint: string;
  /** Region used for signing (S3-compatible stores usually accept any). */
  region: string;
  /** Static credentials; both empty means the SDK's default chain (env, profile, IMDS, web identity). */
  accessKeyId: string;
  secretAccessKey: string;
  /** Optional session token for temporary static credentials. */
  sessionToken: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by MinIO and most local stores. */
  forcePathStyle: boolean;
  /** Plain HTTP for a bare-host endpoint. */
  insecure: boolean;
  /** Prepended to every key ('' or something like `silt/`; a missing trailing '/' is added). */
  keyPrefix: string;
  /** Retries after the first attempt of a transient failure. */
  maxRetries: number;
  /** First backoff, ms; doubles per retry with jitter up to `maxBackoffMs`. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Deadline of one attempt, ms: a hung or trickling server fails the attempt. */
  requestTimeoutMs: number;
  /** Requests in flight at once; the rest queue. */
  maxConcurrency: number;
  /** Bodies at least this large are uploaded in parts of `partSizeBytes` (multipart upload). */
  multipartThresholdBytes: number;
  /** Part size of multipart uploads (S3 needs at least 5 MiB for every part but the last). */
  partSizeBytes: number;
}

/** Defaults, Loki's where Loki has the setting (backoff 100ms..3s, 5 retries). */
export const DEFAULT_S3_CONFIG: S3ObjectClientConfig = {
  bucket: '',
  endpoint: '',
  region: 'us-east-1',
  accessKeyId: '',
  secretAccessKey: '',
  sessionToken: '',
  forcePathStyle: false,
  insecure: false,
  keyPrefix: '',
  maxRetries: 5,
  minBackoffMs: 100,
  maxBackoffMs: 3000,
  requestTimeoutMs: 30_000,
  maxConcurrency: 64,
  multipartThresholdBytes: 64 * 1024 * 1024,
  partSizeBytes: 16 * 1024 * 1024,
};

/** Smallest part S3 accepts for all but the last part of a multipart upload. */
const MIN_PART_BYTES = 5 * 1024 * 1024;

/** Counters for metrics and tests. */
export interface S3ClientStats {
  /** Requests sent, including retries. */
  requests: number;
  /** Attempts that failed transiently and were retried. */
  retries: number;
  /** Operations that failed after every retry (not counting reads their caller aborted). */
  failures: number;
  /** Requests holding a concurrency slot now (sent and not yet answered or aborted). */
  inFlight: number;
}

/**
 * Called after every request attempt with the S3 operation (`GetObject`, `PutObject`, …), the
 * outcome (`200`, an HTTP status, `timeout` or `error` for no answer, `canceled` when its
 * caller aborted it) and its duration.
 */
export type RequestObserver = (operation: string, status: string, seconds: number) => void;

/** The parts of an SDK error we look at. */
interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * A counting semaphore: at most `limit` holders, the rest wait in FIFO order. A waiter whose
 * signal aborts leaves the queue without taking a slot.
 */
class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];
  constructor(limit: number) {
    this.#free = limit;
  }
  async acquire(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      this.#waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}

function endpointUrl(endpoint: string, insecure: boolean): string | undefined {
  if (endpoint === '') return undefined;
  if (/^https?:\/\//i.test(endpoint)) return endpoint;
  return `${insecure ? 'http' : 'https'}://${endpoint}`;
}

function statusOf(e: unknown): number | undefined {
  return (e as SdkError | null)?.$metadata?.httpStatusCode;
}

function nameOf(e: unknown): string {
  const err = e as SdkError | null;
  return err?.name ?? err?.code ?? '';
}

/** A missing key (not a missing bucket, which is a configuration problem). */
function isNotFound(e: unknown): boolean {
  const n = nameOf(e);
  if (n === 'NoSuchBucket') return false;
  return n === 'NoSuchKey' || n === 'NotFound' || statusOf(e) === 404;
}

/** Network errors, timeouts, throttling and 5xx are worth another attempt; other 4xx are not. */
function isTransient(e: unknown): boolean {
  const status = statusOf(e);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  const n = nameOf(e);
  if (n === 'NoSuchBucket' || n === 'AccessDenied' || n === 'InvalidAccessKeyId' || n === 'SignatureDoesNotMatch' || n === 'CredentialsProviderError') return false;
  // No HTTP status: the request never got an answer (refused, reset, aborted by our deadline).
  return true;
}

function describe(e: unknown): string {
  const status = statusOf(e);
  const msg = e instanceof Error ? e.message : String(e);
  const n = nameOf(e);
  return `${n !== '' && n !== 'Error' && !msg.includes(n) ? n + ': ' : ''}${msg}${status !== undefined ? ` (HTTP ${status})` : ''}`;
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise((r) => setTimeout(r, ms));
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Stores objects as keys of one S3 bucket under an optional key prefix. */
export class S3ObjectClient implements ObjectClient {
  /** The effective settings. */
  readonly cfg: Readonly<S3ObjectClientConfig>;
  /** Request counters. */
  readonly stats: S3ClientStats = { requests: 0, retries: 0, failures: 0, inFlight: 0 };
  readonly #sdk: typeof import('@aws-sdk/client-s3');
  readonly #s3: S3Client;
  readonly #prefix: string;
  readonly #sem: Semaphore;
  readonly #observe: RequestObserver | undefined;
  #closed = false;

  /** `observe` is told about every attempt (for a request-duration histogram). */
  constructor(cfg: Partial<S3ObjectClientConfig> & { bucket: string }, observe?: RequestObserver) {
    this.#observe = observe;
    const c: S3ObjectClientConfig = { ...DEFAULT_S3_CONFIG, ...cfg };
    if (c.bucket === '') throw new InvalidError('S3 storage needs a bucket name (storage_config.aws.bucketnames)');
    if (c.partSizeBytes < MIN_PART_BYTES) throw new InvalidError(`S3 part size ${c.partSizeBytes} is below the 5 MiB S3 minimum`);
    this.cfg = Object.freeze(c);
    this.#prefix = c.keyPrefix === '' || c.keyPrefix.endsWith('/') ? c.keyPrefix : c.keyPrefix + '/';
    this.#sem = new Semaphore(Math.max(1, c.maxConcurrency));
    const agentOpts = { keepAlive: true, maxSockets: Math.max(1, c.maxConcurrency) };
    const sdkCfg: S3ClientConfig = {
      region: c.region === '' ? 'us-east-1' : c.region,
      forcePathStyle: c.forcePathStyle,
      // Our own retry loop below owns backoff and counting; the SDK makes one attempt.
      maxAttempts: 1,
      // Checksums only where S3 demands them: s3rver and older MinIO reject the newer
      // default CRC32 trailers, and our chunks carry their own crc32.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: Math.min(c.requestTimeoutMs, 10_000),
        requestTimeout: c.requestTimeoutMs,
        httpAgent: new HttpAgent(agentOpts),
        httpsAgent: new HttpsAgent(agentOpts),
      },
    };
    const url = endpointUrl(c.endpoint, c.insecure);
    if (url !== undefined) sdkCfg.endpoint = url;
    if (c.accessKeyId !== '' || c.secretAccessKey !== '') {
      sdkCfg.credentials = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken !== '' ? { sessionToken: c.sessionToken } : {}) };
    }
    this.#sdk = sdk();
    this.#s3 = new this.#sdk.S3Client(sdkCfg);
  }

  #key(key: string): string {
    validateKey(key);
    return this.#prefix + key;
  }

  /**
   * Runs `op` under the concurrency limit with a deadline per attempt, retrying transient
   * failures with exponential backoff (each wait random in [cap/2, cap]). Not-found and other client errors pass
   * through untouched for the caller to classify. When `signal` aborts, the attempt in flight
   * is aborted (its slot is released once the SDK has torn the request down), no retry
   * follows, and the call rejects at once with the signal's reason.
   */
  async #call<T>(operation: string, what: string, op: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closed) throw new UnavailableError(`S3 client is closed (${what})`);
    let lastErr: unknown;
    for (let attempt = 0; attempt <= this.cfg.maxRetries; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        const cap = Math.min(this.cfg.maxBackoffMs, this.cfg.minBackoffMs * 2 ** (attempt - 1));
        await sleep(cap / 2 + Math.random() * (cap / 2), signal);
      }
      await this.#sem.acquire(signal);
      this.stats.inFlight++;
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new Error(`timed out after ${this.cfg.requestTimeoutMs}ms`));
      }, this.cfg.requestTimeoutMs);
      // The caller's abort aborts this attempt's request (the SDK destroys its socket).
      const onAbort = (): void => ac.abort(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted === true) onAbort(); // aborted while it waited for the slot
      const t0 = performance.now();
      this.stats.requests++;
      const running = op(ac.signal);
      // The slot is held until the SDK is done with the request, even if the caller stops
      // waiting first: the slot count is the count of live connections.
      void running.then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.stats.inFlight--;
        this.#sem.release();
      });
      try {
        const out = signal === undefined ? await running : await raceAbort(running, signal, abortReason);
        this.#observe?.(operation, '200', (performance.now() - t0) / 1000);
        return out;
      } catch (e) {
        const seconds = (performance.now() - t0) / 1000;
        if (signal?.aborted === true && !timedOut) {
          // The caller gave up (a query's deadline): not a store failure, no retry.
          this.#observe?.(operation, 'canceled', seconds);
          throw abortReason(signal);
        }
        lastErr = timedOut ? new Error(`request timed out after ${this.cfg.requestTimeoutMs}ms`, { cause: e }) : e;
        this.#observe?.(operation, timedOut ? 'timeout' : String(statusOf(e) ?? 'error'), seconds);
        if (isNotFound(e) || !isTransient(e) || this.#closed) break;
      }
    }
    if (isNotFound(lastErr)) throw lastErr;
    this.stats.failures++;
    throw new UnavailableError(`object store: ${what} in bucket "${this.cfg.bucket}" failed: ${describe(lastErr)}`, { cause: lastErr });
  }

  async get(key: string, opts?: ReadOptions): Promise<Buffer> {
    const k = this.#key(key);
    try {
      return await this.#call('GetObject', `get "${key}"`, async (abortSignal) => {
        const r = await this.#s3.send(new this.#sdk.GetObjectCommand({ Bucket: this.cfg.bucket, Key: k }), { abortSignal });
        return readBody(r.Body);
      }, opts?.signal);
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(`object "${key}" not found`);
      throw e;
    }
  }

  async getRange(key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    const k = this.#key(key);
    validateRange(offset, length);
    const signal = opts?.signal;
    try {
      if (length === 0) {
        // S3 has no empty range; still report a missing key.
        await this.#call('HeadObject', `head "${key}"`, (abortSignal) => this.#s3.send(new this.#sdk.HeadObjectCommand({ Bucket: this.cfg.bucket, Key: k }), { abortSignal }), signal);
        return Buffer.alloc(0);
      }
      return await this.#call('GetObject', `get range of "${key}"`, async (abortSignal) => {
        try {
          const r = await this.#s3.send(new this.#sdk.GetObjectCommand({ Bucket: this.cfg.bucket, Key: k, Range: `bytes=${offset}-${offset + length - 1}` }), { abortSignal });
          const body = await readBody(r.Body);
          // A server that ignores Range sends the whole object: cut it here.
          if (r.ContentRange === undefined && body.length > length) return body.subarray(offset, offset + length);
          return body.length > length ? body.subarray(0, length) : body;
        } catch (e) {
          // 416: the range starts at or past the end (the object exists).
          if (statusOf(e) === 416 || nameOf(e) === 'InvalidRange') return Buffer.alloc(0);
          throw e;
        }
      }, signal);
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(`object "${key}" not found`);
      throw e;
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const k = this.#key(key);
    if (body.length >= this.cfg.multipartThresholdBytes) return this.#putMultipart(key, k, body);
    // No copy: the body is only read while the put is pending (callers must not mutate it then).
    await this.#call('PutObject', `put "${key}"`, (abortSignal) =>
      this.#s3.send(new this.#sdk.PutObjectCommand({ Bucket: this.cfg.bucket, Key: k, Body: body, ContentLength: body.length }), { abortSignal }),
    );
  }

  /** Uploads in parts; the object appears atomically on completion. Aborts the upload on failure. */
  async #putMultipart(key: string, k: string, copy: Buffer): Promise<void> {
    const created = await this.#call('CreateMultipartUpload', `start multipart upload of "${key}"`, (abortSignal) =>
      this.#s3.send(new this.#sdk.CreateMultipartUploadCommand({ Bucket: this.cfg.bucket, Key: k }), { abortSignal }),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new UnavailableError(`object store: no upload id for "${key}"`);
    try {
      const partSize = this.cfg.partSizeBytes;
      const count = Math.ceil(copy.length / partSize);
      const parts = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const PartNumber = i + 1;
          const Body = copy.subarray(i * partSize, Math.min(copy.length, (i + 1) * partSize));
          const r = await this.#call('UploadPart', `upload part ${PartNumber} of "${key}"`, (abortSignal) =>
            this.#s3.send(new this.#sdk.UploadPartCommand({ Bucket: this.cfg.bucket, Key: k, UploadId: uploadId, PartNumber, Body, ContentLength: Body.length }), { abortSignal }),
          );
          return { PartNumber, ETag: r.ETag };
        }),
      );
      await this.#call('CompleteMultipartUpload', `complete multipart upload of "${key}"`, (abortSignal) =>
        this.#s3.send(new this.#sdk.CompleteMultipartUploadCommand({ Bucket: this.cfg.bucket, Key: k, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal }),
      );
    } catch (e) {
      await this.#s3.send(new this.#sdk.AbortMultipartUploadCommand({ Bucket: this.cfg.bucket, Key: k, UploadId: uploadId })).catch(() => undefined);
      throw e;
    }
  }

  async list(prefix: string, delimiter?: string, opts?: ReadOptions): Promise<ListResult> {
    const full = this.#prefix + prefix;
    const objects: ObjectInfo[] = [];
    const prefixes = new Set<string>();
    let token: string | undefined;
    // Pages of up to 1000 keys, chained by continuation token.
    do {
      const page = await this.#call('ListObjectsV2', `list "${prefix}"`, (abortSignal) =>
        this.#s3.send(
          new this.#sdk.ListObjectsV2Command({
            Bucket: this.cfg.bucket,
            Prefix: full === '' ? undefined : full,
            Delimiter: delimiter === undefined || delimiter === '' ? undefined : delimiter,
            ContinuationToken: token,
          }),
          { abortSignal },
        ),
        opts?.signal,
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.#prefix)) continue;
        objects.push({ key: o.Key.slice(this.#prefix.length), sizeBytes: o.Size ?? 0, modifiedMs: o.LastModified?.getTime() ?? 0 });
      }
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) prefixes.add(p.Prefix.slice(this.#prefix.length));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // Servers differ in sort order for non-ASCII keys; ours is UTF-8 byte order.
    objects.sort((a, b) => compareKeys(a.key, b.key));
    if (delimiter !== undefined && delimiter !== '' && prefixes.size === 0) {
      // Some servers ignore the delimiter: roll up here (a no-op on a correct answer).
      return rollUp(objects, prefix, delimiter);
    }
    return { objects, prefixes: [...prefixes].sort(compareKeys) };
  }

  async delete(key: string): Promise<void> {
    const k = this.#key(key);
    try {
      await this.#call('DeleteObject', `delete "${key}"`, (abortSignal) => this.#s3.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: k }), { abortSignal }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#s3.destroy();
  }
}

/** Collects a response body (a Node Readable in Node) into one Buffer. */
async function readBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
