/**
 * The slow log ring (threshold, max length, newest first, ids, RESET),
 * Redis's argument truncation (32 arguments, 128 bytes) and AUTH redaction;
 * the latency monitor's per-second samples; commandstats/latencystats lines.
 */
import { expect } from 'chai';
import { SlowLog, slowlogArgs } from '../../node/commands/slowlog.js';
import { LatencyMonitor, LATENCY_HISTORY_LEN } from '../../node/commands/latency.js';
import { CommandStats, percentiles } from '../../node/commands/command-stats.js';
import { isRejection } from '../../node/commands/command-observer.js';

const args = (...xs: string[]): Buffer[] => xs.map((x) => Buffer.from(x));
const texts = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString());

describe('slow log', function () {
  it('records commands at or above the threshold, newest first, with increasing ids', function () {
    const log = new SlowLog(100, 128);
    log.record(args('get', 'a'), 99, 5_000, '1.2.3.4:5', '');
    log.record(args('get', 'b'), 100, 6_000, '1.2.3.4:5', 'x');
    log.record(args('get', 'c'), 250, 7_999, '1.2.3.4:6', '');
    expect(log.length).to.equal(2);
    const [newest, older] = log.newest(10);
    expect([newest!.id, newest!.time, newest!.durationUs, texts(newest!.args), newest!.addr]).to.deep.equal([1, 7, 250, ['get', 'c'], '1.2.3.4:6']);
    expect([older!.id, older!.name]).to.deep.equal([0, 'x']);
    expect(log.newest(1).map((e) => e.id)).to.deep.equal([1]);
    expect(log.newest(-1).length).to.equal(2);
  });

  it('0 logs everything, a negative threshold nothing', function () {
    const all = new SlowLog(0, 128);
    all.record(args('ping'), 0, 0, 'a:1', '');
    expect(all.length).to.equal(1);
    const none = new SlowLog(-1, 128);
    none.record(args('ping'), 1e9, 0, 'a:1', '');
    expect(none.length).to.equal(0);
  });

  it('keeps at most maxLen entries (the oldest go), also when maxLen shrinks; RESET empties it and ids go on', function () {
    const log = new SlowLog(0, 3);
    for (let i = 0; i < 5; i++) log.record(args('set', `k${i}`, 'v'), 1, 0, 'a:1', '');
    expect(log.newest(-1).map((e) => e.id)).to.deep.equal([4, 3, 2]);
    log.maxLen = 1;
    expect(log.newest(-1).map((e) => e.id)).to.deep.equal([4]);
    log.reset();
    expect(log.length).to.equal(0);
    log.record(args('ping'), 1, 0, 'a:1', '');
    expect(log.newest(-1).map((e) => e.id)).to.deep.equal([5]);
  });

  it('truncates as Redis: 32 arguments with "... (N more arguments)", strings over 128 bytes with "... (N more bytes)"', function () {
    const many = args('del', ...Array.from({ length: 39 }, (_, i) => `k${i}`));
    const kept = texts(slowlogArgs(many));
    expect(kept.length).to.equal(32);
    expect(kept[30]).to.equal('k29');
    expect(kept[31]).to.equal('... (9 more arguments)');
    const exactly32 = args('del', ...Array.from({ length: 31 }, (_, i) => `k${i}`));
    expect(texts(slowlogArgs(exactly32))).to.deep.equal(texts(exactly32));
    const long = slowlogArgs(args('set', 'k', 'v'.repeat(200)));
    expect(long[2]!.toString()).to.equal('v'.repeat(128) + '... (72 more bytes)');
    expect(slowlogArgs(args('set', 'k', 'v'.repeat(128)))[2]!.length).to.equal(128);
  });

  it('redacts AUTH and HELLO AUTH credentials', function () {
    const log = new SlowLog(0, 10);
    log.record(args('AUTH', 'user', 'pw'), 1, 0, 'a:1', '');
    log.record(args('hello', '3', 'AUTH', 'user', 'pw', 'SETNAME', 'n'), 1, 0, 'a:1', '');
    const [hello, auth] = log.newest(2);
    expect(texts(auth!.args)).to.deep.equal(['AUTH', '(redacted)', '(redacted)']);
    expect(texts(hello!.args)).to.deep.equal(['hello', '3', 'AUTH', '(redacted)', '(redacted)', 'SETNAME', 'n']);
  });

  it('copies arguments (argv may be a view of the input buffer that is reused)', function () {
    const input = Buffer.from('getkey');
    const log = new SlowLog(0, 10);
    log.record([input.subarray(0, 3), input.subarray(3)], 1, 0, 'a:1', '');
    input.fill(0x78);
    expect(texts(log.newest(1)[0]!.args)).to.deep.equal(['get', 'key']);
  });
});

describe('latency monitor', function () {
  it('is off at threshold 0; records "command" and "fast-command" at or above the threshold in ms', function () {
    const off = new LatencyMonitor(0);
    off.recordCommand(1e9, false, 0);
    expect(off.latest()).to.deep.equal([]);
    const m = new LatencyMonitor(5);
    m.recordCommand(4_999, false, 1_000);
    expect(m.latest()).to.deep.equal([]);
    m.recordCommand(5_000, false, 1_000);
    m.recordCommand(7_500, true, 2_000);
    expect(m.latest()).to.deep.equal([
      { event: 'command', time: 1, latency: 5, max: 5 },
      { event: 'fast-command', time: 2, latency: 7, max: 7 },
    ]);
  });

  it('keeps one sample per second (the highest), at most 160, and the all-time max; RESET counts the events it forgot', function () {
    const m = new LatencyMonitor(1);
    m.add('command', 3, 10);
    m.add('command', 9, 10);
    m.add('command', 2, 10);
    m.add('command', 4, 11);
    expect(m.history('command')).to.deep.equal([{ time: 10, latency: 9 }, { time: 11, latency: 4 }]);
    expect(m.latest()).to.deep.equal([{ event: 'command', time: 11, latency: 4, max: 9 }]);
    for (let t = 100; t < 100 + LATENCY_HISTORY_LEN + 5; t++) m.add('command', 1, t);
    expect(m.history('command').length).to.equal(LATENCY_HISTORY_LEN);
    m.add('fast-command', 1, 1);
    expect(m.reset(['nosuch', 'command'])).to.equal(1);
    expect(m.reset([])).to.equal(1);
    expect(m.latest()).to.deep.equal([]);
  });
});

describe('INFO commandstats and latencystats', function () {
  it('formats cmdstat_<name> and latency_percentiles_usec_<name> as Redis 7', function () {
    const s = new CommandStats();
    s.recordCall('get', 10, false);
    s.recordCall('get', 20, true);
    s.recordRejected('get');
    s.recordRejected('config|set');
    expect(s.commandstats()).to.deep.equal([
      ['cmdstat_get', 'calls=2,usec=30,usec_per_call=15.00,rejected_calls=1,failed_calls=1'],
      ['cmdstat_config|set', 'calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0'],
    ]);
    const lat = s.latencystats();
    expect(lat.map(([k]) => k)).to.deep.equal(['latency_percentiles_usec_get']);
    expect(lat[0]![1]).to.match(/^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$/);
    s.reset();
    expect(s.commandstats()).to.deep.equal([]);
  });

  it('percentiles of an empty histogram are 0', function () {
    expect(percentiles(new Map(), 0, [50])).to.deep.equal([0]);
  });

  it('percentiles are within 2% of the true value', function () {
    const s = new CommandStats();
    for (let us = 1; us <= 1000; us++) s.recordCall('get', us, false);
    const [p50, p99, p999] = /p50=([\d.]+),p99=([\d.]+),p99\.9=([\d.]+)/.exec(s.latencystats()[0]![1])!.slice(1).map(Number);
    expect(p50! / 500).to.be.within(1, 1.02);
    expect(p99! / 990).to.be.within(1, 1.02);
    expect(p999! / 999).to.be.within(1, 1.02);
  });

  it('classifies errors answered before a command ran as rejections', function () {
    expect(isRejection("ERR wrong number of arguments for 'get' command", 2, 1)).to.equal(true);
    expect(isRejection("ERR wrong number of arguments for 'mset' command", -3, 4)).to.equal(false);
    expect(isRejection("ERR wrong number of arguments for 'mset' command", -3, 2)).to.equal(true);
    expect(isRejection('MOVED 3999 127.0.0.1:6381', 2, 2)).to.equal(true);
    expect(isRejection('NOAUTH Authentication required.', 2, 2)).to.equal(true);
    expect(isRejection('WRONGTYPE Operation against a key holding the wrong kind of value', 2, 2)).to.equal(false);
  });
});
