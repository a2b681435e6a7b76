/**
 * The control API's authentication (issue #14 item 6): every route but
 * /healthz needs the cluster token as a Bearer credential, so a local
 * process that can reach the loopback port cannot fail over or scale the
 * cluster. Real HTTP on 127.0.0.1 with an in-memory ControlTarget.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import winston from 'winston';
import { bearerMatches, checkControlToken } from '../../operator/control-api/auth.js';
import { type ListeningControlApi, listenControlApi } from '../../operator/control-api/server.js';
import { FakeTarget, TOKEN, expectError, raw } from '../support/control-api-fixture.js';

describe('control API bearer check (auth.ts)', () => {
  it('matches exactly "Bearer <token>", any case of the scheme, and nothing else (property)', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).to.equal(true);
    expect(bearerMatches(`BEARER  ${TOKEN}`, TOKEN)).to.equal(true);
    for (const h of [undefined, '', 'Bearer', `Bearer ${TOKEN} x`, `Basic ${TOKEN}`, `Bearer ${TOKEN.toUpperCase()}`, ` Bearer ${TOKEN}`]) {
      expect(bearerMatches(h, TOKEN), String(h)).to.equal(false);
    }
    fc.assert(fc.property(fc.string(), (h) => {
      expect(bearerMatches(h, TOKEN)).to.equal(/^bearer +(\S+) *$/i.exec(h)?.[1] === TOKEN);
    }));
  });

  it('refuses a token too short to be a secret', () => {
    expect(() => checkControlToken('x'.repeat(31))).to.throw(/at least 32 characters/);
    expect(checkControlToken(TOKEN)).to.equal(TOKEN);
  });
});

describe('control API authentication', () => {
  let target: FakeTarget;
  let api: ListeningControlApi;

  before(async () => {
    target = new FakeTarget();
    const addr = { host: '127.0.0.1', port: 0, token: TOKEN };
    api = await listenControlApi(target, addr, winston.createLogger({ silent: true }));
  });
  after(async () => {
    target.release();
    await api.close();
  });
  beforeEach(() => {
    target.calls = [];
  });

  it('refuses every request but /healthz without the token, with 401 and a Bearer challenge', async () => {
    const noToken = {};
    const cases: Array<[string, string, string | undefined]> = [
      ['POST', '/failover', '{"shard":"shard-1"}'],
      ['POST', '/switchover', '{"shard":"shard-1"}'],
      ['POST', '/scale', '{"shards":4}'],
      ['POST', '/rebalance', '{}'],
      ['POST', '/restart', '{"node":"iris-shard-0-1"}'],
      ['GET', '/status', undefined],
    ];
    for (const [method, path, body] of cases) {
      const r = await raw(api.url, method, path, body, { 'content-type': 'application/json' }, noToken);
      expectError(r, 401, 'unauthorized', /token/);
      expect(r.challenge, path).to.equal('Bearer realm="irisdb-control"');
    }
    expect(target.calls, 'nothing reached the controller').to.deep.equal([]);
    expect((await raw(api.url, 'GET', '/healthz', undefined, {}, noToken)).status).to.equal(200);
  });

  it('refuses a wrong token, another scheme, and a token of another length', async () => {
    for (const authorization of [`Bearer ${'0'.repeat(64)}`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, `Bearer ${TOKEN}0`, 'Bearer', `${TOKEN}`]) {
      expectError(await raw(api.url, 'POST', '/failover', '{"shard":"shard-1"}', { 'content-type': 'application/json' }, { authorization }), 401, 'unauthorized');
    }
    expect(target.calls).to.deep.equal([]);
  });

  it('accepts the token (scheme case-insensitive, as RFC 7235 says)', async () => {
    expect((await raw(api.url, 'POST', '/failover', '{"shard":"shard-1"}', { 'content-type': 'application/json' }, { authorization: `bearer ${TOKEN}` })).status).to.equal(202);
    expect(target.calls).to.deep.equal([{ verb: 'failover', shard: 'shard-1' }]);
  });
});
