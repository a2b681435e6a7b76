/**
 * Issue #13: a cluster-wide HTTP scan (GET /v1/scan through any node) while
 * slots migrate live returns every key that exists for the whole scan
 * exactly once. A local cluster of two shards is scaled to three and back
 * (the controller's live migrations move a third of the slots each way)
 * while scans with small pages run back to back through every node; each
 * completed scan must list the preloaded keys (never written during the test)
 * once each, none missing, none twice.
 */
import { expect } from 'chai';
import { LocalCluster } from '../support/local-cluster.js';
import { clusterClient } from './migration-support.js';

const KEYS = 3000;
const PREFIX = 'scanmig:';

describe('cluster scan during live slot migrations (2 → 3 → 2 shards)', function () {
  this.timeout(400_000);
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 2, replicas: 0, minSyncReplicas: 0 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  /** One complete scan through `url`; throws on a non-200 page. */
  async function scanAll(url: string, limit: number): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 10_000; pages++) {
      const res = await fetch(`${url}/v1/scan?prefix=${PREFIX}&limit=${limit}&values=false${cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`scan page via ${url}: ${res.status} ${text}`);
      const body = JSON.parse(text) as { items: Array<{ key: string }>; cursor: string | null };
      keys.push(...body.items.map((i) => i.key));
      if (body.cursor === null) return keys;
      cursor = body.cursor;
    }
    throw new Error('the scan did not end within 10000 pages');
  }

  it('returns every key present throughout exactly once while slots move, through every node', async () => {
    const seed = await cluster.seedPort();
    const client = clusterClient(seed, { autoPipeline: true });
    const expected = Array.from({ length: KEYS }, (_, i) => `${PREFIX}${String(i).padStart(5, '0')}`);
    try {
      for (let i = 0; i < expected.length; i += 500) {
        const replies = await Promise.all(expected.slice(i, i + 500).map((k) => client.set(k, 'v')));
        expect(replies.every((r) => r === 'OK')).to.equal(true);
      }
    } finally {
      client.disconnect();
    }
    const sorted = [...expected].sort();

    let scans = 0;
    let duringMigration = 0;
    const problems: string[] = [];
    for (const shards of [3, 2]) {
      await cluster.client.scale({ shards });
      // Scan back to back until the rescale is over (bounded: the waitReady below fails the test if it never ends).
      for (let round = 0; round < 200; round++) {
        const before = await cluster.status();
        const urls = before.shards.flatMap((s) => s.nodes).map((n) => n.httpUrl).filter((u): u is string => u !== null);
        for (const url of urls) {
          const got = await scanAll(url, 37).catch((err: Error) => {
            // A page may be refused while the map settles (retry with the same cursor is allowed); a whole new scan is as good here.
            if (/cluster_down|forward_failed|ECONNREFUSED|fetch failed/.test(err.message)) return null;
            throw err;
          });
          if (got === null) continue;
          scans++;
          const counts = new Map<string, number>();
          for (const k of got) counts.set(k, (counts.get(k) ?? 0) + 1);
          const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
          const missing = sorted.filter((k) => !counts.has(k));
          if (twice.length > 0 || missing.length > 0) problems.push(`scan ${scans} via ${url}: ${twice.length} twice (${twice.slice(0, 3).join(' ')}), ${missing.length} missing (${missing.slice(0, 3).join(' ')})`);
          const after = await cluster.status();
          if (before.operation !== null && after.operation !== null) duringMigration++;
        }
        const st = await cluster.status();
        if (st.operation === null && st.shards.length === shards && st.phase === 'Ready') break;
      }
      await cluster.waitReady(300_000);
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
    expect(duringMigration, `scans that ran entirely during a migration (of ${scans})`).to.be.at.least(1);
    console.log(`      ${scans} complete scans, ${duringMigration} entirely during a rescale: every key exactly once`);
  });
});
