/**
 * The HTTP/JSON API of a real irisdb-node process (issue 2, "It must show"
 * item 6): CRUD, TTL, compare-and-set, atomic batches under an injected
 * storage failure, scan pagination over 10k keys, binary safety checked
 * against the Redis protocol, and 4xx JSON for bad requests.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { percentEncode } from '../../node/http/codec.js';
import { startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';
import { jsonPost } from '../support/http-headers.js';


interface Result {
  status: number;
  headers: Headers;
  body: Buffer;
  // Parsed JSON, loosely typed: the tests index into it freely and assert on shapes.
  json: any;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('HTTP API against irisdb-node', function () {
  let node: RunningNode;
  let redis: Redis;

  async function call(method: string, p: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Result> {
    const res = await fetch(node.url + p, { method, body: init.body, headers: jsonPost(method, init.headers) });
    const body = Buffer.from(await res.arrayBuffer());
    const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
    if (res.status >= 400) expect(isJson, `${method} ${p} -> ${res.status} is JSON`).to.equal(true);
    return { status: res.status, headers: res.headers, body, json: isJson ? JSON.parse(body.toString()) : undefined };
  }
  const batch = (ops: unknown[]) => call('POST', '/v1/kv:batch', { body: JSON.stringify({ ops }) });

  /** Sends bytes on a raw socket and returns the status line and body (for requests fetch will not make). */
  function rawRequest(data: string | Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const s = net.connect(node.httpPort, '127.0.0.1', () => s.write(data));
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        out += d;
        const head = out.indexOf('\r\n\r\n');
        const len = /content-length: (\d+)/i.exec(out);
        if (head !== -1 && len && out.length >= head + 4 + Number(len[1])) s.destroy();
      });
      s.on('close', () => {
        const m = /^HTTP\/1\.1 (\d+)/.exec(out);
        if (!m) return reject(new Error(`no HTTP response: ${JSON.stringify(out.slice(0, 200))}`));
        resolve({ status: Number(m[1]), body: out.slice(out.indexOf('\r\n\r\n') + 4) });
      });
      s.on('error', reject);
    });
  }

  before(async () => {
    node = await startNode({ args: ['--max-key-bytes', '1024', '--max-value-bytes', '65536', '--max-http-body-bytes', '1048576', '--max-scan-limit', '2000'] });
    redis = new Redis({ port: node.port, host: '127.0.0.1' });
  });
  after(async () => {
    redis.disconnect();
    await node.stop();
  });

  it('creates, reads, replaces and deletes a key', async () => {
    const put = await call('PUT', '/v1/kv/user%3A1', { body: '{"name":"ada"}', headers: { 'content-type': 'application/json' } });
    expect(put.status).to.equal(200);
    expect(put.json).to.have.keys('version', 'expiresAt');
    expect(put.headers.get('etag')).to.equal(`"${put.json.version}"`);
    const get = await call('GET', '/v1/kv/user:1');
    expect(get.body.toString()).to.equal('{"name":"ada"}');
    expect(get.headers.get('etag')).to.equal(`"${put.json.version}"`);
    expect(await redis.get('user:1')).to.equal('{"name":"ada"}');
    const again = await call('PUT', '/v1/kv/user:1', { body: 'v2' });
    expect(again.json.version).to.be.greaterThan(put.json.version);
    expect((await call('GET', '/v1/kv/user:1?format=json')).json).to.deep.equal({
      key: 'user:1', keyEncoding: 'utf8', value: 'v2', valueEncoding: 'utf8', version: again.json.version, expiresAt: null,
    });
    expect((await call('DELETE', '/v1/kv/user:1')).json).to.deep.equal({ deleted: true });
    const gone = await call('GET', '/v1/kv/user:1');
    expect(gone.status).to.equal(404);
    expect(gone.json.error.code).to.equal('not_found');
    expect(await redis.exists('user:1')).to.equal(0);
  });

  it('expires a key with a TTL and keeps one without', async () => {
    const short = await call('PUT', '/v1/kv/ttl:short?ttlMs=1500', { body: 'x' });
    const long = await call('PUT', '/v1/kv/ttl:long', { body: 'y', headers: { 'X-Iris-TTL-Ms': '3600000' } });
    expect(short.json.expiresAt).to.be.a('number');
    expect(long.json.expiresAt - short.json.expiresAt).to.be.greaterThan(3_000_000);
    const pttl = await redis.pttl('ttl:long');
    expect(pttl).to.be.within(1, 3_600_000);
    await waitFor('ttl:short to expire', async () => (await call('GET', '/v1/kv/ttl:short')).status === 404, { timeoutMs: 15000 });
    const kept = await call('GET', '/v1/kv/ttl:long');
    expect(kept.status).to.equal(200);
    expect(kept.headers.get('x-iris-expires-at')).to.equal(String(long.json.expiresAt));
    expect(await redis.exists('ttl:short')).to.equal(0);
  });

  it('rejects a stale If-Match with 412 and applies a current one', async () => {
    const v1 = (await call('PUT', '/v1/kv/cas:x', { body: 'one' })).json.version as number;
    await redis.set('cas:x', 'changed behind our back');
    const stale = await call('PUT', '/v1/kv/cas:x', { body: 'two', headers: { 'If-Match': `"${v1}"` } });
    expect(stale.status).to.equal(412);
    expect(stale.json.error.code).to.equal('precondition_failed');
    const current = stale.json.error.details.currentVersion as number;
    expect(current).to.be.greaterThan(v1);
    expect(await redis.get('cas:x')).to.equal('changed behind our back');
    const ok = await call('PUT', '/v1/kv/cas:x', { body: 'two', headers: { 'If-Match': `"${current}"` } });
    expect(ok.status).to.equal(200);
    expect(await redis.get('cas:x')).to.equal('two');
    expect((await call('DELETE', '/v1/kv/cas:x', { headers: { 'If-Match': `"${current}"` } })).status).to.equal(412);
    expect((await call('DELETE', '/v1/kv/cas:x', { headers: { 'If-Match': `"${ok.json.version}"` } })).json).to.deep.equal({ deleted: true });
  });

  it('lets exactly one of several concurrent CAS writers win each version', async () => {
    let version = (await call('PUT', '/v1/kv/cas:race', { body: '0' })).json.version as number;
    const history: string[] = ['0'];
    for (let round = 1; round <= 10; round++) {
      const writers = Array.from({ length: 6 }, (_, w) => `${round}.${w}`);
      const results = await Promise.all(writers.map((v) => call('PUT', '/v1/kv/cas:race', { body: v, headers: { 'If-Match': `"${version}"` } })));
      const won = results.map((r, i) => ({ r, v: writers[i]! })).filter((x) => x.r.status === 200);
      expect(won, `round ${round}`).to.have.length(1);
      expect(results.every((r) => r.status === 200 || r.status === 412)).to.equal(true);
      version = won[0]!.r.json.version;
      history.push(won[0]!.v);
      expect(await redis.get('cas:race')).to.equal(won[0]!.v);
    }
    expect(new Set(history).size).to.equal(11);
  });

  it('creates a key only once under concurrent If-None-Match: *', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      call('PUT', '/v1/kv/once:key', { body: `w${i}`, headers: { 'If-None-Match': '*' } })));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).to.have.length(1);
    expect(results.filter((r) => r.status === 412)).to.have.length(7);
    const value = (await call('GET', '/v1/kv/once:key')).body.toString();
    expect(value).to.equal(`w${results.indexOf(winners[0]!)}`);
  });

  describe('atomic batches', () => {
    // Keys share a {hash tag} so MGET can check them in one slot.
    it('applies every operation in order', async () => {
      const r = await batch([
        { op: 'put', key: '{acct}:alice', value: '100' },
        { op: 'put', key: '{acct}:bob', value: '0', ttlMs: 3_600_000 },
        { op: 'get', key: '{acct}:alice' },
        { op: 'delete', key: '{acct}:nobody' },
      ]);
      expect(r.status).to.equal(200);
      expect(r.json.results.map((x: { op: string }) => x.op)).to.deep.equal(['put', 'put', 'get', 'delete']);
      expect(r.json.results[2]).to.deep.include({ found: true, value: '100' });
      expect(r.json.results[3]).to.deep.equal({ op: 'delete', deleted: false });
      expect(await redis.mget('{acct}:alice', '{acct}:bob')).to.deep.equal(['100', '0']);
    });

    it('applies nothing when a precondition fails', async () => {
      const alice = await call('GET', '/v1/kv/{acct}:alice');
      const va = Number(alice.headers.get('etag')!.slice(1, -1));
      const r = await batch([
        { op: 'put', key: '{acct}:alice', value: '50', ifVersion: va },
        { op: 'put', key: '{acct}:bob', value: '50' },
        { op: 'put', key: '{acct}:carol', value: '1', ifAbsent: true },
        { op: 'put', key: '{acct}:bob', value: '999', ifAbsent: true }, // bob exists: fails
      ]);
      expect(r.status).to.equal(412);
      expect(r.json.error.details).to.deep.include({ op: 3, key: '{acct}:bob' });
      expect(await redis.mget('{acct}:alice', '{acct}:bob', '{acct}:carol')).to.deep.equal(['100', '0', null]);
      expect((await call('GET', '/v1/kv/{acct}:alice')).headers.get('etag')).to.equal(`"${va}"`);
    });

    it('applies nothing when SQLite fails in the middle of the batch, and keeps serving', async () => {
      // A real storage failure: a trigger, added from another connection to
      // the node's database, makes SQLite abort any write of one key.
      const db = new Database(path.join(node.dataDir, 'irisdb.sqlite'));
      const poison = Buffer.from('{acct}:poison').toString('hex');
      db.exec(`CREATE TRIGGER test_poison BEFORE INSERT ON kv WHEN NEW.key = X'${poison}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
      let r: Result;
      try {
        r = await batch([
          { op: 'put', key: '{acct}:alice', value: '0' },
          { op: 'put', key: '{acct}:bob', value: '100' },
          { op: 'delete', key: '{acct}:bob' },
          { op: 'put', key: '{acct}:dave', value: '7' },
          { op: 'put', key: '{acct}:poison', value: 'x' },
          { op: 'put', key: '{acct}:erin', value: '8' },
        ]);
      } finally {
        db.exec('DROP TRIGGER test_poison');
        db.close();
      }
      expect(r.status).to.be.oneOf([500, 503]);
      expect(r.json.error.code).to.equal('write_failed');
      expect(r.json.error.message).to.match(/not applied/);
      expect(await redis.mget('{acct}:alice', '{acct}:bob', '{acct}:dave', '{acct}:poison', '{acct}:erin')).to.deep.equal(['100', '0', null, null, null]);
      // Fault gone: the same batch now goes through.
      expect((await batch([{ op: 'put', key: '{acct}:poison', value: 'x' }])).status).to.equal(200);
      expect(await redis.get('{acct}:poison')).to.equal('x');
      expect((await call('GET', '/healthz')).status).to.equal(200);
    });
  });

  describe('scan', () => {
    const N = 10_000;
    const keyOf = (i: number) => `scan:${String(i).padStart(5, '0')}`;

    before(async () => {
      for (let start = 0; start < N; start += 1000) {
        const ops = Array.from({ length: 1000 }, (_, j) => ({ op: 'put', key: keyOf(start + j), value: `v${start + j}` }));
        expect((await batch(ops)).status).to.equal(200);
      }
      // Neighbours just outside the prefix on both sides.
      await batch([{ op: 'put', key: 'scan9', value: 'x' }, { op: 'put', key: 'scam:zzz', value: 'x' }, { op: 'put', key: 'scan;', value: 'x' }]);
    });

    it('pages through 10k keys under a prefix with no duplicates or gaps', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Result = await call('GET', `/v1/scan?prefix=scan%3A&limit=333${cursor === null ? '' : `&cursor=${cursor}`}`);
        expect(r.status).to.equal(200);
        expect(r.json.items.length).to.be.at.most(333);
        for (const it of r.json.items as Array<{ key: string; value: string }>) {
          expect(it.value).to.equal(`v${Number(it.key.slice(5))}`);
          seen.push(it.key);
        }
        cursor = r.json.cursor;
        pages++;
      } while (cursor !== null && pages < 1000);
      expect(seen.length).to.equal(N);
      expect(new Set(seen).size).to.equal(N);
      expect(seen).to.deep.equal(Array.from({ length: N }, (_, i) => keyOf(i)));
      expect(pages).to.equal(Math.ceil(N / 333));
    });

    it('sees a stable key set exactly once while other keys change during the scan', async () => {
      const seen = new Map<string, number>();
      let cursor: string | null = null;
      let round = 0;
      do {
        // Churn outside the scanned set between pages.
        await batch([{ op: 'put', key: `scan:churn:${round}`, value: 'c' }, { op: 'delete', key: `scan:churn:${round - 1}` }]);
        const r: Result = await call('GET', `/v1/scan?prefix=scan%3A0&limit=1000&values=false${cursor === null ? '' : `&cursor=${cursor}`}`);
        for (const it of r.json.items as Array<{ key: string; value?: string }>) {
          expect(it).to.not.have.property('value');
          seen.set(it.key, (seen.get(it.key) ?? 0) + 1);
        }
        cursor = r.json.cursor;
        round++;
      } while (cursor !== null && round < 100);
      expect(seen.size).to.equal(N);
      expect([...seen.values()].every((n) => n === 1)).to.equal(true);
    });
  });

  describe('binary safety', () => {
    it('round-trips a key and a value made of all 256 byte values, readable by ioredis as the same bytes', async () => {
      const key = Buffer.concat([Buffer.from('bin:'), ALL_BYTES]);
      const value = Buffer.concat([ALL_BYTES, ALL_BYTES.reverse()]);
      ALL_BYTES.reverse();
      expect((await call('PUT', `/v1/kv/${percentEncode(key)}`, { body: value })).status).to.equal(200);
      expect((await call('GET', `/v1/kv/${key.toString('base64url')}?keyEncoding=base64`)).body.equals(value)).to.equal(true);
      expect((await redis.getBuffer(key))!.equals(value)).to.equal(true);
      const j = (await call('GET', `/v1/kv/${percentEncode(key)}?format=json`)).json;
      expect(j.keyEncoding).to.equal('base64');
      expect(Buffer.from(j.key, 'base64').equals(key)).to.equal(true);
      expect(Buffer.from(j.value, j.valueEncoding).equals(value)).to.equal(true);
      // And the other way round: written over RESP, read over HTTP and scan.
      const k2 = Buffer.concat([Buffer.from('bin2:'), ALL_BYTES]);
      await redis.set(k2, ALL_BYTES);
      expect((await call('GET', `/v1/kv/${percentEncode(k2)}`)).body.equals(ALL_BYTES)).to.equal(true);
      const page = (await call('GET', `/v1/scan?prefix=${percentEncode(Buffer.from('bin2:'))}&encoding=base64`)).json;
      expect(page.items).to.have.length(1);
      expect(Buffer.from(page.items[0].key, 'base64').equals(k2)).to.equal(true);
      expect(Buffer.from(page.items[0].value, 'base64').equals(ALL_BYTES)).to.equal(true);
    });

    it('round-trips arbitrary keys and values between HTTP and RESP (property)', async () => {
      await fc.assert(fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.uint8Array({ maxLength: 2000 }), fc.boolean(),
        async (k, v, writeViaHttp) => {
          const key = Buffer.concat([Buffer.from('prop:'), Buffer.from(k)]);
          const value = Buffer.from(v);
          if (writeViaHttp) {
            const p = `/v1/kv/${percentEncode(key)}`;
            expect((await call('PUT', p, { body: value })).status).to.equal(200);
            expect((await redis.getBuffer(key))!.equals(value)).to.equal(true);
          } else {
            await redis.set(key, value);
            const r = await batch([{ op: 'get', key: key.toString('base64'), keyEncoding: 'base64', valueEncoding: 'base64' }]);
            expect(Buffer.from(r.json.results[0].value, 'base64').equals(value)).to.equal(true);
          }
          expect((await call('GET', `/v1/kv/${key.toString('base64')}?keyEncoding=base64`)).body.equals(value)).to.equal(true);
        },
      ), { numRuns: 100 });
    });

    it('stores the empty key through keyEncoding=base64', async () => {
      expect((await call('PUT', '/v1/kv/?keyEncoding=base64', { body: 'empty' })).status).to.equal(200);
      expect(await redis.get('')).to.equal('empty');
      expect((await call('DELETE', '/v1/kv/?keyEncoding=base64')).json).to.deep.equal({ deleted: true });
    });
  });

  describe('bad requests', () => {
    const cases: Array<[string, string, string | Buffer | undefined, Record<string, string>, number, string]> = [
      ['malformed JSON', '/v1/kv:batch', '{"ops": [', {}, 400, 'bad_request'],
      ['binary garbage as JSON', '/v1/kv:batch', Buffer.from([0xff, 0xfe, 0, 1, 2]), {}, 400, 'bad_request'],
      ['JSON of the wrong shape', '/v1/kv:batch', '{"ops": {"op": "get"}}', {}, 400, 'bad_request'],
      ['unknown op', '/v1/kv:batch', '{"ops": [{"op": "flushall", "key": "a"}]}', {}, 400, 'bad_request'],
      ['too many ops', '/v1/kv:batch', JSON.stringify({ ops: Array.from({ length: 1001 }, () => ({ op: 'get', key: 'a' })) }), {}, 413, 'too_many_ops'],
      ['body over the limit', '/v1/kv:batch', JSON.stringify({ ops: [{ op: 'put', key: 'a', value: 'x'.repeat(1_100_000) }] }), {}, 413, 'payload_too_large'],
      ['unsupported content encoding', '/v1/kv:batch', '{"ops": []}', { 'content-encoding': 'zstd-ish' }, 415, 'unsupported'],
    ];
    for (const [name, p, body, headers, status, code] of cases) {
      it(`answers ${name} with ${status} ${code}`, async () => {
        const r = await call('POST', p, { body, headers });
        expect(r.status).to.equal(status);
        expect(r.json.error.code).to.equal(code);
        expect(r.json.error.message).to.be.a('string').and.not.equal('');
      });
    }

    it('answers bad keys, values, numbers, routes and methods with 4xx JSON', async () => {
      const checks: Array<[string, string, string | undefined, number, string]> = [
        ['PUT', `/v1/kv/${'k'.repeat(1025)}`, 'x', 413, 'key_too_large'],
        ['PUT', '/v1/kv/big', 'x'.repeat(65537), 413, 'value_too_large'],
        ['GET', '/v1/kv/%zz', undefined, 400, 'bad_request'],
        ['GET', '/v1/kv/', undefined, 400, 'bad_request'],
        ['GET', '/v1/kv/***?keyEncoding=base64', undefined, 400, 'bad_request'],
        ['PUT', '/v1/kv/n?ttlMs=soon', 'x', 400, 'bad_request'],
        ['PUT', '/v1/kv/n?ttlMs=0', 'x', 400, 'bad_request'],
        ['GET', '/v1/scan?limit=2001', undefined, 400, 'bad_request'],
        ['GET', '/v1/scan?limit=-1', undefined, 400, 'bad_request'],
        ['GET', '/v1/scan?cursor=not-a-cursor', undefined, 400, 'bad_request'],
        ['GET', '/v1/nothing', undefined, 404, 'not_found'],
        ['PATCH', '/v1/kv/a', 'x', 405, 'method_not_allowed'],
        ['DELETE', '/v1/scan', undefined, 405, 'method_not_allowed'],
      ];
      for (const [method, p, body, status, code] of checks) {
        const r = await call(method, p, { body });
        expect(r.status, `${method} ${p}`).to.equal(status);
        expect(r.json.error.code, `${method} ${p}`).to.equal(code);
      }
      expect((await call('PATCH', '/v1/kv/a')).headers.get('allow')).to.equal('GET, PUT, DELETE, HEAD, OPTIONS');
      expect(await redis.exists('big')).to.equal(0);
      expect(await redis.exists('n')).to.equal(0);
    });

    it('refuses a huge declared body before reading it', async () => {
      const r = await rawRequest('PUT /v1/kv/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000000\r\nConnection: close\r\n\r\nabc');
      expect(r.status).to.equal(413);
      expect(JSON.parse(r.body).error.code).to.be.oneOf(['value_too_large', 'payload_too_large']);
    });

    it('answers requests that fail HTTP parsing with 4xx JSON', async () => {
      const bad = await rawRequest('GET /v1/kv/a b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(bad.status).to.equal(400);
      expect(JSON.parse(bad.body).error.code).to.equal('bad_request');
      const huge = await rawRequest(`GET /v1/kv/a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: ${'j'.repeat(400_000)}\r\n\r\n`);
      expect(huge.status).to.equal(431);
      expect(JSON.parse(huge.body).error.code).to.equal('payload_too_large');
      expect((await call('GET', '/healthz')).status).to.equal(200);
    });
  });

  it('publishes an OpenAPI 3.1 document that covers every route', async () => {
    const r = await call('GET', '/v1/openapi.json');
    expect(r.status).to.equal(200);
    const doc = r.json as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.openapi).to.equal('3.1.0');
    expect(Object.keys(doc.paths).sort()).to.deep.equal(['/healthz', '/metrics', '/readyz', '/v1/changes', '/v1/kv/{key}', '/v1/kv:batch', '/v1/kv:import', '/v1/openapi.json', '/v1/scan']);
    // The change feed is a stream that never ends: it is probed with a malformed position (400, documented).
    const concrete = (p: string) => (p === '/v1/changes' ? '/v1/changes?from=probe' : p.replace('{key}', 'doc-probe'));
    for (const [p, item] of Object.entries(doc.paths)) {
      const methods = Object.keys(item).map((m) => m.toUpperCase());
      for (const m of methods) {
        const res = await call(m, concrete(p), m === 'POST' ? { body: '{"ops": []}' } : m === 'PUT' ? { body: 'x' } : {});
        // Served: neither "no route" nor "method not allowed"...
        expect(res.status, `${m} ${p}`).to.not.equal(405);
        if (res.status === 404) expect(res.json.error.message, `${m} ${p}`).to.not.match(/^no route/);
        // ...and the status it answered with is documented.
        expect(Object.keys(item[m.toLowerCase()]!.responses), `${m} ${p} documents ${res.status}`).to.include(String(res.status));
      }
      // Undocumented methods are refused, and Allow lists exactly the documented ones.
      const probe = await call(methods.includes('PUT') ? 'PATCH' : 'PUT', concrete(p), { body: 'x' });
      expect(probe.status).to.equal(405);
      const allow = probe.headers.get('allow')!.split(', ').filter((m) => m !== 'HEAD' && m !== 'OPTIONS');
      expect(allow.sort()).to.deep.equal([...methods].sort());
    }
    await call('DELETE', '/v1/kv/doc-probe');
    // Every $ref points somewhere.
    for (const ref of new Set(JSON.stringify(doc).match(/"\$ref":"#\/[^"]+"/g) ?? [])) {
      let at: unknown = doc;
      for (const part of ref.slice(10, -1).split('/')) at = (at as Record<string, unknown>)[part];
      expect(at, ref).to.not.equal(undefined);
    }
  });
});
