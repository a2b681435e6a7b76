/**
 * A per-key register workload over the HTTP API (any node: requests are
 * forwarded to the slot's primary), recorded as a History for the
 * linearizability checker: writes (PUT), strong reads (GET
 * ?consistency=strong), compare-and-set (a strong GET for the value and its
 * ETag, then PUT If-Match: 200 applied, 412 not applied) and eventual reads
 * (GET ?consistency=eventual on any node, checked only for never-written
 * values). Outcomes: a reply is ok; a request refused before it reached a
 * node (connection refused) or a definite client error is fail; anything
 * else on a write — a timeout, a dropped connection, a 5xx — is info
 * (unknown), never fail.
 */
import http from 'node:http';
import { History, type OpResult } from './history.js';

export interface HttpWorkloadOptions {
  /** Base URLs (http://host:port) of the nodes to spread requests over; read again before each request. */
  nodes(): readonly string[];
  keys: readonly string[];
  clients: number;
  /** A request without an answer in this time is recorded as unknown. */
  requestTimeoutMs: number;
  /** Source address of every request (a partition test's client address); default: the kernel's choice. */
  localAddress?: string;
  /** Stops by itself after this long or this many operations. */
  deadlineMs: number;
  maxOps: number;
}

/** Fractions of the operation mix (the rest are strong reads). */
const WRITE = 0.35;
const CAS = 0.15;
const EVENTUAL = 0.1;
/** Pause of a client after an operation that failed or has an unknown outcome. */
const FAILURE_BACKOFF_MS = 250;

/**
 * A failed write's outcome from its answer: refused before any node applied
 * it (a bad request, the wrong node, a cluster without a map, a forward
 * whose connection was refused) is fail; everything else (a timeout waiting
 * for replicas, a forward cut mid-way, a 5xx) is unknown.
 */
export function writeOutcome(status: number, body: string): OpResult {
  let code = '';
  let message = '';
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    code = e?.code ?? '';
    message = e?.message ?? '';
  } catch {
    return 'info';
  }
  if (status === 400 || status === 421 || code === 'cluster_down' || code === 'not_ready') return 'fail';
  if (code === 'forward_failed' && status === 502 && message.includes('ECONNREFUSED')) return 'fail';
  return 'info';
}

function refused(err: unknown): boolean {
  return (err as { code?: string }).code === 'ECONNREFUSED';
}

interface Reply {
  status: number;
  body: string;
  header(name: string): string | null;
}

/** One HTTP request (node:http, for its source-address option); rejects on a transport error or the timeout. */
function call(url: string, o: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs: number; localAddress?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, localAddress: o.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        body: Buffer.concat(chunks).toString('utf8'),
        header: (name) => { const v = res.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; },
      }));
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(o.body);
  });
}

export class HttpRegisterWorkload {
  readonly history = new History();
  private stopped = false;
  private done: Promise<void> | null = null;
  private seq = 0;

  constructor(private readonly o: HttpWorkloadOptions) {}

  start(): void {
    const deadline = Date.now() + this.o.deadlineMs;
    this.done = Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.loop(c, deadline))).then(() => undefined);
  }

  /** Operations recorded so far. */
  get ops(): number {
    return this.history.ops.length;
  }

  async stop(): Promise<History> {
    this.stopped = true;
    await this.done;
    return this.history;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(Math.random() * xs.length)]!;
  }

  private async loop(client: number, deadline: number): Promise<void> {
    while (!this.stopped && Date.now() < deadline && this.history.ops.length < this.o.maxOps) {
      const key = this.pick(this.o.keys);
      const node = this.pick(this.o.nodes());
      const r = Math.random();
      const before = this.history.ops.length;
      if (r < WRITE) await this.write(client, node, key, `c${client}-${++this.seq}`);
      else if (r < WRITE + CAS) await this.cas(client, node, key);
      else if (r < WRITE + CAS + EVENTUAL) await this.read(client, node, key, 'eventual');
      else await this.read(client, node, key, 'strong');
      // Back off after a failure: an outage must not flood the history with failed and unknown operations
      // (each unknown one stays open to the end of the history, which the checker pays for).
      if (this.history.ops.slice(before).some((op) => op.result !== 'ok')) await new Promise((res) => setTimeout(res, FAILURE_BACKOFF_MS));
    }
  }

  private fetch(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    return call(url, { ...init, timeoutMs: this.o.requestTimeoutMs, localAddress: this.o.localAddress });
  }

  private async write(client: number, node: string, key: string, value: string): Promise<void> {
    const end = this.history.begin({ client, key, f: 'write', value, node });
    try {
      const res = await this.fetch(`${node}/v1/kv/${key}`, { method: 'PUT', body: value });
      end(res.status === 200 ? 'ok' : writeOutcome(res.status, res.body));
    } catch (err) {
      end(refused(err) ? 'fail' : 'info');
    }
  }

  /** A read; returns the value and ETag when it got one. */
  private async read(client: number, node: string, key: string, level: 'strong' | 'eventual'): Promise<{ value: string | null; etag: string | null } | null> {
    const end = this.history.begin({ client, key, f: 'read', level, node });
    try {
      const res = await this.fetch(`${node}/v1/kv/${key}?consistency=${level}`);
      if (res.status === 200 || res.status === 404) {
        const value = res.status === 200 ? res.body : null;
        end('ok', { value });
        return { value, etag: res.header('etag') };
      }
      end('fail');
    } catch {
      // A read that got no answer observed nothing.
      end('fail');
    }
    return null;
  }

  private async cas(client: number, node: string, key: string): Promise<void> {
    const seen = await this.read(client, node, key, 'strong');
    if (seen === null || seen.value === null || seen.etag === null) return;
    const to = `c${client}-${++this.seq}`;
    const end = this.history.begin({ client, key, f: 'cas', from: seen.value, to, node });
    let result: OpResult = 'info';
    let applied = false;
    try {
      const res = await this.fetch(`${node}/v1/kv/${key}`, { method: 'PUT', body: to, headers: { 'If-Match': seen.etag } });
      if (res.status === 200) { result = 'ok'; applied = true; }
      else if (res.status === 412) result = 'ok';
      else result = writeOutcome(res.status, res.body);
    } catch (err) {
      if (refused(err)) result = 'fail';
    }
    end(result, result === 'ok' ? { applied } : {});
  }
}
