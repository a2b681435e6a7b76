/**
 * Issue #3, "It must show" 1: one primary and two replicas under a pipelined
 * write load from several clients. Every acknowledged write is on at least
 * minSyncReplicas replicas at the moment it is acknowledged (read on the
 * replicas with READONLY right after the reply), and all three nodes
 * converge to equal digests. Also WAIT, INFO replication and the MOVED
 * answers of a replica.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Shard, WriteLoad, connectClient, connectReadonly, info, readAll, readSeqs } from '../support/repl-shard.js';

const CLIENTS = 4;
const PIPELINE = 16;

// 0: asynchronous replication (the client waits for nothing), still converging to equal digests.
for (const minSync of [0, 1, 2]) {
  describe(`replication: sync acknowledgements (1 primary + 2 replicas, minSyncReplicas=${minSync})`, function () {
    let shard: Shard | undefined;
    const conns: Redis[] = [];

    before(async () => {
      shard = await Shard.start({ replicas: 2, minSyncReplicas: minSync, ackTimeoutMs: 10_000, namePrefix: `sync${minSync}-` });
    });
    after(async () => {
      for (const c of conns) c.disconnect();
      await shard?.stop();
    });

    async function track<T extends Redis>(p: Promise<T>): Promise<T> {
      const c = await p;
      conns.push(c);
      return c;
    }

    it('has every acknowledged write on enough replicas right after its reply, and converges to equal digests', async () => {
      const s = shard!;
      // One READONLY connection per (client, replica): each client checks its own acknowledgements.
      const replicaReaders: Redis[][] = [];
      for (let c = 0; c < CLIENTS; c++) {
        replicaReaders.push(await Promise.all(s.replicas.map((r) => track(connectReadonly(r.node.port)))));
      }
      const violations: string[] = [];
      let checkedKeys = 0;
      const load = new WriteLoad(s.primary.node.port, {
        clients: CLIENTS, keysPerClient: 200, pipeline: PIPELINE, maxPipelines: 100, deadlineMs: 40_000,
        afterAck: async (client, acked) => {
          // Highest acknowledged sequence per key in this pipeline.
          const want = new Map<string, number>();
          for (const [k, seq] of acked) want.set(k, Math.max(want.get(k) ?? -1, seq));
          const keys = [...want.keys()];
          const perReplica = await Promise.all(replicaReaders[client]!.map((r) => readSeqs(r, keys)));
          keys.forEach((k, i) => {
            const holding = perReplica.filter((seqs) => (seqs[i] ?? -1) >= want.get(k)!).length;
            checkedKeys++;
            if (holding < minSync) {
              violations.push(`${k}: acknowledged seq ${want.get(k)} but only ${holding} replica(s) hold it (${perReplica.map((x) => x[i]).join(', ')})`);
            }
          });
          if (violations.length > 0) load.stop();
        },
      });
      const result = await load.done();
      expect(violations, violations.slice(0, 10).join('\n')).to.deep.equal([]);
      expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);
      expect(load.log.ackedWrites).to.be.greaterThan(CLIENTS * PIPELINE * 10);
      expect(checkedKeys).to.be.greaterThan(0);

      await s.waitForConvergence();
      const digests = await s.waitForEqualDigests();
      expect(digests[0]!.hash).to.not.equal('');
      // Every node holds every acknowledged write (and nothing never sent).
      for (const n of s.nodes) {
        const reader = await track(n === s.primary ? connectClient(n.node.port) : connectReadonly(n.node.port));
        const stored = await readAll(reader, load.log);
        const problems = load.log.check((k) => stored.get(k) ?? null);
        expect(problems, `${n.name}: ${problems.slice(0, 10).join('\n')}`).to.deep.equal([]);
      }
    });

    it('WAIT 2 answers 2 once both replicas have everything', async () => {
      const s = shard!;
      const redis = await track(connectClient(s.primary.node.port));
      for (let i = 0; i < 20; i++) await redis.set(`wait:${i}`, String(i));
      expect(await redis.call('WAIT', '2', '1000')).to.equal(2);
      // With nothing new written it answers at once too.
      expect(await redis.call('WAIT', '2', '0')).to.equal(2);
    });

    it('reports INFO replication in Redis fields plus the epoch', async () => {
      const s = shard!;
      await s.waitForConvergence();
      const redis = await track(connectClient(s.primary.node.port));
      const p = await info(redis, 'replication');
      expect(p.get('role')).to.equal('master');
      expect(p.get('connected_slaves')).to.equal('2');
      expect(Number(p.get('master_repl_offset'))).to.be.greaterThan(0);
      expect(p.get('irisdb_epoch')).to.equal('1');
      const ports = new Set(s.replicas.map((r) => String(r.node.port)));
      for (const slave of ['slave0', 'slave1']) {
        const line = p.get(slave);
        expect(line, slave).to.match(/^ip=127\.0\.0\.1,port=\d+,state=online,offset=\d+,lag=\d+$/);
        const port = /port=(\d+)/.exec(line!)![1]!;
        expect(ports.has(port), `${slave} port ${port} is a replica's`).to.equal(true);
        ports.delete(port);
        expect(Number(/offset=(\d+)/.exec(line!)![1])).to.be.at.most(Number(p.get('master_repl_offset')));
      }

      const replica = await track(connectClient(s.replicas[0]!.node.port));
      const r = await info(replica, 'replication');
      expect(r.get('role')).to.equal('slave');
      expect(r.get('master_host')).to.equal('127.0.0.1');
      expect(r.get('master_port')).to.equal(String(s.primary.node.port));
      expect(r.get('master_link_status')).to.equal('up');
      expect(r.get('irisdb_epoch')).to.equal('1');
    });

    it('redirects GET without READONLY and every write on a replica to the primary with MOVED', async () => {
      const s = shard!;
      const replica = await track(connectClient(s.replicas[1]!.node.port));
      const slot = Number(await replica.call('CLUSTER', 'KEYSLOT', 'moved:key'));
      const moved = `MOVED ${slot} 127.0.0.1:${s.primary.node.port}`;
      let err: Error | null = null;
      await replica.get('moved:key').catch((e: Error) => { err = e; });
      expect(err, 'GET on a replica without READONLY').to.not.equal(null);
      expect(err!.message).to.equal(moved);
      err = null;
      await replica.set('moved:key', 'v').catch((e: Error) => { err = e; });
      expect(err, 'SET on a replica').to.not.equal(null);
      expect(err!.message).to.equal(moved);
      // READONLY reads are served; writes are still redirected.
      await replica.readonly();
      expect(await replica.get('moved:key')).to.equal(null);
      err = null;
      await replica.set('moved:key', 'v').catch((e: Error) => { err = e; });
      expect(err!.message).to.equal(moved);
    });
  });
}
