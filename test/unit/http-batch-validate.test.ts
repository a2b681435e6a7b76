import { expect } from 'chai';
import fc from 'fast-check';
import { validateBatch } from '../../node/http/batch-validate.js';
import { HttpError } from '../../node/http/errors.js';
import { validateJson } from '../../node/http/json-schema.js';
import { buildSchemas } from '../../node/http/schemas.js';

const limits = { maxBatchOps: 5, maxKeyBytes: 8, maxValueBytes: 16, maxScanLimit: 100, maxHttpBodyBytes: 1024 };
const schemas = buildSchemas(limits);

function rejection(body: unknown): HttpError {
  try {
    validateBatch(body, schemas, limits);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('http batch validation', () => {
  it('decodes keys and values in their encodings', () => {
    const ops = validateBatch({
      ops: [
        { op: 'put', key: '/w==', keyEncoding: 'base64', value: 'AAEC', valueEncoding: 'base64', ttlMs: 50, ifVersion: '7' },
        { op: 'get', key: 'k', valueEncoding: 'base64', ifAbsent: true },
        { op: 'delete', key: '', ifVersion: 3 },
      ],
    }, schemas, limits);
    expect(ops[0]).to.deep.include({ op: 'put', ttlMs: 50, ifVersion: 7, ifAbsent: false });
    expect([...ops[0]!.key]).to.deep.equal([0xff]);
    expect([...(ops[0] as { value: Buffer }).value]).to.deep.equal([0, 1, 2]);
    expect(ops[1]).to.deep.include({ op: 'get', encoding: 'base64', ifAbsent: true, ifVersion: null });
    expect(ops[2]!.key.length).to.equal(0);
  });

  const cases: Array<[string, unknown, number, string, RegExp]> = [
    ['not an object', [1], 400, 'bad_request', /JSON object/],
    ['missing ops', {}, 400, 'bad_request', /missing required field "ops"/],
    ['extra top-level field', { ops: [], x: 1 }, 400, 'bad_request', /unknown field "x"/],
    ['unknown op', { ops: [{ op: 'incr', key: 'a' }] }, 400, 'bad_request', /ops\[0\]\.op: must be one of/],
    ['typo in a field', { ops: [{ op: 'put', key: 'a', value: 'b', ttl: 5 }] }, 400, 'bad_request', /unknown field "ttl"/],
    ['put without value', { ops: [{ op: 'get', key: 'a' }, { op: 'put', key: 'a' }] }, 400, 'bad_request', /ops\[1\]: missing required field "value"/],
    ['non-integer ttl', { ops: [{ op: 'put', key: 'a', value: 'b', ttlMs: 1.5 }] }, 400, 'bad_request', /ttlMs: expected integer/],
    ['zero ttl', { ops: [{ op: 'put', key: 'a', value: 'b', ttlMs: 0 }] }, 400, 'bad_request', /at least 1/],
    ['bad base64 key', { ops: [{ op: 'get', key: 'a!', keyEncoding: 'base64' }] }, 400, 'bad_request', /not valid base64/],
    ['bad base64 value', { ops: [{ op: 'put', key: 'a', value: '@@', valueEncoding: 'base64' }] }, 400, 'bad_request', /not valid base64/],
    ['both preconditions', { ops: [{ op: 'put', key: 'a', value: 'b', ifVersion: 1, ifAbsent: true }] }, 400, 'bad_request', /exclude each other/],
    ['negative version', { ops: [{ op: 'delete', key: 'a', ifVersion: -1 }] }, 400, 'bad_request', /at least 0/],
    ['version as junk text', { ops: [{ op: 'delete', key: 'a', ifVersion: '1e3' }] }, 400, 'bad_request', /does not match/],
    ['key over maxKeyBytes', { ops: [{ op: 'get', key: '123456789' }] }, 413, 'key_too_large', /9 bytes; the limit is 8/],
    ['value over maxValueBytes', { ops: [{ op: 'put', key: 'a', value: 'x'.repeat(17) }] }, 413, 'value_too_large', /17 bytes/],
    ['too many ops', { ops: Array.from({ length: 6 }, () => ({ op: 'get', key: 'a' })) }, 413, 'too_many_ops', /6 operations; the limit is 5/],
  ];
  for (const [name, body, status, code, msg] of cases) {
    it(`rejects ${name} with ${status} ${code}`, () => {
      const err = rejection(body);
      expect(err.status).to.equal(status);
      expect(err.code).to.equal(code);
      expect(err.message).to.match(msg);
    });
  }

  it('names the failing operation in details', () => {
    const err = rejection({ ops: [{ op: 'get', key: 'a' }, { op: 'get', key: 'a' }, { op: 'put', key: 'a', value: 'x'.repeat(20) }] });
    expect(err.details).to.deep.include({ op: 2 });
  });

  it('either accepts or rejects with an HttpError for arbitrary JSON (never anything else)', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ ops: fc.array(fc.dictionary(fc.constantFrom('op', 'key', 'value', 'ttlMs', 'ifVersion', 'ifAbsent', 'keyEncoding'), fc.jsonValue()), { maxLength: 4 }) })), (body) => {
      try {
        const ops = validateBatch(body, schemas, limits);
        expect(ops).to.be.an('array');
      } catch (err) {
        expect(err).to.be.instanceOf(HttpError);
        expect((err as HttpError).status).to.be.oneOf([400, 413]);
      }
    }), { numRuns: 1000 });
  });
});

describe('http JSON schema validator', () => {
  it('checks types, nullables, enums, required fields and $refs', () => {
    expect(validateJson({ $ref: '#/components/schemas/PutResult' }, { version: 1, expiresAt: null }, schemas)).to.equal(null);
    expect(validateJson({ $ref: '#/components/schemas/PutResult' }, { version: 1 }, schemas)).to.match(/missing required field "expiresAt"/);
    expect(validateJson({ $ref: '#/components/schemas/PutResult' }, { version: '1', expiresAt: null }, schemas)).to.match(/version: expected integer, got string/);
    expect(validateJson({ $ref: '#/components/schemas/Entry' }, { key: 'a', keyEncoding: 'hex', version: 1, expiresAt: null }, schemas)).to.match(/keyEncoding: must be one of/);
  });

  it('selects oneOf branches by discriminator', () => {
    const s = { $ref: '#/components/schemas/BatchResult' };
    expect(validateJson(s, { op: 'delete', deleted: true }, schemas)).to.equal(null);
    expect(validateJson(s, { op: 'delete', deleted: 1 }, schemas)).to.match(/deleted: expected boolean/);
    expect(validateJson(s, { op: 'nope' }, schemas)).to.match(/op: must be one of/);
  });

  it('treats a dangling $ref as a bug in the document', () => {
    expect(() => validateJson({ $ref: '#/components/schemas/Nope' }, 1, schemas)).to.throw(/unresolvable/);
  });
});
