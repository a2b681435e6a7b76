/**
 * Redis 7 parity of INFO stats keyspace_hits / keyspace_misses: the keys that
 * read commands found / did not find (Redis's lookupKeyRead), not the read
 * cache's hits. Each command runs after CONFIG RESETSTAT on both servers,
 * and the two counters must then be the same on both. IrisDB's read cache
 * (negative entries on by default) must not change what is counted: an
 * absent key read twice is two misses.
 */
import { expect } from 'chai';
import { ParitySession, expectNoMismatches, flushBoth, useStandaloneParityPair } from '../support/parity.js';
import { parseReply, splitArgs, type RawRespClient } from '../support/resp-client.js';

/** Commands on a present key p (value "hello", with a TTL) and keys that do not exist. */
const COMMANDS = [
  'get p', 'get nokey', 'get nokey', 'mget p nokey p', 'exists p', 'exists nokey', 'exists p nokey p',
  'type p', 'type nokey', 'ttl p', 'ttl nokey', 'pttl p', 'expiretime nokey', 'strlen p', 'strlen nokey',
  'getex p', 'getex nokey', 'getrange p 0 1', 'substr nokey 0 1', 'getbit p 1', 'bitcount nokey', 'bitpos p 1',
  'bitfield_ro p get u8 0', 'bitfield p get u8 0', 'lcs p nokey', 'dump p', 'dump nokey', 'object encoding p',
  'object encoding nokey', 'touch p nokey', 'copy nokey dst', 'copy p dst', 'getset g v', 'set p hello get',
  'getdel nokey',
  // Write-side lookups count nothing.
  'set x 1', 'incr n', 'append p !', 'setnx p v', 'set p v nx', 'set nokey v xx', 'set p hello keepttl',
  'msetnx p v', 'expire nokey 10', 'persist p', 'del nokey', 'setrange p 0 h', 'bitfield p set u8 0 104',
  'rename p q', 'rename q p', 'scan 0 match nomatch', 'keys *', 'dbsize',
];

async function counters(c: RawRespClient): Promise<{ hits: number; misses: number; readCacheHits: number | null }> {
  const text = String(parseReply(await c.call(['INFO', 'stats'])).node.value);
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:(\\d+)\\r?$`, 'm').exec(text);
    return m === null ? null : Number(m[1]);
  };
  return { hits: field('keyspace_hits') ?? -1, misses: field('keyspace_misses') ?? -1, readCacheHits: field('irisdb_read_cache_hits') };
}

describe('Redis parity: INFO keyspace_hits / keyspace_misses (irisdb-node vs redis-server)', function () {
  const env = useStandaloneParityPair();
  let s: ParitySession;

  beforeEach(async function () {
    await flushBoth(env.irisPort, env.redisPort);
    s = await ParitySession.open(env.irisPort, env.redisPort);
  });
  afterEach(function () {
    s.close();
  });

  it('each read command counts the keys it found and did not find as Redis does; writes count nothing', async function () {
    const got: string[] = [];
    const want: string[] = [];
    for (const line of COMMANDS) {
      await s.run(splitArgs('set p hello ex 1000'));
      await s.run(splitArgs('config resetstat'));
      await s.run(splitArgs(line));
      const [x, y] = await Promise.all([counters(s.iris), counters(s.redis)]);
      got.push(`${line}: hits=${x.hits} misses=${x.misses}`);
      want.push(`${line}: hits=${y.hits} misses=${y.misses}`);
    }
    expect(got).to.deep.equal(want);
    expectNoMismatches(s.mismatches);
  });

  it('counts accumulate across commands and inside MULTI/EXEC; CONFIG RESETSTAT zeroes them; the read cache keeps its own fields', async function () {
    for (const line of ['config resetstat', 'set a 1', 'get a', 'get a', 'get b', 'get b', 'multi', 'get a', 'mget a b', 'exec', 'exists a b']) {
      await s.run(splitArgs(line));
    }
    const [x, y] = await Promise.all([counters(s.iris), counters(s.redis)]);
    expect({ hits: x.hits, misses: x.misses }).to.deep.equal({ hits: y.hits, misses: y.misses });
    expect({ hits: y.hits, misses: y.misses }).to.deep.equal({ hits: 5, misses: 4 });
    // The second GET of each key is served by IrisDB's read cache (a value, then a negative entry).
    expect(x.readCacheHits).to.be.at.least(2);
    await s.run(splitArgs('config resetstat'));
    const [x2, y2] = await Promise.all([counters(s.iris), counters(s.redis)]);
    expect({ hits: x2.hits, misses: x2.misses }).to.deep.equal({ hits: 0, misses: 0 });
    expect({ hits: y2.hits, misses: y2.misses }).to.deep.equal({ hits: 0, misses: 0 });
    expectNoMismatches(s.mismatches);
  });
});
