/**
 * HTTP forwarding across a scheme change (issue #14, node/http/forward-scheme.ts):
 * which failures show the peer speaks the other scheme, that a node serving
 * HTTPS never falls back to plain HTTP, and the per-peer memory with its TTL.
 */
import { expect } from 'chai';
import { PEER_SCHEME_TTL_MS, PeerSchemes, isPlainToHttpsPage, isReadMethod, mayHaveReachedPeer, schemeFallback, schemeShownByError } from '../../node/http/forward-scheme.js';

const target = { name: 'n1', host: '10.0.0.7', httpPort: 8080 };

function fetchFailed(cause: Error & { code?: string }): TypeError {
  return new TypeError('fetch failed', { cause });
}
const withCode = (message: string, code: string): Error & { code: string } => Object.assign(new Error(message), { code });

describe('forward-scheme: telling a scheme mismatch from other failures', () => {
  it('a TLS handshake answered in plain HTTP shows the peer speaks http (as node:https reports it)', () => {
    const e = fetchFailed(withCode('write EPROTO 80CC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:', 'EPROTO'));
    expect(schemeShownByError('https', e)).to.equal('http');
    expect(schemeShownByError('https', fetchFailed(withCode('packet length too long', 'ERR_SSL_PACKET_LENGTH_TOO_LONG')))).to.equal('http');
  });

  it('a plain request whose connection was closed or reset is NOT read as a scheme: the peer may have applied it and died', () => {
    expect(schemeShownByError('http', fetchFailed(withCode('other side closed', 'UND_ERR_SOCKET')))).to.equal(null);
    expect(schemeShownByError('http', fetchFailed(withCode('read ECONNRESET', 'ECONNRESET')))).to.equal(null);
  });

  it('which failures may have let the request reach the peer (never sent again if a write)', () => {
    expect(mayHaveReachedPeer(fetchFailed(withCode('other side closed', 'UND_ERR_SOCKET')))).to.equal(true);
    expect(mayHaveReachedPeer(fetchFailed(withCode('read ECONNRESET', 'ECONNRESET')))).to.equal(true);
    expect(mayHaveReachedPeer(fetchFailed(withCode('premature close', 'ERR_STREAM_PREMATURE_CLOSE')))).to.equal(true);
    expect(mayHaveReachedPeer(new Error('something unknown'))).to.equal(true);
    expect(mayHaveReachedPeer(fetchFailed(withCode('connect ECONNREFUSED 10.0.0.7:8080', 'ECONNREFUSED')))).to.equal(false);
    expect(mayHaveReachedPeer(fetchFailed(withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')))).to.equal(false);
    expect(mayHaveReachedPeer(fetchFailed(withCode('wrong version number', 'EPROTO')))).to.equal(false);
    expect(isReadMethod('GET') && isReadMethod('HEAD')).to.equal(true);
    expect(isReadMethod('PUT') || isReadMethod('DELETE') || isReadMethod('POST')).to.equal(false);
  });

  it('other failures are not a mismatch: refused connection, unknown host, a bad certificate, a timeout', () => {
    expect(schemeShownByError('http', fetchFailed(withCode('connect ECONNREFUSED 10.0.0.7:8080', 'ECONNREFUSED')))).to.equal(null);
    expect(schemeShownByError('https', fetchFailed(withCode('connect ECONNREFUSED 10.0.0.7:8080', 'ECONNREFUSED')))).to.equal(null);
    expect(schemeShownByError('https', fetchFailed(withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')))).to.equal(null);
    expect(schemeShownByError('https', fetchFailed(withCode('other side closed', 'UND_ERR_SOCKET')))).to.equal(null);
    expect(schemeShownByError('http', Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }))).to.equal(null);
    expect(schemeShownByError('http', null)).to.equal(null);
  });

  it("a TLS front end's 400 page for a plain request, but not the API's own 400 (JSON)", () => {
    expect(isPlainToHttpsPage(400, 'text/html', '<center>The plain HTTP request was sent to HTTPS port</center>')).to.equal(true);
    expect(isPlainToHttpsPage(400, 'application/json', '{"error":{"message":"The plain HTTP request was sent to HTTPS port"}}')).to.equal(false);
    expect(isPlainToHttpsPage(400, 'text/html', 'Bad Request')).to.equal(false);
    expect(isPlainToHttpsPage(200, 'text/html', 'The plain HTTP request was sent to HTTPS port')).to.equal(false);
  });
});

describe('forward-scheme: only upwards', () => {
  it('a peer speaking https is retried over https, whatever this node serves', () => {
    expect(schemeFallback(false, 'https')).to.deep.equal({ retry: 'https' });
    expect(schemeFallback(true, 'https')).to.deep.equal({ retry: 'https' });
  });

  it('a node serving HTTPS never retries in clear; a plain node may go back to http', () => {
    const step = schemeFallback(true, 'http');
    expect(step).to.have.property('refuse').that.matches(/never forwards a request, credentials included, in clear/);
    expect(schemeFallback(false, 'http')).to.deep.equal({ retry: 'http' });
  });
});

describe('forward-scheme: PeerSchemes remembers a peer for a while', () => {
  it("uses the learnt scheme until the TTL, then the node's own again; learning its own forgets; logs each change once", () => {
    let now = 1_000;
    const learnt: string[] = [];
    const m = new PeerSchemes('http', { now: () => now, onLearn: (t, s) => learnt.push(`${t.name}:${s}`) });
    expect(m.schemeFor(target)).to.equal('http');
    m.learn(target, 'https');
    m.learn(target, 'https');
    expect(m.schemeFor(target)).to.equal('https');
    expect(m.schemeFor({ ...target, httpPort: 8081 }), 'another port is another peer').to.equal('http');
    now += PEER_SCHEME_TTL_MS - 1;
    expect(m.schemeFor(target)).to.equal('https');
    now += 1;
    expect(m.schemeFor(target)).to.equal('http');
    m.learn(target, 'https');
    m.learn(target, 'http');
    expect(m.schemeFor(target)).to.equal('http');
    expect(learnt).to.deep.equal(['n1:https', 'n1:https', 'n1:http']);
  });

  it('resolve: a node serving HTTPS never probes; a plain node without a probe uses its own; with one it asks once per TTL, concurrent callers sharing the handshake', async () => {
    let probes = 0;
    let answer: 'http' | 'https' | null = 'https';
    let now = 0;
    const probe = async (): Promise<'http' | 'https' | null> => { probes++; return answer; };
    expect(await new PeerSchemes('https', { probe }).resolve(target)).to.equal('https');
    expect(probes).to.equal(0);
    expect(await new PeerSchemes('http').resolve(target)).to.equal('http');
    const m = new PeerSchemes('http', { probe, now: () => now });
    expect(await Promise.all([m.resolve(target), m.resolve(target), m.resolve(target)])).to.deep.equal(['https', 'https', 'https']);
    expect(probes).to.equal(1);
    expect(await m.resolve(target)).to.equal('https');
    expect(probes).to.equal(1);
    answer = 'http';
    expect(await m.reprobe(target)).to.equal('http');
    expect(m.schemeFor(target)).to.equal('http');
    now += PEER_SCHEME_TTL_MS;
    answer = null;
    expect(await m.resolve(target), 'no answer: its own scheme, nothing learnt').to.equal('http');
    expect(m.known(target)).to.equal(null);
  });
});
