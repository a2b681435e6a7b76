/**
 * Pure checks behind the node's doors: Host/Origin/content-type rules
 * (common/http-browser-guard.ts), HTTP credentials (node/http/client-auth.ts),
 * the bounded MULTI queue and the cross-protocol command names.
 */
import { expect } from 'chai';
import { hostAllowed, isJsonContentType, isLoopbackHost, parseHostHeader, parseHostPatterns, sameOrigin } from '../../common/http-browser-guard.js';
import { credentialsMatch, parseAuthorization } from '../../node/http/client-auth.js';
import { allowedHostPatterns } from '../../node/http/browser-guard.js';
import { queueCommand } from '../../node/commands/transactions-queue.js';
import { isHttpCommandName } from '../../node/server/connection.js';
import type { ClientState, CommandSpec } from '../../node/commands/types.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('node doors (pure rules)', () => {
  describe('Host header', () => {
    const patterns = parseHostPatterns('*.svc,*.svc.cluster.local,db.example.com');
    it('accepts IP literals, localhost names and allowed patterns, with or without a port', () => {
      for (const h of ['127.0.0.1', '10.0.0.5:8080', '[::1]', '[fd00::5]:8080', 'localhost:1', 'a.localhost', 'LOCALHOST', 'x.ns.svc', 'p-0.h.ns.svc.cluster.local:8080', 'db.example.com', 'DB.Example.COM.:80']) {
        expect(hostAllowed(h, patterns), h).to.equal(true);
      }
    });
    it('refuses other names, lookalikes, malformed and missing headers', () => {
      for (const h of [undefined, '', 'evil.example', 'svc', 'evilsvc', 'x.svc.evil.example', 'localhost.evil.example', 'db.example.com.evil', 'a b', 'user@127.0.0.1', '127.0.0.1:99999x', '[not-ip]:80', '127.0.0.1/x']) {
        expect(hostAllowed(h, patterns), String(h)).to.equal(false);
      }
    });
    it('"*" allows any well-formed host', () => {
      expect(hostAllowed('anything.example', parseHostPatterns('*'))).to.equal(true);
    });
    it('rejects malformed patterns with the entry named', () => {
      expect(() => parseHostPatterns('ok.example, bad pattern')).to.throw(RangeError, /"bad pattern"/);
      expect(() => parseHostPatterns('*.*')).to.throw(RangeError);
      expect(parseHostPatterns(' A.example , ,*.B ')).to.deep.equal(['a.example', '*.b']);
    });
    it('adds the announce host and node name to the setting', () => {
      const p = allowedHostPatterns({ httpAllowedHosts: '', announceHost: 'Node-A.example', nodeName: 'irisdb-0' });
      expect(hostAllowed('node-a.example:8080', p)).to.equal(true);
      expect(hostAllowed('irisdb-0', p)).to.equal(true);
      expect(hostAllowed('irisdb-1', p)).to.equal(false);
    });
    it('parses and recognises loopback hosts (the control API\'s rule)', () => {
      expect(parseHostHeader('[::1]:80')).to.deep.equal({ name: '::1', port: '80' });
      expect(isLoopbackHost('127.0.0.2:9')).to.equal(true);
      expect(isLoopbackHost('10.0.0.1')).to.equal(false);
      expect(isLoopbackHost(undefined)).to.equal(false);
    });
  });

  describe('Origin and body type', () => {
    it('same origin means the same host and port over http(s)', () => {
      expect(sameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080')).to.equal(true);
      expect(sameOrigin('http://localhost', 'localhost:80')).to.equal(true);
      expect(sameOrigin('https://db.example:443', 'db.example:443')).to.equal(true);
      expect(sameOrigin('http://evil.example', '127.0.0.1:8080')).to.equal(false);
      expect(sameOrigin('http://127.0.0.1:8081', '127.0.0.1:8080')).to.equal(false);
      expect(sameOrigin('null', '127.0.0.1')).to.equal(false);
      expect(sameOrigin('file://x', 'x')).to.equal(false);
      expect(sameOrigin('http://127.0.0.1', undefined)).to.equal(false);
    });
    it('only application/json is JSON', () => {
      expect(isJsonContentType('application/json')).to.equal(true);
      expect(isJsonContentType('Application/JSON; charset=utf-8')).to.equal(true);
      for (const t of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=a', 'application/jsonx']) {
        expect(isJsonContentType(t), String(t)).to.equal(false);
      }
    });
  });

  describe('HTTP credentials', () => {
    it('parses Basic and Bearer, and nothing else', () => {
      expect(parseAuthorization(`Basic ${b64('default:p:w')}`)).to.deep.equal({ user: 'default', pass: Buffer.from('p:w') });
      expect(parseAuthorization('bearer tok')).to.deep.equal({ user: 'default', pass: Buffer.from('tok') });
      for (const h of [undefined, '', 'Basic', 'Basic !!', `Basic ${b64('nocolon')}`, 'Digest x', 'tok']) {
        expect(parseAuthorization(h), String(h)).to.equal(null);
      }
    });
    it('matches only user default with the exact password', () => {
      expect(credentialsMatch(`Basic ${b64('default:pw')}`, 'pw')).to.equal(true);
      expect(credentialsMatch('Bearer pw', 'pw')).to.equal(true);
      expect(credentialsMatch(`Basic ${b64('root:pw')}`, 'pw')).to.equal(false);
      expect(credentialsMatch('Bearer pw2', 'pw')).to.equal(false);
      expect(credentialsMatch('Bearer p', 'pw')).to.equal(false);
      expect(credentialsMatch(undefined, 'pw')).to.equal(false);
    });
  });

  describe('MULTI queue limits', () => {
    const spec = { name: 'set' } as unknown as CommandSpec;
    const client = (): ClientState => ({ multi: { queue: [], bytes: 0, aborted: false }, watchDirty: false }) as unknown as ClientState;
    const argv = (n: number): Buffer[] => [Buffer.from('SET'), Buffer.from('k'), Buffer.alloc(n)];

    it('queues up to maxMultiCommands, then aborts and drops the queue', () => {
      const c = client();
      for (let i = 0; i < 3; i++) expect(queueCommand(c, spec, argv(1), { maxMultiCommands: 3, maxMultiBytes: 1e9 }).kind).to.equal('simple');
      const r = queueCommand(c, spec, argv(1), { maxMultiCommands: 3, maxMultiBytes: 1e9 });
      expect(r.kind).to.equal('error');
      expect(String((r as { value?: unknown }).value)).to.match(/maxMultiCommands \(3\)/);
      expect(c.multi).to.deep.include({ aborted: true, bytes: 0 });
      expect(c.multi!.queue).to.have.length(0);
      // Doomed: later commands answer QUEUED and store nothing.
      expect(queueCommand(c, spec, argv(1), { maxMultiCommands: 3, maxMultiBytes: 1e9 }).kind).to.equal('simple');
      expect(c.multi!.queue).to.have.length(0);
    });
    it('counts argument bytes against maxMultiBytes', () => {
      const c = client();
      expect(queueCommand(c, spec, argv(96), { maxMultiCommands: 100, maxMultiBytes: 100 }).kind).to.equal('simple');
      expect(c.multi!.bytes).to.equal(100);
      const r = queueCommand(c, spec, argv(0), { maxMultiCommands: 100, maxMultiBytes: 100 });
      expect(String((r as { value?: unknown }).value)).to.match(/maxMultiBytes \(100\)/);
      expect(c.multi!.aborted).to.equal(true);
    });
  });

  it('recognises the command names of an HTTP request on the RESP port', () => {
    for (const n of ['POST', 'post', 'Host:', 'HOST:']) expect(isHttpCommandName(Buffer.from(n)), n).to.equal(true);
    for (const n of ['GET', 'host', 'posts', 'SET']) expect(isHttpCommandName(Buffer.from(n)), n).to.equal(false);
  });
});
