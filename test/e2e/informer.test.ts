/**
 * The operator's list-watch client (operator/kube/informer.ts, which the test
 * kubelet uses too) against the real API server: after etcd has been
 * compacted, a watch resumed from an older resourceVersion is answered with
 * 410 Gone; the informer re-lists, reports what changed meanwhile (including
 * deletions) and then follows the watch.
 * Local environment only: it compacts etcd directly. PodTemplates are used
 * because the local API server serves them without its watch cache.
 */
import { expect } from 'chai';
import { Informer } from '../../operator/kube/informer.js';
import { sinkLogger } from '../support/kube/harness-logger.js';
import type { KubeList, KubeObject } from '../support/kube/objects.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';

async function compactEtcd(etcdUrl: string): Promise<void> {
  const status = (await (await fetch(`${etcdUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { header: { revision: string } };
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: status.header.revision, physical: true }) });
  expect(res.ok, 'etcd compaction').to.equal(true);
}

describe('e2e: list-watch client', function () {
  this.timeout(60000);
  let env: KubeEnv;
  let ns: string;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    if (env.local === undefined) this.skip();
    ns = await createNamespace(env, 'watch');
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('re-lists after 410 Gone, reporting what changed meanwhile, then follows the watch', async () => {
    const path = `/api/v1/namespaces/${ns}/podtemplates`;
    const tpl = (name: string): KubeObject => ({
      apiVersion: 'v1', kind: 'PodTemplate', metadata: { name }, template: { spec: { containers: [{ name: 'c', image: 'x' }] } },
    });
    await env.rest.create(path, tpl('a'));
    await env.rest.create(path, tpl('b'));
    const events: string[] = [];
    const errors: unknown[] = [];
    const logger = sinkLogger((e) => errors.push(e));
    const informer = new Informer<KubeObject>(env.rest, { path, logger });
    informer.onEvent((type, obj) => events.push(`${type} ${obj.metadata?.name}`));
    await informer.start();
    expect(events.slice().sort()).to.deep.equal(['ADDED a', 'ADDED b']);
    informer.stop();

    // Changes while nobody watches, then the history is compacted away.
    const rv = (await env.rest.get<KubeList<KubeObject>>(path)).metadata.resourceVersion;
    await env.rest.delete(`${path}/a`);
    await env.rest.create(path, tpl('c'));
    await compactEtcd(env.local!.controlPlane.etcdUrl);

    const resumed: string[] = [];
    const again = new Informer<KubeObject>(env.rest, { path, logger, resumeFrom: rv });
    again.onEvent((type, obj) => resumed.push(`${type} ${obj.metadata?.name}`));
    for (const key of [`${ns}/a`, `${ns}/b`]) again.cache.set(key, informer.cache.get(key)!);
    await again.start();
    try {
      await waitFor('the re-list after 410', () => resumed.includes('DELETED a') && resumed.includes('ADDED c'), { timeoutMs: 20000 });
      await env.rest.create(path, tpl('d'));
      await waitFor('a watch event for d', () => resumed.includes('ADDED d'), { timeoutMs: 20000 });
      expect([...again.cache.keys()].sort()).to.deep.equal([`${ns}/b`, `${ns}/c`, `${ns}/d`]);
      expect(errors, '410 is handled, not reported').to.deep.equal([]);
    } finally {
      again.stop();
    }
  });
});
