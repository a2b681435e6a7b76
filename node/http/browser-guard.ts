/**
 * Refuses what a web page could make a browser send to the node (the checks
 * are common/http-browser-guard.ts, shared with the control API):
 * - a Host that is not an IP literal, localhost, the node's announce host or
 *   name, or a name matching --http-allowed-hosts (DNS rebinding): 403;
 * - an Origin other than the node's own (cross-site requests): 403;
 * - a POST whose body is not application/json: 415. POST is the only method
 *   with a body a page can send without a CORS preflight, and only with
 *   text/plain, form or multipart bodies; PUT values keep any content type.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { hostAllowed, isJsonContentType, parseHostPatterns, sameOrigin } from '../../common/http-browser-guard.js';
import type { NodeConfig } from '../config/schema.js';
import { HttpError } from './errors.js';

/** The host patterns in force: the setting plus the names this node is known by. */
export function allowedHostPatterns(config: Pick<NodeConfig, 'httpAllowedHosts' | 'announceHost' | 'nodeName'>): string[] {
  const own = [config.announceHost, config.nodeName].map((s) => s.trim().toLowerCase()).filter((s) => s !== '' && !s.includes(','));
  const patterns = parseHostPatterns(config.httpAllowedHosts);
  for (const name of own) {
    try {
      patterns.push(...parseHostPatterns(name));
    } catch {
      // A node name that is not a host name (it may hold other characters) is simply not a Host.
    }
  }
  return patterns;
}

export function browserGuard(config: Pick<NodeConfig, 'httpAllowedHosts' | 'announceHost' | 'nodeName'>): RequestHandler {
  const patterns = allowedHostPatterns(config);
  return (req: Request, _res: Response, next: NextFunction) => {
    const host = req.headers.host;
    if (!hostAllowed(host, patterns)) {
      throw new HttpError(403, 'forbidden', `Host "${(host ?? '').slice(0, 100)}" is not an IP address, localhost or an allowed host name (see httpAllowedHosts)`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host)) {
      throw new HttpError(403, 'forbidden', `cross-origin requests are refused (Origin "${origin.slice(0, 100)}")`);
    }
    if (req.method === 'POST' && hasBody(req) && !isJsonContentType(req.headers['content-type'])) {
      throw new HttpError(415, 'unsupported', 'a POST body must be Content-Type: application/json');
    }
    next();
  };
}

function hasBody(req: Request): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}
