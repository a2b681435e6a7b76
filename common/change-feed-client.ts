/**
 * Following a shard's change feed (GET /v1/changes, docs/change-feed.md)
 * from a client: an incremental Server-Sent Events parser (pure) and
 * followShard, which keeps the shard's position, reconnects after a
 * disconnect or a failover (to whatever node `urlOf` names then, usually
 * the shard's new primary) with that position, and stops on 410 or abort.
 * Used by `irisctl watch` and by the tests.
 */
import { type ChangePosition, formatPosition, parsePosition } from './change-position.js';
import { sleep as pause } from './abortable-sleep.js';
import type { FetchLike } from './node-fetch.js';

export interface SseMessage {
  readonly event: string;
  readonly id: string | null;
  readonly data: string;
}

/** SSE framing (the WHATWG rules that matter here): `field: value` lines, a blank line ends a message, `:` lines are comments. */
export class SseParser {
  private buf = '';
  private event = '';
  private id: string | null = null;
  private data: string[] = [];

  push(text: string): SseMessage[] {
    this.buf += text;
    const out: SseMessage[] = [];
    for (;;) {
      const nl = this.buf.search(/\r\n|\r|\n/);
      // A CR at the end of the chunk may be half of a CRLF: wait for the next byte.
      if (nl === -1 || (nl === this.buf.length - 1 && this.buf[nl] === '\r')) break;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0 || this.event !== '') out.push({ event: this.event === '' ? 'message' : this.event, id: this.id, data: this.data.join('\n') });
        this.event = '';
        this.id = null;
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id') this.id = value;
    }
    return out;
  }
}

/** A `change` event's data (node/changes/event.ts ChangeEventJson). */
export interface ChangeEvent {
  readonly position: string;
  readonly shard: string;
  readonly epoch: number;
  readonly seq: number;
  readonly op: 'set' | 'del' | 'expire' | 'clear';
  readonly key?: string;
  readonly keyEncoding?: 'utf8' | 'base64';
  readonly value?: string;
  readonly valueEncoding?: 'utf8' | 'base64';
  readonly expiresAt?: number | null;
  readonly tombstone: boolean;
}

/** The feed answered 410: the position can no longer be resumed (retention, or a change lost in a failover). */
export class ChangeFeedGoneError extends Error {
  constructor(readonly shard: string, message: string) {
    super(message);
    this.name = 'ChangeFeedGoneError';
  }
}

export interface FollowOptions {
  readonly shard: string;
  /** Start after this position, or from now, or from the oldest change the shard still holds. */
  readonly from: ChangePosition | 'now' | 'earliest';
  /** Prefix bytes (sent base64, so any bytes work). */
  readonly prefix?: Buffer;
  /** The base URL (http://host:port) of the node to ask now, or null if none is known yet (retried). */
  urlOf(shard: string): Promise<string | null>;
  /** Authorization header value, when the nodes have requirePass. */
  readonly authorization?: string;
  readonly signal: AbortSignal;
  onChange(ev: ChangeEvent): void;
  /** The shard's position moved (after a change, or past changes the filters left out). */
  onPosition?(p: ChangePosition): void;
  /** A reconnect and why (shown by irisctl watch on stderr). */
  onReconnect?(why: string): void;
  /** Longest pause between reconnect attempts (default 2000 ms; it starts at 100 ms). */
  readonly maxBackoffMs?: number;
  /**
   * A connection that brings no byte for this long is given up and reopened
   * (default 45000 ms: three of the node's 15 s keep-alives): a primary that
   * froze or was cut off sends neither changes nor a close.
   */
  readonly idleTimeoutMs?: number;
  /** How to reach the nodes (default: the global fetch; HTTPS with a private CA: node-fetch.ts). */
  readonly fetchImpl?: FetchLike;
}

const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

function feedUrl(base: string, o: FollowOptions, from: ChangePosition | 'now' | 'earliest'): string {
  const q = new URLSearchParams({ shard: o.shard, from: typeof from === 'string' ? from : formatPosition(from) });
  if (o.prefix !== undefined && o.prefix.length > 0) {
    q.set('prefix', o.prefix.toString('base64'));
    q.set('keyEncoding', 'base64');
  }
  return `${base.replace(/\/+$/, '')}/v1/changes?${q.toString()}`;
}

/**
 * Follows one shard until `signal` aborts (resolves with the last position)
 * or the feed answers 410 (rejects with ChangeFeedGoneError). Every change
 * after `from` is delivered once, in the shard's order.
 */
export async function followShard(o: FollowOptions): Promise<ChangePosition | null> {
  let position: ChangePosition | 'now' | 'earliest' = o.from;
  const maxBackoff = o.maxBackoffMs ?? 2000;
  let backoff = 100;
  const moved = (p: ChangePosition): void => {
    position = p;
    o.onPosition?.(p);
  };
  while (!o.signal.aborted) {
    let why: string;
    try {
      const base = await o.urlOf(o.shard);
      if (base === null) throw new Error(`no node of shard ${o.shard} is known`);
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (o.authorization !== undefined) headers.authorization = o.authorization;
      const { res, release } = await fetchAnswer(o.fetchImpl ?? ((u, i) => fetch(u, i)), feedUrl(base, o, position), headers, o.signal, o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
      try {
        if (res.status === 410) {
          const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
          throw new ChangeFeedGoneError(o.shard, body?.error?.message ?? `shard ${o.shard}: position gone (410)`);
        }
        if (res.status !== 200 || res.body === null) {
          const text = await res.text().catch(() => '');
          throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
        }
        backoff = 100;
        why = await readStream(res.body, o, moved);
      } finally {
        release();
      }
    } catch (err) {
      if (err instanceof ChangeFeedGoneError) throw err;
      if (o.signal.aborted) break;
      why = (err as Error).message;
    }
    if (o.signal.aborted) break;
    o.onReconnect?.(why);
    await pause(backoff, o.signal);
    backoff = Math.min(maxBackoff, backoff * 2);
  }
  return typeof position === 'string' ? null : position;
}

/**
 * fetch, giving up when no answer (status and headers) comes within
 * timeoutMs; the body may then stream for ever, until `signal` aborts or
 * release() is called once the connection is done with.
 */
async function fetchAnswer(fetchImpl: FetchLike, url: string, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<{ res: Response; release(): void }> {
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  const release = (): void => signal.removeEventListener('abort', abort);
  signal.addEventListener('abort', abort, { once: true });
  const timer = setTimeout(abort, timeoutMs);
  try {
    return { res: await fetchImpl(url, { headers, signal: ac.signal }), release };
  } catch (err) {
    release();
    if (!signal.aborted && ac.signal.aborted) throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads one connection's events; resolves with why it ended. */
async function readStream(body: ReadableStream<Uint8Array>, o: FollowOptions, moved: (p: ChangePosition) => void): Promise<string> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const idleMs = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let idle: NodeJS.Timeout | null = null;
  let timedOut = false;
  const arm = (): void => {
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(() => {
      timedOut = true;
      void reader.cancel().catch(() => undefined);
    }, idleMs);
  };
  try {
    for (;;) {
      arm();
      const { done, value } = await reader.read().catch((err: unknown) => {
        if (timedOut) return { done: true as const, value: undefined };
        throw err;
      });
      if (timedOut) return `no data for ${idleMs} ms (the node may be frozen or cut off)`;
      if (done) return 'the node closed the stream';
      for (const m of parser.push(decoder.decode(value, { stream: true }))) {
        if (m.event === 'change') {
          const ev = JSON.parse(m.data) as ChangeEvent;
          o.onChange(ev);
          moved(parsePosition(ev.position));
        } else if ((m.event === 'progress' || m.event === 'hello') && m.id !== null) {
          moved(parsePosition(m.id));
        } else if (m.event === 'end') {
          return (JSON.parse(m.data) as { reason?: string }).reason ?? 'the node ended the stream';
        } else if (m.event === 'error') {
          const e = JSON.parse(m.data) as { status?: number; message?: string };
          if (e.status === 410) throw new ChangeFeedGoneError(o.shard, e.message ?? 'position gone');
          return e.message ?? 'the node reported an error';
        }
      }
    }
  } finally {
    if (idle !== null) clearTimeout(idle);
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
