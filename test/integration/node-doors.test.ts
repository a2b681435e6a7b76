/**
 * The node's doors as an attacker probes them (issue #14 items 1, 4, 5, 6):
 * the HTTP KV API behind --require-pass, requests a web page could make
 * (cross-origin, text/plain bodies, DNS rebinding Host names), HTTP sent to
 * the RESP port, an unbounded MULTI queue, and unauthenticated connections
 * held open. A real irisdb-node process, real HTTP and raw RESP sockets.
 */
import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { silentLogger } from '../../common/logger.js';
import { DEFAULT_RESTART_POLICY, NodeProcess } from '../../operator/local/node-process.js';
import { RawRespClient } from '../support/resp-client.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const PASS = 's3cret';
const BASIC = 'Basic ' + Buffer.from(`default:${PASS}`).toString('base64');

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** node:http, because fetch will not send a chosen Host header. */
function request(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorCode = (a: Answer): string => (JSON.parse(a.body) as { error: { code: string } }).error.code;

/** Resolves once the server has closed the socket (bounded by waitFor). */
async function closedByServer(socket: net.Socket, what: string): Promise<void> {
  let closed = false;
  socket.once('close', () => { closed = true; });
  socket.resume(); // read what is sent, or the FIN behind it is never seen
  await waitFor(what, () => closed, { timeoutMs: 10000 });
}

describe('node doors: authentication and browser-reachable requests', function () {
  let node: RunningNode;
  let redis: Redis;
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => request(node.httpPort, method, path, headers, body);

  before(async () => {
    node = await startNode({ args: ['--require-pass', PASS, '--announce-host', 'node-a.example.test'] });
    redis = new Redis({ port: node.port, host: '127.0.0.1', password: PASS });
    await redis.set('secret:1', 'top');
  });
  after(async () => {
    redis.disconnect();
    await node.stop();
  });

  describe('the HTTP KV API needs the password when --require-pass is set', () => {
    it('answers 401 with WWW-Authenticate and no data to every /v1 request without credentials', async () => {
      const attempts: Array<[string, string, string | undefined]> = [
        ['GET', '/v1/scan', undefined],
        // Spellings that still reach a route must not skip the check.
        ['GET', '/v1//scan', undefined],
        ['GET', '/v1/scan/', undefined],
        ['GET', '/v1/%73can', undefined],
        ['GET', '/v1/kv/secret:1', undefined],
        ['PUT', '/v1/kv/pwned', 'x'],
        ['DELETE', '/v1/kv/secret:1', undefined],
        ['POST', '/v1/kv:batch', JSON.stringify({ ops: [{ op: 'put', key: 'pwned', value: 'x' }] })],
        // The import's bulk load (issue #19): credentials are checked before the body is read.
        ['PUT', '/v1/kv:import', 'rows'],
      ];
      for (const [method, path, body] of attempts) {
        const a = await call(method, path, body === undefined ? {} : { 'content-type': 'application/json' }, body);
        expect(a.status, `${method} ${path}`).to.equal(401);
        expect(errorCode(a)).to.equal('unauthorized');
        expect(a.headers['www-authenticate'], `${method} ${path}`).to.match(/^Basic realm="irisdb"/);
        expect(a.body).to.not.include('top');
      }
      expect(await redis.get('pwned')).to.equal(null);
      expect(await redis.get('secret:1')).to.equal('top');
    });

    it('refuses a wrong password, a wrong user and malformed credentials', async () => {
      const wrong = [
        'Bearer nope',
        'Basic ' + Buffer.from('default:nope').toString('base64'),
        'Basic ' + Buffer.from(`admin:${PASS}`).toString('base64'),
        'Basic !!!',
        `Bearer ${PASS}x`,
        PASS,
      ];
      for (const authorization of wrong) {
        const a = await call('GET', '/v1/kv/secret:1', { authorization });
        expect(a.status, authorization).to.equal(401);
        expect(a.body).to.not.include('top');
      }
    });

    it('serves requests with Basic default:<password> or Bearer <password>', async () => {
      const put = await call('PUT', '/v1/kv/ok:1', { authorization: BASIC }, 'v1');
      expect(put.status).to.equal(200);
      const get = await call('GET', '/v1/kv/ok:1', { authorization: `Bearer ${PASS}` });
      expect(get.status).to.equal(200);
      expect(get.body).to.equal('v1');
      const scan = await call('GET', '/v1/scan?prefix=secret', { authorization: BASIC });
      expect(scan.status).to.equal(200);
      expect(scan.body).to.include('top');
      const b = await call('POST', '/v1/kv:batch', { authorization: BASIC, 'content-type': 'application/json' }, JSON.stringify({ ops: [{ op: 'get', key: 'ok:1' }] }));
      expect(b.status).to.equal(200);
    });

    it('keeps probes, metrics and the OpenAPI document open', async () => {
      for (const path of ['/healthz', '/readyz', '/metrics', '/v1/openapi.json']) {
        expect((await call('GET', path)).status, path).to.equal(200);
      }
    });
  });

  describe('requests a web page could send are refused', () => {
    const batchBody = (key: string) => JSON.stringify({ ops: [{ op: 'put', key, value: 'x' }] });

    it('refuses a cross-origin Origin even with the right credentials', async () => {
      const a = await call('POST', '/v1/kv:batch', { authorization: BASIC, 'content-type': 'application/json', origin: 'http://evil.example' }, batchBody('csrf:1'));
      expect(a.status).to.equal(403);
      expect(errorCode(a)).to.equal('forbidden');
      expect((await call('GET', '/v1/kv/secret:1', { authorization: BASIC, origin: 'null' })).status).to.equal(403);
      expect(await redis.get('csrf:1')).to.equal(null);
    });

    it('refuses batch bodies that are not application/json (text/plain, form, multipart, none)', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
        const headers: Record<string, string> = { authorization: BASIC };
        if (type !== undefined) headers['content-type'] = type;
        const a = await call('POST', '/v1/kv:batch', headers, batchBody('csrf:2'));
        expect(a.status, String(type)).to.equal(415);
        expect(errorCode(a)).to.equal('unsupported');
      }
      expect(await redis.get('csrf:2')).to.equal(null);
      const ok = await call('POST', '/v1/kv:batch', { authorization: BASIC, 'content-type': 'application/json; charset=utf-8' }, batchBody('csrf:ok'));
      expect(ok.status).to.equal(200);
    });

    it('still takes raw values of any content type on PUT (a browser must preflight a PUT)', async () => {
      const a = await call('PUT', '/v1/kv/raw:1', { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' }, 'a=b');
      expect(a.status).to.equal(200);
      expect(await redis.get('raw:1')).to.equal('a=b');
    });

    it('refuses a Host header that is not an IP, localhost, the announce host or an allowed name (DNS rebinding)', async () => {
      for (const host of ['evil.example', 'evil.example:8080', 'attacker.127.0.0.1.nip.io', 'irisdb.prod', 'localhost.evil.example']) {
        const a = await call('GET', '/v1/kv/secret:1', { authorization: BASIC, host });
        expect(a.status, JSON.stringify(host)).to.equal(403);
        expect(a.body).to.not.include('top');
      }
      for (const host of [`127.0.0.1:${node.httpPort}`, `localhost:${node.httpPort}`, '[::1]:80', '10.1.2.3', 'node-a.example.test:8080', 'irisdb-0.irisdb.prod.svc', 'irisdb.prod.svc.cluster.local:8080']) {
        const a = await call('GET', '/v1/kv/secret:1', { authorization: BASIC, host });
        expect(a.status, host).to.equal(200);
      }
    });

    it('accepts a same-origin Origin', async () => {
      const a = await call('GET', '/v1/kv/secret:1', { authorization: BASIC, host: `127.0.0.1:${node.httpPort}`, origin: `http://127.0.0.1:${node.httpPort}` });
      expect(a.status).to.equal(200);
    });
  });

  describe('HTTP sent to the RESP port', () => {
    for (const firstLine of ['POST / HTTP/1.1', 'Host: 127.0.0.1']) {
      it(`closes the connection at "${firstLine.split(' ')[0]}" and runs nothing after it`, async () => {
        const socket = net.connect(node.port, '127.0.0.1');
        const closed = closedByServer(socket, 'the RESP port to close the connection');
        const payload = `AUTH ${PASS}\r\nSET xproto:${firstLine.length} 1\r\n`;
        socket.write(`${firstLine}\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`);
        socket.on('error', () => {});
        await closed;
        expect(await redis.get(`xproto:${firstLine.length}`)).to.equal(null);
        expect(node.logs()).to.include('Possible SECURITY ATTACK detected');
      });
    }
  });
});

describe('node doors: bounded MULTI queues', function () {
  let node: RunningNode;

  before(async () => {
    node = await startNode({ args: ['--max-multi-commands', '10', '--max-multi-bytes', '4kb'] });
  });
  after(async () => {
    await node.stop();
  });

  it('refuses the command past maxMultiCommands and discards the transaction', async () => {
    const c = await RawRespClient.connect(node.port);
    try {
      expect((await c.call(['MULTI'])).toString()).to.equal('+OK\r\n');
      const queued = await c.pipeline(Array.from({ length: 10 }, (_, i) => ['SET', `mq:${i}`, 'v']));
      expect(queued.map(String)).to.deep.equal(Array(10).fill('+QUEUED\r\n'));
      expect((await c.call(['SET', 'mq:10', 'v'])).toString()).to.match(/^-ERR MULTI queue limit reached.*maxMultiCommands/);
      expect((await c.call(['EXEC'])).toString()).to.equal('-EXECABORT Transaction discarded because of previous errors.\r\n');
      expect((await c.call(['EXISTS', 'mq:0'])).toString()).to.equal(':0\r\n');
      expect((await c.call(['EXISTS', 'mq:10'])).toString()).to.equal(':0\r\n');
    } finally {
      c.close();
    }
  });

  it('refuses the command past maxMultiBytes and keeps no more than the limit queued', async () => {
    const c = await RawRespClient.connect(node.port);
    try {
      await c.call(['MULTI']);
      const value = 'x'.repeat(1024);
      const replies = (await c.pipeline(Array.from({ length: 8 }, (_, i) => ['SET', `mb:${i}`, value]))).map(String);
      const firstError = replies.findIndex((r) => r.startsWith('-'));
      expect(firstError, replies.join('')).to.be.within(1, 4);
      expect(replies[firstError]).to.match(/^-ERR MULTI queue limit reached.*maxMultiBytes/);
      expect((await c.call(['EXEC'])).toString()).to.match(/^-EXECABORT/);
      expect((await c.call(['EXISTS', 'mb:0'])).toString()).to.equal(':0\r\n');
      // The connection stays usable, and a new transaction starts empty.
      await c.call(['MULTI']);
      expect((await c.call(['SET', 'mb:new', 'v'])).toString()).to.equal('+QUEUED\r\n');
      expect((await c.call(['EXEC'])).toString()).to.equal('*1\r\n+OK\r\n');
    } finally {
      c.close();
    }
  });
});

describe('node doors: unauthenticated connections time out', function () {
  let node: RunningNode;

  before(async () => {
    node = await startNode({ args: ['--require-pass', PASS, '--auth-timeout-ms', '300', '--metrics-require-pass'] });
  });
  after(async () => {
    await node.stop();
  });

  it('closes a RESP connection that does not authenticate in time, and keeps an authenticated one', async () => {
    const authed = await RawRespClient.connect(node.port);
    expect((await authed.call(['AUTH', PASS])).toString()).to.equal('+OK\r\n');
    const idle = net.connect(node.port, '127.0.0.1');
    idle.on('error', () => {});
    await closedByServer(idle, 'the unauthenticated RESP connection to be closed');
    // Also one that keeps talking without authenticating.
    const chatty = await RawRespClient.connect(node.port);
    expect((await chatty.call(['PING'])).toString()).to.match(/^-NOAUTH/);
    await closedByServer(chatty.socket, 'the chatty unauthenticated RESP connection to be closed');
    expect((await authed.call(['PING'])).toString()).to.equal('+PONG\r\n');
    authed.close();
  });

  it('gives a connection de-authenticated by RESET the same time to authenticate again', async () => {
    const c = await RawRespClient.connect(node.port);
    expect((await c.call(['AUTH', PASS])).toString()).to.equal('+OK\r\n');
    expect((await c.call(['RESET'])).toString()).to.equal('+RESET\r\n');
    expect((await c.call(['PING'])).toString()).to.match(/^-NOAUTH/);
    await closedByServer(c.socket, 'the RESET connection to be closed');
  });

  it('puts /metrics behind the password with --metrics-require-pass; probes stay open', async () => {
    const anonymous = await request(node.httpPort, 'GET', '/metrics');
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body).to.not.include('irisdb_');
    const scraped = await request(node.httpPort, 'GET', '/metrics', { authorization: BASIC });
    expect(scraped.status).to.equal(200);
    expect(scraped.body).to.include('irisdb_');
    expect((await request(node.httpPort, 'GET', '/readyz')).status).to.equal(200);
  });

  it('closes an HTTP connection that sends nothing, and one whose requests are unauthenticated', async () => {
    const idle = net.connect(node.httpPort, '127.0.0.1');
    idle.on('error', () => {});
    await closedByServer(idle, 'the idle HTTP connection to be closed');
    const keepAlive = net.connect(node.httpPort, '127.0.0.1');
    keepAlive.on('error', () => {});
    const closed = closedByServer(keepAlive, 'the unauthenticated keep-alive HTTP connection to be closed');
    keepAlive.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await closed;
  });
});

describe('node doors: the node log file (local platform)', function () {
  it('is created readable by its owner only, in a private directory, and an older one is tightened', async () => {
    const dir = await makeTempDir('irisdb-node-log-');
    const logFile = path.join(dir, 'logs', 'n0.log');
    const older = path.join(dir, 'logs-old', 'n1.log');
    fs.mkdirSync(path.dirname(older), { recursive: true, mode: 0o755 });
    fs.writeFileSync(older, 'old line\n', { mode: 0o644 });
    fs.chmodSync(older, 0o644);
    const procs = [logFile, older].map((file, i) => new NodeProcess(
      { name: `n${i}`, args: ['-e', 'setInterval(() => {}, 1000)'], env: {}, dataDir: path.join(dir, `data${i}`), logFile: file },
      DEFAULT_RESTART_POLICY, { changed: () => {}, exited: () => {} }, silentLogger(),
    ));
    try {
      for (const p of procs) p.start();
      await waitFor('both processes to start', () => procs.every((p) => p.pid !== null));
      for (const file of [logFile, older]) {
        expect(fs.statSync(file).mode & 0o777, file).to.equal(0o600);
      }
      for (const file of [logFile, older]) expect(fs.statSync(path.dirname(file)).mode & 0o777, path.dirname(file)).to.equal(0o700);
      expect(fs.readFileSync(older, 'utf8')).to.match(/^old line\n/);
    } finally {
      await Promise.all(procs.map((p) => p.stop(2000)));
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});
