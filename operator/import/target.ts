/**
 * The IrisDB cluster an import writes to (and an export reads from): an
 * ioredis Cluster client seeded with the primaries the controller's status
 * lists, auto-pipelined so that a batch of commands goes to each owner in
 * one write.
 */
import { Cluster, type Redis } from 'ioredis';
import fs from 'node:fs';
import path from 'node:path';
import type { ClusterMap } from '../../common/cluster-map.js';
import { type FetchLike, nodeFetch } from '../../common/node-fetch.js';
import { localNodeFetchForDir, localTlsDir, localTlsExists } from '../local/tls-files.js';
import { controlClient } from '../cli/endpoint.js';
import type { ControlSource } from '../cli/args.js';
import { CliError } from '../cli/errors.js';

export interface TargetNodes {
  /** Every shard's primary (RESP), the client's seeds. */
  readonly primaries: { host: string; port: number }[];
  /** Every node's HTTP API by its RESP address ("host:port"), for the bulk import route. */
  readonly httpByAddress: Map<string, string>;
  /** The CA to verify the nodes with (a local cluster started with --tls: RESP and HTTP over TLS only), or null. */
  readonly tlsCa: Buffer | null;
  /** How to reach the nodes' HTTP APIs (HTTPS trusting tlsCa when set). */
  readonly fetch: FetchLike;
}

export async function targetNodes(source: ControlSource): Promise<TargetNodes> {
  const status = await (await controlClient(source)).status();
  const primaries: { host: string; port: number }[] = [];
  const httpByAddress = new Map<string, string>();
  for (const s of status.shards) {
    const p = s.nodes.find((n) => n.name === s.primary);
    if (p !== undefined && p.host !== null && p.port !== null) primaries.push({ host: p.host, port: p.port });
    for (const n of s.nodes) if (n.host !== null && n.port !== null && n.httpUrl !== null) httpByAddress.set(`${n.host}:${n.port}`, n.httpUrl);
  }
  if (primaries.length === 0) throw new CliError('the cluster has no primary with an address: is it Ready? (`irisctl status`)');
  const tls = source.kind === 'dir' && localTlsExists(source.dir);
  return {
    primaries, httpByAddress,
    tlsCa: tls && source.kind === 'dir' ? fs.readFileSync(path.join(localTlsDir(source.dir), 'ca.crt')) : null,
    fetch: source.kind === 'dir' ? localNodeFetchForDir(source.dir) : nodeFetch(null),
  };
}

/** The same from a cluster map (an IrisCluster's record on Kubernetes): the nodes' announced addresses. Pure. */
export function targetNodesOfMap(map: ClusterMap): TargetNodes {
  const byName = new Map(map.nodes.map((n) => [n.name, n] as const));
  const primaries: { host: string; port: number }[] = [];
  for (const s of map.shards) {
    const p = byName.get(s.primary);
    if (p !== undefined) primaries.push({ host: p.host, port: p.port });
  }
  if (primaries.length === 0) throw new CliError('the cluster map names no primary with an address: is the cluster Ready?');
  const httpByAddress = new Map<string, string>();
  for (const n of map.nodes) {
    if (n.httpPort !== undefined) httpByAddress.set(`${n.host}:${n.port}`, `http://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.httpPort}`);
  }
  return { primaries, httpByAddress, tlsCa: null, fetch: nodeFetch(null) };
}

export async function connectTarget(source: ControlSource): Promise<Cluster> {
  const nodes = await targetNodes(source);
  return connectSeeds(nodes.primaries, nodes.tlsCa);
}

/** An ioredis Cluster client seeded with `seeds`, connected (one PING answered). */
export async function connectSeeds(seeds: { host: string; port: number }[], tlsCa: Buffer | null = null): Promise<Cluster> {
  const c = new Cluster(seeds, {
    enableAutoPipelining: true,
    maxRedirections: 64,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: 5000,
    redisOptions: { enableReadyCheck: false, maxRetriesPerRequest: 5, ...(tlsCa !== null ? { tls: { ca: tlsCa } } : {}) },
  });
  c.on('error', () => {});
  try {
    await c.ping();
  } catch (err) {
    c.disconnect();
    throw new CliError(`cannot reach the IrisDB cluster at ${seeds.map((s) => `${s.host}:${s.port}`).join(', ')}: ${(err as Error).message}`);
  }
  return c;
}

/** The primaries of the connected cluster, as ioredis knows them (for SCAN over every shard). */
export function targetPrimaries(c: Cluster): Redis[] {
  return c.nodes('master');
}
