/**
 * The HTTP app in-process over a real engine (SQLite in a temp dir), driven
 * with fetch on 127.0.0.1. The clock passed to the app is controlled by the
 * test, so TTLs are checked without waiting.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import express from 'express';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { NodeConfig } from '../../node/config/schema.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { HttpDeps } from '../../node/http/deps.js';
import { AckGate } from '../../node/replication/ack-gate.js';
import { keySlot } from '../../common/slot.js';
import { percentEncode } from '../../node/http/codec.js';
import { resolveRef, validateJson, type JsonSchema } from '../../node/http/json-schema.js';
import { startHttpApp, type HttpAppFixture } from '../support/http-app-fixture.js';
import { waitFor } from '../support/wait.js';
import { jsonPost } from '../support/http-headers.js';

interface Harness extends HttpAppFixture {
  clock: { now: number };
  ready: { value: boolean };
}

async function startApp(overrides: Partial<NodeConfig> = {}, admin?: express.Router, replication?: HttpDeps['replication'] | ((engine: SqliteEngine) => HttpDeps['replication']), keyRouter?: HttpDeps['keyRouter']): Promise<Harness> {
  const clock = { now: 1_700_000_000_000 };
  const ready = { value: true };
  const fixture = await startHttpApp(overrides, (engine) => ({
    isReady: () => ready.value, now: () => clock.now, ...(admin ? { admin } : {}),
    ...(replication ? { replication: typeof replication === 'function' ? replication(engine) : replication } : {}),
    ...(keyRouter ? { keyRouter } : {}),
  }));
  return { ...fixture, clock, ready, close: () => fixture.close() };
}


interface Result {
  status: number;
  headers: Headers;
  body: Buffer;
  json: unknown;
}

/** The documented route template of a request path, for schema lookup. */
function templateOf(p: string): string {
  if (p.startsWith('/v1/kv:batch')) return '/v1/kv:batch';
  if (p.startsWith('/v1/kv')) return '/v1/kv/{key}';
  return p.split('?')[0]!;
}

/**
 * fetch + a check that every JSON response conforms to what the OpenAPI
 * document says this route returns with this status.
 */
async function call(h: Harness, method: string, p: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Result> {
  const res = await fetch(h.url + p, { method, body: init.body, headers: jsonPost(method, init.headers) });
  const body = Buffer.from(await res.arrayBuffer());
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  const json: unknown = isJson ? JSON.parse(body.toString('utf8')) : undefined;
  const doc = h.app.openApi;
  const op = doc.paths[templateOf(p)]?.[method.toLowerCase()] as { responses: Record<string, { $ref?: string; content?: Record<string, { schema: JsonSchema }> }> } | undefined;
  if (op !== undefined && isJson && res.status !== 405) {
    let resp = op.responses[String(res.status)];
    expect(resp, `${method} ${p} documents status ${res.status}`).to.not.equal(undefined);
    if (resp!.$ref) resp = (doc.components.responses as Record<string, typeof resp>)[resp!.$ref.split('/').pop()!];
    const schema = resp!.content?.['application/json']?.schema;
    expect(schema, `${method} ${p} ${res.status} documents a JSON body`).to.not.equal(undefined);
    expect(validateJson(schema!, json, doc.components.schemas)).to.equal(null);
  }
  if (res.status >= 400) {
    expect(isJson, `${method} ${p} ${res.status} error is JSON`).to.equal(true);
    expect(validateJson({ $ref: '#/components/schemas/Error' }, json, doc.components.schemas)).to.equal(null);
  }
  return { status: res.status, headers: res.headers, body, json };
}

const errCode = (r: Result): string => (r.json as { error: { code: string } }).error.code;
const batch = (h: Harness, ops: unknown[]) => call(h, 'POST', '/v1/kv:batch', { body: JSON.stringify({ ops }) });

/**
 * A real SQLite failure on demand: triggers, created from a second
 * connection, that make any write of one key fail inside SQLite with
 * RAISE(ABORT). The engine sees it as it would a disk or constraint error.
 */
function poisonKey(dir: string, key: Buffer): () => void {
  const db = new Database(path.join(dir, 'irisdb.sqlite'));
  const hex = key.toString('hex');
  for (const when of ['INSERT', 'UPDATE']) {
    db.exec(`CREATE TRIGGER test_poison_${when.toLowerCase()} BEFORE ${when} ON kv WHEN NEW.key = X'${hex}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  }
  return () => {
    db.exec('DROP TRIGGER test_poison_insert; DROP TRIGGER test_poison_update');
    db.close();
  };
}

describe('HTTP API (in-process, real engine)', function () {
  let h: Harness;
  before(async () => { h = await startApp(); });
  after(async () => { await h.close(); });

  describe('single keys', () => {
    it('puts, gets (raw, json, HEAD) and deletes', async () => {
      const put = await call(h, 'PUT', '/v1/kv/greeting', { body: 'hello' });
      expect(put.status).to.equal(200);
      const { version } = put.json as { version: number };
      expect(put.headers.get('etag')).to.equal(`"${version}"`);

      const get = await call(h, 'GET', '/v1/kv/greeting');
      expect(get.status).to.equal(200);
      expect(get.body.toString()).to.equal('hello');
      expect(get.headers.get('content-type')).to.equal('application/octet-stream');
      expect(get.headers.get('etag')).to.equal(`"${version}"`);
      expect(get.headers.get('x-iris-expires-at')).to.equal(null);

      const head = await call(h, 'HEAD', '/v1/kv/greeting');
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-length')).to.equal('5');
      expect(head.body.length).to.equal(0);

      const json = await call(h, 'GET', '/v1/kv/greeting?format=json');
      expect(json.json).to.deep.equal({ key: 'greeting', keyEncoding: 'utf8', value: 'hello', valueEncoding: 'utf8', version, expiresAt: null });
      const b64 = await call(h, 'GET', '/v1/kv/greeting?format=json&encoding=base64');
      expect(b64.json).to.deep.include({ key: 'Z3JlZXRpbmc=', keyEncoding: 'base64', value: 'aGVsbG8=', valueEncoding: 'base64' });

      expect((await call(h, 'DELETE', '/v1/kv/greeting')).json).to.deep.equal({ deleted: true });
      expect((await call(h, 'DELETE', '/v1/kv/greeting')).json).to.deep.equal({ deleted: false });
      const gone = await call(h, 'GET', '/v1/kv/greeting');
      expect(gone.status).to.equal(404);
      expect(errCode(gone)).to.equal('not_found');
    });

    it('stores an empty body as an empty value, whatever the content type', async () => {
      expect((await call(h, 'PUT', '/v1/kv/empty', { body: '' })).status).to.equal(200);
      expect((await call(h, 'GET', '/v1/kv/empty')).body.length).to.equal(0);
      await call(h, 'PUT', '/v1/kv/typed', { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      expect((await call(h, 'GET', '/v1/kv/typed')).body.toString()).to.equal('{"a":1}');
    });

    it('sets TTLs from ?ttlMs or X-Iris-TTL-Ms and expires keys by the clock', async () => {
      const t0 = h.clock.now;
      const a = await call(h, 'PUT', '/v1/kv/ttl-a?ttlMs=1000', { body: 'x' });
      expect(a.json).to.deep.include({ expiresAt: t0 + 1000 });
      const b = await call(h, 'PUT', '/v1/kv/ttl-b', { body: 'x', headers: { 'X-Iris-TTL-Ms': '5000' } });
      expect(b.json).to.deep.include({ expiresAt: t0 + 5000 });
      expect((await call(h, 'GET', '/v1/kv/ttl-a')).headers.get('x-iris-expires-at')).to.equal(String(t0 + 1000));
      h.clock.now = t0 + 1000;
      expect((await call(h, 'GET', '/v1/kv/ttl-a')).status).to.equal(404);
      expect((await call(h, 'GET', '/v1/kv/ttl-b')).status).to.equal(200);
      // A PUT without TTL clears it (as Redis SET does).
      await call(h, 'PUT', '/v1/kv/ttl-b', { body: 'y' });
      h.clock.now = t0 + 10_000;
      expect((await call(h, 'GET', '/v1/kv/ttl-b?format=json')).json).to.deep.include({ expiresAt: null, value: 'y' });
    });

    it('rejects bad TTLs with 400', async () => {
      for (const q of ['ttlMs=0', 'ttlMs=-5', 'ttlMs=1e3', 'ttlMs=abc', 'ttlMs=1&ttlMs=2']) {
        const r = await call(h, 'PUT', `/v1/kv/badttl?${q}`, { body: 'x' });
        expect(r.status, q).to.equal(400);
        expect(errCode(r)).to.equal('bad_request');
      }
      const r = await call(h, 'PUT', '/v1/kv/badttl?ttlMs=5', { body: 'x', headers: { 'X-Iris-TTL-Ms': '6' } });
      expect(r.status).to.equal(400);
      expect((await call(h, 'GET', '/v1/kv/badttl')).status).to.equal(404);
    });
  });

  describe('conditional requests', () => {
    it('compare-and-set with If-Match', async () => {
      const v1 = ((await call(h, 'PUT', '/v1/kv/cas', { body: '1' })).json as { version: number }).version;
      const stale = await call(h, 'PUT', '/v1/kv/cas', { body: 'x', headers: { 'If-Match': `"${v1 + 1000}"` } });
      expect(stale.status).to.equal(412);
      expect(errCode(stale)).to.equal('precondition_failed');
      expect((stale.json as { error: { details: unknown } }).error.details).to.deep.equal({ currentVersion: v1 });
      const ok = await call(h, 'PUT', '/v1/kv/cas', { body: '2', headers: { 'If-Match': `"${v1}"` } });
      expect(ok.status).to.equal(200);
      const v2 = (ok.json as { version: number }).version;
      expect(v2).to.be.greaterThan(v1);
      // The old version no longer matches: exactly one of two writers holding v1 wins.
      expect((await call(h, 'PUT', '/v1/kv/cas', { body: '3', headers: { 'If-Match': `"${v1}"` } })).status).to.equal(412);
      expect((await call(h, 'GET', '/v1/kv/cas')).body.toString()).to.equal('2');
      expect((await call(h, 'PUT', '/v1/kv/cas-absent', { body: 'x', headers: { 'If-Match': '*' } })).status).to.equal(412);
      expect((await call(h, 'GET', '/v1/kv/cas-absent')).status).to.equal(404);
    });

    it('lets exactly one of many concurrent writers win each version', async () => {
      let version = ((await call(h, 'PUT', '/v1/kv/race', { body: 'start' })).json as { version: number }).version;
      for (let round = 0; round < 5; round++) {
        const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) =>
          call(h, 'PUT', '/v1/kv/race', { body: `r${round}w${i}`, headers: { 'If-Match': `"${version}"` } })));
        const winners = attempts.filter((a) => a.status === 200);
        expect(winners).to.have.length(1);
        expect(attempts.filter((a) => a.status === 412)).to.have.length(7);
        const get = await call(h, 'GET', '/v1/kv/race');
        expect(get.headers.get('etag')).to.equal(winners[0]!.headers.get('etag'));
        version = Number(get.headers.get('etag')!.slice(1, -1));
      }
    });

    it('creates only with If-None-Match: *', async () => {
      expect((await call(h, 'PUT', '/v1/kv/once', { body: 'a', headers: { 'If-None-Match': '*' } })).status).to.equal(200);
      const again = await call(h, 'PUT', '/v1/kv/once', { body: 'b', headers: { 'If-None-Match': '*' } });
      expect(again.status).to.equal(412);
      expect((await call(h, 'GET', '/v1/kv/once')).body.toString()).to.equal('a');
    });

    it('deletes only at the expected version', async () => {
      const v = ((await call(h, 'PUT', '/v1/kv/del-cas', { body: 'a' })).json as { version: number }).version;
      expect((await call(h, 'DELETE', '/v1/kv/del-cas', { headers: { 'If-Match': `"${v + 1}"` } })).status).to.equal(412);
      expect((await call(h, 'DELETE', '/v1/kv/del-cas', { headers: { 'If-Match': `"${v}"` } })).json).to.deep.equal({ deleted: true });
      expect((await call(h, 'DELETE', '/v1/kv/del-cas', { headers: { 'If-Match': `"${v}"` } })).status).to.equal(412);
    });

    it('answers 304 to a GET whose If-None-Match matches, and 400 to a malformed condition', async () => {
      const v = ((await call(h, 'PUT', '/v1/kv/cond', { body: 'a' })).json as { version: number }).version;
      const nm = await call(h, 'GET', '/v1/kv/cond', { headers: { 'If-None-Match': `"${v}"` } });
      expect(nm.status).to.equal(304);
      expect(nm.headers.get('etag')).to.equal(`"${v}"`);
      expect((await call(h, 'GET', '/v1/kv/cond', { headers: { 'If-None-Match': `"${v + 1}"` } })).status).to.equal(200);
      const bad = await call(h, 'PUT', '/v1/kv/cond', { body: 'b', headers: { 'If-Match': '"unterminated' } });
      expect(bad.status).to.equal(400);
      expect((await call(h, 'GET', '/v1/kv/cond')).body.toString()).to.equal('a');
    });
  });

  describe('binary-safe keys', () => {
    it('decodes %XX to raw bytes, treats %2F and "/" alike, keeps "+" literal', async () => {
      await call(h, 'PUT', '/v1/kv/a%2Fb', { body: '1' });
      expect((await call(h, 'GET', '/v1/kv/a/b')).body.toString()).to.equal('1');
      await call(h, 'PUT', '/v1/kv/a+b', { body: '2' });
      expect((await call(h, 'GET', '/v1/kv/a%2Bb')).body.toString()).to.equal('2');
      await call(h, 'PUT', '/v1/kv/%00%FF', { body: '3' });
      expect((await call(h, 'GET', `/v1/kv/${Buffer.from([0, 255]).toString('base64')}?keyEncoding=base64`)).body.toString()).to.equal('3');
      expect(h.engine.keyspace.get(Buffer.from([0, 255]), h.clock.now)!.value.toString()).to.equal('3');
    });

    it('addresses the empty key only through keyEncoding=base64', async () => {
      expect((await call(h, 'GET', '/v1/kv/')).status).to.equal(400);
      expect((await call(h, 'PUT', '/v1/kv/?keyEncoding=base64', { body: 'empty key' })).status).to.equal(200);
      expect((await call(h, 'GET', '/v1/kv?keyEncoding=base64')).body.toString()).to.equal('empty key');
      expect(h.engine.keyspace.get(Buffer.alloc(0), h.clock.now)!.value.toString()).to.equal('empty key');
      await call(h, 'DELETE', '/v1/kv/?keyEncoding=base64');
    });

    it('rejects malformed keys with 400', async () => {
      for (const p of ['/v1/kv/%', '/v1/kv/%G0', '/v1/kv/a%2', '/v1/kv/abc!?keyEncoding=base64', '/v1/kv/a?keyEncoding=hex']) {
        const r = await call(h, 'GET', p);
        expect(r.status, p).to.equal(400);
      }
    });

    it('round-trips arbitrary key and value bytes (property)', async () => {
      await fc.assert(fc.asyncProperty(
        fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 512 }), fc.boolean(),
        async (k, v, viaBase64) => {
          // A fixed first byte keeps generated keys out of the other tests' key ranges.
          const key = Buffer.concat([Buffer.from([0x01]), k]);
          const p = viaBase64 ? `/v1/kv/${key.toString('base64url')}?keyEncoding=base64` : `/v1/kv/${percentEncode(key)}`;
          expect((await call(h, 'PUT', p, { body: Buffer.from(v) })).status).to.equal(200);
          const got = await call(h, 'GET', p);
          expect(got.status).to.equal(200);
          expect(got.body.equals(Buffer.from(v))).to.equal(true);
          expect(h.engine.keyspace.get(key, h.clock.now)!.value.equals(Buffer.from(v))).to.equal(true);
          const j = (await call(h, 'GET', `${p}${viaBase64 ? '&' : '?'}format=json`)).json as { key: string; keyEncoding: BufferEncoding; value: string; valueEncoding: BufferEncoding };
          expect(Buffer.from(j.key, j.keyEncoding).equals(key)).to.equal(true);
          expect(Buffer.from(j.value, j.valueEncoding).equals(Buffer.from(v))).to.equal(true);
        },
      ), { numRuns: 150 });
    });
  });

  describe('batch', () => {
    it('applies gets, puts and deletes in order and returns results in order', async () => {
      const r = await batch(h, [
        { op: 'put', key: 'b:1', value: 'one' },
        { op: 'put', key: 'b:2', value: 'AP8=', valueEncoding: 'base64', ttlMs: 60_000 },
        { op: 'get', key: 'b:1' },
        { op: 'get', key: 'b:2', valueEncoding: 'base64' },
        { op: 'delete', key: 'b:1' },
        { op: 'get', key: 'b:1' },
      ]);
      expect(r.status).to.equal(200);
      const results = (r.json as { results: Array<Record<string, unknown>> }).results;
      expect(results.map((x) => x.op)).to.deep.equal(['put', 'put', 'get', 'get', 'delete', 'get']);
      expect(results[2]).to.deep.include({ found: true, key: 'b:1', value: 'one', version: results[0]!.version });
      expect(results[3]).to.deep.include({ found: true, value: 'AP8=', valueEncoding: 'base64', expiresAt: h.clock.now + 60_000 });
      expect(results[4]).to.deep.equal({ op: 'delete', deleted: true });
      expect(results[5]).to.deep.equal({ op: 'get', found: false, key: 'b:1', keyEncoding: 'utf8' });
    });

    it('applies nothing when a precondition fails, and names the operation', async () => {
      const v = ((await call(h, 'PUT', '/v1/kv/acct:a', { body: '100' })).json as { version: number }).version;
      await call(h, 'PUT', '/v1/kv/acct:b', { body: '0' });
      const r = await batch(h, [
        { op: 'put', key: 'acct:a', value: '50', ifVersion: v },
        { op: 'put', key: 'acct:b', value: '50' },
        { op: 'put', key: 'acct:new', value: 'x', ifAbsent: true },
        { op: 'delete', key: 'acct:a', ifVersion: v }, // v is stale after op 0
      ]);
      expect(r.status).to.equal(412);
      const err = (r.json as { error: { details: Record<string, unknown> } }).error;
      expect(err.details).to.deep.include({ op: 3, key: 'acct:a' });
      expect((await call(h, 'GET', '/v1/kv/acct:a')).body.toString()).to.equal('100');
      expect((await call(h, 'GET', '/v1/kv/acct:a')).headers.get('etag')).to.equal(`"${v}"`);
      expect((await call(h, 'GET', '/v1/kv/acct:b')).body.toString()).to.equal('0');
      expect((await call(h, 'GET', '/v1/kv/acct:new')).status).to.equal(404);
    });

    it('applies nothing when SQLite fails while applying an operation', async () => {
      await call(h, 'PUT', '/v1/kv/inj:a', { body: 'before' });
      const cure = poisonKey(h.dataDir, Buffer.from('inj:poison'));
      let r: Result;
      try {
        r = await batch(h, [
          { op: 'put', key: 'inj:a', value: 'after' },
          { op: 'put', key: 'inj:b', value: 'new' },
          { op: 'delete', key: 'inj:a' },
          { op: 'put', key: 'inj:poison', value: 'boom' },
          { op: 'put', key: 'inj:c', value: 'never reached' },
        ]);
      } finally {
        cure();
      }
      expect(r.status).to.equal(500);
      expect(errCode(r)).to.equal('write_failed');
      expect((r.json as { error: { message: string } }).error.message).to.match(/not applied.*injected failure/);
      expect((await call(h, 'GET', '/v1/kv/inj:a')).body.toString()).to.equal('before');
      expect((await call(h, 'GET', '/v1/kv/inj:b')).status).to.equal(404);
      // The node carries on once the fault is gone.
      expect((await batch(h, [{ op: 'put', key: 'inj:b', value: 'new' }])).status).to.equal(200);
      expect((await call(h, 'GET', '/v1/kv/inj:b')).body.toString()).to.equal('new');
    });

    it('applies nothing and answers 503 when the group commit fails after the batch applied', async () => {
      await call(h, 'PUT', '/v1/kv/grp:a', { body: 'before' });
      const cure = poisonKey(h.dataDir, Buffer.from('grp:other'));
      // Another writer in the same event-loop turn hits a storage error, which
      // rolls back the whole group commit, this batch included.
      let armed = true;
      h.engine.keyspace.onChange((key) => {
        if (!armed || !key.equals(Buffer.from('grp:a'))) return;
        armed = false;
        queueMicrotask(() => {
          try { h.engine.keyspace.set(Buffer.from('grp:other'), Buffer.from('x'), null); } catch { /* expected: injected failure */ }
        });
      });
      let r: Result;
      try {
        r = await batch(h, [{ op: 'put', key: 'grp:a', value: 'after' }, { op: 'put', key: 'grp:b', value: 'new' }]);
      } finally {
        armed = false;
        cure();
      }
      expect(r.status).to.equal(503);
      expect(errCode(r)).to.equal('write_failed');
      expect((await call(h, 'GET', '/v1/kv/grp:a')).body.toString()).to.equal('before');
      expect((await call(h, 'GET', '/v1/kv/grp:b')).status).to.equal(404);
    });

    it('reports a storage failure of a single PUT as 500 write_failed and applies nothing', async () => {
      const cure = poisonKey(h.dataDir, Buffer.from('inj:single'));
      let r: Result;
      try {
        r = await call(h, 'PUT', '/v1/kv/inj:single', { body: 'after' });
      } finally {
        cure();
      }
      expect(r.status).to.equal(500);
      expect(errCode(r)).to.equal('write_failed');
      expect((await call(h, 'GET', '/v1/kv/inj:single')).status).to.equal(404);
    });

    it('rejects malformed, invalid and oversized batches with 4xx JSON', async () => {
      const cases: Array<[string, number, string]> = [
        ['{"ops":[', 400, 'bad_request'],
        ['', 400, 'bad_request'],
        ['[]', 400, 'bad_request'],
        ['{"ops":[{"op":"put","key":"k"}]}', 400, 'bad_request'],
        [JSON.stringify({ ops: Array.from({ length: 1001 }, () => ({ op: 'get', key: 'k' })) }), 413, 'too_many_ops'],
      ];
      for (const [body, status, code] of cases) {
        const r = await call(h, 'POST', '/v1/kv:batch', { body });
        expect(r.status, body.slice(0, 40)).to.equal(status);
        expect(errCode(r)).to.equal(code);
      }
    });
  });

  describe('scan', () => {
    before(async () => {
      const ops = [];
      for (let i = 0; i < 250; i++) ops.push({ op: 'put', key: `scan:${String(i).padStart(3, '0')}`, value: `v${i}` });
      ops.push({ op: 'put', key: Buffer.from([0xfe, 0x00, 0x01]).toString('base64'), keyEncoding: 'base64', value: 'bin' });
      expect((await batch(h, ops)).status).to.equal(200);
    });

    it('pages through a prefix in key order with no duplicates or gaps', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `/v1/scan?prefix=scan%3A&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
        const r = await call(h, 'GET', q);
        expect(r.status).to.equal(200);
        const page = r.json as { items: Array<{ key: string; value: string }>; cursor: string | null };
        expect(page.items.length).to.be.at.most(7);
        for (const it of page.items) {
          expect(it.value).to.equal(`v${Number(it.key.slice(5))}`);
          seen.push(it.key);
        }
        cursor = page.cursor;
        pages++;
      } while (cursor !== null && pages < 100);
      expect(seen).to.deep.equal(Array.from({ length: 250 }, (_, i) => `scan:${String(i).padStart(3, '0')}`));
    });

    it('omits values on request, honours binary prefixes and encodings', async () => {
      const r = await call(h, 'GET', '/v1/scan?prefix=scan%3A24&values=false');
      expect((r.json as { items: unknown[] }).items).to.deep.equal(
        [...Array(10).keys()].map((i) => ({ key: `scan:24${i}`, keyEncoding: 'utf8', version: (r.json as { items: Array<{ version: number }> }).items[i]!.version, expiresAt: null })),
      );
      const viaPct = await call(h, 'GET', '/v1/scan?prefix=%FE%00');
      const viaB64 = await call(h, 'GET', `/v1/scan?prefix=${encodeURIComponent(Buffer.from([0xfe, 0]).toString('base64'))}&keyEncoding=base64&encoding=base64`);
      expect((viaPct.json as { items: unknown[] }).items).to.deep.equal([
        { key: '/gAB', keyEncoding: 'base64', value: 'bin', valueEncoding: 'utf8', version: (viaPct.json as { items: Array<{ version: number }> }).items[0]!.version, expiresAt: null },
      ]);
      expect((viaB64.json as { items: Array<{ key: string; value: string }> }).items.map((i) => [i.key, i.value])).to.deep.equal([['/gAB', 'Ymlu']]);
    });

    it('rejects bad limits, cursors and encodings with 400', async () => {
      for (const q of ['limit=0', 'limit=10001', 'limit=x', 'cursor=%%', 'cursor=zzz', 'encoding=hex', 'values=maybe', 'prefix=%ZZ']) {
        const r = await call(h, 'GET', `/v1/scan?${q}`);
        expect(r.status, q).to.equal(400);
      }
    });

    it('rejects a well-formed cursor that the engine did not issue with 400, not 500', async () => {
      const forged = `c${Buffer.from('not-a-scan-token').toString('base64url')}`;
      const r = await call(h, 'GET', `/v1/scan?prefix=scan%3A&cursor=${forged}`);
      expect(r.status).to.equal(400);
      expect(errCode(r)).to.equal('bad_request');
      expect((r.json as { error: { message: string } }).error.message).to.match(/^invalid cursor/);
    });

    it('answers a storage failure while resuming a scan with 500, not as a bad cursor', async () => {
      const first = await call(h, 'GET', '/v1/scan?prefix=scan%3A&limit=1');
      const cursor = (first.json as { cursor: string }).cursor;
      const ks = h.engine.keyspace;
      const real = ks.scanPrefix;
      ks.scanPrefix = () => { throw new Error('disk I/O error'); };
      let r: Result;
      try {
        r = await call(h, 'GET', `/v1/scan?prefix=scan%3A&limit=1&cursor=${cursor}`);
      } finally {
        ks.scanPrefix = real;
      }
      expect(r.status).to.equal(500);
      expect(errCode(r)).to.equal('internal');
      expect((await call(h, 'GET', `/v1/scan?prefix=scan%3A&limit=1&cursor=${cursor}`)).status).to.equal(200);
    });
  });

  describe('errors, probes, metrics and the OpenAPI document', () => {
    it('answers unknown routes with 404 JSON, wrong methods with 405 and Allow, OPTIONS with 204', async () => {
      const r = await call(h, 'GET', '/v2/nothing');
      expect(r.status).to.equal(404);
      expect((await call(h, 'GET', '/V1/SCAN')).status).to.equal(404);
      const m = await call(h, 'POST', '/v1/kv/x');
      expect(m.status).to.equal(405);
      expect(errCode(m)).to.equal('method_not_allowed');
      expect(m.headers.get('allow')).to.equal('GET, PUT, DELETE, HEAD, OPTIONS');
      expect((await call(h, 'GET', '/v1/kv:batch')).headers.get('allow')).to.equal('POST, OPTIONS');
      const o = await call(h, 'OPTIONS', '/v1/scan');
      expect(o.status).to.equal(204);
      expect(o.headers.get('allow')).to.equal('GET, HEAD, OPTIONS');
    });

    it('probes liveness and readiness', async () => {
      expect((await call(h, 'GET', '/healthz')).json).to.deep.equal({ status: 'ok' });
      expect((await call(h, 'GET', '/readyz')).status).to.equal(200);
      h.ready.value = false;
      try {
        const r = await call(h, 'GET', '/readyz');
        expect(r.status).to.equal(503);
        expect(errCode(r)).to.equal('not_ready');
        expect((await call(h, 'GET', '/healthz')).status).to.equal(200);
      } finally {
        h.ready.value = true;
      }
    });

    it('exports request metrics labelled by route pattern, not raw path', async () => {
      await call(h, 'GET', '/v1/kv/metric-probe-key-1');
      await call(h, 'GET', '/v1/kv/metric-probe-key-2');
      const r = await call(h, 'GET', '/metrics');
      expect(r.headers.get('content-type')).to.match(/^text\/plain/);
      const text = r.body.toString();
      expect(text).to.match(/irisdb_http_requests_total\{route="\/v1\/kv\/\{key\}",method="GET",code="404"\} \d+/);
      expect(text).to.match(/irisdb_http_request_duration_seconds_count\{route="\/v1\/kv\/\{key\}",method="GET"\} \d+/);
      expect(text).to.match(/irisdb_http_requests_total\{route="unmatched",method="GET",code="404"\}/);
      expect(text).to.not.include('metric-probe-key');
    });

    it('documents exactly the routes express serves, with resolvable references', async () => {
      const doc = (await call(h, 'GET', '/v1/openapi.json')).json as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, JsonSchema> } };
      expect(doc.openapi).to.equal('3.1.0');
      const documented = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`)).sort();
      // Walk express's router: every route's methods (except the 405/OPTIONS catch-all) must be documented.
      type Layer = { route?: { path: unknown; stack: Array<{ method?: string }> } };
      const router = (h.app as unknown as { router: { stack: Layer[] } }).router;
      const served: string[] = [];
      for (const layer of router.stack) {
        if (!layer.route) continue;
        const methods = new Set(layer.route.stack.map((s) => s.method).filter((m): m is string => m !== undefined && m !== '_all'));
        const def = h.app.irisRoutes.find((r) => r.match.toString() === layer.route!.path!.toString());
        expect(def, `route ${String(layer.route.path)} comes from the route table`).to.not.equal(undefined);
        for (const m of methods) served.push(`${m.toUpperCase()} ${def!.path}`);
      }
      expect(served.sort()).to.deep.equal(documented);
      expect(documented).to.include.members(['GET /v1/kv/{key}', 'PUT /v1/kv/{key}', 'DELETE /v1/kv/{key}', 'POST /v1/kv:batch', 'GET /v1/scan', 'GET /v1/openapi.json', 'GET /healthz', 'GET /readyz', 'GET /metrics']);
      // Every $ref in the document resolves.
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      for (const ref of new Set(refs)) {
        const parts = ref.slice(8, -1).replace(/^#\//, '').split('/');
        let node: unknown = doc;
        for (const part of parts) node = (node as Record<string, unknown>)[part];
        expect(node, ref).to.not.equal(undefined);
      }
      for (const name of Object.keys(doc.components.schemas)) resolveRef({ $ref: `#/components/schemas/${name}` }, doc.components.schemas);
    });
  });
});

describe('HTTP API limits (in-process, real engine)', function () {
  let h: Harness;
  const admin = express.Router();
  admin.get('/ping', (_req, res) => { res.json({ pong: true }); });
  before(async () => { h = await startApp({ maxKeyBytes: 16, maxValueBytes: 32, maxHttpBodyBytes: 2048, maxScanLimit: 50 }, admin); });
  after(async () => { await h.close(); });

  it('refuses keys over maxKeyBytes and values over maxValueBytes with 413', async () => {
    const k = await call(h, 'PUT', `/v1/kv/${'k'.repeat(17)}`, { body: 'x' });
    expect(k.status).to.equal(413);
    expect(errCode(k)).to.equal('key_too_large');
    expect((await call(h, 'PUT', `/v1/kv/${'k'.repeat(16)}`, { body: 'x' })).status).to.equal(200);
    const v = await call(h, 'PUT', '/v1/kv/v', { body: 'x'.repeat(33) });
    expect(v.status).to.equal(413);
    expect(errCode(v)).to.equal('value_too_large');
    expect((await call(h, 'PUT', '/v1/kv/v', { body: 'x'.repeat(32) })).status).to.equal(200);
    const bk = await batch(h, [{ op: 'put', key: 'x'.repeat(17), value: 'v' }]);
    expect(errCode(bk)).to.equal('key_too_large');
  });

  it('refuses bodies over maxHttpBodyBytes with 413, declared or chunked', async () => {
    const big = JSON.stringify({ ops: [{ op: 'put', key: 'a', value: 'x'.repeat(3000) }] });
    const r = await call(h, 'POST', '/v1/kv:batch', { body: big });
    expect(r.status).to.equal(413);
    expect(errCode(r)).to.equal('payload_too_large');
    // A streamed body without Content-Length is cut off at the limit too.
    const stream = new ReadableStream<Uint8Array>({
      start(c) { for (let i = 0; i < 10; i++) c.enqueue(Buffer.alloc(1024, 0x61)); c.close(); },
    });
    const res = await fetch(`${h.url}/v1/kv/streamed`, { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).to.equal(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.be.oneOf(['payload_too_large', 'value_too_large']);
  });

  it('inflates compressed bodies and applies the limits to the inflated size', async () => {
    const zlib = await import('node:zlib');
    const ok = await call(h, 'PUT', '/v1/kv/gz', { body: zlib.gzipSync('x'.repeat(32)), headers: { 'content-encoding': 'gzip' } });
    expect(ok.status).to.equal(200);
    expect((await call(h, 'GET', '/v1/kv/gz')).body.toString()).to.equal('x'.repeat(32));
    // 1 MiB of zeros compresses to about 1 KiB: under the body limit on the wire, far over it inflated.
    const bomb = await call(h, 'PUT', '/v1/kv/gz', { body: zlib.gzipSync(Buffer.alloc(1 << 20)), headers: { 'content-encoding': 'gzip' } });
    expect(bomb.status).to.equal(413);
    const odd = await call(h, 'PUT', '/v1/kv/gz', { body: 'x', headers: { 'content-encoding': 'lzma' } });
    expect(odd.status).to.equal(415);
    expect(errCode(odd)).to.equal('unsupported');
    expect((await call(h, 'GET', '/v1/kv/gz')).body.toString()).to.equal('x'.repeat(32));
  });

  it('bounds scan pages by maxScanLimit', async () => {
    expect((await call(h, 'GET', '/v1/scan?limit=51')).status).to.equal(400);
    expect((await call(h, 'GET', '/v1/scan?limit=50')).status).to.equal(200);
  });

  it('mounts the admin router under /admin', async () => {
    const r = await fetch(`${h.url}/admin/ping`);
    expect(await r.json()).to.deep.equal({ pong: true });
  });

  it('answers requests Node rejects before express with JSON too', async () => {
    const net = await import('node:net');
    const port = Number(new URL(h.url).port);
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /v1/kv/a b c HTTP/1.1\r\nHost: x\r\n\r\n'));
      let out = '';
      s.on('data', (d) => { out += d.toString(); });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    expect(reply).to.match(/^HTTP\/1.1 400 /);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).to.deep.include({ error: { code: 'bad_request', message: reply.match(/"message":"([^"]+)"/)![1] } });
  });
});

describe('HTTP API with replication', () => {
  it('a replica serves no KV requests and says where the primary is', async () => {
    const h = await startApp({}, undefined, { role: () => ({ role: 'replica', primary: { host: '10.0.0.1', port: 7000 }, loading: false }) });
    try {
      for (const [method, p] of [['GET', '/v1/kv/a'], ['PUT', '/v1/kv/a'], ['GET', '/v1/scan']] as const) {
        const res = await fetch(h.url + p, { method, body: method === 'PUT' ? 'v' : undefined });
        expect(res.status, `${method} ${p}`).to.equal(421);
        const body = await res.json() as { error: { code: string; details: unknown } };
        expect(body.error.code).to.equal('read_only_replica');
        expect(body.error.details).to.deep.equal({ primary: { host: '10.0.0.1', port: 7000 } });
      }
      expect((await fetch(h.url + '/v1/openapi.json')).status).to.equal(200);
      expect((await fetch(h.url + '/healthz')).status).to.equal(200);
    } finally {
      await h.close();
    }
  });

  it('a cluster member without its first map answers 503 cluster_down, as a replica too (not a redirect to a primary)', async () => {
    const router: NonNullable<HttpDeps['keyRouter']> = {
      clustered: () => true,
      down: () => 'CLUSTERDOWN The cluster is down',
      route: () => ({ kind: 'error', message: 'CLUSTERDOWN The cluster is down' }),
      whenLifted: () => Promise.resolve(),
    };
    const h = await startApp({}, undefined, { role: () => ({ role: 'replica', primary: { host: '10.0.0.1', port: 7000 }, loading: false }) }, router);
    try {
      for (const [method, p] of [['GET', '/v1/kv/a'], ['PUT', '/v1/kv/a'], ['GET', '/v1/scan']] as const) {
        const res = await fetch(h.url + p, { method, body: method === 'PUT' ? 'v' : undefined });
        expect(res.status, `${method} ${p}`).to.equal(503);
        const body = await res.json() as { error: { code: string; message: string } };
        expect(body.error).to.deep.include({ code: 'cluster_down', message: 'CLUSTERDOWN The cluster is down' });
      }
      expect((await fetch(h.url + '/v1/openapi.json')).status).to.equal(200);
    } finally {
      await h.close();
    }
  });

  /** A primary whose replies wait for one replica's acknowledgement (a real AckGate on the engine). */
  function gated(ackTimeoutMs: number) {
    const gate = new AckGate({
      minAcks: 1, ackTimeoutMs,
      timers: { now: () => performance.now(), setTimer: (fn, ms) => { const t = setTimeout(fn, ms); return { cancel: () => clearTimeout(t) }; } },
    });
    gate.setVoters(['r']);
    return {
      gate,
      deps: (engine: SqliteEngine): HttpDeps['replication'] => {
        engine.setReleaseGate(gate);
        return { role: () => ({ role: 'primary', primary: null, loading: false }) };
      },
    };
  }

  it('answers a write, and a read of it, only after the replica acknowledged (no dirty read)', async () => {
    const g = gated(60_000);
    const h = await startApp({}, undefined, g.deps);
    try {
      const put = fetch(h.url + '/v1/kv/k', { method: 'PUT', body: 'v1' });
      await waitFor('the write to be held', () => g.gate.pending > 0);
      let readDone = false;
      const get = fetch(h.url + '/v1/kv/k').then((r) => { readDone = true; return r; });
      await waitFor('the read to be held too', () => g.gate.pending > 1);
      expect(readDone).to.equal(false);
      g.gate.ack('r', h.engine.stats().lastSeq);
      expect((await put).status).to.equal(200);
      const res = await get;
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal('v1');
    } finally {
      await h.close();
    }
  });

  it('a write no replica acknowledges in time is a 503 replication_timeout', async () => {
    const g = gated(50);
    const h = await startApp({}, undefined, g.deps);
    try {
      const res = await fetch(h.url + '/v1/kv/k', { method: 'PUT', body: 'v1' });
      expect(res.status).to.equal(503);
      const body = await res.json() as { error: { code: string; message: string } };
      expect(body.error.code).to.equal('replication_timeout');
      expect(body.error.message).to.match(/may or may not/);
    } finally {
      await h.close();
    }
  });
});

describe('HTTP API in cluster mode', () => {
  const elsewhere = keySlot('elsewhere');
  let fenced = keySlot('fenced');
  let lift: (() => void) | null = null;
  const router: NonNullable<HttpDeps['keyRouter']> = {
    clustered: () => true,
    route: (slot) => {
      if (slot === elsewhere) return { kind: 'error', message: `MOVED ${slot} 10.0.0.9:7001`, movedTo: { host: '10.0.0.9', port: 7001 } };
      if (slot === fenced) return { kind: 'wait', slot };
      if (slot === keySlot('unassigned')) return { kind: 'error', message: 'CLUSTERDOWN Hash slot not served' };
      return { kind: 'serve' };
    },
    whenLifted: () => new Promise<void>((resolve) => { lift = () => { fenced = -1; resolve(); }; }),
  };

  it('answers 421 naming the owner for a key another shard serves, 503 for an unserved slot', async () => {
    const h = await startApp({}, undefined, undefined, router);
    try {
      const res = await fetch(h.url + '/v1/kv/elsewhere', { method: 'PUT', body: 'v' });
      expect(res.status).to.equal(421);
      const body = await res.json() as { error: { code: string; details: unknown } };
      expect(body.error).to.deep.include({ code: 'moved', details: { slot: elsewhere, primary: { host: '10.0.0.9', port: 7001 } } });
      expect(h.engine.keyspace.get(Buffer.from('elsewhere'), h.clock.now)).to.equal(null);
      expect((await fetch(h.url + '/v1/kv/unassigned')).status).to.equal(503);
      expect((await fetch(h.url + '/v1/kv/here', { method: 'PUT', body: 'v' })).status).to.equal(200);
    } finally {
      await h.close();
    }
  });

  it('refuses a batch whose keys span slots, and accepts one hash tag', async () => {
    const h = await startApp({}, undefined, undefined, router);
    try {
      const post = (ops: unknown[]) => fetch(h.url + '/v1/kv:batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ops }) });
      const bad = await post([{ op: 'put', key: 'a', value: '1' }, { op: 'put', key: 'b', value: '2' }]);
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).to.equal('cross_slot');
      expect((await post([{ op: 'put', key: '{t}a', value: '1' }, { op: 'put', key: '{t}b', value: '2' }])).status).to.equal(200);
    } finally {
      await h.close();
    }
  });

  it('holds a write to a fenced slot until the fence lifts', async () => {
    const h = await startApp({}, undefined, undefined, router);
    try {
      let done = false;
      const put = fetch(h.url + '/v1/kv/fenced', { method: 'PUT', body: 'v' }).then((r) => { done = true; return r; });
      await waitFor('the write to wait on the fence', () => lift !== null);
      expect(done).to.equal(false);
      expect(h.engine.keyspace.get(Buffer.from('fenced'), h.clock.now)).to.equal(null);
      lift!();
      expect((await put).status).to.equal(200);
      expect(h.engine.keyspace.get(Buffer.from('fenced'), h.clock.now)?.value.toString()).to.equal('v');
    } finally {
      await h.close();
    }
  });
});
