/** Requests through the IrisCluster resource (operator/kube/request.ts): the annotation's grammar and the at-most-once decision. Pure. */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  type ClusterRequest, decideRequest, formatRequest, MAX_ANNOTATION, parseRequest, REQUEST_ANNOTATION, RequestParseError, type RequestStatus,
} from '../../operator/kube/request.js';

const status = (annotation: string, phase: RequestStatus['phase']): RequestStatus => ({ annotation, phase, message: '', operation: '', time: '2026-01-01T00:00:00Z' });

describe('IrisCluster requests (irisdb.io/request)', () => {
  it('formats and parses failover and switchover, with and without a target', () => {
    const cases: Array<[ClusterRequest, string]> = [
      [{ id: 'a1', verb: 'failover', shard: 'shard-0' }, 'failover shard-0 id=a1'],
      [{ id: 'k3x9', verb: 'switchover', shard: 'shard-1' }, 'switchover shard-1 id=k3x9'],
      [{ id: 'z', verb: 'switchover', shard: 'shard-2', to: 'iris-shard-2-1' }, 'switchover shard-2 to=iris-shard-2-1 id=z'],
    ];
    for (const [req, text] of cases) {
      expect(formatRequest(req)).to.equal(text);
      expect(parseRequest(text)).to.deep.equal(req);
    }
    // Order of options and extra blanks do not matter (a hand-written kubectl annotate).
    expect(parseRequest('  switchover shard-2 id=z   to=iris-shard-2-1 ')).to.deep.equal(cases[2]![0]);
  });

  it('refuses malformed annotations saying what is wrong', () => {
    const bad: Array<[string, RegExp]> = [
      ['restart shard-1 id=a', /unknown verb "restart"/],
      ['failover id=a', /needs a shard id/],
      ['failover shard-1', /needs id=ID/],
      ['failover shard-1 id=A!', /needs id=ID/],
      ['failover shard-1 to=iris-shard-1-0 id=a', /to= goes with switchover only/],
      ['switchover shard-1 to=Bad id=a', /to= must be a node/],
      ['switchover shard-1 id=a id=b', /id= given twice/],
      ['switchover shard-1 now id=b', /unexpected "now"/],
      [`failover shard-1 id=${'a'.repeat(MAX_ANNOTATION)}`, /longer than/],
    ];
    for (const [text, pattern] of bad) expect(() => parseRequest(text), text).to.throw(RequestParseError, pattern);
  });

  it('round-trips every well-formed request (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
    const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/);
    const req: fc.Arbitrary<ClusterRequest> = fc.oneof(
      fc.record({ id, verb: fc.constant('failover' as const), shard: name }),
      fc.record({ id, verb: fc.constant('switchover' as const), shard: name }),
      fc.record({ id, verb: fc.constant('switchover' as const), shard: name, to: name }),
    );
    fc.assert(fc.property(req, (r) => {
      expect(parseRequest(formatRequest(r))).to.deep.equal(r);
    }), { numRuns: 300 });
    // Arbitrary text either parses or is refused with RequestParseError, never anything else.
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (t) => {
      try {
        parseRequest(t);
      } catch (err) {
        if (!(err instanceof RequestParseError)) throw err;
      }
    }), { numRuns: 500 });
  });

  it('handles a new annotation once: not again once status or this instance says it was handled', () => {
    const a = 'switchover shard-1 id=k3x9';
    expect(decideRequest(undefined, undefined, new Set())).to.deep.equal({ do: 'none' });
    expect(decideRequest('', undefined, new Set())).to.deep.equal({ do: 'none' });
    expect(decideRequest(a, undefined, new Set())).to.deep.equal({ do: 'handle', annotation: a, request: parseRequest(a) });
    // A previous request in status does not stop a new one.
    expect(decideRequest(a, status('failover shard-1 id=old', 'Started'), new Set()).do).to.equal('handle');
    for (const phase of ['Started', 'Refused', 'Interrupted'] as const) expect(decideRequest(a, status(a, phase), new Set()), phase).to.deep.equal({ do: 'none' });
    // This instance wrote Handling or the outcome, and its cache does not show it yet.
    expect(decideRequest(a, undefined, new Set([a]))).to.deep.equal({ do: 'none' });
    expect(decideRequest(a, status(a, 'Handling'), new Set([a]))).to.deep.equal({ do: 'none' });
  });

  it('reports a request another instance left Handling as Interrupted instead of running it again', () => {
    const a = 'failover shard-0 id=x1';
    expect(decideRequest(a, status(a, 'Handling'), new Set())).to.deep.equal({ do: 'interrupted', annotation: a });
  });

  it('refuses a malformed annotation once, naming the annotation', () => {
    const d = decideRequest('failover', undefined, new Set());
    expect(d.do).to.equal('refuse');
    expect(d.do === 'refuse' && d.message).to.match(new RegExp(`^${REQUEST_ANNOTATION} "failover" is not a request: failover needs a shard id`));
    expect(decideRequest('failover', status('failover', 'Refused'), new Set())).to.deep.equal({ do: 'none' });
  });
});
