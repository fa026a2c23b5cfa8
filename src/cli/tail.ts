/**
 * `query --tail`: the WebSocket `/loki/api/v1/tail` endpoint. Each message is
 * `{"streams":[{"stream":{…},"values":[[ts,line],…]}],"dropped_entries":[…]}`.
 */
import WebSocket from 'ws';
import { CliError } from './errors.js';
import type { LokiClient } from './client.js';
import { labelSetString, matchLabels, type LabelSet, type LogPrinter } from './output.js';

export interface TailOptions {
  query: string;
  limit: number;
  startNs: bigint;
  delayForSec: number;
  includeLabels: readonly string[];
  excludeLabels: readonly string[];
  /** Resolves when the tail should stop (Ctrl-C). */
  stop: Promise<void>;
  log: (msg: string) => void;
  quiet: boolean;
}

interface TailMessage {
  streams?: { stream: LabelSet; values: [string, string][] }[];
  dropped_entries?: { labels: string; timestamp: string }[] | null;
}

/** Streams new lines until the server closes or `stop` resolves. */
export function tail(c: LokiClient, o: TailOptions, out: LogPrinter): Promise<void> {
  const p = new URLSearchParams({ query: o.query, limit: String(o.limit), start: o.startNs.toString() });
  if (o.delayForSec > 0) p.set('delay_for', String(o.delayForSec));
  const url = c.url('/loki/api/v1/tail', p).replace(/^http/, 'ws');
  if (!o.quiet) o.log(url);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: c.headers });
    let failed = false;
    ws.on('unexpected-response', (req, res) => {
      failed = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const why = res.statusCode === 404 ? ' (this server has no tail endpoint)' : '';
        reject(new CliError(`tail: the server refused the WebSocket at ${url}: HTTP ${res.statusCode}${why}: ${body.trim()}`));
        req.destroy();
        ws.terminate();
      });
      res.on('error', () => reject(new CliError(`tail: the server refused the WebSocket at ${url}: HTTP ${res.statusCode}`)));
    });
    ws.on('error', (e) => {
      if (!failed) {
        failed = true;
        reject(new CliError(`tail: ${e.message}`));
      }
    });
    ws.on('message', (data: WebSocket.RawData) => {
      let msg: TailMessage;
      try {
        msg = JSON.parse(data.toString()) as TailMessage;
      } catch {
        return;
      }
      for (const s of msg.streams ?? []) {
        let ls = s.stream;
        if (o.includeLabels.length > 0) ls = matchLabels(true, ls, o.includeLabels);
        if (o.excludeLabels.length > 0) ls = matchLabels(false, ls, o.excludeLabels);
        for (const [ts, line] of s.values) out.print(BigInt(ts), ls, labelSetString(ls).length, line, s.stream);
      }
      for (const d of msg.dropped_entries ?? []) o.log(`Server dropped an entry: ${d.labels} ${d.timestamp}`);
    });
    ws.on('close', () => {
      if (!failed) resolve();
    });
    void o.stop.then(() => ws.close());
  });
}
