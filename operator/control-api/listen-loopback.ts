/**
 * The one way the control plane's own HTTP servers (the local control API,
 * the operator's dashboard) listen: on a loopback address only, with bounded
 * request and header times, closed without waiting for idle keep-alives.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { isLoopbackAddress } from '../../common/http-browser-guard.js';

export interface LoopbackListener {
  /** `http://host:port`, without a trailing slash. */
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves `app` on `addr` (a loopback address; port 0: any free port); `what` names it in the refusal. */
export async function listenOnLoopback(
  app: Express,
  addr: { readonly host: string; readonly port: number },
  what: string,
): Promise<LoopbackListener> {
  if (!isLoopbackAddress(addr.host)) throw new Error(`${what} listens on loopback only, not on ${addr.host}`);
  const server: http.Server = await new Promise((resolve, reject) => {
    const s = app.listen(addr.port, addr.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  const { port } = server.address() as AddressInfo;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return {
    origin: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
    }),
  };
}
