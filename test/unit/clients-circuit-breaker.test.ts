/** The clients' per-node circuit breaker (clients/ts/src/circuit-breaker.ts) on a fake clock. */
import { expect } from 'chai';
import { BreakerSet, CircuitBreaker, type BreakerState } from '../../clients/ts/src/circuit-breaker.js';

describe('clients: circuit breaker', () => {
  let t = 0;
  const now = (): number => t;
  let changes: Array<[BreakerState, BreakerState]> = [];
  const make = (): CircuitBreaker => new CircuitBreaker({ failureThreshold: 3, openMs: 1000 }, now, (a, b) => changes.push([a, b]));
  beforeEach(() => {
    t = 0;
    changes = [];
  });

  it('opens after failureThreshold consecutive failures; a success in between resets the count', () => {
    const b = make();
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.state).to.equal('closed');
    expect(b.allow()).to.equal(true);
    b.onFailure();
    expect(b.state).to.equal('open');
    expect(b.allow()).to.equal(false);
    expect(changes).to.deep.equal([['closed', 'open']]);
  });

  it('lets one trial through after openMs (half-open); success closes it', () => {
    const b = make();
    for (let i = 0; i < 3; i++) b.onFailure();
    t = 999;
    expect(b.trialDue()).to.equal(false);
    expect(b.allow()).to.equal(false);
    t = 1000;
    expect(b.trialDue()).to.equal(true);
    expect(b.allow()).to.equal(true);
    expect(b.state).to.equal('half-open');
    expect(b.allow(), 'only one trial at a time').to.equal(false);
    b.onSuccess();
    expect(b.state).to.equal('closed');
    expect(b.allow()).to.equal(true);
    expect(changes).to.deep.equal([['closed', 'open'], ['open', 'half-open'], ['half-open', 'closed']]);
  });

  it('a failed trial opens it again for another openMs', () => {
    const b = make();
    for (let i = 0; i < 3; i++) b.onFailure();
    t = 1500;
    expect(b.allow()).to.equal(true);
    b.onFailure();
    expect(b.state).to.equal('open');
    t = 2499;
    expect(b.allow()).to.equal(false);
    t = 2500;
    expect(b.allow()).to.equal(true);
  });

  it('open() opens at once', () => {
    const b = make();
    b.open();
    expect(b.state).to.equal('open');
    expect(b.allow()).to.equal(false);
  });

  it('refuses nonsense options', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, openMs: 1 }, now)).to.throw(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, openMs: -1 }, now)).to.throw(RangeError);
  });

  it('BreakerSet keeps one breaker per node and names the ones due a trial', () => {
    const seen: string[] = [];
    const s = new BreakerSet({ failureThreshold: 1, openMs: 100 }, now, (n, a, b) => seen.push(`${n}:${a}->${b}`));
    s.get('a:1').onFailure();
    s.get('b:2').onSuccess();
    expect(s.states()).to.deep.equal({ 'a:1': 'open', 'b:2': 'closed' });
    expect(s.dueForTrial()).to.deep.equal([]);
    t = 100;
    expect(s.dueForTrial()).to.deep.equal(['a:1']);
    expect(seen).to.deep.equal(['a:1:closed->open']);
  });

  it('an abandoned trial (the caller aborted, no answer either way) lets another trial go, and the prober sees it', () => {
    const s = new BreakerSet({ failureThreshold: 1, openMs: 100 }, now, () => {});
    const b = s.get('a:1');
    b.onFailure();
    t = 100;
    expect(b.allow()).to.equal(true);
    expect(b.state).to.equal('half-open');
    expect(s.dueForTrial(), 'a trial is in flight').to.deep.equal([]);
    b.abandon();
    expect(s.dueForTrial(), 'half-open with no trial in flight').to.deep.equal(['a:1']);
    expect(b.allow()).to.equal(true);
    b.onSuccess();
    expect(b.state).to.equal('closed');
    b.abandon();
    expect(b.state).to.equal('closed');
    expect(b.allow()).to.equal(true);
  });
});
