/**
 * RBAC is enforced by the environment's API server: a ServiceAccount token
 * may do what its Role grants and gets 403 Forbidden for everything else.
 */
import { expect } from 'chai';
import { KubeApiError } from '../../operator/kube/errors.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';

describe('e2e: RBAC', function () {
  this.timeout(120000);
  let env: KubeEnv;
  let ns: string;
  let token: string;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'rbac');
    await env.kubectl(['apply', '-f', '-'], `
apiVersion: v1
kind: ServiceAccount
metadata: { name: limited, namespace: ${ns} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmap-reader, namespace: ${ns} }
rules:
- { apiGroups: [""], resources: [configmaps], verbs: [get, list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: limited-reads-configmaps, namespace: ${ns} }
subjects: [{ kind: ServiceAccount, name: limited, namespace: ${ns} }]
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader }
`);
    // A bound token from the TokenRequest API, as a pod would get.
    token = (await env.kubectl(['create', 'token', 'limited', '-n', ns, '--duration=10m'])).trim();
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('lets the token do what its Role grants', async () => {
    const client = await env.rest.withToken(token);
    try {
      const list = await client.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/configmaps`);
      expect(list.items).to.be.an('array');
    } finally {
      client.close();
    }
  });

  it('answers 403 Forbidden for a permission the token lacks', async () => {
    const client = await env.rest.withToken(token);
    try {
      for (const path of [`/api/v1/namespaces/${ns}/pods`, `/api/v1/namespaces/${ns}/secrets`, '/api/v1/namespaces/default/configmaps']) {
        const err = await client.get(path).then(() => undefined, (e: unknown) => e);
        expect(err, path).to.be.instanceOf(KubeApiError);
        expect((err as KubeApiError).statusCode, path).to.equal(403);
        expect((err as KubeApiError).reason).to.equal('Forbidden');
        expect((err as KubeApiError).message).to.contain(`system:serviceaccount:${ns}:limited`);
      }
      const create = await client.create(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope' } })
        .then(() => undefined, (e: unknown) => e);
      expect((create as KubeApiError).statusCode, 'create is not granted').to.equal(403);
    } finally {
      client.close();
    }
  });

  it('agrees with kubectl auth can-i', async () => {
    const asSa = `--as=system:serviceaccount:${ns}:limited`;
    const yes = await env.kubectlResult(['auth', 'can-i', 'list', 'configmaps', '-n', ns, asSa]);
    expect([yes.code, yes.stdout.trim()]).to.deep.equal([0, 'yes']);
    const no = await env.kubectlResult(['auth', 'can-i', 'list', 'pods', '-n', ns, asSa]);
    expect([no.code, no.stdout.trim()]).to.deep.equal([1, 'no']);
  });
});
