import { expect } from 'chai';
import fc from 'fast-check';
import {
  ChangePositionError, formatPosition, formatPositionList, parsePosition, parsePositionList, type ChangePosition,
} from '../../common/change-position.js';
import { changeEvent, sseMessage } from '../../node/changes/event.js';

const shardId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
const position: fc.Arbitrary<ChangePosition> = fc.record({ shard: shardId, epoch: fc.nat({ max: 2 ** 32 }), seq: fc.maxSafeNat() });

describe('change feed positions', () => {
  it('round-trips every position', () => {
    fc.assert(fc.property(position, (p) => {
      expect(parsePosition(formatPosition(p))).to.deep.equal(p);
    }), { numRuns: 500 });
  });

  it('round-trips position lists (one per shard, printed in shard order)', () => {
    fc.assert(fc.property(fc.uniqueArray(position, { selector: (p) => p.shard, maxLength: 8 }), (list) => {
      const parsed = parsePositionList(formatPositionList(list));
      expect(parsed).to.have.deep.members(list);
      expect(formatPositionList(parsed)).to.equal(formatPositionList(list));
    }));
  });

  it('never throws anything but ChangePositionError, and never accepts what it cannot print back', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => {
      try {
        const p = parsePosition(text);
        expect(formatPosition(p)).to.equal(text);
      } catch (err) {
        expect(err).to.be.instanceOf(ChangePositionError);
      }
    }), { numRuns: 1000 });
  });

  it('refuses malformed positions with a message naming them', () => {
    for (const bad of ['', 'a', 'a:1', 'a:1:2:3', ':1:2', 'a:-1:2', 'a:1:02', 'a:1:1e3', 'a:1:9007199254740993', 'a b:1:2', 'a:x:2']) {
      expect(() => parsePosition(bad), bad).to.throw(ChangePositionError);
    }
    expect(() => parsePositionList('s0:1:2,s0:1:3')).to.throw(ChangePositionError, /twice/);
    expect(parsePositionList('  ')).to.deep.equal([]);
  });
});

describe('change events', () => {
  const k = Buffer.from('user:1');
  it('carries key, value, expiry, shard, epoch, sequence and the position', () => {
    expect(changeEvent('s1', 3, 42, { op: 'set', key: k, value: Buffer.from('v'), expiresAt: 99 }, 'utf8')).to.deep.equal({
      position: 's1:3:42', shard: 's1', epoch: 3, seq: 42, op: 'set', key: 'user:1', keyEncoding: 'utf8', value: 'v', valueEncoding: 'utf8', expiresAt: 99, tombstone: false,
    });
  });

  it('marks deletes and FLUSHALL as tombstones, without a value', () => {
    expect(changeEvent('s1', 3, 43, { op: 'del', key: k }, 'utf8')).to.deep.equal({
      position: 's1:3:43', shard: 's1', epoch: 3, seq: 43, op: 'del', key: 'user:1', keyEncoding: 'utf8', tombstone: true,
    });
    expect(changeEvent('s1', 3, 44, { op: 'clear' }, 'utf8')).to.deep.equal({ position: 's1:3:44', shard: 's1', epoch: 3, seq: 44, op: 'clear', tombstone: true });
    expect(changeEvent('s1', 3, 45, { op: 'expire', key: k, expiresAt: null }, 'utf8')).to.include({ op: 'expire', expiresAt: null, tombstone: false });
  });

  it('keeps binary keys and values exact (base64 when not UTF-8), as the KV API does', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), fc.boolean(), (kb, vb, b64) => {
      const ev = changeEvent('s', 1, 1, { op: 'set', key: Buffer.from(kb), value: Buffer.from(vb), expiresAt: null }, b64 ? 'base64' : 'utf8');
      expect(Buffer.from(ev.key!, ev.keyEncoding === 'base64' ? 'base64' : 'utf8').equals(Buffer.from(kb))).to.equal(true);
      expect(Buffer.from(ev.value!, ev.valueEncoding === 'base64' ? 'base64' : 'utf8').equals(Buffer.from(vb))).to.equal(true);
      // One SSE data line: JSON never contains a raw line break.
      expect(sseMessage('change', JSON.stringify(ev), ev.position).split('\n').filter((l) => l.startsWith('data: '))).to.have.length(1);
    }));
  });
});
