/**
 * The source Redis of `irisctl import`: redis://[user:pass@]host:port[/db]
 * or rediss:// for TLS. Pure; throws SourceUrlError saying what is wrong.
 * The password is kept out of every text shown to the user (redactedUrl).
 */

export class SourceUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceUrlError';
  }
}

export interface SourceUrl {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  /** ACL user (Redis 6+); undefined: AUTH with the password only (requirepass). */
  readonly username?: string;
  readonly password?: string;
  /** The database to copy (SELECT); a Redis Cluster has only 0. */
  readonly db: number;
}

const DEFAULT_PORT = 6379;
/** Redis's default `databases` is 16; a server may configure more, up to its own limit. */
const MAX_DB = 1_000_000;

export function parseSourceUrl(text: string): SourceUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new SourceUrlError(`not a URL: expected redis://[user:pass@]host:port[/db] or rediss://... (got "${redactText(text)}")`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SourceUrlError(`the scheme must be redis:// or rediss:// (TLS), not ${u.protocol}//`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SourceUrlError('the URL has no host');
  const port = u.port === '' ? DEFAULT_PORT : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SourceUrlError(`bad port "${u.port}"`);
  const path = u.pathname.replace(/^\/+/, '');
  let db = 0;
  if (path !== '') {
    if (!/^\d{1,7}$/.test(path) || Number(path) > MAX_DB) throw new SourceUrlError(`the path must be a database number such as /0 (got "/${path}")`);
    db = Number(path);
  }
  if (u.search !== '' || u.hash !== '') throw new SourceUrlError('the URL must not have a query or fragment');
  const username = decode(u.username, 'user');
  const password = decode(u.password, 'password');
  return {
    tls: u.protocol === 'rediss:', host, port, db,
    ...(username !== '' ? { username } : {}),
    ...(password !== '' ? { password } : {}),
  };
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SourceUrlError(`the ${what} in the URL is not valid percent-encoding`);
  }
}

/** The source as shown in progress, logs and checkpoints: never the password. */
export function redactedUrl(s: SourceUrl): string {
  const auth = s.username !== undefined ? `${encodeURIComponent(s.username)}${s.password !== undefined ? ':***' : ''}@` : s.password !== undefined ? ':***@' : '';
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;
  return `${s.tls ? 'rediss' : 'redis'}://${auth}${host}:${s.port}/${s.db}`;
}

/** Hides a password in text that did not parse as a URL. */
function redactText(text: string): string {
  return text.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}
