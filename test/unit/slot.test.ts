import { expect } from 'chai';
import fc from 'fast-check';
import { crc16, keySlot, SLOT_COUNT } from '../../common/slot.js';

describe('slot hashing', () => {
  it('matches the CRC16 test vector of the Redis Cluster spec', () => {
    expect(crc16(Buffer.from('123456789'))).to.equal(0x31c3);
  });

  it('agrees with slots redis-server reports for known keys', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.
    expect(keySlot('foo')).to.equal(12182);
    expect(keySlot('bar')).to.equal(5061);
    expect(keySlot('')).to.equal(0);
    expect(keySlot('{user1000}.following')).to.equal(keySlot('user1000'));
  });

  it('hashes only the first non-empty {tag}', () => {
    expect(keySlot('{}foo')).to.equal(crc16(Buffer.from('{}foo')) % SLOT_COUNT);
    expect(keySlot('foo{}{bar}')).to.equal(crc16(Buffer.from('foo{}{bar}')) % SLOT_COUNT);
    expect(keySlot('foo{{bar}}zap')).to.equal(keySlot('{bar'));
    expect(keySlot('foo{bar}{zap}')).to.equal(keySlot('bar'));
  });

  it('always yields a slot in range, for strings and bytes alike', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const slot = keySlot(bytes);
      expect(slot).to.be.within(0, SLOT_COUNT - 1);
      expect(keySlot(Buffer.from(bytes))).to.equal(slot);
    }));
  });
});
