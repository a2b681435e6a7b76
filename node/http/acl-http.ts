/**
 * ACL users on the HTTP API: the same users and rules as RESP. A request
 * authenticates with `Authorization: Basic base64(user:password)` or
 * `Authorization: Bearer <token>`, where the token is the default user's
 * password or `<user>:<password>`; without credentials it runs as
 * "default" when that user needs no password, else 401. Each route then
 * asks whether its Redis equivalent (GET → get, PUT → set, DELETE → del,
 * scan → scan, batch ops, the change feed → scan) may run on its keys: 403
 * with the NOPERM text otherwise, logged in ACL LOG like RESP denials.
 */
import type { Socket } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AclStore } from '../acl/store.js';
import type { AclUser } from '../acl/user.js';
import { canReadKey, checkCommand, nopermMessage } from '../acl/check.js';
import { parseAuthorization } from './client-auth.js';
import { HttpError } from './errors.js';
import type { AuditSink } from '../../common/audit/sink.js';
import { auditHttpAuth } from '../audit/http-audit.js';

const USER_LOCAL = 'aclUser';

function clientInfo(req: Request): string {
  return `addr=${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0} http=${req.method} ${req.path}`;
}

/** The user an Authorization header names and proves, or null. */
export function authenticateHeader(acl: AclStore, header: string): { user: AclUser | null; attempted: string } {
  const m = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (m !== null && m[1]!.toLowerCase() === 'bearer') {
    const token = Buffer.from(m[2]!, 'utf8');
    // "<user>:<password>" when the part before the first ':' names a user; else the default user's password.
    const colon = token.indexOf(0x3a);
    const name = colon > 0 ? token.subarray(0, colon).toString('utf8') : '';
    if (name !== '' && acl.get(name) !== undefined) return { user: acl.authenticate(name, token.subarray(colon + 1)), attempted: name };
    return { user: acl.authenticate('default', token), attempted: 'default' };
  }
  const creds = parseAuthorization(header);
  if (creds === null) return { user: null, attempted: '' };
  return { user: acl.authenticate(creds.user, creds.pass), attempted: creds.user };
}

const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Basic realm="irisdb", charset="UTF-8", Bearer realm="irisdb"' };

/** Authenticates every request (see above); marks sockets that carried credentials. */
export function aclAuth(acl: AclStore, authenticated: WeakSet<Socket>, now: () => number, audit?: AuditSink): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined) {
      if (acl.defaultOpen()) {
        res.locals[USER_LOCAL] = 'default';
        return next();
      }
      auditHttpAuth(audit, req, 'default', 'failure', authenticated);
      res.set('Connection', 'close');
      throw new HttpError(401, 'unauthorized', 'authentication required: Authorization: Basic base64(user:password), or Bearer <password> (user "default") or Bearer <user>:<password>', undefined, UNAUTHORIZED_HEADERS);
    }
    const { user, attempted } = authenticateHeader(acl, header);
    if (user === null) {
      acl.log.add({ reason: 'auth', context: 'toplevel', object: 'AUTH', username: attempted, clientInfo: clientInfo(req) }, now());
      auditHttpAuth(audit, req, attempted, 'failure', authenticated);
      res.set('Connection', 'close');
      throw new HttpError(401, 'unauthorized', 'invalid username-password pair or user is disabled', undefined, UNAUTHORIZED_HEADERS);
    }
    res.locals[USER_LOCAL] = user.name;
    auditHttpAuth(audit, req, user.name, 'success', authenticated);
    authenticated.add(req.socket);
    next();
  };
}

/** The name of the user the request runs as ("default" without ACL users or before authentication). */
export function requestUserName(res: Response): string {
  const name: unknown = res.locals[USER_LOCAL];
  return typeof name === 'string' ? name : 'default';
}

/** The request's ACL user (null: ACLs are not in use on this app). */
export function requestUser(acl: AclStore | undefined, res: Response): AclUser | null {
  if (acl === undefined) return null;
  const name: unknown = res.locals[USER_LOCAL];
  const user = typeof name === 'string' ? acl.get(name) : undefined;
  // Deleted since it authenticated: nothing is allowed.
  if (user === undefined) throw new HttpError(401, 'unauthorized', 'the user of this request no longer exists', undefined, UNAUTHORIZED_HEADERS);
  return user;
}

/**
 * 403 unless the request's user may run `argv` (argv[0] the Redis command
 * it stands for, then its arguments with the keys at that command's key positions).
 */
export function requirePermission(acl: AclStore | undefined, req: Request, res: Response, argv: readonly Buffer[], now: number): void {
  const user = requestUser(acl, res);
  if (user === null || acl === undefined) return;
  const fullname = argv[0]!.toString('latin1');
  const cmd = acl.catalog.get(fullname);
  if (cmd === undefined) return;
  const denial = checkCommand(user, cmd, argv, acl.matchers);
  if (denial === null) return;
  const object = typeof denial.object === 'string' ? denial.object : denial.object.toString('utf8');
  acl.log.add({ reason: denial.reason, context: 'toplevel', object, username: user.name, clientInfo: clientInfo(req) }, now);
  throw new HttpError(403, 'forbidden', nopermMessage(denial), { user: user.name, reason: denial.reason });
}

/** The keys a listing (scan, the change feed) may show the request's user; null: all of them. */
export function readableKeyFilter(acl: AclStore | undefined, res: Response): ((key: Uint8Array) => boolean) | null {
  const user = requestUser(acl, res);
  if (user === null || user.allKeys || acl === undefined) return null;
  return (key) => canReadKey(user, key, acl.matchers);
}
