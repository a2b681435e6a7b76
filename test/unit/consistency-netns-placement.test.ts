/** Parsing of the test-only network-namespace placement of local nodes (operator/local/netns-placement.ts). */
import { expect } from 'chai';
import { parseNetnsPlacement, placementFunction } from '../../operator/local/netns-placement.js';

describe('local nodes in network namespaces: placement', () => {
  it('maps node indexes to namespaces and addresses; nodes beyond the list stay on loopback', () => {
    const place = placementFunction(parseNetnsPlacement('[{"netns":"iris-a-0","host":"10.77.0.10"},{"netns":"iris-a-1","host":"10.77.0.11"}]'));
    expect(place(0)).to.deep.equal({ netns: 'iris-a-0', host: '10.77.0.10' });
    expect(place(1)).to.deep.equal({ netns: 'iris-a-1', host: '10.77.0.11' });
    expect(place(2)).to.equal(null);
  });

  it('refuses anything that is not a list of namespace names and IPv4 addresses', () => {
    expect(() => parseNetnsPlacement('{')).to.throw(/not JSON/);
    expect(() => parseNetnsPlacement('{}')).to.throw(/JSON array/);
    expect(() => parseNetnsPlacement('[{"netns":"../x","host":"10.0.0.1"}]')).to.throw(/\[0\]\.netns/);
    expect(() => parseNetnsPlacement('[{"netns":"a; rm -rf /","host":"10.0.0.1"}]')).to.throw(/netns/);
    expect(() => parseNetnsPlacement('[{"netns":"a","host":"10.0.0.256"}]')).to.throw(/\[0\]\.host/);
    expect(() => parseNetnsPlacement('[{"netns":"a","host":"example.com"}]')).to.throw(/host/);
  });
});
