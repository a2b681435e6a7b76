/** Runs redis-benchmark and parses its --csv output. */
import { run } from '../test/support/run.js';

export interface BenchResult {
  test: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface BenchOptions {
  port: number;
  tests: string;
  requests: number;
  clients: number;
  valueBytes: number;
  keyspace: number;
  pipeline: number;
  /** A command to run instead of the -t tests (e.g. PUBLISH channel message). */
  command?: readonly string[];
  /** Connect with TLS, verifying the server against this CA file (redis-benchmark --tls --cacert). */
  tlsCaFile?: string;
  /** Authenticate as this ACL user with this password (redis-benchmark --user / -a). */
  auth?: { readonly user: string; readonly password: string };
  /** Cluster mode (redis-benchmark --cluster): reads the slot map from `port` and sends each key to its master. */
  cluster?: boolean;
}

export async function redisBenchmark(o: BenchOptions): Promise<BenchResult[]> {
  const args = [...(o.cluster === true ? ['--cluster'] : []), '-h', '127.0.0.1', '-p', String(o.port), '-t', o.tests, '-n', String(o.requests), '-c', String(o.clients),
    '-d', String(o.valueBytes), '-r', String(o.keyspace), '-P', String(o.pipeline), '--csv',
    ...(o.tlsCaFile !== undefined ? ['--tls', '--cacert', o.tlsCaFile] : []),
    ...(o.auth !== undefined ? ['--user', o.auth.user, '-a', o.auth.password] : []), ...(o.command ?? [])];
  const res = await run('redis-benchmark', args, { timeoutMs: 600_000 });
  if (res.code !== 0) throw new Error(`redis-benchmark ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  const lines = res.stdout.split('\n').filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
  return lines.map((l) => {
    const f = l.split(',').map((s) => s.replace(/"/g, ''));
    return { test: f[0]!, rps: Number(f[1]), p50Ms: Number(f[4]), p99Ms: Number(f[6]) };
  });
}
