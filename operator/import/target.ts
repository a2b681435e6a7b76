/**
 * The IrisDB cluster an import writes to (and an export reads from): an
 * ioredis Cluster client seeded with the primaries the controller's status
 * lists, auto-pipelined so that a batch of commands goes to each owner in
 * one write.
 */
import { Cluster, type Redis } from 'ioredis';
import { controlClient } from '../cli/endpoint.js';
import type { ControlSource } from '../cli/args.js';
import { CliError } from '../cli/errors.js';

export async function primaryAddresses(source: ControlSource): Promise<{ host: string; port: number }[]> {
  const status = await (await controlClient(source)).status();
  const out: { host: string; port: number }[] = [];
  for (const s of status.shards) {
    const p = s.nodes.find((n) => n.name === s.primary);
    if (p !== undefined && p.host !== null && p.port !== null) out.push({ host: p.host, port: p.port });
  }
  if (out.length === 0) throw new CliError('the cluster has no primary with an address: is it Ready? (`irisctl status`)');
  return out;
}

export async function connectTarget(source: ControlSource): Promise<Cluster> {
  const seeds = await primaryAddresses(source);
  const c = new Cluster(seeds, {
    enableAutoPipelining: true,
    maxRedirections: 64,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: 5000,
    redisOptions: { enableReadyCheck: false, maxRetriesPerRequest: 5 },
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
