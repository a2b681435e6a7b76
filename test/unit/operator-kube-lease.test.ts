/**
 * Lease leader election, the decision (operator/kube/lease-logic.ts): a
 * lease held by someone else is never taken before it has gone unrenewed
 * for a whole lease duration on our clock; our own lease is renewed; a
 * released one is taken at once.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decideLease, microTime, observe, type LeaseSpec } from '../../operator/kube/lease-logic.js';

const T0 = Date.UTC(2026, 0, 1);

describe('operator/kube lease logic', () => {
  it('creates the lease when there is none, with MicroTime stamps', () => {
    const d = decideLease({ spec: null, observedAt: T0 }, 'me', T0, 15);
    expect(d.action).to.equal('create');
    if (d.action !== 'create') return;
    expect(d.spec).to.deep.include({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(d.spec.renewTime).to.equal('2026-01-01T00:00:00.000000Z');
    expect(microTime(T0 + 1234)).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('renews its own lease, keeping the acquire time', () => {
    const spec: LeaseSpec = { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: 'a', renewTime: 'r', leaseTransitions: 2 };
    const d = decideLease({ spec, observedAt: T0 }, 'me', T0 + 60_000, 15);
    expect(d).to.deep.include({ action: 'update', acquired: false });
    if (d.action === 'update') expect(d.spec).to.deep.include({ holderIdentity: 'me', acquireTime: 'a', leaseTransitions: 2, renewTime: microTime(T0 + 60_000) });
  });

  it('takes a lease over only after it went unrenewed a whole duration, counting the transition', () => {
    const spec: LeaseSpec = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: 'r1', leaseTransitions: 4 };
    expect(decideLease({ spec, observedAt: T0 }, 'me', T0 + 14_999, 15)).to.deep.equal({ action: 'wait', holder: 'other' });
    const d = decideLease({ spec, observedAt: T0 }, 'me', T0 + 15_000, 15);
    expect(d).to.deep.include({ action: 'update', acquired: true });
    if (d.action === 'update') expect(d.spec).to.deep.include({ holderIdentity: 'me', leaseTransitions: 5 });
  });

  it('takes a released lease (no holder) at once', () => {
    const d = decideLease({ spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 1 }, observedAt: T0 }, 'me', T0, 15);
    expect(d).to.deep.include({ action: 'update', acquired: true });
  });

  it('measures expiry from when the record last changed on our clock, whatever the holder\'s clock says', () => {
    const first = observe(null, { holderIdentity: 'other', renewTime: '2000-01-01T00:00:00.000000Z' }, T0);
    const unchanged = observe(first, { holderIdentity: 'other', renewTime: '2000-01-01T00:00:00.000000Z' }, T0 + 10_000);
    expect(unchanged.observedAt).to.equal(T0);
    const renewed = observe(unchanged, { holderIdentity: 'other', renewTime: '2000-01-01T00:00:02.000000Z' }, T0 + 12_000);
    expect(renewed.observedAt).to.equal(T0 + 12_000);
    expect(decideLease(renewed, 'me', T0 + 20_000, 15).action).to.equal('wait');
  });

  it('never takes a live lease held by another (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 0, max: 10 }), (duration, elapsed, transitions) => {
      const spec: LeaseSpec = { holderIdentity: 'other', leaseDurationSeconds: duration, renewTime: 'x', leaseTransitions: transitions };
      const d = decideLease({ spec, observedAt: T0 }, 'me', T0 + elapsed, 15);
      if (elapsed < duration * 1000) expect(d.action).to.equal('wait');
      else expect(d).to.deep.include({ action: 'update', acquired: true });
    }));
  });
});
