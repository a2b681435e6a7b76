/**
 * What a web page can make a browser send to an HTTP server on the user's
 * network, and the checks that refuse it. Pure functions over header values,
 * shared by the node's HTTP API and the controller's control API.
 *
 * - Cross-site requests: a browser adds `Origin` to every cross-origin
 *   request (and to same-origin POSTs); a page can POST text/plain, form or
 *   multipart bodies without a CORS preflight.
 * - DNS rebinding: a page on attacker.example re-points its own name at the
 *   server's address; the browser then sends `Host: attacker.example`. A Host
 *   that is an IP literal or a name the operator allows cannot be rebound.
 */
import net from 'node:net';

/** Host header split into name (brackets removed from IPv6) and port; null when malformed. */
export function parseHostHeader(host: string): { name: string; port: string | null } | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(host);
  if (m === null) return null;
  const raw = m[1]!;
  const name = raw.startsWith('[') ? raw.slice(1, -1) : raw.toLowerCase();
  if (raw.startsWith('[') && net.isIPv6(name) === false) return null;
  return { name: name.endsWith('.') ? name.slice(0, -1) : name, port: m[2] ?? null };
}

export function isLoopbackAddress(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
}

/** The Host header names the loopback interface (any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = parseHostHeader(host);
  return h !== null && isLoopbackAddress(h.name);
}

/**
 * Host name patterns: "*" (any host), "*.suffix" (any name ending in
 * ".suffix"), or an exact name. Throws RangeError naming a bad entry.
 */
export function parseHostPatterns(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    const p = part.trim().toLowerCase();
    if (p === '') continue;
    if (p !== '*' && !/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(p)) {
      throw new RangeError(`"${part.trim()}" is not a host name pattern (expected a name, *.suffix or *)`);
    }
    out.push(p);
  }
  return out;
}

export function hostNameMatches(name: string, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (p === '*' || p === name) return true;
    if (p.startsWith('*.') && name.endsWith(p.slice(1)) && name.length > p.length - 1) return true;
  }
  return false;
}

/**
 * A Host header that DNS rebinding cannot produce: an IP literal, a loopback
 * name, or a name matching `patterns`. Missing or malformed is refused.
 */
export function hostAllowed(host: string | undefined, patterns: readonly string[]): boolean {
  if (host === undefined) return false;
  const h = parseHostHeader(host);
  if (h === null) return false;
  if (net.isIP(h.name) !== 0) return true;
  if (h.name === 'localhost' || h.name.endsWith('.localhost')) return true;
  return hostNameMatches(h.name, patterns);
}

/** An Origin that is the server's own (scheme http(s), the same host and port as the Host header). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed pages, file:) and garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const h = parseHostHeader(host);
  const o = parseHostHeader(url.host);
  if (h === null || o === null) return false;
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  return h.name === o.name && (h.port ?? '80') === (o.port ?? defaultPort);
}

/**
 * A body type a page can send without a CORS preflight (the "simple" types
 * of the Fetch standard), or no type at all: refused where JSON is expected.
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json';
}
