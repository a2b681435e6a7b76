/**
 * The operator's CA rotation decision (operator/kube/reconcile/tls-ca-rotation-plan.ts)
 * on plain data: each phase is entered only once every pod has reached the
 * previous one, a pod that does not answer holds the rotation, nothing
 * waits on the bundle's age (the operator hands what it writes to its own
 * CA cache: operator-kube-tls-ca-rotation-cache.test.ts), and the CA's
 * renewal starts a rotation at a third of its lifetime. Plus status.tls
 * and its Events (tls-status.ts), and the rotate-ca request's text.
 */
import { expect } from 'chai';
import {
  type CaRotationFacts, type PodTlsObservation, decideCaRotation, rotationUnderWay,
} from '../../operator/kube/reconcile/tls-ca-rotation-plan.js';
import { caRotationLine, rotationEvent, tlsStatusOf } from '../../operator/kube/reconcile/tls-status.js';
import { formatRequest, parseRequest } from '../../operator/kube/request.js';
import type { CaRotationOutcome } from '../../operator/kube/reconcile/tls-ca-rotation.js';

const DAY = 86_400_000;
const OLD = 'AA:01';
const NEW = 'BB:02';
const CERT_OLD = 'C0:01';
const CERT_NEW = 'C0:02';
const NOW = Date.parse('2030-01-01T00:00:00Z');
const LIMITS = { renewFraction: 1 / 3 };

function facts(over: Partial<CaRotationFacts>): CaRotationFacts {
  return {
    ca: { fingerprint: OLD, notBefore: NOW - 100 * DAY, notAfter: NOW + 3550 * DAY },
    next: { fingerprint: NEW },
    bundle: [OLD],
    served: { fingerprint: CERT_OLD, signedBy: 'ca' },
    pods: null,
    now: NOW,
    ...over,
  };
}

const pod = (name: string, cas: string[], cert: string): PodTlsObservation => ({ pod: name, caFingerprints: cas, certificate: cert });

describe('operator/kube CA rotation: the decision', () => {
  it('does nothing for the CA before the pods\' Secret exists, or with no rotation and a CA far from expiry', () => {
    expect(decideCaRotation(facts({ bundle: null, served: null }), LIMITS)).to.deep.equal({ do: 'none' });
    expect(decideCaRotation(facts({ next: null }), LIMITS)).to.deep.equal({ do: 'none' });
  });

  it('starts a rotation when less than a third of the CA\'s lifetime is left, or it expired', () => {
    const ca = { fingerprint: OLD, notBefore: NOW - 2000 * DAY, notAfter: NOW + 999 * DAY };
    const d = decideCaRotation(facts({ next: null, ca }), LIMITS);
    expect(d).to.deep.equal({ do: 'start', reason: 'CA renewal due: 999 days left of 2999' });
    expect(decideCaRotation(facts({ next: null, ca: { ...ca, notAfter: NOW + 1001 * DAY } }), LIMITS).do).to.equal('none');
    expect(decideCaRotation(facts({ next: null, ca: { ...ca, notAfter: NOW - 1 } }), LIMITS)).to.include({ do: 'start', reason: 'CA renewal due: expired' });
  });

  it('phase 1: first puts both CAs in ca.crt, keeping the old CA\'s certificate', () => {
    const d = decideCaRotation(facts({}), LIMITS);
    expect(d).to.include({ do: 'write-bundle', bundle: 'both', phase: 'TrustBoth' });
    // order does not matter, a bundle with a third CA is rewritten
    expect(decideCaRotation(facts({ bundle: [NEW, OLD], pods: [] }), LIMITS).do).to.equal('wait');
    expect(decideCaRotation(facts({ bundle: [OLD, NEW, 'CC:03'] }), LIMITS)).to.include({ do: 'write-bundle', bundle: 'both' });
  });

  it('phase 1: waits until every pod trusts both CAs, naming the pods behind and those that do not answer', () => {
    const both = [OLD, NEW];
    const pods = [pod('iris-shard-1-0', both, CERT_OLD), pod('iris-shard-1-1', [OLD], CERT_OLD), { pod: 'iris-shard-2-0', error: 'connect ECONNREFUSED' }];
    const d = decideCaRotation(facts({ bundle: both, pods }), LIMITS);
    expect(d.do).to.equal('wait');
    expect(d).to.have.property('phase', 'TrustBoth');
    expect((d as { message: string }).message).to.contain('iris-shard-1-1').and.contain('iris-shard-2-0 (unreachable: connect ECONNREFUSED)').and.not.contain('iris-shard-1-0,');
    expect(decideCaRotation(facts({ bundle: both, pods: [] }), LIMITS)).to.include({ do: 'wait', phase: 'TrustBoth' });
    expect(decideCaRotation(facts({ bundle: both, pods: null }), LIMITS)).to.include({ do: 'wait', phase: 'TrustBoth' });
  });

  it('phase 1 → 2: as soon as every pod trusts both, issues from the new CA (no wait on the bundle\'s age)', () => {
    const both = [OLD, NEW];
    const pods = [pod('a', both, CERT_OLD), pod('b', [NEW, OLD], CERT_OLD)];
    // The same pass that sees the last pod trust both moves on, however recently ca.crt was written.
    const d = decideCaRotation(facts({ bundle: both, pods }), LIMITS);
    expect(d).to.include({ do: 'issue-from-next', phase: 'ServeNew' });
    expect((d as { message: string }).message).to.contain('bb02');
  });

  it('phase 2: waits until every pod serves the new certificate, then promotes the new CA', () => {
    const both = [OLD, NEW];
    const served = { fingerprint: CERT_NEW, signedBy: 'next' as const };
    const half = decideCaRotation(facts({ bundle: both, served, pods: [pod('a', both, CERT_NEW), pod('b', both, CERT_OLD)] }), LIMITS);
    expect(half).to.include({ do: 'wait', phase: 'ServeNew' });
    expect((half as { message: string }).message).to.match(/waiting for b to serve/);
    expect(decideCaRotation(facts({ bundle: both, served, pods: [pod('a', both, CERT_NEW), pod('b', both, CERT_NEW)] }), LIMITS)).to.include({ do: 'promote', phase: 'DropOld' });
  });

  it('phase 3: after the promotion the old CA leaves ca.crt; Done once every pod trusts only the new one', () => {
    const promoted = { ca: { fingerprint: NEW, notBefore: NOW, notAfter: NOW + 3650 * DAY }, next: null, served: { fingerprint: CERT_NEW, signedBy: 'ca' as const } };
    expect(decideCaRotation(facts({ ...promoted, bundle: [OLD, NEW], pods: [] }), LIMITS)).to.include({ do: 'write-bundle', bundle: 'current', phase: 'DropOld' });
    // Outside a rotation (the pods are not asked) a wrong ca.crt is the ordinary path's repair, not a phase.
    expect(decideCaRotation(facts({ ...promoted, bundle: [OLD, NEW], pods: null }), LIMITS)).to.deep.equal({ do: 'none' });
    const waiting = decideCaRotation(facts({ ...promoted, bundle: [NEW], pods: [pod('a', [NEW], CERT_NEW), pod('b', [OLD, NEW], CERT_NEW)] }), LIMITS);
    expect(waiting).to.include({ do: 'wait', phase: 'DropOld' });
    const done = decideCaRotation(facts({ ...promoted, bundle: [NEW], pods: [pod('a', [NEW], CERT_NEW), pod('b', [NEW], CERT_NEW)] }), LIMITS);
    expect(done).to.include({ do: 'done', phase: 'Done' });
    expect((done as { message: string }).message).to.contain('bb02').and.contain('2039-12-30');
  });

  it('resumes from the Secrets alone: each state has exactly one next step', () => {
    // An operator restarted mid-way sees only the Secrets and the pods: the same facts give the same step.
    const both = [OLD, NEW];
    const a = facts({ bundle: both, pods: [pod('a', both, CERT_OLD)] });
    expect(decideCaRotation(a, LIMITS)).to.deep.equal(decideCaRotation({ ...a }, LIMITS));
    expect(rotationUnderWay('TrustBoth') && rotationUnderWay('ServeNew') && rotationUnderWay('DropOld')).to.equal(true);
    expect(rotationUnderWay('Done') || rotationUnderWay(undefined)).to.equal(false);
  });
});

describe('operator/kube CA rotation: status.tls and Events', () => {
  const outcome = (phase: CaRotationOutcome['phase'], message = 'm'): CaRotationOutcome => ({
    phase, message, reason: 'rotate-ca id=ab12', wroteSecrets: false, issued: null, servedNotAfter: null, caNotAfter: null,
  });

  it('records expiries, the phase and when it began; a pass with no news keeps the recorded rotation', () => {
    const t0 = Date.parse('2030-01-01T00:00:00.500Z');
    const s1 = tlsStatusOf({ notAfter: t0 + DAY, caNotAfter: t0 + 10 * DAY, rotation: outcome('TrustBoth') }, undefined, t0);
    expect(s1).to.deep.equal({
      certificateNotAfter: '2030-01-02T00:00:00Z', caNotAfter: '2030-01-11T00:00:00Z',
      caRotation: { phase: 'TrustBoth', message: 'm', reason: 'rotate-ca id=ab12', lastTransitionTime: '2030-01-01T00:00:00Z' },
    });
    const s2 = tlsStatusOf({ notAfter: t0 + DAY, caNotAfter: t0 + 10 * DAY, rotation: outcome('TrustBoth', 'waiting') }, s1, t0 + 5000);
    expect(s2.caRotation).to.include({ message: 'waiting', lastTransitionTime: '2030-01-01T00:00:00Z' });
    const s3 = tlsStatusOf({ notAfter: null, caNotAfter: null, rotation: null }, s2, t0 + 9000);
    expect(s3).to.deep.equal({ certificateNotAfter: null, caNotAfter: null, caRotation: s2.caRotation });
    const s4 = tlsStatusOf({ notAfter: null, caNotAfter: null, rotation: outcome('ServeNew') }, s3, t0 + 9000);
    expect(s4.caRotation?.lastTransitionTime).to.equal('2030-01-01T00:00:09Z');
  });

  it('a status line for irisctl --kube status while a phase is under way, none once Done', () => {
    const r = { message: 'waiting for iris-0 to trust the new CA 3cee (Secret volume refresh)', reason: 'r', lastTransitionTime: '2030-01-01T00:00:00Z' };
    expect(caRotationLine({ certificateNotAfter: null, caNotAfter: null, caRotation: { phase: 'TrustBoth', ...r } }))
      .to.equal('CA rotation TrustBoth (since 2030-01-01T00:00:00Z): waiting for iris-0 to trust the new CA 3cee (Secret volume refresh)');
    expect(caRotationLine({ certificateNotAfter: null, caNotAfter: null, caRotation: { phase: 'Done', ...r } })).to.equal(null);
    expect(caRotationLine(undefined)).to.equal(null);
  });

  it('one Event per phase change', () => {
    const at = { message: 'x', reason: 'r', lastTransitionTime: 't' };
    expect(rotationEvent(undefined, { phase: 'TrustBoth', ...at })).to.deep.equal({ reason: 'CARotationTrustBoth', message: 'CA rotation phase TrustBoth: x' });
    expect(rotationEvent('TrustBoth', { phase: 'TrustBoth', ...at })).to.equal(null);
    expect(rotationEvent('DropOld', { phase: 'Done', ...at })).to.deep.equal({ reason: 'CARotationDone', message: 'CA rotation done: x' });
    expect(rotationEvent('DropOld', undefined)).to.equal(null);
  });
});

describe('operator/kube request rotate-ca', () => {
  it('round-trips and takes only id=', () => {
    expect(parseRequest('rotate-ca id=k3x9')).to.deep.equal({ id: 'k3x9', verb: 'rotate-ca' });
    expect(formatRequest({ id: 'k3x9', verb: 'rotate-ca' })).to.equal('rotate-ca id=k3x9');
    expect(() => parseRequest('rotate-ca shard-1 id=k3x9')).to.throw(/rotate-ca takes only id=ID/);
    expect(() => parseRequest('rotate-ca id=K!')).to.throw(/needs id=ID/);
  });
});
