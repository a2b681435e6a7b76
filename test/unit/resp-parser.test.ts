import { expect } from 'chai';
import fc from 'fast-check';
import { RequestParser, parseLongLong, type ParserLimits } from '../../node/resp/parser.js';
import { splitInlineArgs } from '../../node/resp/inline.js';
import { encodeCommand } from '../support/resp-client.js';

const DEFAULT_LIMITS: ParserLimits = { maxBulkBytes: 64 * 1024 * 1024, maxArgs: 100000, maxInlineBytes: 64 * 1024 };
const SMALL_LIMITS: ParserLimits = { maxBulkBytes: 100, maxArgs: 10, maxInlineBytes: 64 };

interface Outcome {
  cmds: string[][];
  error: string | null;
}

function encode(cmds: readonly (readonly Uint8Array[])[]): Buffer {
  return Buffer.concat(cmds.map((argv) => encodeCommand(argv.map((a) => Buffer.from(a)))));
}

function chunked(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (input.length === 0 ? 0 : c % (input.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(input.subarray(prev, p));
    prev = p;
  }
  out.push(input.subarray(prev));
  return out;
}

/** Feeds chunks one by one, draining commands after each, as the server does. */
function runParser(chunks: Buffer[], limits: ParserLimits, unauthenticated = false): Outcome {
  const p = new RequestParser(limits);
  p.unauthenticated = unauthenticated;
  const cmds: string[][] = [];
  for (const c of chunks) {
    // Copy: the parser may keep views of a chunk; a caller never reuses a chunk it fed.
    p.feed(Buffer.from(c));
    for (let argv = p.next(); argv !== null; argv = p.next()) cmds.push(argv.map((a) => a.toString('latin1')));
    if (p.error) break;
  }
  return { cmds, error: p.error?.message ?? null };
}

/**
 * An independent, whole-input model of Redis 7.0's rules (networking.c), to
 * compare the incremental parser with under arbitrary chunking.
 */
function referenceParse(input: Buffer, lim: ParserLimits, unauth = false): Outcome {
  const cmds: string[][] = [];
  let pos = 0;
  const err = (message: string): Outcome => ({ cmds, error: message });
  const done = (): Outcome => ({ cmds, error: null });
  const findLine = (term: number): number => {
    const t = input.indexOf(term, pos);
    const z = input.indexOf(0, pos);
    return t < 0 || (z >= 0 && z < t) ? -1 : t;
  };
  const str2ll = (s: string): number | null => {
    if (s.length === 0 || s.length >= 21 || !/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
    const v = BigInt(s);
    return v > 9223372036854775807n || v < -9223372036854775808n ? null : Number(v);
  };
  while (pos < input.length) {
    if (input[pos] === 0x2a) {
      const cr = findLine(13);
      if (cr < 0) return input.length - pos > lim.maxInlineBytes ? err('ERR Protocol error: too big mbulk count string') : done();
      if (cr + 1 >= input.length) return done();
      if (cr - pos > lim.maxInlineBytes) return err('ERR Protocol error: too big mbulk count string');
      const n = str2ll(input.toString('latin1', pos + 1, cr));
      if (n === null || n > 2147483647 || n > lim.maxArgs) return err('ERR Protocol error: invalid multibulk length');
      if (n > 10 && unauth) return err('ERR Protocol error: unauthenticated multibulk length');
      pos = cr + 2;
      const args: string[] = [];
      for (let i = 0; i < n; i++) {
        const cr2 = findLine(13);
        if (cr2 < 0) return input.length - pos > lim.maxInlineBytes ? err('ERR Protocol error: too big bulk count string') : done();
        if (cr2 + 1 >= input.length) return done();
        if (cr2 - pos > lim.maxInlineBytes) return err('ERR Protocol error: too big bulk count string');
        if (input[pos] !== 0x24) {
          const c = input[pos] === 13 || input[pos] === 10 ? ' ' : String.fromCharCode(input[pos]!);
          return err(`ERR Protocol error: expected '$', got '${c}'`);
        }
        const len = str2ll(input.toString('latin1', pos + 1, cr2));
        if (len === null || len < 0 || len > lim.maxBulkBytes) return err('ERR Protocol error: invalid bulk length');
        if (len > 16384 && unauth) return err('ERR Protocol error: unauthenticated bulk length');
        pos = cr2 + 2;
        if (input.length - pos < len + 2) return done();
        args.push(input.toString('latin1', pos, pos + len));
        pos += len + 2;
      }
      if (n > 0) cmds.push(args);
    } else {
      const nl = findLine(10);
      if (nl < 0) return input.length - pos > lim.maxInlineBytes ? err('ERR Protocol error: too big inline request') : done();
      const lineEnd = nl > pos && input[nl - 1] === 13 ? nl - 1 : nl;
      if (lineEnd - pos > lim.maxInlineBytes) return err('ERR Protocol error: too big inline request');
      const argv = splitInlineArgs(input, pos, lineEnd);
      if (argv === null) return err('ERR Protocol error: unbalanced quotes in request');
      if (argv.length > 0) cmds.push(argv.map((a) => a.toString('latin1')));
      pos = nl + 1;
    }
  }
  return done();
}

const KNOWN_ERRORS = [
  /^ERR Protocol error: invalid multibulk length$/,
  /^ERR Protocol error: invalid bulk length$/,
  /^ERR Protocol error: expected '\$', got '[^\r\n]'$/s,
  /^ERR Protocol error: too big inline request$/,
  /^ERR Protocol error: too big mbulk count string$/,
  /^ERR Protocol error: too big bulk count string$/,
  /^ERR Protocol error: unbalanced quotes in request$/,
  /^ERR Protocol error: unauthenticated multibulk length$/,
  /^ERR Protocol error: unauthenticated bulk length$/,
];

const argvArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 });
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });
/** Bytes biased towards the protocol's structural characters. */
const protoByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Buffer.from('*$\r\n0123456789-"\' \\xa\t\0')) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

/** A valid pipeline with a few random edits: replaced, inserted and deleted bytes, truncation. */
const mutatedArb = fc
  .tuple(
    fc.array(argvArb, { minLength: 1, maxLength: 4 }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete'), fc.array(protoByte, { minLength: 1, maxLength: 4 })), { maxLength: 4 }),
    fc.option(fc.nat()),
  )
  .map(([cmds, edits, trunc]) => {
    let bytes = [...encode(cmds)];
    for (const [at, op, data] of edits) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (op === 'replace') bytes.splice(i, data.length, ...data);
      else if (op === 'insert') bytes.splice(i, 0, ...data);
      else bytes.splice(i, data.length);
    }
    if (trunc !== null && bytes.length > 0) bytes = bytes.slice(0, trunc % bytes.length);
    return Buffer.from(bytes);
  });

const garbageArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.array(protoByte, { maxLength: 300 }).map((a) => Buffer.from(a)),
  mutatedArb,
);

describe('RESP request parser', () => {
  it('parses a multibulk command, pipelined commands and inline commands', () => {
    const out = runParser([Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\nGET k\r\nECHO "a b"\n')], DEFAULT_LIMITS);
    expect(out).to.deep.equal({ cmds: [['SET', 'k', 'hello'], ['PING'], ['GET', 'k'], ['ECHO', 'a b']], error: null });
  });

  it('skips empty requests (*0, negative counts, blank inline lines) as Redis does', () => {
    const out = runParser([Buffer.from('*0\r\n*-1\r\n*-99\r\n\r\n\n   \r\nPING\r\n')], DEFAULT_LIMITS);
    expect(out).to.deep.equal({ cmds: [['PING']], error: null });
  });

  it('keeps binary-safe bulks, including CR, LF and NUL bytes', () => {
    const value = Buffer.from([0, 13, 10, 255, 42, 36]);
    const p = new RequestParser(DEFAULT_LIMITS);
    p.feed(encode([[Buffer.from('SET'), Buffer.from('k'), value]]));
    expect(p.next()).to.deep.equal([Buffer.from('SET'), Buffer.from('k'), value]);
    expect(p.next()).to.equal(null);
    expect(p.error).to.equal(null);
  });

  it('does not check the two bytes after a bulk, like Redis', () => {
    expect(runParser([Buffer.from('*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\rX')], DEFAULT_LIMITS).cmds).to.deep.equal([['PING'], ['PING']]);
  });

  it('returns any pipeline of commands intact however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(argvArb, { minLength: 1, maxLength: 10 }), cutsArb, (cmds, cuts) => {
        const out = runParser(chunked(encode(cmds), cuts), DEFAULT_LIMITS);
        expect(out.error).to.equal(null);
        expect(out.cmds).to.deep.equal(cmds.map((argv) => argv.map((a) => Buffer.from(a).toString('latin1'))));
      }),
      { numRuns: 500 },
    );
  });

  it('returns bulks spanning many chunks intact, and nothing before they are complete', () => {
    const value = Buffer.alloc(300_000, 'v');
    const frame = encode([[Buffer.from('SET'), Buffer.from('key'), value]]);
    const p = new RequestParser(DEFAULT_LIMITS);
    let got: Buffer[] | null = null;
    for (let i = 0; i < frame.length; i += 7000) {
      p.feed(frame.subarray(i, i + 7000));
      const argv = p.next();
      if (i + 7000 < frame.length) expect(argv).to.equal(null);
      else got = argv;
    }
    expect(got).to.not.equal(null);
    expect(got![2]!.equals(value)).to.equal(true);
    expect(p.inFrame()).to.equal(false);
  });

  it('never throws on garbage and agrees with a whole-input model of Redis under any chunking', () => {
    fc.assert(
      fc.property(garbageArb, cutsArb, fc.constantFrom(SMALL_LIMITS, DEFAULT_LIMITS), fc.boolean(), (input, cuts, limits, unauth) => {
        const expected = referenceParse(input, limits, unauth);
        const got = runParser(chunked(input, cuts), limits, unauth);
        expect(got).to.deep.equal(expected);
        if (got.error !== null) expect(KNOWN_ERRORS.some((re) => re.test(got.error!)), got.error).to.equal(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('is dead after a protocol error: later input yields nothing', () => {
    const p = new RequestParser(DEFAULT_LIMITS);
    p.feed(Buffer.from('*1\r\n$x\r\n'));
    expect(p.next()).to.equal(null);
    expect(p.error).to.deep.equal({ reason: 'invalid_bulk_length', message: 'ERR Protocol error: invalid bulk length' });
    p.feed(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    expect(p.next()).to.equal(null);
    expect(p.retainedBytes()).to.equal(0);
  });

  describe('error texts of Redis 7.0', () => {
    const cases: Array<[string, string]> = [
      ['*x\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*01\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*+1\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*2147483648\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*-99999999999999999999\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*1\r\n$-1\r\n', 'ERR Protocol error: invalid bulk length'],
      ['*1\r\n$\r\n', 'ERR Protocol error: invalid bulk length'],
      ['*1\r\n$ 3\r\n', 'ERR Protocol error: invalid bulk length'],
      ['*1\r\nfoo\r\n', "ERR Protocol error: expected '$', got 'f'"],
      ['*1\r\n\r\n', "ERR Protocol error: expected '$', got ' '"],
      ['SET "a\r\n', 'ERR Protocol error: unbalanced quotes in request'],
      ['SET "a"b\r\n', 'ERR Protocol error: unbalanced quotes in request'],
    ];
    for (const [input, message] of cases) {
      it(`${JSON.stringify(input)} -> ${message}`, () => {
        expect(runParser([Buffer.from(input, 'latin1')], DEFAULT_LIMITS).error).to.equal(message);
      });
    }

    it('keeps a raw byte in "expected \'$\', got" as Redis does', () => {
      const out = runParser([Buffer.from([...Buffer.from('*1\r\n'), 0xff, 13, 10])], DEFAULT_LIMITS);
      expect(Buffer.from(out.error!, 'latin1')).to.deep.equal(Buffer.from([...Buffer.from("ERR Protocol error: expected '$', got '"), 0xff, 0x27]));
    });

    it('reports over-long lines without a terminator as too big', () => {
      const lim = DEFAULT_LIMITS.maxInlineBytes;
      expect(runParser([Buffer.alloc(lim + 1, 'a')], DEFAULT_LIMITS).error).to.equal('ERR Protocol error: too big inline request');
      expect(runParser([Buffer.from('*' + '1'.repeat(lim))], DEFAULT_LIMITS).error).to.equal('ERR Protocol error: too big mbulk count string');
      expect(runParser([Buffer.from('*1\r\n$' + '1'.repeat(lim))], DEFAULT_LIMITS).error).to.equal('ERR Protocol error: too big bulk count string');
      // Exactly at the limit is still waiting for more input.
      expect(runParser([Buffer.alloc(lim, 'a')], DEFAULT_LIMITS)).to.deep.equal({ cmds: [], error: null });
    });

    it('treats a NUL before the line end as an endless line, like strchr() in Redis', () => {
      const p = new RequestParser(SMALL_LIMITS);
      p.feed(Buffer.from('*1\0\r\n'));
      expect(p.next()).to.equal(null);
      expect(p.error).to.equal(null);
      p.feed(Buffer.alloc(100, '\n'));
      expect(p.next()).to.equal(null);
      expect(p.error?.message).to.equal('ERR Protocol error: too big mbulk count string');
    });
  });

  describe('limits', () => {
    it('rejects a declared bulk above maxBulkBytes at once, before any of its bytes', () => {
      const p = new RequestParser({ ...DEFAULT_LIMITS, maxBulkBytes: 1000 });
      p.feed(Buffer.from('*2\r\n$3\r\nGET\r\n$1001\r\n'));
      expect(p.next()).to.equal(null);
      expect(p.error?.message).to.equal('ERR Protocol error: invalid bulk length');
    });

    it('rejects a declared argument count above maxArgs at once', () => {
      const p = new RequestParser(DEFAULT_LIMITS);
      p.feed(Buffer.from('*1000000\r\n'));
      expect(p.next()).to.equal(null);
      expect(p.error?.message).to.equal('ERR Protocol error: invalid multibulk length');
    });

    it('applies the unauthenticated caps of Redis (10 arguments, 16 KiB bulks)', () => {
      expect(runParser([Buffer.from('*11\r\n')], DEFAULT_LIMITS, true).error).to.equal('ERR Protocol error: unauthenticated multibulk length');
      expect(runParser([Buffer.from('*10\r\n')], DEFAULT_LIMITS, true).error).to.equal(null);
      expect(runParser([Buffer.from('*1\r\n$16385\r\n')], DEFAULT_LIMITS, true).error).to.equal('ERR Protocol error: unauthenticated bulk length');
      expect(runParser([Buffer.from('*1\r\n$16384\r\n')], DEFAULT_LIMITS, true).error).to.equal(null);
    });

    it('holds only the bytes received, however large the declared bulk', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 512 * 1024 * 1024 }), fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 20 }), (declared, sizes) => {
          const p = new RequestParser({ ...DEFAULT_LIMITS, maxBulkBytes: 512 * 1024 * 1024 });
          const header = Buffer.from(`*1\r\n$${declared}\r\n`);
          p.feed(header);
          let received = 0;
          for (const n of sizes) {
            const piece = Math.min(n, declared + 1 - received);
            if (piece <= 0) break;
            p.feed(Buffer.alloc(piece, 'x'));
            received += piece;
            expect(p.next()).to.equal(null);
            expect(p.retainedBytes()).to.equal(received);
            expect(p.inFrame()).to.equal(true);
          }
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('string2ll', () => {
    it('accepts exactly what Redis accepts', () => {
      const ok: Array<[string, number]> = [['0', 0], ['1', 1], ['-1', -1], ['123', 123], ['9223372036854775807', 9223372036854775807], ['-9223372036854775808', -9223372036854775808]];
      for (const [s, v] of ok) expect(parseLongLong(Buffer.from(s), 0, s.length), s).to.equal(v);
      for (const s of ['', '-', '-0', '00', '01', '+1', ' 1', '1 ', '1a', '9223372036854775808', '-9223372036854775809', '123456789012345678901']) {
        expect(parseLongLong(Buffer.from(s), 0, s.length), s).to.be.NaN;
      }
    });
  });
});

describe('inline command splitting (sdssplitargs)', () => {
  const split = (s: string): string[] | null => splitInlineArgs(Buffer.from(s, 'latin1'), 0, Buffer.byteLength(s, 'latin1'))?.map((b) => b.toString('latin1')) ?? null;
  const cases: Array<[string, string[] | null]> = [
    ['', []],
    ['   \t ', []],
    ['SET k v', ['SET', 'k', 'v']],
    ['  SET   k\tv  ', ['SET', 'k', 'v']],
    ['"a b" c', ['a b', 'c']],
    ['"\\n\\r\\t\\b\\a\\\\\\"\\q"', ['\n\r\t\b\x07\\"q']],
    ['"\\x41\\x7a\\xff"', ['Az\xff']],
    ['"\\x4"', ['x4']],
    ['"\\xZZ"', ['xZZ']],
    ["'it\\'s' 'a\\nb'", ["it's", 'a\\nb']],
    ['ab"cd"', ['abcd']],
    ["ab'c d'", ['abc d']],
    ['""', ['']],
    ["''", ['']],
    ['"a"b', null],
    ["'a'b", null],
    ['"abc', null],
    ["'abc", null],
    ['"abc\\', null],
    ['a\vb', ['a\vb']],
    ['\va', ['a']],
    ['a\rb', ['a', 'b']],
    ['"a"\v', ['a']],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      expect(split(input)).to.deep.equal(expected);
    });
  }

  it('stops at a NUL byte as the C original does', () => {
    expect(split('a b\0c')).to.deep.equal(['a', 'b']);
  });

  it('round-trips any arguments quoted the way redis-cli quotes them', () => {
    const quote = (b: Uint8Array): string =>
      '"' + [...b].map((c) => (c === 0x22 || c === 0x5c ? '\\' + String.fromCharCode(c) : c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0'))).join('') + '"';
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 5 }), (args) => {
        const line = args.map(quote).join(' ');
        expect(split(line)).to.deep.equal(args.map((a) => Buffer.from(a).toString('latin1')));
      }),
    );
  });
});
