/**
 * The frontend's end of `silt.frontend.Frontend/Process`: each stream a querier opens becomes
 * one WorkerSlot of the Frontend once its Hello arrives. A stream that ends, breaks or sends a
 * malformed message is disconnected from the Frontend, which retries the piece it held.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Frontend, WorkerSlot } from './frontend.js';
import { FRONTEND_SERVICE } from './services.js';
import { decodeQuerierMessage, encodeCancel, encodeWork, type WorkMessage } from './wire.js';

/** Where the service is registered: a grpc-js Server, or Silt's GrpcServer (src/server/grpc.ts). */
export interface GrpcServiceHost {
  addService(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void;
}

/** Registered Process streams, for close(). */
export interface FrontendServices {
  /** Ends every open stream (before the server shuts down, so streams do not hold it open). */
  close(): void;
}

/**
 * The querier's HTTP address as the frontend dials it: its Hello's `host:port`, with the host
 * taken from the stream's peer (`ip:port`, `[ip6]:port`, maybe prefixed `ipv4:`/`ipv6:`) when
 * the querier left it empty (it listens on every interface). Empty when it advertised none.
 */
export function httpAddressOf(advertised: string, peer: string): string {
  if (advertised === '') return '';
  const colon = advertised.lastIndexOf(':');
  if (colon < 0) return '';
  const port = advertised.slice(colon + 1);
  if (colon > 0) return advertised;
  const p = peer.replace(/^ipv[46]:/, '');
  const pc = p.lastIndexOf(':');
  const host = pc > 0 ? p.slice(0, pc) : p;
  return host === '' ? '' : `${host}:${port}`;
}

/** Registers `silt.frontend.Frontend` on `host`, feeding `frontend`. Call before the server listens. */
export function registerFrontendServices(host: GrpcServiceHost, frontend: Frontend, logger: Logger): FrontendServices {
  const open = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  host.addService(FRONTEND_SERVICE, {
    Process: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      open.add(call);
      let slot: (WorkerSlot & { gone: boolean }) | null = null;
      const gone = (why: string, err?: unknown): void => {
        open.delete(call);
        if (slot !== null && !slot.gone) {
          slot.gone = true;
          logger.debug({ querier: slot.querierId, why, err }, 'querier stream ended');
          frontend.disconnect(slot);
        }
      };
      call.on('data', (m: Buffer) => {
        let msg;
        try {
          msg = decodeQuerierMessage(m);
        } catch (e) {
          logger.warn({ err: e }, 'malformed message from a querier; ending its stream');
          gone('malformed message', e);
          call.destroy();
          return;
        }
        if (msg.hello !== null) {
          if (slot !== null) return;
          const write = (m: Buffer): void => {
            try {
              call.write(m);
            } catch (e) {
              // The stream broke under us: its 'error'/'close' disconnects the slot and retries the piece.
              logger.debug({ err: e }, 'write to a querier stream failed');
            }
          };
          const s: WorkerSlot & { gone: boolean } = {
            querierId: msg.hello.querierId,
            httpAddress: httpAddressOf(msg.hello.httpAddress, call.getPeer()),
            gone: false,
            send: (work: WorkMessage) => write(encodeWork(work)),
            // A querier from before Cancel would end the stream on one: it is never sent one.
            ...(msg.hello.cancel ? { cancel: (id: number) => write(encodeCancel(id)) } : {}),
          };
          slot = s;
          frontend.connect(s);
          return;
        }
        if (slot !== null) frontend.complete(slot, msg.result.id, msg.result);
      });
      call.on('end', () => {
        gone('end');
        call.end();
      });
      call.on('error', (e) => gone('error', e));
      call.on('cancelled', () => gone('cancelled'));
      call.on('close', () => gone('close'));
    },
  });
  return {
    close(): void {
      for (const c of open) c.end();
      open.clear();
    },
  };
}
