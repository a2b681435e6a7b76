import { expect } from 'chai';
import fc from 'fast-check';
import { ByteNameMap, MAX_NAME_BYTES } from '../../node/resp/byte-name-map.js';

/** `bytes` as a view in the middle of a larger buffer, like an argument the parser hands out. */
function viewIn(bytes: Uint8Array, before: number): Buffer {
  const big = Buffer.alloc(before + bytes.length + 3, 0x2a);
  big.set(bytes, before);
  return big.subarray(before, before + bytes.length);
}

describe('ByteNameMap (command names looked up by their bytes)', () => {
  it('finds exactly the bytes stored: case-sensitive, no prefix or extension matches', () => {
    const m = new ByteNameMap<string>(10);
    expect(m.set(Buffer.from('GET'), 'get')).to.equal(true);
    expect(m.get(Buffer.from('GET'))).to.equal('get');
    expect(m.get(Buffer.from('get'))).to.equal(undefined);
    expect(m.get(Buffer.from('GE'))).to.equal(undefined);
    expect(m.get(Buffer.from('GETX'))).to.equal(undefined);
    expect(m.get(Buffer.alloc(0))).to.equal(undefined);
  });

  it('keeps a copy of the name: reusing the receive buffer afterwards changes nothing', () => {
    const m = new ByteNameMap<number>(10);
    const name = viewIn(Buffer.from('SET'), 5);
    m.set(name, 1);
    name.fill(0x41); // the socket's next chunk lands in the same memory
    expect(m.get(Buffer.from('SET'))).to.equal(1);
    expect(m.get(Buffer.from('AAA'))).to.equal(undefined);
  });

  it('is bounded: refuses names beyond maxNames and longer than MAX_NAME_BYTES', () => {
    const m = new ByteNameMap<number>(2);
    expect(m.set(Buffer.from('a'), 1)).to.equal(true);
    expect(m.set(Buffer.from('b'), 2)).to.equal(true);
    expect(m.set(Buffer.from('c'), 3)).to.equal(false);
    expect(m.size).to.equal(2);
    const long = new ByteNameMap<number>(10);
    expect(long.set(Buffer.alloc(MAX_NAME_BYTES + 1, 0x61), 1)).to.equal(false);
    expect(long.get(Buffer.alloc(MAX_NAME_BYTES + 1, 0x61))).to.equal(undefined);
    expect(long.set(Buffer.alloc(MAX_NAME_BYTES, 0x61), 1)).to.equal(true);
  });

  it('agrees with a Map keyed by the latin1 string under random names, views and colliding hashes', () => {
    // Short names over a tiny alphabet: many share prefixes and lengths; the first value set for a name wins, as in set().
    const name = fc.uint8Array({ minLength: 0, maxLength: MAX_NAME_BYTES + 2 }).map((b) => b.map((x) => x % 4));
    fc.assert(fc.property(
      fc.array(fc.record({ set: fc.boolean(), name, before: fc.nat(8), value: fc.nat() }), { maxLength: 200 }),
      fc.integer({ min: 1, max: 64 }),
      (ops, maxNames) => {
        const m = new ByteNameMap<number>(maxNames);
        const model = new Map<string, number>();
        for (const op of ops) {
          const key = Buffer.from(op.name).toString('latin1');
          const view = viewIn(op.name, op.before);
          if (op.set) {
            const expectStored = op.name.length <= MAX_NAME_BYTES && model.size < maxNames && !model.has(key);
            expect(m.set(view, op.value)).to.equal(expectStored);
            if (expectStored) model.set(key, op.value);
            view.fill(0xff); // the caller's buffer is reused
          } else {
            expect(m.get(view)).to.equal(model.get(key));
          }
          expect(m.size).to.equal(model.size);
        }
        for (const [k, v] of model) expect(m.get(Buffer.from(k, 'latin1'))).to.equal(v);
      },
    ), { numRuns: 300 });
  });
});
