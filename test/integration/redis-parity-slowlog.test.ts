/**
 * Redis 7 parity for the slow log, the latency monitor and INFO
 * commandstats/latencystats: irisdb-node and redis-server (cluster mode) get
 * the same commands. SLOWLOG GET is compared with what cannot match
 * normalised — ids (checked consecutive, newest first), times (checked
 * within a minute of now), durations (checked non-negative) and client
 * ports (checked 127.0.0.1:<port>); arguments, truncation, redaction and
 * client names must match exactly. No command is slow on purpose:
 * slowlog-log-slower-than 0 logs every command on both.
 */
import { expect } from 'chai';
import { ParitySession, expectNoMismatches, flushBoth, useParityPair } from '../support/parity.js';
import { parseReply, splitArgs, type Arg, type RespNode } from '../support/resp-client.js';

const str = (n: RespNode | undefined): string => String(n?.value ?? '');

/** A SLOWLOG GET reply with ids, times, durations and client ports checked, then blanked. */
function normaliseSlowlog(reply: Buffer, where: string): unknown {
  const node = parseReply(reply).node;
  expect(node.type, `${where}: ${reply.toString()}`).to.equal('*');
  const nowS = Date.now() / 1000;
  const entries = node.items!;
  return entries.map((e, i) => {
    const [id, time, duration, args, addr, name] = e.items!;
    expect(e.items!.length, where).to.equal(6);
    if (i > 0) expect(Number(id!.value), `${where}: ids consecutive, newest first`).to.equal(Number(entries[i - 1]!.items![0]!.value) - 1);
    expect(Math.abs(Number(time!.value) - nowS), `${where}: time`).to.be.lessThan(60);
    expect(Number(duration!.value), `${where}: duration`).to.be.at.least(0);
    expect(str(addr), `${where}: addr`).to.match(/^127\.0\.0\.1:\d+$/);
    return { args: args!.items!.map(str), name: str(name) };
  });
}

async function both(s: ParitySession, argv: readonly Arg[]): Promise<[Buffer, Buffer]> {
  return Promise.all([s.iris.call(argv), s.redis.call(argv)]);
}

describe('Redis parity: SLOWLOG, LATENCY, INFO commandstats (irisdb-node vs redis-server)', function () {
  const env = useParityPair();
  let s: ParitySession;

  beforeEach(async function () {
    await flushBoth(env.irisPort, env.redisPort);
    s = await ParitySession.open(env.irisPort, env.redisPort);
  });
  afterEach(async function () {
    // Back to the defaults, so the order of the tests does not matter.
    await s.run(splitArgs('config set slowlog-log-slower-than 10000 slowlog-max-len 128 latency-monitor-threshold 0'));
    s.close();
  });

  it('SLOWLOG GET: the same entries (arguments, 32-argument and 128-byte truncation, AUTH redaction, client name)', async function () {
    const lines = [
      'config set slowlog-log-slower-than 0', 'slowlog reset', 'client setname parity',
      'set {t}k v', 'get {t}k', 'auth someone secret',
      ['set', '{t}big', 'x'.repeat(300)],
      ['del', ...Array.from({ length: 40 }, (_, i) => `{t}k${i}`)],
      ['mset', ...Array.from({ length: 32 }, (_, i) => `{t}m${i}`)],
      ['mset', ...Array.from({ length: 31 }, (_, i) => `{t}m${i}`)],
    ];
    for (const line of lines) await s.run(typeof line === 'string' ? splitArgs(line) : line);
    for (const get of ['slowlog get -1', 'slowlog get', 'slowlog get 2', 'slowlog get 0', 'SLOWLOG GET 100000000000']) {
      const [x, y] = await both(s, splitArgs(get));
      expect(normaliseSlowlog(x, `irisdb ${get}`), get).to.deep.equal(normaliseSlowlog(y, `redis ${get}`));
    }
    const [x] = await both(s, splitArgs('slowlog get 1'));
    expect(normaliseSlowlog(x, 'irisdb')).to.deep.equal([{ args: ['SLOWLOG', 'GET', '100000000000'], name: 'parity' }]);
    expectNoMismatches(s.mismatches);
  });

  it('SLOWLOG LEN, RESET, HELP, errors; slowlog-max-len and a negative threshold', async function () {
    for (const line of [
      'config set slowlog-log-slower-than 0', 'slowlog reset', 'slowlog len', 'ping', 'slowlog len',
      'slowlog reset', 'slowlog len', 'slowlog help', 'slowlog get -2', 'slowlog get x', 'slowlog get 1 2',
      'slowlog len x', 'slowlog reset x', 'slowlog foo', 'slowlog',
      'config set slowlog-max-len 2', 'ping', 'ping', 'ping', 'slowlog len',
      'config set slowlog-log-slower-than -1', 'slowlog reset', 'ping', 'slowlog len',
      'config set slowlog-log-slower-than 5 slowlog-max-len 3', 'config get slowlog-log-slower-than',
      'config get slowlog-max-len',
    ]) await s.run(splitArgs(line));
    expectNoMismatches(s.mismatches);
  });

  it('CONFIG SET of the three run-time parameters: errors as Redis', async function () {
    for (const line of [
      'config set slowlog-log-slower-than abc', 'config set slowlog-max-len 5 slowlog-max-len 6',
      'config set nosuchparameter 1', 'config set slowlog-max-len', 'config set slowlog-max-len 1 slowlog-log-slower-than',
      'config get slowlog-max-len', 'config set SLOWLOG-MAX-LEN 7', 'config get slowlog-max-len',
      'config get latency-monitor-threshold', 'config set latency-monitor-threshold 100000', 'config get latency-monitor-threshold',
    ]) await s.run(splitArgs(line));
    expectNoMismatches(s.mismatches);
    // Out of range: the same error, except that IrisDB's upper bounds are its own explicit limits (docs/configuration.md).
    for (const line of ['config set slowlog-log-slower-than -5', 'config set slowlog-max-len -1', 'config set latency-monitor-threshold -1']) {
      const [x, y] = await both(s, splitArgs(line));
      const bound = / and \d+ inclusive/;
      expect(x.toString().replace(bound, ' and N inclusive'), line).to.equal(y.toString().replace(bound, ' and N inclusive'));
    }
  });

  it('LATENCY LATEST, HISTORY, RESET with no event recorded (monitor off, then a threshold no command reaches)', async function () {
    for (const line of [
      'latency latest', 'latency history command', 'latency history fast-command', 'latency reset',
      'latency reset command fast-command', 'latency history', 'latency latest x', 'latency foo',
      'config set latency-monitor-threshold 100000', 'ping', 'get k', 'latency latest', 'latency history command',
    ]) await s.run(splitArgs(line));
    expectNoMismatches(s.mismatches);
  });

  it('INFO commandstats: the same commands with the same calls, rejected_calls and failed_calls; latencystats in Redis 7 form', async function () {
    const run = async (line: string): Promise<void> => {
      await both(s, splitArgs(line));
    };
    await run('config resetstat');
    for (const line of ['set {t}a 1', 'get {t}a', 'get {t}a', 'get', 'incr {t}a x', 'incr nosuch:{t}', 'set {t}s str', 'incr {t}s', 'client setname']) {
      await run(line);
    }
    const fields = (reply: Buffer): Map<string, string> => new Map(str(parseReply(reply).node).split('\r\n')
      .filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
    const [x, y] = await both(s, ['INFO', 'commandstats']);
    const counts = (m: Map<string, string>): Map<string, string> => new Map([...m]
      .filter(([k]) => k !== 'cmdstat_info')
      .map(([k, v]) => [k, v.replace(/usec=\d+,usec_per_call=[\d.]+,/, '')]));
    expect(str(parseReply(x).node)).to.match(/^# Commandstats\r\n/);
    expect(Object.fromEntries(counts(fields(x)))).to.deep.equal(Object.fromEntries(counts(fields(y))));
    expect(fields(x).get('cmdstat_get')).to.match(/^calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0$/);
    const [lx, ly] = await both(s, ['INFO', 'latencystats']);
    const shape = /^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$/;
    for (const [reply, who] of [[lx, 'irisdb'], [ly, 'redis']] as const) {
      expect(fields(reply).get('latency_percentiles_usec_get'), who).to.match(shape);
      expect(str(parseReply(reply).node), who).to.match(/^# Latencystats\r\n/);
    }
    // Neither is in INFO's default sections; both are in INFO all, in Redis's order.
    const sectionsOf = (reply: Buffer): string[] => str(parseReply(reply).node).split('\r\n').filter((l) => l.startsWith('# '));
    const [dx, dy] = await both(s, ['INFO']);
    expect(sectionsOf(dx)).to.deep.equal(sectionsOf(dy));
    const [ax, ay] = await both(s, ['INFO', 'all']);
    expect(sectionsOf(ax)).to.deep.equal(sectionsOf(ay));
  });
});
