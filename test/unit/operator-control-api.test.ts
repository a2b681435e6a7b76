/**
 * The control API's HTTP layer over real HTTP on 127.0.0.1 with an
 * in-memory ControlTarget: routes, status codes, the error mapping, body
 * validation (fuzzed: no body ever gives a 500), the web-page guards, and
 * ControlClient's typed errors. Authentication: operator-control-api-auth.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import winston from 'winston';
import { ControlApiError, ControlClient } from '../../operator/control-api/client.js';
import { type ListeningControlApi, listenControlApi } from '../../operator/control-api/server.js';
import { ControlError } from '../../operator/control-api/types.js';
import { SpecError } from '../../operator/core/spec.js';
import { type Call, FakeTarget, STATUS, TOKEN, expectError, post, raw } from '../support/control-api-fixture.js';


describe('control API server', () => {
  let target: FakeTarget;
  let api: ListeningControlApi;
  let logged: string[];

  before(async () => {
    target = new FakeTarget();
    logged = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logged.push(chunk.toString()); cb(); } });
    const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
    api = await listenControlApi(target, { host: '127.0.0.1', port: 0, token: TOKEN }, logger);
  });
  after(async () => {
    target.release();
    await api.close();
  });
  beforeEach(() => {
    target.calls = [];
    target.fail = null;
    target.statusFail = null;
    target.hang = false;
    logged.length = 0;
  });

  it('listens on loopback and reports its URL', () => {
    expect(api.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses to listen anywhere but loopback', async () => {
    let caught: unknown;
    try {
      await listenControlApi(target, { host: '0.0.0.0', port: 0, token: TOKEN }, winston.createLogger({ silent: true }));
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.match(/loopback only/);
  });

  it('answers /healthz and /status', async () => {
    expect((await raw(api.url, 'GET', '/healthz')).status).to.equal(200);
    const r = await raw(api.url, 'GET', '/status');
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.equal(STATUS);
  });

  it('accepts each request with 202 and passes it on', async () => {
    const cases: Array<[string, unknown, Call]> = [
      ['/failover', { shard: 'shard-1' }, { verb: 'failover', shard: 'shard-1' }],
      ['/switchover', { shard: 'shard-0' }, { verb: 'switchover', shard: 'shard-0' }],
      ['/switchover', { shard: 'shard-0', to: 'iris-0-1' }, { verb: 'switchover', shard: 'shard-0', to: 'iris-0-1' }],
      ['/scale', { shards: 4 }, { verb: 'scale', req: { shards: 4 } }],
      ['/scale', { replicasPerShard: 2 }, { verb: 'scale', req: { replicasPerShard: 2 } }],
      ['/scale', { shards: 2, replicasPerShard: 0 }, { verb: 'scale', req: { shards: 2, replicasPerShard: 0 } }],
      ['/rebalance', {}, { verb: 'rebalance' }],
      ['/restart', { node: 'iris-shard-0-1' }, { verb: 'restart', node: 'iris-shard-0-1' }],
    ];
    for (const [path, body, call] of cases) {
      target.calls = [];
      const r = await post(api.url, path, body);
      expect(r.status, path).to.equal(202);
      expect(r.body).to.deep.equal({ id: 'op-1', message: `${call.verb} started` });
      expect(target.calls).to.deep.equal([call]);
    }
  });

  it('accepts POST /rebalance without a body', async () => {
    const r = await raw(api.url, 'POST', '/rebalance');
    expect(r.status).to.equal(202);
    expect(target.calls).to.deep.equal([{ verb: 'rebalance' }]);
  });

  it('maps ControlError codes to 400, 404, 409 and 503', async () => {
    const codes = [['bad_request', 400], ['not_found', 404], ['conflict', 409], ['unavailable', 503]] as const;
    for (const [code, status] of codes) {
      target.fail = new ControlError(code, `refused: ${code}`);
      expectError(await post(api.url, '/failover', { shard: 'shard-1' }), status, code, new RegExp(`^refused: ${code}$`));
      target.statusFail = new ControlError(code, `status ${code}`);
      expectError(await raw(api.url, 'GET', '/status'), status, code);
      target.statusFail = null;
    }
    expect(logged.length, 'refusals are not logged as failures').to.equal(0);
  });

  it('maps a SpecError to 400 naming the field', async () => {
    target.fail = new SpecError('shards', 'shards must be an integer from 1 to 128 (got 0)');
    expectError(await post(api.url, '/scale', { shards: 1 }), 400, 'bad_request', /shards/);
  });

  it('answers anything else with a 500 that it logs, without the details', async () => {
    target.fail = new Error('disk on fire');
    const r = await post(api.url, '/rebalance', {});
    expectError(r, 500, 'internal');
    expect(JSON.stringify(r.body)).to.not.contain('disk on fire');
    expect(logged.join('')).to.contain('disk on fire');
    target.statusFail = new TypeError('boom');
    expectError(await raw(api.url, 'GET', '/status'), 500, 'internal');
  });

  it('refuses bad bodies with a 400 naming the field', async () => {
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['/failover', '{"shard":', /not valid JSON/],
      ['/failover', '"shard-1"', /not valid JSON/],
      ['/failover', '[]', /JSON object/],
      ['/failover', '{}', /field "shard" is required/],
      ['/failover', undefined, /field "shard" is required/],
      ['/failover', '{"shard":1}', /field "shard" must be a name/],
      ['/failover', '{"shard":"a b"}', /field "shard"/],
      ['/failover', '{"shard":"shard-1","force":true}', /unknown field "force"/],
      ['/switchover', '{"shard":"shard-1","to":7}', /field "to"/],
      ['/switchover', '{"to":"x"}', /field "shard" is required/],
      ['/scale', '{}', /"shards", "replicasPerShard" or both/],
      ['/scale', '{"shards":"4"}', /field "shards" must be an integer/],
      ['/scale', '{"shards":2.5}', /field "shards"/],
      ['/scale', '{"shards":0}', /field "shards" must be an integer from 1 to 128/],
      ['/scale', '{"replicasPerShard":-1}', /field "replicasPerShard"/],
      ['/scale', '{"replicasPerShard":6}', /field "replicasPerShard"/],
      ['/scale', '{"replicas":1}', /unknown field "replicas"/],
      ['/rebalance', '{"now":true}', /unknown field "now"/],
      ['/rebalance', 'null', /not valid JSON/],
    ];
    for (const [path, body, message] of cases) {
      expectError(await raw(api.url, 'POST', path, body, { 'content-type': 'application/json' }), 400, 'bad_request', message);
    }
    expect(target.calls).to.deep.equal([]);
  });

  it('answers 400 to a body it cannot read (a truncated gzip stream)', async () => {
    expectError(await raw(api.url, 'POST', '/failover', '', { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400, 'bad_request', /could not be read/);
    expect(logged).to.deep.equal([]);
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const big = JSON.stringify({ shard: 'x'.repeat(70 * 1024) });
    expectError(await raw(api.url, 'POST', '/failover', big, { 'content-type': 'application/json' }), 413, 'payload_too_large');
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expectError(await raw(api.url, 'GET', '/nope'), 404, 'not_found');
    expectError(await raw(api.url, 'GET', '/failover'), 405, 'method_not_allowed');
    expectError(await raw(api.url, 'DELETE', '/status'), 405, 'method_not_allowed');
  });

  it('refuses requests from web pages: an Origin header, or a Host that is not loopback', async () => {
    expectError(await raw(api.url, 'POST', '/rebalance', '{}', { 'content-type': 'text/plain', origin: 'https://evil.example' }), 403, 'forbidden');
    expectError(await raw(api.url, 'GET', '/status', undefined, { host: 'evil.example:80' }), 403, 'forbidden');
    expect((await raw(api.url, 'GET', '/status', undefined, { host: 'localhost:1' })).status).to.equal(200);
    expect((await raw(api.url, 'GET', '/status', undefined, { host: '[::1]:1' })).status).to.equal(200);
    expect(target.calls).to.deep.equal([]);
  });

  it('never answers 500 to any body', async () => {
    const body = fc.oneof(
      fc.json().map((j) => Buffer.from(j)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
      fc.record({
        shard: fc.oneof(fc.string(), fc.constant('shard-1'), fc.jsonValue()),
        to: fc.oneof(fc.string(), fc.jsonValue()),
        shards: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
        replicasPerShard: fc.oneof(fc.integer({ min: -2, max: 8 }), fc.jsonValue()),
      }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))),
      fc.string().map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    );
    const headers = fc.record({
      'content-type': fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded'),
      'content-encoding': fc.constantFrom('identity', 'gzip', 'br', 'bogus'),
    }, { requiredKeys: ['content-type'] });
    await fc.assert(fc.asyncProperty(fc.constantFrom('/failover', '/switchover', '/scale', '/rebalance'), body, headers, async (path, b, h) => {
      const r = await raw(api.url, 'POST', path, b, h);
      expect(r.status, `${path} ${b.toString('utf8')} → ${JSON.stringify(r.body)}`).to.be.oneOf([202, 400, 413, 415]);
      if (r.status !== 202) expect((r.body as { error: { code: string } }).error.code).to.be.a('string');
    }), { numRuns: 400 });
    expect(logged, 'nothing logged as a failure').to.deep.equal([]);
  });
});


describe('ControlClient', () => {
  let target: FakeTarget;
  let api: ListeningControlApi;

  before(async () => {
    target = new FakeTarget();
    api = await listenControlApi(target, { host: '127.0.0.1', port: 0, token: TOKEN }, winston.createLogger({ silent: true }));
  });
  after(async () => {
    target.release();
    await api.close();
  });
  beforeEach(() => {
    target.calls = [];
    target.fail = null;
    target.hang = false;
  });

  async function rejection(p: Promise<unknown>): Promise<ControlApiError> {
    try {
      await p;
    } catch (err) {
      expect(err).to.be.instanceOf(ControlApiError);
      return err as ControlApiError;
    }
    throw new Error('expected a ControlApiError');
  }

  it('reads the status and sends every request', async () => {
    const c = new ControlClient(api.url + '/', TOKEN);
    expect(await c.status()).to.deep.equal(STATUS);
    expect(await c.failover('shard-1')).to.deep.equal({ id: 'op-1', message: 'failover started' });
    await c.switchover('shard-0');
    await c.switchover('shard-0', 'iris-0-1');
    await c.scale({ shards: 4 });
    await c.scale({ replicasPerShard: 2 });
    await c.rebalance();
    expect(target.calls).to.deep.equal([
      { verb: 'failover', shard: 'shard-1' },
      { verb: 'switchover', shard: 'shard-0' },
      { verb: 'switchover', shard: 'shard-0', to: 'iris-0-1' },
      { verb: 'scale', req: { shards: 4 } },
      { verb: 'scale', req: { replicasPerShard: 2 } },
      { verb: 'rebalance' },
    ]);
  });

  it('throws ControlApiError with the status, code and message of a refusal', async () => {
    const c = new ControlClient(api.url, TOKEN);
    target.fail = new ControlError('conflict', 'a rebalance is under way (op-3)');
    const e = await rejection(c.rebalance());
    expect([e.status, e.code, e.message]).to.deep.equal([409, 'conflict', 'a rebalance is under way (op-3)']);
    const bad = await rejection(c.scale({}));
    expect([bad.status, bad.code]).to.deep.equal([400, 'bad_request']);
  });

  it('sends the token, read per request when given as a function, and reports a refusal as unauthorized', async () => {
    let reads = 0;
    const lazy = new ControlClient(api.url, async () => { reads++; return TOKEN; });
    expect((await lazy.status()).phase).to.equal('Ready');
    await lazy.failover('shard-1');
    expect(reads).to.equal(2);
    const e = await rejection(new ControlClient(api.url, 'cd'.repeat(32)).failover('shard-1'));
    expect([e.status, e.code]).to.deep.equal([401, 'unauthorized']);
    expect(e.message).to.match(/cluster token/);
    expect(target.calls).to.deep.equal([{ verb: 'failover', shard: 'shard-1' }]);
  });

  it('refuses to serve with a token too short to be a secret', async () => {
    let caught: unknown;
    try {
      await listenControlApi(target, { host: '127.0.0.1', port: 0, token: '' }, winston.createLogger({ silent: true }));
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.match(/token must be at least 32 characters/);
  });

  it('says the controller is not running when nothing listens', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = http.createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closed}`;
    const e = await rejection(new ControlClient(url, TOKEN).status());
    expect([e.status, e.code]).to.deep.equal([0, 'unreachable']);
    expect(e.message).to.equal(`no controller answers at ${url}: is \`irisctl local up\` running?`);
  });

  it('gives up on a controller that does not answer in time', async () => {
    target.hang = true;
    const e = await rejection(new ControlClient(api.url, TOKEN, 100).rebalance());
    expect([e.status, e.code]).to.deep.equal([0, 'timeout']);
    expect(e.message).to.match(/did not answer within 100 ms/);
    target.release();
  });

  it('refuses an answer that is not JSON or not a status', async () => {
    const s = http.createServer((req, res) => {
      res.writeHead(req.url === '/status' ? 200 : 502, { 'content-type': 'text/html' });
      res.end(req.url === '/status' ? '{"hello":1}' : '<html>bad gateway</html>');
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const c = new ControlClient(`http://127.0.0.1:${(s.address() as AddressInfo).port}`, TOKEN);
      expect((await rejection(c.status())).code).to.equal('bad_response');
      const e = await rejection(c.rebalance());
      expect([e.status, e.code]).to.deep.equal([502, 'bad_response']);
    } finally {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
