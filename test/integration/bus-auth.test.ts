/**
 * Issue #14 item 2: the cluster bus trusts only peers that prove they know
 * the cluster secret, and the secret never crosses the wire.
 *
 * 1. Impersonation: a replica's process is killed and a raw socket listens
 *    on its bus address, answering the primary's isolation probes as a
 *    primary at epoch 1000 (with a forged challenge, or with a ProbeReply at
 *    once, as the old protocol took). The primary never sends the token's
 *    bytes, keeps its role and epoch, and keeps acknowledging writes.
 * 2. A raw socket sends well-formed replication and migration frames to the
 *    primary's bus without the secret: each gets the same generic refusal
 *    (no epoch, no address, no shard), counted in a metric, and nothing on
 *    the node changes (role, epoch, data, migrations).
 * 3. Even an authenticated peer's newer epoch is only a claim: the primary
 *    stops acknowledging writes (self-fence) but keeps its role and epoch;
 *    the control plane's setRole lifts the fence.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Redis } from 'ioredis';
import { MigrationAdminClient } from '../../common/migration-admin-client.js';
import { ServerHandshake, parseAuthHello, parseAuthProof } from '../../node/replication/bus-auth.js';
import { FrameReader, FrameType, encodeJsonFrame, type Frame } from '../../node/replication/frames.js';
import { RawBusPeer } from '../support/raw-bus.js';
import { CLUSTER_TOKEN, Shard, connectClient, metric, type ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

/**
 * A fake node on a bus address: records every byte each connection sent and
 * answers probes as a primary at a huge epoch. Without the secret it forges
 * what it cannot compute; with it (`secret`), it is an authenticated peer
 * that lies about its epoch.
 */
class Impostor {
  readonly received: Buffer[] = [];
  connections = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly name: string, private readonly epoch: number, private readonly secret: string | null = null) {
    this.server = net.createServer((s) => this.accept(s));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Everything any connection sent, in one buffer. */
  get allBytes(): Buffer {
    return Buffer.concat(this.received);
  }

  private accept(socket: net.Socket): void {
    const n = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    const claim = { name: this.name, epoch: this.epoch, role: 'primary', primary: null };
    const hs = this.secret === null ? null : new ServerHandshake(this.secret, this.name);
    socket.on('data', (chunk: Buffer) => {
      this.received.push(Buffer.from(chunk));
      reader.push(chunk);
      for (;;) {
        let f;
        try {
          f = reader.next();
        } catch {
          socket.destroy();
          return;
        }
        if (f === null) return;
        if (hs !== null) this.answerWithSecret(socket, hs, f, claim);
        else this.answerWithoutSecret(socket, n, f, claim);
      }
    });
  }

  private answerWithSecret(socket: net.Socket, hs: ServerHandshake, f: Frame, claim: object): void {
    if (f.type === FrameType.AuthHello) socket.write(encodeJsonFrame(FrameType.AuthChallenge, hs.challenge(parseAuthHello(f.body))));
    else if (f.type === FrameType.AuthProof) hs.verify(parseAuthProof(f.body));
    else if (f.type === FrameType.Probe) socket.end(encodeJsonFrame(FrameType.ProbeReply, claim));
  }

  /** Alternate connections: the claim straight away (what the old protocol took after a Probe), or a forged challenge first. */
  private answerWithoutSecret(socket: net.Socket, n: number, f: Frame, claim: object): void {
    if (f.type === FrameType.Probe || n % 2 === 0) {
      socket.write(encodeJsonFrame(FrameType.ProbeReply, claim));
    } else if (f.type === FrameType.AuthHello) {
      // It cannot prove the secret: a challenge with a made-up proof, then the claim.
      socket.write(encodeJsonFrame(FrameType.AuthChallenge, { name: this.name, nonce: randomBytes(32).toString('hex'), proof: randomBytes(32).toString('hex') }));
      socket.write(encodeJsonFrame(FrameType.ProbeReply, claim));
    }
  }
}

describe('cluster bus: peers prove the secret without sending it (issue #14 item 2)', function () {
  let shard: Shard | undefined;
  let impostor: Impostor | undefined;
  const conns: Redis[] = [];

  afterEach(async () => {
    for (const c of conns.splice(0)) c.disconnect();
    await impostor?.close();
    impostor = undefined;
    await shard?.stop();
    shard = undefined;
  });

  it('an impostor on a dead replica\'s bus address learns nothing and cannot depose the primary', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'imp-' });
    const P = shard.primary;
    const [A, B] = shard.replicas as [ShardNode, ShardNode];
    const client = await connectClient(P.node.port);
    conns.push(client);
    expect(await client.set('before', '1')).to.equal('OK');

    await B.node.kill9();
    impostor = new Impostor(B.name, 1000);
    await impostor.listen(B.node.busPort);
    // The primary probes the peers it misses about once a second: let it try several times, both ways of answering.
    await waitFor('the primary to probe the impostor four times', () => impostor!.connections >= 4, { timeoutMs: 20_000 });

    const secret = Buffer.from(CLUSTER_TOKEN, 'utf8');
    expect(impostor.allBytes.length).to.be.greaterThan(0);
    expect(impostor.allBytes.includes(secret), 'the cluster token appeared in what the primary sent').to.equal(false);
    expect(impostor.allBytes.includes(Buffer.from(secret.toString('hex'))), 'the token in hex').to.equal(false);

    const st = await P.admin.replication();
    expect({ role: st.role, epoch: st.epoch }).to.deep.equal({ role: 'primary', epoch: 1 });
    expect(await metric(P.node, 'irisdb_replication_fenced_total')).to.equal(0);
    // The forged challenges were caught, counted and logged.
    expect(await metric(P.node, 'irisdb_bus_auth_refused_total')).to.be.greaterThan(0);
    expect(P.node.logs()).to.match(/bus peer refused: it did not prove it knows the cluster secret/);
    // Writes are still acknowledged (replica A acknowledges them).
    expect(await client.set('after', '2')).to.equal('OK');
    expect(await client.get('after')).to.equal('2');
    const a = await A.admin.replication();
    expect({ role: a.role, epoch: a.epoch }).to.deep.equal({ role: 'replica', epoch: 1 });
  });

  it('frames from a peer without the secret change nothing and get a refusal that says nothing', async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, namePrefix: 'raw-' });
    const P = shard.primary;
    const client = await connectClient(P.node.port);
    conns.push(client);
    expect(await client.set('k', 'v1')).to.equal('OK');
    const migrations = new MigrationAdminClient(P.node.url, CLUSTER_TOKEN);
    const snapshot = async (): Promise<unknown> => {
      const st = await P.admin.replication();
      const m = await migrations.list().catch((e: Error) => `error: ${e.message}`);
      return { role: st.role, epoch: st.epoch, lastSeq: st.lastSeq, history: st.history, replicas: st.declaredReplicas, k: await client.get('k'), migrations: m };
    };
    const before = await snapshot();
    const refusedBefore = await metric(P.node, 'irisdb_bus_auth_refused_total');

    const hello = {
      v: 1, token: 'guess', name: 'raw-9', epoch: 1000, expectPrimary: P.name, seq: 0, termId: '',
      respHost: '127.0.0.1', respPort: 1, busHost: '127.0.0.1', busPort: 1,
    };
    const frames: Array<[FrameType, unknown]> = [
      [FrameType.Hello, hello],
      [FrameType.Probe, { token: 'guess', name: 'raw-9', epoch: 1000 }],
      [FrameType.MigrateBegin, { v: 1, token: 'guess', id: 'm-raw', attempt: 1, slots: [[0, 100]], source: 'raw-9', sourceShard: 's0', targetShard: 's1', mapEpoch: 1000 }],
      [FrameType.MigrateAbort, { token: 'guess', id: 'm-raw', attempt: 0, source: 'raw-9' }],
      [FrameType.Ping, { epoch: 1000, seq: 1, time: 1 }],
    ];
    const answers: string[] = [];
    for (const [type, body] of frames) {
      const peer = await RawBusPeer.connect(P.node.busPort);
      peer.send(type, body);
      await peer.waitClosed();
      answers.push(peer.received.toString('utf8'));
      expect(peer.frames.map((f) => FrameType[f.type]), FrameType[type]).to.deep.equal(['AuthRefused']);
      expect(JSON.parse(peer.frames[0]!.body.toString('utf8')), FrameType[type]).to.deep.equal({ message: 'authentication failed' });
    }
    // A peer that tries the handshake with a made-up proof, then sends a Hello at once.
    const forger = await RawBusPeer.connect(P.node.busPort);
    const ch = await forger.forgeProof('raw-9');
    forger.send(FrameType.Hello, hello);
    await forger.waitClosed();
    expect(ch?.type).to.equal(FrameType.AuthChallenge);
    expect(forger.frames.slice(1).map((f) => FrameType[f.type])).to.deep.equal(['AuthRefused']);
    answers.push(forger.received.toString('utf8'));

    for (const a of answers) {
      expect(a).not.to.match(/epoch|primary|127\.0\.0\.1/);
      expect(a).not.to.contain(String(P.node.busPort));
    }
    expect(await snapshot()).to.deep.equal(before);
    expect(await metric(P.node, 'irisdb_bus_auth_refused_total')).to.equal(refusedBefore + frames.length + 1);
    expect(P.node.logs()).to.match(/bus peer refused: authentication failed/);
    // The real replica is still streaming and writes are acknowledged.
    expect(await client.set('k', 'v2')).to.equal('OK');
  });

  it('an authenticated peer claiming a newer epoch only fences the primary: it keeps its epoch, and the control plane lifts the fence', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'liar-' });
    const P = shard.primary;
    const [A, B] = shard.replicas as [ShardNode, ShardNode];
    const client = await connectClient(P.node.port);
    conns.push(client);
    expect(await client.set('k', 'v1')).to.equal('OK');

    await B.node.kill9();
    impostor = new Impostor(B.name, 1000, CLUSTER_TOKEN);
    await impostor.listen(B.node.busPort);
    const fenced = await waitFor(`${P.name} to fence itself`, async () => {
      const r = await P.admin.replication();
      return r.fenced !== undefined ? r : null;
    }, { timeoutMs: 20_000 });
    // A claim is only a claim: no new epoch, no new role, no new primary.
    expect({ role: fenced.role, epoch: fenced.epoch, primary: fenced.primary }).to.deep.equal({ role: 'primary', epoch: 1, primary: null });
    expect(fenced.fenced).to.match(/reports epoch 1000/);
    // Why writes are refused, as status and irisctl show it (issue #13).
    expect(fenced.writable).to.deep.include({ ok: false, reason: 'self-fenced' });
    expect(fenced.writable!.detail).to.match(/^fenced itself: .*reports epoch 1000/);
    expect(await metric(P.node, 'irisdb_replication_fenced_total')).to.equal(1);
    let err: Error | null = null;
    await client.set('k', 'v2').catch((e: Error) => (err = e));
    expect(String(err)).to.match(/NOREPLICAS this primary \(epoch 1\) stopped accepting writes/);

    // The control plane re-asserts the role (same epoch): the fence is lifted and writes are acknowledged again.
    await impostor.close();
    impostor = undefined;
    const st = await P.admin.setRole({ role: 'primary', epoch: 1, replicas: [A.name] });
    expect(st.fenced).to.equal(undefined);
    expect(st.writable?.reason).to.not.equal('self-fenced');
    await waitFor('replica A to stream again', async () => (await P.admin.replication()).replicas.some((r) => r.name === A.name && r.state === 'online'), { timeoutMs: 20_000 });
    expect(await client.set('k', 'v3')).to.equal('OK');
    expect((await A.admin.replication()).epoch).to.equal(1);
  });
});
