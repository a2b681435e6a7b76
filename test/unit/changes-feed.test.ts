/**
 * ChangeFeed over a real engine and a real replication log (SQLite in a
 * temp dir): what a stream sends, and when it stops.
 */
import { expect } from 'chai';
import { keySlot } from '../../common/slot.js';
import { SseParser, type SseMessage } from '../../common/change-feed-client.js';
import { ChangeFeed, type ChangeLogSource, type FeedEnd, type FeedSink } from '../../node/changes/feed.js';
import { OwnershipView, recordOwnership, type OwnershipJournal } from '../../node/changes/ownership.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { ReplicationLog } from '../../node/replication/log.js';
import { engineFixture } from '../support/engine-fixture.js';
import { waitFor } from '../support/wait.js';

class Sink implements FeedSink {
  text = '';
  closed = false;
  private close!: () => void;
  readonly gone = new Promise<void>((resolve) => { this.close = resolve; });
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
  hangUp(): void {
    this.closed = true;
    this.close();
  }
  messages(): SseMessage[] {
    return new SseParser().push(this.text);
  }
}

describe('change feed stream (ChangeFeed on a real log)', () => {
  const fx = engineFixture();
  let engine: SqliteEngine;
  let log: ReplicationLog;
  let role: 'primary' | 'replica';
  let journal: OwnershipJournal;
  let acked: number;
  const ackListeners = new Set<() => void>();

  function source(): ChangeLogSource {
    return {
      shard: () => 's0',
      role: () => role,
      history: () => [{ epoch: 4, id: 't', firstSeq: 1 }],
      lastSeq: () => engine.keyspace.lastSeq,
      logFirstSeq: () => log.firstSeq(),
      readLog: (from, limit) => log.readFrom(from, limit),
      onCommitted: (l) => log.subscribe(() => l()),
      ackedSeq: () => acked,
      onAcked: (l) => { ackListeners.add(l); return () => ackListeners.delete(l); },
      ownership: () => ({ view: new OwnershipView(journal), provableFrom: 0 }),
      shuttingDown: () => false,
      onShutdown: () => () => undefined,
    };
  }

  function write(fn: () => void): void {
    fn();
    engine.commits.flushNow();
  }

  function start(fromSeq: number, prefix = ''): { sink: Sink; done: Promise<FeedEnd> } {
    const sink = new Sink();
    const feed = new ChangeFeed(source(), sink, { shard: 's0', fromSeq, prefix: Buffer.from(prefix), encoding: 'utf8', pageEvents: 2, keepaliveMs: 60_000 });
    return { sink, done: feed.run() };
  }

  beforeEach(() => {
    engine = fx.open();
    log = new ReplicationLog(engine.db, () => undefined);
    engine.setMutationLog(log);
    role = 'primary';
    journal = [];
    acked = Infinity;
  });

  it('sends the logged changes from a sequence, then follows new commits, in order, with positions as SSE ids', async () => {
    write(() => { engine.keyspace.set(Buffer.from('a'), Buffer.from('1'), null); engine.keyspace.set(Buffer.from('b'), Buffer.from('2'), 5000); });
    write(() => engine.keyspace.delete(Buffer.from('a'), Date.now()));
    const { sink, done } = start(2);
    await waitFor('the backlog', () => sink.messages().filter((m) => m.event === 'change').length === 2);
    write(() => engine.keyspace.set(Buffer.from('c'), Buffer.from('3'), null));
    await waitFor('the new commit', () => sink.messages().filter((m) => m.event === 'change').length === 3);
    const changes = sink.messages().filter((m) => m.event === 'change');
    expect(changes.map((m) => m.id)).to.deep.equal(['s0:4:2', 's0:4:3', 's0:4:4']);
    expect(changes.map((m) => JSON.parse(m.data) as { op: string; key: string })).to.deep.include.members([
      { position: 's0:4:2', shard: 's0', epoch: 4, seq: 2, op: 'set', key: 'b', keyEncoding: 'utf8', value: '2', valueEncoding: 'utf8', expiresAt: 5000, tombstone: false },
    ]);
    expect(changes.map((m) => (JSON.parse(m.data) as { op: string }).op)).to.deep.equal(['set', 'del', 'set']);
    sink.hangUp();
    expect(await done).to.deep.equal({ kind: 'client_gone' });
  });

  it('sends a change only once its replica acknowledgements are in, woken by the ack gate', async () => {
    acked = 0;
    write(() => engine.keyspace.set(Buffer.from('a'), Buffer.from('1'), null));
    write(() => engine.keyspace.set(Buffer.from('b'), Buffer.from('2'), null));
    const { sink, done } = start(1);
    // Both are committed: a feed that ignored the acks would send them together, and the count would never be exactly 1.
    acked = 1;
    for (const l of ackListeners) l();
    await waitFor('the acknowledged change', () => sink.messages().filter((m) => m.event === 'change').length === 1);
    acked = 2;
    for (const l of ackListeners) l();
    await waitFor('the second one', () => sink.messages().filter((m) => m.event === 'change').length === 2);
    sink.hangUp();
    await done;
  });

  it('leaves out keys outside the prefix and changes to slots the shard did not own then, and moves the position past them', async () => {
    const key = Buffer.from('moved');
    const slot = keySlot(key);
    // Before seq 2 the slot is not ours (a migration copying it in); from seq 3 on it is.
    journal = recordOwnership([], 0, slot > 0 ? [[0, slot - 1]] : [[1, 16383]], true)!;
    journal = recordOwnership(journal, 2, [[0, 16383]], true)!;
    write(() => engine.keyspace.set(key, Buffer.from('copy'), null));
    write(() => engine.keyspace.set(Buffer.from('other'), Buffer.from('x'), null));
    write(() => engine.keyspace.set(key, Buffer.from('mine'), null));
    write(() => engine.keyspace.set(Buffer.from('zzz'), Buffer.from('y'), null));
    const { sink, done } = start(1, 'mo');
    await waitFor('the stream to pass seq 4', () => sink.messages().some((m) => m.id === 's0:4:4'));
    const msgs = sink.messages();
    expect(msgs.filter((m) => m.event === 'change').map((m) => (JSON.parse(m.data) as { value: string }).value)).to.deep.equal(['mine']);
    expect(msgs.filter((m) => m.event === 'progress').length).to.be.greaterThan(0);
    sink.hangUp();
    await done;
  });

  it('ends when the node stops being primary, and says gone when the log no longer holds its next sequence', async () => {
    const { sink, done } = start(1);
    role = 'replica';
    write(() => engine.keyspace.set(Buffer.from('k'), Buffer.from('v'), null));
    expect((await done).kind).to.equal('not_primary');
    role = 'primary';
    // Trimmed past seq 1 before a behind consumer got there.
    write(() => engine.keyspace.set(Buffer.from('k2'), Buffer.from('v'), null));
    engine.keyspace.commits.markWrite();
    log.trimBefore(3);
    engine.commits.flushNow();
    const late = start(1);
    const end = await late.done;
    expect(end.kind).to.equal('gone');
    expect((end as { reason: string }).reason).to.match(/fell behind/);
    expect(sink.closed).to.equal(false);
  });
});
