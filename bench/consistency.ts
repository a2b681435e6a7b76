/**
 * Cost of the read consistency levels (docs/consistency.md): GET /v1/kv over
 * HTTP on a shard of 1 primary + 2 replicas (minSyncReplicas 1, fsync
 * always), 16 concurrent keep-alive clients, the same key: `default` and
 * `strong` on the primary, `eventual` on a replica. Strong reads pay a
 * confirmation round (a probe of the declared replicas over the bus), shared
 * by the reads that arrive while one runs. Each level keeps the better of two
 * rounds; ratios against `default` in the same run.
 */
import http from 'node:http';
import { Shard } from './processes.js';

export interface ConsistencyRow {
  readonly level: 'default' | 'strong' | 'eventual';
  readonly served: string;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const CLIENTS = 16;

function getOnce(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function round(port: number, path: string, requests: number): Promise<Omit<ConsistencyRow, 'level' | 'served'>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  let errors = 0;
  let left = requests;
  const start = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (left-- > 0) {
      const t = performance.now();
      const status = await getOnce(agent, port, path).catch(() => 0);
      latencies.push(performance.now() - t);
      if (status !== 200) errors++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

export async function consistencyBench(requests: number): Promise<ConsistencyRow[]> {
  const shard = await Shard.start({ replicas: 2, minSyncReplicas: 1 });
  try {
    const primary = shard.nodes[0]!.node;
    const replica = shard.nodes[1]!.node;
    const put = await fetch(`http://127.0.0.1:${primary.httpPort}/v1/kv/bench-consistency`, { method: 'PUT', body: 'x'.repeat(100) });
    if (put.status !== 200) throw new Error(`PUT answered ${put.status}`);
    const cases = [
      { level: 'default', served: 'primary', port: primary.httpPort },
      { level: 'strong', served: 'primary', port: primary.httpPort },
      { level: 'eventual', served: 'replica', port: replica.httpPort },
    ] as const;
    const rows: ConsistencyRow[] = [];
    for (const c of cases) {
      const path = `/v1/kv/bench-consistency?consistency=${c.level}`;
      const a = await round(c.port, path, requests);
      const b = await round(c.port, path, requests);
      rows.push({ level: c.level, served: c.served, ...(b.rps > a.rps ? b : a) });
    }
    return rows;
  } finally {
    await shard.stop();
  }
}
