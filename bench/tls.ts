/**
 * TLS overhead (docs/security.md): one irisdb-node and one redis-server, each
 * serving a plain and a TLS port at once, measured with redis-benchmark over
 * both in the same run (SET and GET, 50 clients, 100-byte values; pipeline 1,
 * where per-request TLS records cost most, and 16). fsync batch and Redis
 * appendfsync everysec, so the CPU rather than the disk is the limit. Each
 * setting keeps its best of BENCH_ROUNDS rounds.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';
import { freePorts } from '../test/support/ports.js';
import { createCertificateAuthority, issueCertificate } from '../node/tls/cert-authority.js';

export interface TlsRow {
  readonly system: 'irisdb' | 'redis-server';
  readonly tls: boolean;
  readonly pipeline: number;
  readonly set: BenchResult;
  readonly get: BenchResult;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

export async function tlsBench(requests: number): Promise<TlsRow[]> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-bench-tls-'));
  const ca = await createCertificateAuthority(dir, 'ca');
  const cert = await issueCertificate(ca, dir, 'server', { hosts: ['127.0.0.1', 'localhost'] });
  const [irisTls, redisTls] = await freePorts(2) as [number, number];
  const node = await startNode({ args: ['--fsync', 'batch', '--min-sync-replicas', '0', '--tls-port', String(irisTls), '--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile] });
  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec', '--tls-port', String(redisTls), '--tls-cert-file', cert.certFile,
    '--tls-key-file', cert.keyFile, '--tls-ca-cert-file', ca.certFile, '--tls-auth-clients', 'no']);
  const targets = [
    { system: 'irisdb' as const, tls: false, port: node.port },
    { system: 'irisdb' as const, tls: true, port: irisTls },
    { system: 'redis-server' as const, tls: false, port: redis.port },
    { system: 'redis-server' as const, tls: true, port: redisTls },
  ];
  const best = new Map<string, BenchResult[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const pipeline of [1, 16]) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const res = await redisBenchmark({
            port: t.port, tests: 'set,get', requests: pipeline === 1 ? Math.ceil(requests / 4) : requests, clients: 50, valueBytes: 100,
            keyspace: 100_000, pipeline, ...(t.tls ? { tlsCaFile: ca.certFile } : {}),
          });
          for (const r of res) {
            const key = `${t.system}/${t.tls}/${pipeline}/${r.test}`;
            const prev = best.get(key)?.[0];
            if (prev === undefined || r.rps > prev.rps) best.set(key, [r]);
          }
        }
      }
    }
  } finally {
    await node.stop();
    await redis.stop();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
  const rows: TlsRow[] = [];
  for (const pipeline of [1, 16]) {
    for (const t of targets) {
      const get = (test: string): BenchResult => best.get(`${t.system}/${t.tls}/${pipeline}/${test}`)![0]!;
      rows.push({ system: t.system, tls: t.tls, pipeline, set: get('SET'), get: get('GET') });
    }
  }
  return rows;
}
