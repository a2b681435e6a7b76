/**
 * A mixed-version pair (issue #16): a real primary of this build compares
 * digests with a replica of an older build, which ignores the request's
 * `format` and answers in JSON (format 1). The older replica is a raw bus
 * peer speaking the older protocol: authenticate, Hello, load the full
 * resync, acknowledge, then answer DigestRequest with the JSON reply the
 * older build sent. The primary asks for the binary format and still reads
 * the JSON answer: no error, same slots, and a slot the replica reports
 * differently shows up as differing.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import type { SlotDigest } from '../../common/replication.js';
import { AdminClient } from '../../common/admin-client.js';
import { decodeValue } from '../../node/engine/codec.js';
import { encodeAck } from '../../node/replication/batch-codec.js';
import { DIGEST_FORMAT_LATEST } from '../../node/replication/digest-codec.js';
import { DigestAccumulator } from '../../node/replication/digest.js';
import { FrameType } from '../../node/replication/frames.js';
import { decodeRows } from '../../node/replication/row-codec.js';
import { RawBusPeer } from '../support/raw-bus.js';
import { waitFor } from '../support/wait.js';
import { CLUSTER_TOKEN, Shard, connectClient } from '../support/repl-shard.js';

const OLD_REPLICA = 'mix-9';

describe('stalls: digest comparison with an older replica (JSON digest reply)', function () {
  this.timeout(120_000);
  let shard: Shard | undefined;
  let client: Redis | undefined;
  let peer: RawBusPeer | undefined;

  afterEach(async () => {
    peer?.close();
    client?.disconnect();
    await shard?.stop();
    shard = undefined;
  });

  /** The older replica: handshake, full resync, ack; returns its digests of what it loaded. */
  async function attachOldReplica(s: Shard): Promise<{ raw: RawBusPeer; slots: SlotDigest[]; seq: number }> {
    const P = s.primary;
    await P.admin.setRole({ role: 'primary', epoch: s.epoch, replicas: [OLD_REPLICA] });
    const raw = await RawBusPeer.connect(P.node.busPort);
    await raw.authenticate(CLUSTER_TOKEN, OLD_REPLICA);
    // An older replica's Hello: no `trace`, nothing about digest formats.
    raw.send(FrameType.Hello, {
      v: 1, name: OLD_REPLICA, epoch: s.epoch, expectPrimary: P.name, seq: 0, termId: '',
      respHost: '127.0.0.1', respPort: 1, busHost: '127.0.0.1', busPort: 1,
    });
    const acc = new DigestAccumulator();
    let seq = -1;
    while (seq < 0) {
      const f = await raw.next('full resync frames', 30_000);
      if (f === null) throw new Error('the primary closed the connection during the resync');
      if (f.type === FrameType.SnapshotRows) {
        for (const r of decodeRows(f.body)) acc.add(keySlot(r.key), r.key, decodeValue(r.value, r.flags, r.key, null), r.expiresAt);
      } else if (f.type === FrameType.SnapshotEnd) {
        seq = (JSON.parse(f.body.toString('utf8')) as { seq: number }).seq;
      }
    }
    raw.socket.write(encodeAck(seq));
    return { raw, slots: acc.result(), seq };
  }

  /** Answers the next DigestRequest as the older build did: JSON, whatever format was asked. Returns the request. */
  async function answerAsOldBuild(raw: RawBusPeer, seq: number, slots: readonly SlotDigest[]): Promise<Record<string, unknown>> {
    for (;;) {
      const f = await raw.next('DigestRequest', 60_000);
      if (f === null) throw new Error('the primary closed the connection before asking for digests');
      if (f.type !== FrameType.DigestRequest) continue; // pings
      const req = JSON.parse(f.body.toString('utf8')) as Record<string, unknown>;
      raw.send(FrameType.DigestReply, { id: req['id'], seq, slots });
      return req;
    }
  }

  it('a primary of this build reads the JSON digest reply of an older replica and finds the slot that differs', async () => {
    shard = await Shard.start({ replicas: 0, minSyncReplicas: 0, namePrefix: 'mix-' });
    client = await connectClient(shard.primary.node.port);
    for (let i = 0; i < 200; i++) await client.set(`key:${i}`, `value ${i}`);
    const old = await attachOldReplica(shard);
    peer = old.raw;
    expect(old.slots.reduce((n, d) => n + d.count, 0)).to.equal(200);
    const admin = new AdminClient(shard.primary.node.url, CLUSTER_TOKEN, 60_000);
    const P = shard.primary;
    await waitFor('the older replica online on the primary', async () => (await P.admin.replication()).replicas.some((r) => r.name === OLD_REPLICA && r.state === 'online'), { timeoutMs: 30_000, intervalMs: 50 });

    // Same data: nothing differs, no error.
    const [same, req] = await Promise.all([admin.digestDiff(), answerAsOldBuild(old.raw, old.seq, old.slots)]);
    expect(req['format']).to.equal(DIGEST_FORMAT_LATEST); // asked for binary; got JSON
    expect(same.replicas).to.deep.equal([{ name: OLD_REPLICA, differing: [], error: null }]);

    // One slot reported differently: the JSON reply is really compared.
    const changed = old.slots.map((d, i) => (i === 3 ? { ...d, hash: d.hash === '0000000000000000' ? '0000000000000001' : '0000000000000000' } : d));
    const [diff] = await Promise.all([admin.digestDiff(), answerAsOldBuild(old.raw, old.seq, changed)]);
    expect(diff.replicas).to.deep.equal([{ name: OLD_REPLICA, differing: [old.slots[3]!.slot], error: null }]);
  });
});
