import { expect } from 'chai';
import fc from 'fast-check';
import { encodeReply, encodeReplies, ReplyWriter } from '../../node/resp/encoder.js';
import { formatDouble17g } from '../../node/resp/double.js';
import * as R from '../../node/resp/reply.js';
import type { Reply } from '../../node/resp/reply.js';

const enc = (r: Reply, proto: 2 | 3): string => encodeReply(r, proto).toString('latin1');

describe('RESP encoder', () => {
  const both: Array<[string, Reply, string, string]> = [
    ['simple', R.simple('PONG'), '+PONG\r\n', '+PONG\r\n'],
    ['OK constant', R.OK, '+OK\r\n', '+OK\r\n'],
    ['error', R.error('ERR syntax error'), '-ERR syntax error\r\n', '-ERR syntax error\r\n'],
    ['integer', R.integer(42), ':42\r\n', ':42\r\n'],
    ['negative integer', R.integer(-7), ':-7\r\n', ':-7\r\n'],
    ['zero', R.ZERO, ':0\r\n', ':0\r\n'],
    ['bigint', R.integer(-9223372036854775808n), ':-9223372036854775808\r\n', ':-9223372036854775808\r\n'],
    ['large safe integer', R.integer(9007199254740991), ':9007199254740991\r\n', ':9007199254740991\r\n'],
    ['bulk string', R.bulk('hello'), '$5\r\nhello\r\n', '$5\r\nhello\r\n'],
    ['utf-8 bulk string', R.bulk('é'), '$2\r\n\xc3\xa9\r\n', '$2\r\n\xc3\xa9\r\n'],
    ['empty bulk', R.bulk(''), '$0\r\n\r\n', '$0\r\n\r\n'],
    ['binary bulk', R.bulk(Buffer.from([0, 13, 10, 255])), '$4\r\n\x00\r\n\xff\r\n', '$4\r\n\x00\r\n\xff\r\n'],
    ['nil bulk', R.NULL, '$-1\r\n', '_\r\n'],
    ['nil array', R.NULL_ARRAY, '*-1\r\n', '_\r\n'],
    ['empty array', R.EMPTY_ARRAY, '*0\r\n', '*0\r\n'],
    ['nested array', R.array([R.integer(1), R.array([R.bulk('a'), R.NULL])]), '*2\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n', '*2\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n'],
    ['map', R.map([[R.bulk('server'), R.bulk('redis')], [R.bulk('proto'), R.integer(3)]]), '*4\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n', '%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n'],
    ['set', R.set([R.bulk('a'), R.bulk('b')]), '*2\r\n$1\r\na\r\n$1\r\nb\r\n', '~2\r\n$1\r\na\r\n$1\r\nb\r\n'],
    ['double', R.double(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
    ['double with 17 digits', R.double(0.1), '$19\r\n0.10000000000000001\r\n', ',0.10000000000000001\r\n'],
    ['integral double', R.double(3), '$1\r\n3\r\n', ',3\r\n'],
    ['inf', R.double(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
    ['-inf', R.double(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
    ['nan', R.double(NaN), '$3\r\nnan\r\n', ',nan\r\n'],
    ['true', R.boolean(true), ':1\r\n', '#t\r\n'],
    ['false', R.boolean(false), ':0\r\n', '#f\r\n'],
    ['verbatim', R.verbatim('a: 1\r\n'), '$6\r\na: 1\r\n\r\n', '=10\r\ntxt:a: 1\r\n\r\n'],
    ['verbatim markdown', R.verbatim('# x', 'mkd'), '$3\r\n# x\r\n', '=7\r\nmkd:# x\r\n'],
  ];
  for (const [what, reply, resp2, resp3] of both) {
    it(`encodes ${what} in RESP2 and RESP3`, () => {
      expect(enc(reply, 2)).to.equal(resp2);
      expect(enc(reply, 3)).to.equal(resp3);
    });
  }

  it('never lets CR or LF break a simple or error line', () => {
    expect(enc(R.error('ERR bad\r\nthing'), 2)).to.equal('-ERR bad  thing\r\n');
    expect(enc(R.simple('a\nb'), 3)).to.equal('+a b\r\n');
  });

  it('encodes a batch of replies into one buffer in order', () => {
    const out = encodeReplies([R.OK, R.integer(1), R.bulk('x'), R.NULL], 2).toString('latin1');
    expect(out).to.equal('+OK\r\n:1\r\n$1\r\nx\r\n$-1\r\n');
  });

  it('hands large bulks over as pieces without copying them, keeping order', () => {
    const w = new ReplyWriter();
    const big = Buffer.alloc(100_000, 'b');
    w.write(R.OK, 2);
    w.write(R.bulk(big), 2);
    w.write(R.integer(5), 2);
    expect(w.pending).to.equal(5 + 9 + 100_000 + 2 + 4);
    const out = w.take();
    expect(Array.isArray(out)).to.equal(true);
    const pieces = out as Buffer[];
    expect(pieces.some((p) => p === big)).to.equal(true);
    expect(Buffer.concat(pieces).toString('latin1')).to.equal(`+OK\r\n$100000\r\n${big.toString('latin1')}\r\n:5\r\n`);
    expect(w.take()).to.equal(null);
  });

  it('keeps earlier batches intact when later ones overflow the slab', () => {
    const w = new ReplyWriter();
    const batches: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const v = String(i).repeat(1 + (i % 50) * 20);
      w.write(R.bulk(v), 2);
      expected.push(`$${v.length}\r\n${v}\r\n`);
      batches.push(w.take() as Buffer);
    }
    expect(batches.map((b) => b.toString('latin1'))).to.deep.equal(expected);
  });

  it('encodes any nested reply so that its length prefixes match its content', () => {
    const leaf = fc.oneof(
      fc.string().map((s) => R.bulk(s)),
      fc.uint8Array({ maxLength: 40 }).map((a) => R.bulk(Buffer.from(a))),
      fc.integer().map((n) => R.integer(n)),
      fc.constant(R.NULL),
    );
    const reply = fc.array(leaf, { maxLength: 8 }).map((items) => R.array(items));
    fc.assert(
      fc.property(reply, (r) => {
        const buf = encodeReply(r, 2);
        // Walk the bytes with the length prefixes: they must consume exactly the buffer.
        let pos = 0;
        const line = (): string => {
          const end = buf.indexOf('\r\n', pos);
          const s = buf.toString('latin1', pos, end);
          pos = end + 2;
          return s;
        };
        const head = line();
        expect(head[0]).to.equal('*');
        for (let i = 0; i < Number(head.slice(1)); i++) {
          const h = line();
          if (h[0] === '$' && h !== '$-1') pos += Number(h.slice(1)) + 2;
        }
        expect(pos).to.equal(buf.length);
      }),
    );
  });
});

describe('%.17g double formatting', () => {
  // Expected values printed by C printf("%.17g") (glibc).
  const cases: Array<[number, string]> = [
    [0.1, '0.10000000000000001'],
    [1 / 3, '0.33333333333333331'],
    [0.3, '0.29999999999999999'],
    [1e21, '1e+21'],
    [1e-5, '1.0000000000000001e-05'],
    [1.234e-5, '1.234e-05'],
    [0.0001, '0.0001'],
    [2 ** -25, '2.9802322387695312e-08'], // an exact tie: glibc rounds half to even
    [1.5, '1.5'],
    [-2.5, '-2.5'],
    [100, '100'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [5e-324, '4.9406564584124654e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2 ** 60, '1.152921504606847e+18'],
    [1000000000000000.2, '1000000000000000.2'],
    [-0, '-0'],
    [0, '0'],
  ];
  for (const [x, s] of cases) {
    it(`${x} -> ${s}`, () => expect(formatDouble17g(x)).to.equal(s));
  }

  it('always round-trips to the same double', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      expect(Object.is(Number(formatDouble17g(x)), x)).to.equal(true);
    }));
  });
});
