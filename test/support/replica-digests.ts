/**
 * Waits until every shard of a local cluster has all its replicas and each
 * one's per-slot digests equal its primary's (the primary's
 * /admin/digest-diff): after a fault, nothing a replica holds differs from
 * what its primary acknowledged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AdminClient } from '../../common/admin-client.js';
import type { LocalCluster } from './local-cluster.js';
import { waitFor } from './wait.js';

export async function waitReplicasEqual(cluster: LocalCluster, timeoutMs = 60_000): Promise<void> {
  const token = (await fs.promises.readFile(path.join(cluster.dir, 'token'), 'utf8')).trim();
  const st = await cluster.status();
  for (const s of st.shards) {
    const primary = s.nodes.find((n) => n.name === s.primary);
    if (primary?.httpUrl == null) throw new Error(`${s.id} has no primary with an HTTP address`);
    const admin = new AdminClient(primary.httpUrl, token);
    await waitFor(`${s.id}'s replicas to equal ${s.primary}`, async () => {
      const diff = await admin.digestDiff();
      return diff.replicas.length === s.nodes.length - 1 && diff.replicas.every((r) => r.error === null && r.differing.length === 0);
    }, { timeoutMs, intervalMs: 200 });
  }
}
