/** The clients' attempt loop (clients/ts/src/retry-loop.ts) and pool limit (pool-limiter.ts), with scripted attempts. */
import { expect } from 'chai';
import { IrisAbortError, IrisServerError, IrisTimeoutError, PoolExhaustedError } from '../../clients/ts/src/errors.js';
import { PoolLimiter } from '../../clients/ts/src/pool-limiter.js';
import { withRetries, type AttemptFailure } from '../../clients/ts/src/retry-loop.js';
import { classifyRespError, type CommandKind } from '../../clients/ts/src/retry-policy.js';

/** An attempt function failing with the given RESP errors in turn, then answering 'OK'. */
function scripted(kind: CommandKind, errors: string[]): { calls: () => number; attempt: () => Promise<string> } {
  let n = 0;
  return {
    calls: () => n,
    attempt: async () => {
      const m = errors[n++];
      if (m === undefined) return 'OK';
      const failure: AttemptFailure = { error: new Error(m), decision: classifyRespError({ message: m }, kind), node: 'n:1' };
      throw failure;
    },
  };
}

const fast = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 2 };

describe('clients: attempt loop and pool limit', () => {
  it('retries a write after errors proving it did not run, and reports the retries', async () => {
    const s = scripted('write', ['CLUSTERDOWN x', 'TRYAGAIN x']);
    const retries: string[] = [];
    const ok = await withRetries({ command: 'SET', kind: 'write', retry: fast, metrics: { onRetry: (e) => retries.push(e.reason) }, random: () => 0.5, attempt: s.attempt });
    expect(ok).to.equal('OK');
    expect(s.calls()).to.equal(3);
    expect(retries).to.deep.equal(['clusterdown', 'tryagain']);
  });

  it('does not retry a write whose outcome is unknown, and says so', async () => {
    const s = scripted('write', ['CLUSTERDOWN x', 'Command timed out']);
    const err = await withRetries({ command: 'SET', kind: 'write', retry: fast, metrics: {}, random: () => 0.5, attempt: s.attempt }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(IrisTimeoutError);
    expect((err as IrisTimeoutError).outcome).to.equal('unknown');
    expect((err as IrisTimeoutError).attempts).to.equal(2);
    expect(s.calls()).to.equal(2);
  });

  it('retries the same failure for a read, up to maxAttempts', async () => {
    const s = scripted('read', Array(10).fill('Command timed out'));
    const err = await withRetries({ command: 'GET', kind: 'read', retry: fast, metrics: {}, random: () => 0.5, attempt: s.attempt }).catch((e: unknown) => e);
    expect((err as IrisTimeoutError).attempts).to.equal(5);
    expect(s.calls()).to.equal(5);
  });

  it('gives an error reply back at once, typed', async () => {
    const s = scripted('write', ['WRONGTYPE Operation against a key holding the wrong kind of value']);
    const err = await withRetries({ command: 'INCR', kind: 'write', retry: fast, metrics: {}, random: () => 0.5, attempt: s.attempt }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(IrisServerError);
    expect((err as IrisServerError).code).to.equal('WRONGTYPE');
    expect((err as IrisServerError).outcome).to.equal('applied-error');
  });

  it('stops on an aborted signal and on the deadline', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const s = scripted('read', []);
    const aborted = await withRetries({ command: 'GET', kind: 'read', retry: fast, metrics: {}, random: () => 0.5, signal: ctl.signal, attempt: s.attempt }).catch((e: unknown) => e);
    expect(aborted).to.be.instanceOf(IrisAbortError);
    expect(s.calls()).to.equal(0);
    const slow = { maxAttempts: 100, baseDelayMs: 1000, maxDelayMs: 1000 };
    const t = scripted('read', Array(100).fill('LOADING x'));
    const late = await withRetries({ command: 'GET', kind: 'read', retry: slow, metrics: {}, random: () => 0.99, deadlineMs: 50, attempt: t.attempt }).catch((e: unknown) => e);
    expect(late).to.be.instanceOf(IrisServerError); // the next wait would pass the deadline: the last error is returned
    expect(t.calls()).to.equal(1);
  });

  it('the pool runs at most maxInFlight at once and refuses beyond maxWaiting', async () => {
    const pool = new PoolLimiter({ maxInFlight: 2, maxWaiting: 1 });
    const gates: Array<() => void> = [];
    const job = (): Promise<void> => new Promise<void>((r) => gates.push(r));
    const a = pool.run(job);
    const b = pool.run(job);
    const c = pool.run(job);
    expect(pool.stats()).to.deep.equal({ inFlight: 2, waiting: 1 });
    const d = await pool.run(job).catch((e: unknown) => e);
    expect(d).to.be.instanceOf(PoolExhaustedError);
    expect(gates).to.have.length(2);
    gates[0]!();
    await a;
    await Promise.resolve();
    expect(gates).to.have.length(3); // the waiter got the freed slot
    gates[1]!();
    gates[2]!();
    await Promise.all([b, c]);
    expect(pool.stats()).to.deep.equal({ inFlight: 0, waiting: 0 });
  });
});
