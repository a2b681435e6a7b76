/**
 * The bulk import route's body parser (node/http/import-routes.ts, issue
 * #19): what irisctl encodes comes back equal; any other bytes are a 400,
 * rows over the node's limits a 413, never another exception.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { StoredRow } from '../../node/engine/types.js';
import { HttpError } from '../../node/http/errors.js';
import { parseImportRows } from '../../node/http/import-routes.js';
import { encodeRows } from '../../node/replication/row-codec.js';

const LIMITS = { maxBatchOps: 1000, maxKeyBytes: 64, maxValueBytes: 256 };

const row = fc.record({
  key: fc.uint8Array({ minLength: 0, maxLength: 64 }).map((a) => Buffer.from(a)),
  value: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
  expiresAt: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { nil: null }),
}).map((r): StoredRow => ({ ...r, flags: 0, version: 0 }));

function statusOf(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

describe('bulk import rows (PUT /v1/kv:import body)', () => {
  it('round-trips what the importer encodes', () => {
    fc.assert(fc.property(fc.array(row, { maxLength: 50 }), (rows) => {
      const back = parseImportRows(encodeRows(rows), LIMITS);
      expect(back.map((r) => [r.key.toString('hex'), r.value.toString('hex'), r.expiresAt])).to.deep.equal(rows.map((r) => [r.key.toString('hex'), r.value.toString('hex'), r.expiresAt]));
    }));
  });

  it('random bytes and truncated bodies are a 400, never another exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const s = statusOf(() => parseImportRows(Buffer.from(bytes), LIMITS));
      expect([400, 413, 'ok']).to.include(s);
    }));
    fc.assert(fc.property(fc.array(row, { minLength: 1, maxLength: 10 }), fc.nat(), (rows, cut) => {
      const body = encodeRows(rows);
      const at = cut % body.length;
      expect(statusOf(() => parseImportRows(body.subarray(0, at), LIMITS))).to.equal(400);
    }));
  });

  it('limits: rows (--max-batch-ops), key and value sizes are 413; a TTL of 0, flags or a version are 400', () => {
    const r = (over: Partial<StoredRow>): StoredRow => ({ key: Buffer.from('k'), value: Buffer.from('v'), flags: 0, version: 0, expiresAt: null, ...over });
    expect(statusOf(() => parseImportRows(encodeRows(Array.from({ length: 1001 }, () => r({}))), LIMITS))).to.equal(413);
    expect(statusOf(() => parseImportRows(encodeRows([r({ key: Buffer.alloc(65) })]), LIMITS))).to.equal(413);
    expect(statusOf(() => parseImportRows(encodeRows([r({ value: Buffer.alloc(257) })]), LIMITS))).to.equal(413);
    expect(statusOf(() => parseImportRows(encodeRows([r({ expiresAt: 0 })]), LIMITS))).to.equal(400);
    expect(statusOf(() => parseImportRows(encodeRows([r({ flags: 1 })]), LIMITS))).to.equal(400);
    expect(statusOf(() => parseImportRows(encodeRows([r({ version: 3 })]), LIMITS))).to.equal(400);
    expect(parseImportRows(encodeRows([r({ expiresAt: 5000 })]), LIMITS)[0]!.expiresAt).to.equal(5000);
  });
});
