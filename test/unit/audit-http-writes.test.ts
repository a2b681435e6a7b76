/** What an HTTP write's audit record says (node/audit/http-write-audit.ts): key names, bounded; never values. */
import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_AUDITED_KEYS, httpWriteDetail } from '../../node/audit/http-write-audit.js';

describe('audit: HTTP write records', () => {
  it('names one key, or the first MAX_AUDITED_KEYS with the count, each at most 200 bytes', () => {
    expect(httpWriteDetail('PUT', '/v1/kv/a%2Fb', 'SET', [Buffer.from('a/b')], 200))
      .to.deep.equal({ via: 'http', method: 'PUT', path: '/v1/kv/{key}', command: 'SET', status: 200, key: 'a/b' });
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300, size: 'max' }), { minLength: 2, maxLength: 300, size: 'max' }), (raw) => {
      const keys = raw.map((k) => Buffer.from(k));
      const d = httpWriteDetail('PUT', '/v1/kv:import', 'IMPORT', keys, 200);
      expect(d.keyCount).to.equal(keys.length);
      const shown = d.keys as string[];
      expect(shown).to.have.length(Math.min(keys.length, MAX_AUDITED_KEYS));
      // 200 bytes decode to at most 200 UTF-16 units; a longer key is cut and marked with one '…'.
      shown.forEach((s, i) => expect(s.length).to.be.at.most(keys[i]!.length > 200 ? 201 : 200));
    }), { numRuns: 50 });
  });
});
