/** The Pub/Sub registry and hub with plain data: subscriptions both ways, pattern matching, delivery, output-buffer limits, shard-channel drops; the bus frame codec. */
import { expect } from 'chai';
import fc from 'fast-check';
import { PubSubRegistry } from '../../node/pubsub/registry.js';
import { PubSubHub, type Subscriber } from '../../node/pubsub/hub.js';
import { decodePubSubMessage, decodePubSubOpen, encodePubSubMessage, encodePubSubOpen } from '../../node/pubsub/bus-frames.js';
import { FrameError, FrameReader, FrameType } from '../../node/replication/frames.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

class FakeSubscriber implements Subscriber {
  readonly got: string[] = [];
  buffered = 0;
  killed = false;
  constructor(readonly id: number, readonly protocol: 2 | 3 = 2) {}
  deliverPush(bytes: Buffer): void {
    this.got.push(bytes.toString('latin1'));
  }
  outputBytes(): number {
    return this.buffered;
  }
  kill(): void {
    this.killed = true;
  }
}

function hub(limit = { hardBytes: 0, softBytes: 0, softSeconds: 0 }, clock = { now: 0 }): PubSubHub<FakeSubscriber> {
  return new PubSubHub<FakeSubscriber>({ limit, now: () => clock.now });
}

describe('pubsub: registry', () => {
  it('tracks channels, patterns and shard channels both ways, with Redis\'s counts', () => {
    const r = new PubSubRegistry<string>();
    expect(r.subscribe('channel', 'c1', b('news'))).to.equal(true);
    expect(r.subscribe('channel', 'c1', b('news'))).to.equal(false);
    r.subscribe('pattern', 'c1', b('n*'));
    r.subscribe('shard', 'c1', b('s'));
    r.subscribe('channel', 'c2', b('news'));
    expect(r.subscriptionCount('c1')).to.equal(2);
    expect(r.shardSubscriptionCount('c1')).to.equal(1);
    expect(r.subscriberCount('channel', b('news'))).to.equal(2);
    expect(r.size('pattern')).to.equal(1);
    const rec = r.recipients(b('news'));
    expect(rec.direct).to.have.members(['c1', 'c2']);
    expect(rec.byPattern.map(([s, p]) => `${s}:${p.toString()}`)).to.deep.equal(['c1:n*']);
    expect(r.recipients(b('other')).byPattern).to.deep.equal([]);
    expect(r.activeNames('channel', b('ne?s')).map(String)).to.deep.equal(['news']);
    expect(r.unsubscribe('channel', 'c1', b('nope'))).to.equal(false);
    r.removeSubscriber('c1');
    expect(r.isSubscribed('c1')).to.equal(false);
    expect(r.size('pattern')).to.equal(0);
    expect(r.size('shard')).to.equal(0);
    expect(r.subscriberCount('channel', b('news'))).to.equal(1);
  });

  it('property: after any sequence of (un)subscriptions the two indexes agree', () => {
    const op = fc.record({
      sub: fc.integer({ min: 0, max: 3 }),
      kind: fc.constantFrom('channel' as const, 'pattern' as const, 'shard' as const),
      name: fc.constantFrom('a', 'b', 'a*', '?', '[ab]'),
      add: fc.boolean(),
      remove: fc.boolean(),
    });
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const r = new PubSubRegistry<number>();
      const model = new Map<string, Set<number>>();
      for (const o of ops) {
        if (o.remove) {
          r.removeSubscriber(o.sub);
          for (const set of model.values()) set.delete(o.sub);
          continue;
        }
        const k = `${o.kind}|${o.name}`;
        if (!model.has(k)) model.set(k, new Set());
        if (o.add) {
          r.subscribe(o.kind, o.sub, b(o.name));
          model.get(k)!.add(o.sub);
        } else {
          r.unsubscribe(o.kind, o.sub, b(o.name));
          model.get(k)!.delete(o.sub);
        }
      }
      for (const kind of ['channel', 'pattern', 'shard'] as const) {
        const live = [...model].filter(([k, s]) => k.startsWith(`${kind}|`) && s.size > 0);
        expect(r.size(kind)).to.equal(live.length);
        for (const sub of [0, 1, 2, 3]) {
          const mine = live.filter(([, s]) => s.has(sub)).map(([k]) => k.slice(kind.length + 1)).sort();
          expect(r.namesOf(kind, sub).map(String).sort()).to.deep.equal(mine);
        }
      }
      for (const sub of [0, 1, 2, 3]) {
        const any = [...model.values()].some((s) => s.has(sub));
        expect(r.isSubscribed(sub)).to.equal(any);
      }
    }));
  });
});

describe('pubsub: hub', () => {
  it('encodes a message once per protocol and delivers message, pmessage and smessage', () => {
    const h = hub();
    const s2 = new FakeSubscriber(1, 2);
    const s3 = new FakeSubscriber(2, 3);
    h.registry.subscribe('channel', s2, b('ch'));
    h.registry.subscribe('pattern', s3, b('c*'));
    h.registry.subscribe('shard', s3, b('sh'));
    expect(h.publish(b('ch'), b('hi'))).to.equal(2);
    expect(s2.got).to.deep.equal(['*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n']);
    expect(s3.got).to.deep.equal(['>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n']);
    expect(h.spublish(b('sh'), b('x'))).to.equal(1);
    expect(s3.got[1]).to.equal('>3\r\n$8\r\nsmessage\r\n$2\r\nsh\r\n$1\r\nx\r\n');
  });

  it('hands PUBLISH and SPUBLISH to the forwarder; local delivery does not', () => {
    const h = hub();
    const sent: string[] = [];
    h.setForwarder({ publish: (c, m) => sent.push(`p ${c} ${m}`), spublish: (c, m) => sent.push(`s ${c} ${m}`) });
    h.publish(b('a'), b('1'));
    h.spublish(b('b'), b('2'));
    h.publishLocal(b('c'), b('3'));
    h.spublishLocal(b('d'), b('4'));
    expect(sent).to.deep.equal(['p a 1', 's b 2']);
  });

  it('disconnects a subscriber at the hard limit at once, at the soft limit after soft-seconds', () => {
    const clock = { now: 0 };
    const h = hub({ hardBytes: 1000, softBytes: 100, softSeconds: 2 }, clock);
    const hard = new FakeSubscriber(1);
    const soft = new FakeSubscriber(2);
    const fine = new FakeSubscriber(3);
    for (const s of [hard, soft, fine]) h.registry.subscribe('channel', s, b('ch'));
    hard.buffered = 1000;
    soft.buffered = 150;
    fine.buffered = 99;
    h.publish(b('ch'), b('m'));
    expect([hard.killed, soft.killed, fine.killed]).to.deep.equal([true, false, false]);
    clock.now = 2000;
    h.publish(b('ch'), b('m'));
    expect(soft.killed, 'at exactly soft-seconds').to.equal(false);
    soft.buffered = 50;
    clock.now = 2500;
    h.publish(b('ch'), b('m'));
    soft.buffered = 150;
    clock.now = 3000;
    h.publish(b('ch'), b('m'));
    clock.now = 4500;
    h.publish(b('ch'), b('m'));
    expect(soft.killed, 'the soft clock restarted when it went under').to.equal(false);
    clock.now = 5001;
    h.publish(b('ch'), b('m'));
    expect(soft.killed).to.equal(true);
    expect(h.outputLimitDisconnections).to.equal(2);
    expect(h.registry.subscriberCount('channel', b('ch'))).to.equal(1);
  });

  it('drops shard channels no longer served, telling each subscriber with sunsubscribe', () => {
    const h = hub();
    const s = new FakeSubscriber(1, 3);
    h.registry.subscribe('shard', s, b('keep'));
    h.registry.subscribe('shard', s, b('gone'));
    expect(h.dropShardChannels((c) => c.toString() === 'keep')).to.equal(1);
    expect(s.got).to.deep.equal(['>3\r\n$12\r\nsunsubscribe\r\n$4\r\ngone\r\n:1\r\n']);
    expect(h.registry.namesOf('shard', s).map(String)).to.deep.equal(['keep']);
  });
});

describe('pubsub: bus frames', () => {
  it('property: PubSubMessage round-trips through the frame reader', () => {
    fc.assert(fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (shard, ch, msg) => {
      const r = new FrameReader();
      r.push(encodePubSubMessage({ kind: shard ? 'spublish' : 'publish', channel: Buffer.from(ch), message: Buffer.from(msg) }));
      const f = r.next()!;
      expect(f.type).to.equal(FrameType.PubSubMessage);
      const m = decodePubSubMessage(f.body);
      expect(m.kind).to.equal(shard ? 'spublish' : 'publish');
      expect(m.channel.equals(Buffer.from(ch))).to.equal(true);
      expect(m.message.equals(Buffer.from(msg))).to.equal(true);
    }));
  });

  it('property: any body decodes or throws FrameError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (body) => {
      try {
        decodePubSubMessage(Buffer.from(body));
      } catch (err) {
        expect(err).to.be.instanceOf(FrameError);
      }
    }));
    const open = new FrameReader();
    open.push(encodePubSubOpen('node-1'));
    expect(decodePubSubOpen(open.next()!.body)).to.equal('node-1');
    expect(() => decodePubSubOpen(Buffer.from('{"node":"bad name"}'))).to.throw(FrameError);
  });
});
