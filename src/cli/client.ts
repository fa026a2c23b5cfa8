/**
 * The HTTP client of the Loki API as logcli uses it: the same paths and parameters, basic
 * or bearer auth, X-Scope-OrgID, X-Query-Tags and custom headers. `fetch` is injectable.
 */
import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';

export interface ClientOptions {
  addr: string;
  orgId: string;
  username: string;
  password: string;
  bearerToken: string;
  bearerTokenFile: string;
  queryTags: string;
  /** `Name: value` strings. */
  headers: readonly string[];
  /** Without quiet, every request URL is logged (as logcli does). */
  quiet: boolean;
  log: (msg: string) => void;
  fetchFn?: typeof fetch;
}

/** A non-2xx answer: its status and the server's text. */
export class HttpError extends CliError {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly url: string,
  ) {
    super(`error response from server: ${status} ${body.trim()}`);
    this.name = 'HttpError';
  }
}

export const USER_AGENT = 'siltcli';

export class LokiClient {
  private readonly fetchFn: typeof fetch;
  readonly headers: Record<string, string>;

  constructor(private readonly o: ClientOptions) {
    this.fetchFn = o.fetchFn ?? fetch;
    this.headers = this.buildHeaders();
  }

  private buildHeaders(): Record<string, string> {
    const o = this.o;
    const h: Record<string, string> = { 'User-Agent': USER_AGENT };
    if ((o.username !== '' || o.password !== '') && (o.bearerToken !== '' || o.bearerTokenFile !== '')) {
      throw new CliError('at most one of HTTP basic auth (username/password), bearer-token & bearer-token-file is allowed to be configured');
    }
    if (o.bearerToken !== '' && o.bearerTokenFile !== '') throw new CliError('at most one of the options bearer-token & bearer-token-file is allowed to be configured');
    if (o.username !== '' && o.password !== '') h['Authorization'] = 'Basic ' + Buffer.from(`${o.username}:${o.password}`).toString('base64');
    if (o.bearerToken !== '') h['Authorization'] = 'Bearer ' + o.bearerToken;
    if (o.bearerTokenFile !== '') {
      try {
        h['Authorization'] = 'Bearer ' + readFileSync(o.bearerTokenFile, 'utf8').trim();
      } catch (e) {
        throw new CliError(`unable to read bearer token file ${o.bearerTokenFile}: ${(e as Error).message}`);
      }
    }
    if (o.orgId !== '') h['X-Scope-OrgID'] = o.orgId;
    if (o.queryTags !== '') h['X-Query-Tags'] = o.queryTags;
    for (const raw of o.headers) {
      const i = raw.indexOf(':');
      if (i < 0) throw new CliError(`invalid header format: ${JSON.stringify(raw)}. Expected format: 'Header-Name: value'`);
      const k = raw.slice(0, i).trim();
      if (k === '') throw new CliError(`header name cannot be empty in header: ${JSON.stringify(raw)}`);
      h[k] = raw.slice(i + 1).trim();
    }
    return h;
  }

  /** Full URL of an API path with its query string. */
  url(path: string, params?: URLSearchParams): string {
    const base = this.o.addr.replace(/\/+$/, '');
    const qs = params && [...params].length > 0 ? '?' + params.toString() : '';
    return base + path + qs;
  }

  /** Sends a request and returns the body text; non-2xx is an HttpError, no answer a CliError. */
  async request(method: 'GET' | 'POST' | 'DELETE', path: string, params?: URLSearchParams): Promise<string> {
    const url = this.url(path, params);
    if (!this.o.quiet) this.o.log(url);
    let r: Response;
    try {
      r = await this.fetchFn(url, { method, headers: this.headers });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`error sending request to ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    const body = await r.text();
    if (r.status < 200 || r.status > 299) throw new HttpError(r.status, body, url);
    return body;
  }

  async getJson<T>(path: string, params?: URLSearchParams): Promise<T> {
    const body = await this.request('GET', path, params);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new CliError(`the server's answer to ${path} is not JSON: ${body.slice(0, 200)}`);
    }
  }
}
