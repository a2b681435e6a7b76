/** The clients' retry table (clients/ts/src/retry-policy.ts, docs/clients.md): which errors are retried for reads and for writes. */
import { expect } from 'chai';
import fc from 'fast-check';
import { backoffDelayMs, classifyHttpStatus, classifyHttpTransport, classifyRespError, errorFacts } from '../../clients/ts/src/retry-policy.js';

describe('clients: retry table', () => {
  const resp = (message: string, kind: 'read' | 'write', extra: { code?: string; name?: string } = {}) => classifyRespError({ message, ...extra }, kind);

  it('retries reads and writes after RESP errors that prove the command did not run', () => {
    for (const m of ['CLUSTERDOWN Hash slot not served', 'TRYAGAIN The slot is changing owner, retry the command', 'LOADING IrisDB is loading the dataset from its primary',
      'READONLY You can\'t write against a read only replica.', 'MASTERDOWN Link with MASTER is down', 'MOVED 3999 127.0.0.1:6381']) {
      for (const kind of ['read', 'write'] as const) {
        const d = resp(m, kind);
        expect(d.retry, `${m} ${kind}`).to.equal(true);
        expect(d.outcome).to.equal('not-applied');
      }
    }
    expect(resp('READONLY x', 'write').refreshMap).to.equal(true);
    expect(resp('connect ECONNREFUSED 127.0.0.1:1', 'write', { code: 'ECONNREFUSED' })).to.include({ retry: true, outcome: 'not-applied', nodeFailure: true });
    expect(resp('circuit breaker open for x: not sent', 'write', { name: 'CircuitOpenError' })).to.include({ retry: true, outcome: 'not-applied', nodeFailure: false });
    expect(resp('Failed to refresh slots cache.', 'write')).to.include({ retry: true, outcome: 'not-applied' });
  });

  it('retries only reads after a failure that may have run the command', () => {
    for (const [m, extra] of [['Command timed out', {}], ['Connection is closed.', {}], ['read ECONNRESET', { code: 'ECONNRESET' }], ['NOREPLICAS Not enough good replicas', {}]] as const) {
      const r = resp(m, 'read', extra);
      const w = resp(m, 'write', extra);
      expect(r.retry, m).to.equal(true);
      expect(w.retry, m).to.equal(false);
      expect(w.outcome, m).to.equal('unknown');
    }
    expect(resp('Command timed out', 'read')).to.include({ nodeFailure: true, refreshMap: true });
    expect(resp('NOREPLICAS x', 'write').nodeFailure).to.equal(false);
  });

  it('never retries an ordinary error reply, and the node answered', () => {
    for (const m of ['WRONGTYPE Operation against a key holding the wrong kind of value', 'ERR value is not an integer or out of range', 'NOAUTH Authentication required.', 'CROSSSLOT Keys in request don\'t hash to the same slot']) {
      for (const kind of ['read', 'write'] as const) expect(resp(m, kind)).to.include({ retry: false, outcome: 'applied-error', nodeFailure: false });
    }
  });

  it('looks inside ioredis "Too many Cluster redirections"', () => {
    expect(resp('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down', 'write')).to.include({ retry: true, outcome: 'not-applied' });
    expect(resp('Too many Cluster redirections. Last error: Error: Connection is closed.', 'write')).to.include({ retry: false, outcome: 'unknown' });
    expect(resp('Too many Cluster redirections. Last error: Error: Connection is closed.', 'read').retry).to.equal(true);
  });

  it('HTTP: statuses that prove nothing was applied are retried for writes, unknown outcomes only for reads', () => {
    expect(classifyHttpStatus(503, 'write_failed', 'write')).to.include({ retry: true, outcome: 'not-applied' });
    expect(classifyHttpStatus(503, 'cluster_down', 'write')).to.include({ retry: true });
    expect(classifyHttpStatus(502, 'forward_failed', 'write')).to.include({ retry: true });
    expect(classifyHttpStatus(421, 'moved', 'write')).to.include({ retry: true });
    expect(classifyHttpStatus(503, 'not_confirmed', 'read')).to.include({ retry: true });
    expect(classifyHttpStatus(504, 'forward_failed', 'write')).to.include({ retry: false, outcome: 'unknown' });
    expect(classifyHttpStatus(504, 'forward_failed', 'read')).to.include({ retry: true });
    expect(classifyHttpStatus(503, 'replication_timeout', 'write')).to.include({ retry: false, outcome: 'unknown' });
    for (const [s, c] of [[400, 'bad_request'], [412, 'precondition_failed'], [413, 'value_too_large'], [401, 'unauthorized'], [500, 'internal']] as const) {
      expect(classifyHttpStatus(s, c, 'read').retry, `${s}`).to.equal(false);
      expect(classifyHttpStatus(s, c, 'write').retry, `${s}`).to.equal(false);
    }
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(classifyHttpTransport(errorFacts(refused), 'write')).to.include({ retry: true, outcome: 'not-applied', nodeFailure: true });
    expect(classifyHttpTransport(errorFacts(new TypeError('fetch failed')), 'write')).to.include({ retry: false, outcome: 'unknown' });
    expect(classifyHttpTransport(errorFacts(new TypeError('fetch failed')), 'read')).to.include({ retry: true });
  });

  it('a write is retried only when the outcome is not-applied (property)', () => {
    const messages = fc.oneof(fc.constantFrom('CLUSTERDOWN x', 'TRYAGAIN x', 'LOADING x', 'READONLY x', 'NOREPLICAS x', 'Command timed out', 'Connection is closed.', 'ERR x', 'MOVED 1 h:1'), fc.string());
    fc.assert(fc.property(messages, fc.option(fc.constantFrom('ECONNREFUSED', 'ECONNRESET', 'EPIPE'), { nil: undefined }), (m, code) => {
      const w = classifyRespError({ message: m, ...(code !== undefined ? { code } : {}) }, 'write');
      expect(w.retry).to.equal(w.outcome === 'not-applied');
      const r = classifyRespError({ message: m, ...(code !== undefined ? { code } : {}) }, 'read');
      expect(r.retry).to.equal(r.outcome !== 'applied-error');
    }));
  });

  it('backoff: full jitter under an exponential cap', () => {
    const o = { baseDelayMs: 50, maxDelayMs: 500 };
    expect(backoffDelayMs(1, o, () => 0.999)).to.equal(49);
    expect(backoffDelayMs(3, o, () => 0.999)).to.equal(199);
    expect(backoffDelayMs(10, o, () => 0.999)).to.equal(499);
    expect(backoffDelayMs(4, o, () => 0)).to.equal(0);
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, r) => {
      const d = backoffDelayMs(attempt, o, () => r);
      expect(d).to.be.within(0, Math.min(500, 50 * 2 ** (attempt - 1)));
    }));
  });
});
