/**
 * CommandObserver: what a timed command feeds — the slow log (not for
 * unknown, rejected, MULTI-queued or skip_slowlog commands), the latency
 * monitor ("command" vs "fast-command", deterministic durations here) and
 * commandstats (calls, failed_calls, rejected_calls).
 */
import { expect } from 'chai';
import { CommandObserver } from '../../node/commands/command-observer.js';
import { SlowLog } from '../../node/commands/slowlog.js';
import { LatencyMonitor } from '../../node/commands/latency.js';
import { CommandStats } from '../../node/commands/command-stats.js';
import { createCommandTable } from '../../node/commands/table.js';
import { OK, QUEUED, error, type Reply } from '../../node/resp/reply.js';
import type { ClientState } from '../../node/commands/types.js';

function makeClient(): ClientState {
  return {
    id: 1, name: 'c1', protocol: 2, addr: '127.0.0.1:5000', laddr: '127.0.0.1:6379', createdAt: 0,
    lastInteractionAt: 0, lastCommand: '', authenticated: true, readonly_: false, asking: false, multi: null,
    watched: new Map(), watchDirty: false, closeAfterReply: false,
    outputBytes: () => 0, queryBufferBytes: () => 0, kill: () => undefined,
  };
}

const argv = (line: string): Buffer[] => line.split(' ').map((a) => Buffer.from(a));

describe('CommandObserver', function () {
  let slowlog: SlowLog;
  let latency: LatencyMonitor;
  let stats: CommandStats;
  let observer: CommandObserver;
  let client: ClientState;
  const done = (name: string, line: string, us: number, reply: Reply = OK): void =>
    observer.commandDone(client, argv(line), name, us, reply);

  beforeEach(function () {
    slowlog = new SlowLog(0, 128);
    latency = new LatencyMonitor(10);
    stats = new CommandStats();
    observer = new CommandObserver(createCommandTable(), { slowlog, latency, stats, now: () => 1_700_000_123_456 });
    client = makeClient();
  });

  it('logs a command that ran, with the client address and name and the time in seconds', function () {
    done('set', 'set k v', 42);
    const [e] = slowlog.newest(1);
    expect([e!.time, e!.durationUs, e!.addr, e!.name, e!.args.map(String)]).to.deep.equal([1_700_000_123, 42, '127.0.0.1:5000', 'c1', ['set', 'k', 'v']]);
    expect(stats.commandstats()[0]![1]).to.equal('calls=1,usec=42,usec_per_call=42.00,rejected_calls=0,failed_calls=0');
  });

  it('skips unknown commands; counts refused ones as rejected_calls only; a handler error is a failed call', function () {
    done('', 'nosuch', 5, error("ERR unknown command 'nosuch', with args beginning with: "));
    done('get', 'get', 5, error("ERR wrong number of arguments for 'get' command"));
    done('get', 'get k', 5, error('MOVED 1 127.0.0.1:7000'));
    done('incr', 'incr k', 5, error('ERR value is not an integer or out of range'));
    expect(slowlog.newest(-1).map((e) => e.args.map(String).join(' '))).to.deep.equal(['incr k']);
    expect(Object.fromEntries(stats.commandstats())).to.deep.equal({
      cmdstat_get: 'calls=0,usec=0,usec_per_call=0.00,rejected_calls=2,failed_calls=0',
      cmdstat_incr: 'calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=1',
    });
  });

  it('does not record a command queued by MULTI, nor EXEC in the slow log (skip_slowlog)', function () {
    client.multi = { queue: [], bytes: 0, aborted: false };
    done('multi', 'multi', 1);
    done('set', 'set k v', 1, QUEUED);
    client.multi = null;
    done('exec', 'exec', 1);
    expect(slowlog.newest(-1).map((e) => String(e.args[0]))).to.deep.equal(['multi']);
    expect(stats.commandstats().map(([k]) => k)).to.deep.equal(['cmdstat_multi', 'cmdstat_exec']);
  });

  it('records latency events at the threshold: "command" for slow commands, "fast-command" for fast ones', function () {
    done('get', 'get k', 9_999);
    expect(latency.latest()).to.deep.equal([]);
    done('get', 'get k', 12_000);
    done('keys', 'keys *', 25_000);
    expect(latency.latest()).to.deep.equal([
      { event: 'fast-command', time: 1_700_000_123, latency: 12, max: 12 },
      { event: 'command', time: 1_700_000_123, latency: 25, max: 25 },
    ]);
  });
});
