/**
 * The IrisDB cluster an import writes to (and an export reads from): an
 * ioredis Cluster client seeded with the primaries the controller's status
 * lists, auto-pipelined so that a batch of commands goes to each owner in
 * one write.
 */
import { Cluster, Redis } from 'ioredis';
import fs from 'node:fs';
import path from 'node:path';
import type { ClusterMap } from '../../common/cluster-map.js';
import { type FetchLike, nodeFetch } from '../../common/node-fetch.js';
import { localNodeFetchForDir, localTlsDir, localTlsExists } from '../local/tls-files.js';
import { controlClient } from '../cli/endpoint.js';
import type { ControlSource } from '../cli/args.js';
import { CliError } from '../cli/errors.js';
import { redisAuthOptions, resolveTargetCredentials, type TargetCredentialFlags, type TargetCredentials } from './target-credentials.js';

export interface TargetNodes {
  /** Every shard's primary (RESP), the client's seeds. */
  readonly primaries: { host: string; port: number }[];
  /** Every node's HTTP API by its RESP address ("host:port"), for the bulk import route. */
  readonly httpByAddress: Map<string, string>;
  /** The CA to verify the nodes with (a local cluster started with --tls: RESP and HTTP over TLS only), or null. */
  readonly tlsCa: Buffer | null;
  /** The name the nodes' certificates are checked against (and sent as SNI) instead of the address: Kubernetes pods are reached by IP, their certificates name the Services. */
  readonly tlsServerName?: string;
  /** How to reach the nodes' HTTP APIs (HTTPS trusting tlsCa when set). */
  readonly fetch: FetchLike;
}

/** Where an import writes to / an export reads from: a local cluster (--dir) or an IrisCluster (--kube, cli/kube-import.ts). */
export interface TargetPlace {
  nodes(): Promise<TargetNodes>;
  /** Credentials the place knows (an IrisCluster's spec.auth password), used when neither a flag nor the environment gives a password. */
  defaultCredentials?(): Promise<TargetCredentials | null>;
}

export function localTargetPlace(source: ControlSource): TargetPlace {
  return { nodes: () => targetNodes(source) };
}

/** The credentials to present: the flags and IRISDB_USER/IRISDB_PASSWORD, else (for user default) the place's own. */
export async function placeCredentials(flags: TargetCredentialFlags, place: TargetPlace): Promise<TargetCredentials> {
  const given = resolveTargetCredentials(flags, process.env, (f) => fs.readFileSync(f, 'utf8'));
  if (given.password !== null || given.user !== 'default' || place.defaultCredentials === undefined) return given;
  return (await place.defaultCredentials()) ?? given;
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

/**
 * The same from a cluster map (an IrisCluster's record on Kubernetes): the
 * nodes' announced addresses. With `tls` (spec.tls): RESP over TLS and the
 * HTTP API over HTTPS, both verified against the CA for `serverName`.
 * Pure (the fetch it returns does I/O when called).
 */
export function targetNodesOfMap(map: ClusterMap, tls: { readonly caPem: string; readonly serverName: string } | null = null): TargetNodes {
  const byName = new Map(map.nodes.map((n) => [n.name, n] as const));
  const primaries: { host: string; port: number }[] = [];
  for (const s of map.shards) {
    const p = byName.get(s.primary);
    if (p !== undefined) primaries.push({ host: p.host, port: p.port });
  }
  if (primaries.length === 0) throw new CliError('the cluster map names no primary with an address: is the cluster Ready?');
  const httpByAddress = new Map<string, string>();
  for (const n of map.nodes) {
    if (n.httpPort !== undefined) httpByAddress.set(`${n.host}:${n.port}`, `${tls !== null ? 'https' : 'http'}://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.httpPort}`);
  }
  if (tls === null) return { primaries, httpByAddress, tlsCa: null, fetch: nodeFetch(null) };
  return {
    primaries, httpByAddress, tlsCa: Buffer.from(tls.caPem, 'utf8'), tlsServerName: tls.serverName,
    fetch: nodeFetch({ caPem: () => tls.caPem, serverName: tls.serverName }),
  };
}

/** connectSeeds with a TargetNodes' primaries and TLS. */
export function connectNodes(nodes: TargetNodes, credentials: TargetCredentials | null): Promise<Cluster> {
  return connectSeeds(nodes.primaries, nodes.tlsCa, credentials, nodes.tlsServerName);
}

/** An ioredis Cluster client seeded with `seeds`, connected (one PING answered). */
export async function connectSeeds(seeds: { host: string; port: number }[], tlsCa: Buffer | null = null, credentials: TargetCredentials | null = null, tlsServerName?: string): Promise<Cluster> {
  const tls = tlsCa !== null ? { tls: { ca: tlsCa, ...(tlsServerName !== undefined ? { servername: tlsServerName } : {}) } } : {};
  await checkCredentials(seeds[0]!, tls, credentials);
  const c = new Cluster(seeds, {
    enableAutoPipelining: true,
    maxRedirections: 64,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: 5000,
    redisOptions: { enableReadyCheck: false, maxRetriesPerRequest: 5, ...redisAuthOptions(credentials), ...tls },
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

/**
 * One connection to `seed` with the credentials and a PING: the Cluster
 * client reports refused credentials only as "None of startup nodes is
 * available", so they are checked here first, and said so (which user).
 */
async function checkCredentials(seed: { host: string; port: number }, tls: object, credentials: TargetCredentials | null): Promise<void> {
  const r = new Redis({
    host: seed.host, port: seed.port, ...redisAuthOptions(credentials), ...tls,
    lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 10_000,
  });
  let authError: Error | null = null;
  r.on('error', (err: Error) => {
    if (isAuthError(err.message)) authError ??= err;
  });
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    const e = authError ?? (err as Error);
    if (isAuthError(e.message)) {
      throw new CliError(`IrisDB refused user "${credentials?.user ?? 'default'}"${credentials?.password == null ? ' (no password given: --target-password-file or IRISDB_PASSWORD)' : ''}: ${e.message}`);
    }
    // Unreachable and the like: the Cluster client says so next, with every seed.
  } finally {
    r.disconnect();
  }
}

function isAuthError(text: string): boolean {
  return /WRONGPASS|NOAUTH|invalid username-password/i.test(text);
}

/** The primaries of the connected cluster, as ioredis knows them (for SCAN over every shard). */
export function targetPrimaries(c: Cluster): Redis[] {
  return c.nodes('master');
}
