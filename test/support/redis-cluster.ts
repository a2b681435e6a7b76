/**
 * A real Redis Cluster of redis-servers on loopback (3 masters + 3
 * replicas by default), created as users do with `redis-cli --cluster
 * create ... --cluster-yes`: the source of the import tests and the
 * reference of the import benchmark.
 */
import { Cluster, Redis } from 'ioredis';
import { parseClusterMasters } from '../../operator/import/source.js';
import { run } from './run.js';
import { type RunningRedis, startRedis } from './redis-server.js';
import { waitFor } from './wait.js';

export interface RunningRedisCluster {
  readonly nodes: readonly RunningRedis[];
  /** The masters' ports, once the cluster is up. */
  masterPorts(): Promise<number[]>;
  client(opts?: { autoPipeline?: boolean }): Cluster;
  /** Starts node `index` again on its port and directory (after a kill -9: it rejoins with its nodes.conf and AOF). */
  restart(index: number): Promise<RunningRedis>;
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3, replicasPerMaster = 1, extraArgs: string[] = []): Promise<RunningRedisCluster> {
  const nodes: RunningRedis[] = [];
  const nodeArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', ...extraArgs];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      nodes.push(await startRedis(nodeArgs));
    }
    const r = await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`redis-cli --cluster create failed: ${r.stdout}\n${r.stderr}`);
    await waitFor('the Redis Cluster to be ok on every node', async () => {
      for (const n of nodes) {
        const c = new Redis({ port: n.port, host: '127.0.0.1', lazyConnect: true });
        try {
          await c.connect();
          if (!/cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO')))) return false;
        } finally {
          c.disconnect();
        }
      }
      // cluster_state:ok is each node's own view; a client that reads the slots from one node whose
      // view is still behind gets MOVED (which ioredis's auto-pipelining hands back). Wait until all agree.
      const check = await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${nodes[0]!.port}`], { timeoutMs: 30_000 });
      return check.code === 0 && check.stdout.includes('All nodes agree about slots configuration');
    }, { timeoutMs: 60_000, intervalMs: 200 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    async masterPorts() {
      const c = new Redis({ port: nodes[0]!.port, host: '127.0.0.1' });
      try {
        return parseClusterMasters(String(await c.call('CLUSTER', 'NODES'))).map((m) => m.port);
      } finally {
        c.disconnect();
      }
    },
    client(opts = {}) {
      const c = new Cluster([{ host: '127.0.0.1', port: nodes[0]!.port }], { enableAutoPipelining: opts.autoPipeline ?? true });
      c.on('error', () => {});
      return c;
    },
    async restart(index) {
      const old = nodes[index]!;
      await old.stop();
      nodes[index] = await startRedis(nodeArgs, { port: old.port, dir: old.dir });
      return nodes[index]!;
    },
    stop,
  };
}
