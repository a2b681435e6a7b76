/**
 * The IrisCluster and IrisBackup CRDs (crds/) on the environment's real API
 * server (issue #7, "It must show" 7, first half): invalid specs are rejected
 * with a clear message, immutable fields stay put, defaults are filled in,
 * the status subresource holds what the operator writes, and the printer
 * columns show in `kubectl get irisclusters`. No operator runs here.
 * Issue #14 item 3: every field no operator honours yet (the gates of
 * test/support/crd-audit.ts) is refused at admission with a message saying
 * so, and a spec using every honoured field is accepted.
 *
 * CRDs are cluster-scoped and shared with the operator specs: installed with
 * an idempotent apply and left in place.
 */
import { expect } from 'chai';
import path from 'node:path';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { KubeApiError } from '../../operator/kube/errors.js';
import type { KubeObject } from '../support/kube/objects.js';
import { waitFor } from '../support/wait.js';
import { GATES } from '../support/crd-audit.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';

const API = 'irisdb.io/v1alpha1';

interface IrisCluster extends KubeObject {
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

describe('e2e: IrisCluster and IrisBackup CRDs', function () {
  this.timeout(120000);
  let env: KubeEnv;
  let ns: string;
  const clusters = (): string => `/apis/${API}/namespaces/${ns}/irisclusters`;

  /** A manifest for kubectl (JSON is YAML). */
  const cluster = (name: string, spec: Record<string, unknown> | undefined): string =>
    JSON.stringify({ apiVersion: API, kind: 'IrisCluster', metadata: { name, namespace: ns }, ...(spec === undefined ? {} : { spec }) });
  const backup = (name: string, spec: Record<string, unknown>): string =>
    JSON.stringify({ apiVersion: API, kind: 'IrisBackup', metadata: { name, namespace: ns }, spec });

  /** kubectl apply that must fail; resolves with kubectl's message. */
  const rejected = async (manifest: string, extra: string[] = []): Promise<string> => {
    const r = await env.kubectlResult(['apply', ...extra, '-f', '-'], manifest);
    expect(r.code, `kubectl apply should have failed: ${r.stdout}`).to.not.equal(0);
    return r.stderr;
  };

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    await env.kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
    for (const crd of ['irisclusters.irisdb.io', 'irisbackups.irisdb.io']) {
      await waitFor(`CRD ${crd} to be Established`, async () => {
        const c = await env.rest.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`);
        return (c.status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True');
      }, { timeoutMs: 60000, intervalMs: 100 });
    }
    ns = await createNamespace(env, 'iriscrd');
    // Discovery of a new group can lag behind Established; kubectl needs it.
    await waitFor('irisclusters to be served', () => env.rest.find(clusters()), { timeoutMs: 30000, intervalMs: 100 });
    await waitFor('kubectl to know irisclusters', async () => (await env.kubectlResult(['get', 'irisclusters', '-n', ns])).code === 0,
      { timeoutMs: 30000, intervalMs: 200 });
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('rejects shards outside 1..128 with the range in the message', async () => {
    expect(await rejected(cluster('zero', { shards: 0 })))
      .to.match(/spec\.shards: Invalid value: 0: spec\.shards in body should be greater than or equal to 1/);
    expect(await rejected(cluster('many', { shards: 200 })))
      .to.match(/spec\.shards: Invalid value: 200: spec\.shards in body should be less than or equal to 128/);
    expect(await rejected(cluster('reps', { replicasPerShard: 6 })))
      .to.match(/spec\.replicasPerShard: Invalid value: 6: spec\.replicasPerShard in body should be less than or equal to 5/);
    expect(await rejected(cluster('beat', { failover: { heartbeatMs: 10 } })))
      .to.match(/spec\.failover\.heartbeatMs: Invalid value: 10: .* should be greater than or equal to 50/);
  });

  it('rejects a value outside an enum, listing the allowed values', async () => {
    expect(await rejected(cluster('fsync', { replication: { fsync: 'sometimes' } })))
      .to.match(/spec\.replication\.fsync: Unsupported value: "sometimes": supported values: "always", "batch"/);
    expect(await rejected(cluster('pull', { imagePullPolicy: 'Sometimes' })))
      .to.match(/spec\.imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"/);
  });

  it('rejects an unknown field with kubectl --validate=strict (and prunes it without validation)', async () => {
    expect(await rejected(cluster('typo', { shardz: 4 }), ['--validate=strict'])).to.match(/unknown field "spec\.shardz"/);
    await env.kubectl(['apply', '--validate=false', '-f', '-'], cluster('pruned', { shardz: 4, shards: 2 }));
    const stored = await env.rest.get<IrisCluster>(`${clusters()}/pruned`);
    expect(stored.spec.shards).to.equal(2);
    expect(stored.spec, 'an unknown field is pruned, never stored').not.to.have.property('shardz');
  });

  it('rejects malformed quantities, schedules, names and incomplete references with clear messages', async () => {
    expect(await rejected(cluster('size', { storage: { size: 'lots' } }))).to.match(/spec\.storage\.size: Invalid value: "lots": .* should match/);
    expect(await rejected(cluster('cpu', { resources: { limits: { cpu: 'fast' } } }))).to.match(/spec\.resources\.limits\.cpu: Invalid value: "fast"/);
    expect(await rejected(cluster('cron', { backup: { schedule: 'nightly', destination: { pvc: { claimName: 'b' } } } })))
      .to.match(/spec\.backup\.schedule: Invalid value: "nightly"/);
    expect(await rejected(cluster('dest', { backup: { schedule: '@daily', destination: { pvc: { claimName: 'b' }, s3: { bucket: 'b' } } } })))
      .to.match(/spec\.backup\.destination: Invalid value: .*destination needs exactly one of s3 or pvc/);
    expect(await rejected(cluster('tls', { tls: { secretRef: { name: 't' } } }))).to.match(/spec\.tls: Invalid value: .*tls\.secretRef needs tls\.enabled: true/);
    expect(await rejected(cluster('tls', { tls: { certManager: { issuerRef: { name: 'ca' } } } }))).to.match(/spec\.tls: Invalid value: .*tls\.certManager needs tls\.enabled: true/);
    expect(await rejected(cluster('tls', { tls: { enabled: true, secretRef: { name: 't' }, certManager: { issuerRef: { name: 'ca' } } } })))
      .to.match(/spec\.tls: Invalid value: .*tls\.secretRef and tls\.certManager are exclusive/);
    expect(await rejected(cluster('tls', { tls: { enabled: true, certManager: { issuerRef: { name: 'ca', kind: 'Vault' } } } })))
      .to.match(/spec\.tls\.certManager\.issuerRef\.kind: Unsupported value: "Vault"/);
    expect(await rejected(cluster('tls', { tls: { enabled: true, certManager: { issuerRef: { name: 'ca' }, duration: '90d' } } })))
      .to.match(/spec\.tls\.certManager\.duration: Invalid value: "90d"/);
    expect(await rejected(cluster('auth', { auth: {} }))).to.match(/spec\.auth: Invalid value: .*auth needs secretRef .*aclSecretRef/);
    expect(await rejected(cluster('1st', {}))).to.match(/metadata\.name: Invalid value: "1st": must start with a lower-case letter/);
    expect(await rejected(cluster('a'.repeat(41), {}))).to.match(/metadata\.name: Too long: may not be more than 40/);
  });

  it('fills in every default for an empty spec, and for no spec at all', async () => {
    await env.kubectl(['apply', '-f', '-'], cluster('empty', {}));
    await env.kubectl(['apply', '-f', '-'], cluster('nospec', undefined));
    const expected = {
      shards: 3,
      replicasPerShard: 1,
      image: 'irisdb/node:0.1.0',
      storage: { size: '1Gi' },
      replication: { minSyncReplicas: 1, fsync: 'always', dataDurability: 'required', ackTimeoutMs: 2000 },
      failover: { heartbeatMs: 500, failureThreshold: 3 },
      tls: { enabled: false },
      monitoring: { enabled: false, serviceMonitor: false },
      paused: false,
    };
    for (const name of ['empty', 'nospec']) {
      expect((await env.rest.get<IrisCluster>(`${clusters()}/${name}`)).spec, name).to.deep.equal(expected);
    }
  });

  it('keeps storageClassName and storage.size immutable, other fields editable', async () => {
    const spec = { shards: 3, storage: { size: '1Gi', storageClassName: 'fast' } };
    await env.kubectl(['apply', '-f', '-'], cluster('immutable', spec));
    expect(await rejected(cluster('immutable', { ...spec, storage: { size: '1Gi', storageClassName: 'slow' } })))
      .to.match(/spec\.storage\.storageClassName: Invalid value: .*storageClassName is immutable/);
    expect(await rejected(cluster('immutable', { shards: 3, storage: { size: '1Gi' } })), 'removing the class is a change too')
      .to.match(/storageClassName is immutable/);

    // Existing volumes are not resized (the claim templates stay as created): a new size would be accepted and ignored.
    expect(await rejected(cluster('immutable', { ...spec, storage: { size: '2Gi', storageClassName: 'fast' } })))
      .to.match(/spec\.storage\.size: Invalid value: .*storage\.size cannot change yet/);

    const before = await env.rest.get<IrisCluster>(`${clusters()}/immutable`);
    await env.kubectl(['apply', '-f', '-'], cluster('immutable', { ...spec, shards: 4 }));
    const after = await env.rest.get<IrisCluster>(`${clusters()}/immutable`);
    expect(after.spec.shards).to.equal(4);
    expect(after.metadata?.generation).to.equal((before.metadata?.generation ?? 0) + 1);

    // A class can be chosen at creation only: adding one later is refused as well.
    await env.kubectl(['apply', '-f', '-'], cluster('later', {}));
    expect(await rejected(cluster('later', { storage: { storageClassName: 'fast' } }))).to.match(/storageClassName is immutable/);
  });

  it('stores status only through the status subresource, within the schema', async () => {
    await env.rest.create(clusters(), { apiVersion: API, kind: 'IrisCluster', metadata: { name: 'status' }, spec: {}, status: { phase: 'Ready' } });
    const created = await env.rest.get<IrisCluster>(`${clusters()}/status`);
    expect(created.status, 'status on the main resource is ignored').to.equal(undefined);

    const status = {
      phase: 'Degraded',
      observedGeneration: 1,
      ready: '5/6',
      readyNodes: 5,
      nodes: 6,
      conditions: [
        { type: 'Ready', status: 'False', reason: 'ReplicaDown', message: 'shard-1 has 0 of 1 replicas ready', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 },
        { type: 'Degraded', status: 'True', reason: 'ReplicaDown', message: 'status-shard-1-1 is not ready', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
      shards: [{
        id: 'shard-0', slots: '0-5460', slotCount: 5461, primary: 'status-shard-0-0', targetPrimary: 'status-shard-0-0', epoch: 2,
        replicas: [{ name: 'status-shard-0-1', lagOps: 0, lagMs: 1, link: 'streaming' }],
      }],
      migration: { operation: 'scale shards 3 → 4', stage: 'migrate', movesDone: 1, movesTotal: 3, slotsDone: 1365, slotsTotal: 4096, keysMoved: 1000 },
      lastBackup: { name: 'nightly-1', time: '2026-01-01T03:00:00Z' },
      controllerState: { version: 1, cluster: 'status', shards: [{ id: 'shard-0', members: ['status-shard-0-0'] }], nextId: 3 },
      invented: 'pruned',
    };
    const patched = await env.rest.mergePatch<IrisCluster>(`${clusters()}/status/status`, { status });
    const { invented: _dropped, ...kept } = status;
    expect(patched.status).to.deep.equal(kept);
    expect(patched.metadata?.generation, 'a status write does not bump generation').to.equal(created.metadata?.generation);

    // A shard's failover is a string while one is in progress, absent (or null) otherwise.
    const shardsWithFailover = [status.shards[0], { ...status.shards[0], id: 'shard-1', failover: 'failover f-3 at stage promote' }];
    const withFailover = await env.rest.mergePatch<IrisCluster>(`${clusters()}/status/status`, { status: { shards: shardsWithFailover } });
    expect((withFailover.status?.shards as Array<{ failover?: string | null }>).map((s) => s.failover)).to.deep.equal([undefined, 'failover f-3 at stage promote']);

    // The controller record keeps any shape, nulls included, when written as the state store does (JSON patch;
    // a merge patch would read null as "delete").
    const record = { version: 1, cluster: 'status', map: null, operation: null, shards: [{ id: 'shard-0', failover: null, epoch: 7 }], nextId: 4 };
    const recorded = await env.rest.request<IrisCluster>('PATCH', `${clusters()}/status/status`, {
      contentType: 'application/json-patch+json',
      body: [
        { op: 'add', path: '/status/controllerState', value: record },
        { op: 'add', path: '/status/shards/0/failover', value: null },
      ],
    });
    expect(recorded.status?.controllerState).to.deep.equal(record);
    expect((recorded.status?.shards as Array<{ failover?: string | null }>)[0]!.failover, 'failover is nullable').to.equal(null);

    const bad = await env.rest.mergePatch(`${clusters()}/status/status`, { status: { phase: 'Exploded' } }).then(() => undefined, (e: unknown) => e);
    expect(bad).to.be.instanceOf(KubeApiError);
    expect((bad as KubeApiError).statusCode).to.equal(422);
    expect((bad as KubeApiError).message).to.match(/status\.phase: Unsupported value: "Exploded"/);
    const badCondition = await env.rest.mergePatch(`${clusters()}/status/status`, { status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } })
      .then(() => undefined, (e: unknown) => e);
    expect((badCondition as KubeApiError).message).to.match(/status\.conditions\[0\]\.status: Unsupported value: "Maybe"/);
  });

  it('shows the printer columns in kubectl get irisclusters', async () => {
    await env.kubectl(['apply', '-f', '-'], cluster('columns', { shards: 5, replicasPerShard: 2 }));
    await env.rest.mergePatch(`${clusters()}/columns/status`, { status: { phase: 'Ready', ready: '15/15', readyNodes: 15, nodes: 15 } });
    const out = await env.kubectl(['get', 'irisclusters', 'columns', '-n', ns]);
    const [header, row] = out.trim().split('\n');
    expect(header!.trim().split(/\s+/)).to.deep.equal(['NAME', 'SHARDS', 'READY', 'PHASE', 'AGE']);
    expect(row!.trim().split(/\s+/).slice(0, 4)).to.deep.equal(['columns', '5', '15/15', 'Ready']);
    const wide = await env.kubectl(['get', 'irisclusters', 'columns', '-n', ns, '-o', 'wide']);
    expect(wide.trim().split('\n')[0]!.trim().split(/\s+/)).to.deep.equal(['NAME', 'SHARDS', 'REPLICAS', 'READY', 'PHASE', 'LAST', 'BACKUP', 'AGE']);
    // The short name and the category work too.
    expect(await env.kubectl(['get', 'iris', '-n', ns, '-o', 'name'])).to.contain('iriscluster.irisdb.io/columns');
    expect(await env.kubectl(['get', 'irisdb', '-n', ns, '-o', 'name'])).to.contain('iriscluster.irisdb.io/columns');
  });

  it('refuses every field no operator honours yet, saying it is not supported yet (issue #14)', async () => {
    const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    let n = 0;
    for (const [name, gate] of Object.entries(GATES)) {
      for (const example of gate.examples) {
        const manifest = gate.kind === 'IrisCluster' ? cluster(`gate-${n++}`, example) : backup(`gate-${n++}`, example);
        expect(await rejected(manifest), `${name} ${JSON.stringify(example)}`).to.match(new RegExp(escape(gate.message)));
      }
    }
    // Nothing was stored.
    const stored = await env.rest.get<{ items: KubeObject[] }>(clusters());
    expect(stored.items.map((c) => c.metadata?.name).filter((x) => x?.startsWith('gate-'))).to.deep.equal([]);
    expect((await env.rest.get<{ items: KubeObject[] }>(`/apis/${API}/namespaces/${ns}/irisbackups`)).items).to.deep.equal([]);
  });

  it('refuses an update that turns on a refused feature, and accepts one that leaves it off', async () => {
    await env.kubectl(['apply', '-f', '-'], cluster('later-auth', { shards: 2 }));
    expect(await rejected(cluster('later-auth', { shards: 2, monitoring: { enabled: true } }))).to.match(/spec\.monitoring is not supported yet/);
    // TLS is chosen at creation: nodes with and without it cannot reach each other on the bus (spec.auth may change).
    expect(await rejected(cluster('later-auth', { shards: 2, tls: { enabled: true, secretRef: { name: 't' } } }))).to.match(/tls\.enabled cannot change on an existing cluster/);
    expect(await rejected(cluster('later-auth', { shards: 2, tls: { secretRef: { name: 't' } } }))).to.match(/tls\.secretRef needs tls\.enabled: true/);
    await env.kubectl(['apply', '-f', '-'], cluster('later-auth', { shards: 2, tls: { enabled: false }, monitoring: { enabled: false, serviceMonitor: false } }));
  });

  it('accepts a spec that sets every field the operator honours', async () => {
    const spec = {
      shards: 2, replicasPerShard: 2, image: 'registry.example/irisdb/node:1.0.0', imagePullPolicy: 'IfNotPresent',
      storage: { size: '2Gi', storageClassName: 'fast' },
      resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: 2, memory: '1Gi' } },
      replication: { minSyncReplicas: 1, fsync: 'batch', dataDurability: 'preferred', ackTimeoutMs: 500 },
      failover: { heartbeatMs: 250, failureThreshold: 4 },
      scheduling: {
        nodeSelector: { pool: 'db' },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }] } } },
        tolerations: [{ key: 'db', operator: 'Exists' }],
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' }],
      },
      auth: { secretRef: { name: 'iris-password', key: 'pw' }, aclSecretRef: { name: 'iris-users', key: 'users.acl' } },
      tls: { enabled: true, secretRef: { name: 'iris-tls' } },
      paused: true,
    };
    await env.kubectl(['apply', '--validate=strict', '-f', '-'], cluster('honoured', spec));
    const stored = await env.rest.get<IrisCluster>(`${clusters()}/honoured`);
    expect(stored.spec).to.deep.include(spec);
  });

  it('IrisBackup: accepts a valid object (issue #15), refuses a malformed one with the schema\'s messages and keeps the destination immutable', async () => {
    expect(await rejected(backup('nocluster', { destination: { s3: { bucket: 'b' } } }))).to.match(/spec\.cluster: Required value/);
    expect(await rejected(backup('twodest', { cluster: 'columns', destination: { pvc: { claimName: 'b' }, s3: { bucket: 'x' } } })))
      .to.match(/destination needs exactly one of s3 or pvc/);
    await env.kubectl(['apply', '-f', '-'], backup('once', { cluster: 'columns', destination: { s3: { bucket: 'backups', prefix: 'iris/' } } }));
    expect(await rejected(backup('once', { cluster: 'columns', destination: { s3: { bucket: 'other' } } }))).to.match(/destination is immutable/);
    expect(await rejected(backup('once', { cluster: 'other', destination: { s3: { bucket: 'backups', prefix: 'iris/' } } }))).to.match(/cluster is immutable/);
    await env.kubectl(['delete', 'irisbackup', 'once', '-n', ns]);
    // A pvc destination is taken (the nodes mount the claim); a path leaving the volume is not.
    await env.kubectl(['apply', '-f', '-'], backup('on-pvc', { cluster: 'columns', destination: { pvc: { claimName: 'backups', path: 'iris/prod' } } }));
    expect(await rejected(backup('escape', { cluster: 'columns', destination: { pvc: { claimName: 'backups', path: 'iris/../../etc' } } })))
      .to.match(/spec\.destination\.pvc\.path: Invalid value: .*path may not contain \. or \.\. segments/);
    expect(await rejected(cluster('pvc-escape', { backup: { schedule: '@daily', destination: { pvc: { claimName: 'b', path: '..' } } } })))
      .to.match(/spec\.backup\.destination\.pvc\.path: Invalid value: .*path may not contain/);
    await env.kubectl(['delete', 'irisbackup', 'on-pvc', '-n', ns]);
  });

  it('takes spec.bootstrap.fromBackup at creation and keeps it immutable (issue #15)', async () => {
    await env.kubectl(['apply', '-f', '-'], cluster('boot', { bootstrap: { fromBackup: { name: 'nightly', pointInTime: '2026-12-06T10:30:00Z' } } }));
    expect(await rejected(cluster('boot', { bootstrap: { fromBackup: { name: 'other' } } }))).to.match(/bootstrap is immutable/);
    expect(await rejected(cluster('boot', {}))).to.match(/bootstrap is immutable/);
    expect(await rejected(cluster('later-boot', { bootstrap: { fromBackup: { name: 'n', pointInTime: 'yesterday' } } }))).to.match(/pointInTime/);
    // A backup of another namespace: by destination (a bucket, or a claim of this namespace), never an IrisBackup or claim of another namespace.
    await env.kubectl(['apply', '-f', '-'], cluster('boot-dest', { bootstrap: { fromBackup: { destination: { pvc: { claimName: 'rebound', path: 'iris/prod' } }, backupId: 'backup-20261206T030000Z-1' } } }));
    const pvcDest = { pvc: { claimName: 'rebound' } };
    expect(await rejected(cluster('boot-both', { bootstrap: { fromBackup: { name: 'nightly', destination: pvcDest } } }))).to.match(/fromBackup needs exactly one of name .* or destination/);
    expect(await rejected(cluster('boot-none', { bootstrap: { fromBackup: { pointInTime: '2026-12-06T10:30:00Z' } } }))).to.match(/fromBackup needs exactly one of name .* or destination/);
    expect(await rejected(cluster('boot-id', { bootstrap: { fromBackup: { name: 'nightly', backupId: 'backup-1' } } }))).to.match(/backupId goes with destination/);
    expect(await rejected(cluster('boot-ns', { bootstrap: { fromBackup: { destination: { pvc: { claimName: 'prod/backups' } } } } })))
      .to.match(/spec\.bootstrap\.fromBackup\.destination\.pvc\.claimName: Invalid value: .*pods mount only claims of their own namespace; to use a backup from another namespace, copy it to S3 or to a claim here/);
    expect(await rejected(cluster('sched-ns', { backup: { schedule: '@daily', destination: { pvc: { claimName: 'prod/backups' } } } })))
      .to.match(/spec\.backup\.destination\.pvc\.claimName: Invalid value: .*pods mount only claims of their own namespace/);
    expect(await rejected(backup('bk-ns', { cluster: 'boot', destination: { pvc: { claimName: 'prod/backups' } } })))
      .to.match(/spec\.destination\.pvc\.claimName: Invalid value: .*pods mount only claims of their own namespace/);
    // A schedule to the second (the core's sixth, leading field); seven fields are refused.
    await env.kubectl(['apply', '-f', '-'], cluster('sched-s', { backup: { schedule: '*/30 * * * * *', destination: pvcDest } }));
    expect(await rejected(cluster('sched-7', { backup: { schedule: '0 */30 * * * * *', destination: pvcDest } }))).to.match(/spec\.backup\.schedule: Invalid value/);
  });
});
