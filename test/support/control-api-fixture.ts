/**
 * The control API tests' fixture: an in-memory ControlTarget that records
 * every call, a status document, the test token, and raw HTTP requests
 * (node:http, so Host, Origin and Authorization can be anything).
 */
import { expect } from 'chai';
import http from 'node:http';
import { SLOT_COUNT } from '../../common/slot.js';
import type { ControlTarget, RequestAccepted, ScaleRequest } from '../../operator/control-api/types.js';
import type { ClusterStatus } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';

export const STATUS: ClusterStatus = {
  cluster: 'iris', phase: 'Ready', spec: DEFAULT_SPEC, mapEpoch: 3, slotsAssigned: SLOT_COUNT,
  shards: [{
    id: 'shard-0', slots: [[0, 16383]], slotCount: SLOT_COUNT, epoch: 1, primary: 'iris-0-0', targetPrimary: 'iris-0-0', failover: null, leaving: false,
    nodes: [{ name: 'iris-0-0', role: 'primary', up: true, host: '127.0.0.1', port: 7000, httpUrl: 'http://127.0.0.1:8000', epoch: 1, lastSeq: 5, lagOps: null, lagMs: null, link: null, restarts: 0, error: null }],
  }],
  operation: null, messages: [], updatedAt: 1,
};

export type Call = { verb: 'failover'; shard: string } | { verb: 'switchover'; shard: string; to?: string } | { verb: 'scale'; req: ScaleRequest } | { verb: 'rebalance' } | { verb: 'restart'; node: string };

/** Records every call; `fail` makes the next calls throw, `hang` makes them never answer. */
export class FakeTarget implements ControlTarget {
  calls: Call[] = [];
  fail: unknown = null;
  statusFail: unknown = null;
  hang = false;
  private readonly hung: Array<() => void> = [];

  status(): ClusterStatus {
    if (this.statusFail !== null) throw this.statusFail;
    return STATUS;
  }
  failover(shard: string) {
    return this.answer({ verb: 'failover', shard });
  }
  switchover(shard: string, to?: string) {
    return this.answer(to === undefined ? { verb: 'switchover', shard } : { verb: 'switchover', shard, to });
  }
  scale(req: ScaleRequest) {
    return this.answer({ verb: 'scale', req });
  }
  rebalance() {
    return this.answer({ verb: 'rebalance' });
  }
  restartNode(node: string) {
    return this.answer({ verb: 'restart', node });
  }
  release(): void {
    for (const r of this.hung.splice(0)) r();
  }
  private async answer(call: Call): Promise<RequestAccepted> {
    this.calls.push(call);
    if (this.hang) await new Promise<void>((r) => this.hung.push(r));
    if (this.fail !== null) throw this.fail;
    return { id: `op-${this.calls.length}`, message: `${call.verb} started` };
  }
}

export interface Reply {
  status: number;
  body: unknown;
  /** The WWW-Authenticate header. */
  challenge: string | undefined;
}

/** The control API's token in these tests (the real one is the cluster directory's token file). */
export const TOKEN = 'ab'.repeat(32);
export const WITH_TOKEN = { authorization: `Bearer ${TOKEN}` };

/** A raw request (node:http, so Host and Origin can be anything); `auth` is the Authorization header, the right token by default. */
export function raw(url: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}, auth: Record<string, string> = WITH_TOKEN): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...auth, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch { /* left as text: the assertions say so */ }
        resolve({ status: res.statusCode ?? 0, body: parsed, challenge: res.headers['www-authenticate'] });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export const post = (url: string, path: string, body: unknown) => raw(url, 'POST', path, JSON.stringify(body), { 'content-type': 'application/json' });

export function expectError(r: Reply, status: number, code: string, message?: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  const e = (r.body as { error: { code: string; message: string } }).error;
  expect(e.code).to.equal(code);
  expect(e.message).to.be.a('string');
  if (message) expect(e.message).to.match(message);
}
