/** The keyspace notifier on a real engine: events only after the commit, none when off or for a flush, `expired` from the active cycle. */
import { expect } from 'chai';
import { engineFixture } from '../support/engine-fixture.js';
import { KeyspaceNotifier, type KeyspacePublisher } from '../../node/pubsub/keyspace-notifier.js';
import { parseKeyspaceEventFlags } from '../../node/pubsub/keyspace-flags.js';
import { OK } from '../../node/resp/reply.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

class Recorder implements KeyspacePublisher {
  notifyFlags = parseKeyspaceEventFlags('KEA')!;
  readonly published: string[] = [];
  publishLocal(channel: Buffer, message: Buffer): number {
    this.published.push(`${channel.toString()} ${message.toString()}`);
    return 0;
  }
}

describe('pubsub: keyspace notifier on a real engine', () => {
  const fx = engineFixture();

  it('publishes a write\'s events once its turn committed, not before', async () => {
    const engine = fx.open();
    const rec = new Recorder();
    const n = new KeyspaceNotifier(rec, engine.keyspace, engine.commits);
    const now = Date.now();
    n.wrap('set', [b('set'), b('k'), b('v')], [b('k')], now, () => {
      engine.keyspace.set(b('k'), b('v'), null);
      return OK;
    });
    expect(rec.published, 'before the commit').to.deep.equal([]);
    await engine.commits.barrier();
    expect(rec.published).to.deep.equal(['__keyspace@0__:k set', '__keyevent@0__:set k']);
  });

  it('records nothing when notifications are off, or for FLUSHALL', async () => {
    const engine = fx.open();
    const rec = new Recorder();
    const n = new KeyspaceNotifier(rec, engine.keyspace, engine.commits);
    rec.notifyFlags = 0;
    expect(n.enabled).to.equal(false);
    n.wrap('set', [b('set'), b('a'), b('1')], [b('a')], Date.now(), () => {
      engine.keyspace.set(b('a'), b('1'), null);
      return OK;
    });
    rec.notifyFlags = parseKeyspaceEventFlags('K')!;
    expect(n.enabled, 'a channel but no class').to.equal(false);
    rec.notifyFlags = parseKeyspaceEventFlags('KEA')!;
    n.wrap('flushall', [b('flushall')], [], Date.now(), () => {
      engine.keyspace.clear();
      return OK;
    });
    await engine.commits.barrier();
    expect(rec.published).to.deep.equal([]);
  });

  it('raises expired for keys the active cycle deletes, after their delete committed', async () => {
    const engine = fx.open();
    const rec = new Recorder();
    rec.notifyFlags = parseKeyspaceEventFlags('Ex')!;
    const n = new KeyspaceNotifier(rec, engine.keyspace, engine.commits);
    expect(n.enabled).to.equal(true);
    engine.keyspace.set(b('gone'), b('v'), Date.now() - 1);
    await engine.commits.barrier();
    expect(engine.runExpiryCycle()).to.equal(1);
    expect(rec.published).to.deep.equal([]);
    await engine.commits.barrier();
    expect(rec.published).to.deep.equal(['__keyevent@0__:expired gone']);
  });
});
