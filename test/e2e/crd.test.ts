/**
 * Real CustomResourceDefinition validation on the environment's API server:
 * an object that breaks the OpenAPI schema or a CEL rule is rejected with
 * the schema's own message, a valid one is stored, and the status
 * subresource ignores status on the main resource.
 */
import { expect } from 'chai';
import { KubeApiError } from '../../operator/kube/errors.js';
import type { KubeObject } from '../support/kube/objects.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';

const GROUP = 'e2e.irisdb.io';
const CRD_NAME = `widgets.${GROUP}`;

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: CRD_NAME },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [{
      name: 'v1', served: true, storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              required: ['shards'],
              properties: {
                shards: { type: 'integer', minimum: 1, maximum: 64 },
                fsync: { type: 'string', enum: ['always', 'batch'] },
              },
              'x-kubernetes-validations': [{ rule: 'self.shards % 2 == 1', message: 'shards must be odd in this test CRD' }],
            },
            status: { type: 'object', properties: { phase: { type: 'string' } } },
          },
        },
      },
    }],
  },
};

function widget(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name, namespace }, spec, status: { phase: 'Forged' } });
}

describe('e2e: CustomResourceDefinition validation', function () {
  this.timeout(120000);
  let env: KubeEnv;
  let ns: string;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'crd');
    await env.kubectl(['apply', '-f', '-'], JSON.stringify(crd));
    await waitFor('the CRD to be Established', async () => {
      const c = await env.rest.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`);
      return (c.status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True');
    }, { timeoutMs: 60000, intervalMs: 100 });
    // Discovery for the new group can lag behind Established.
    await waitFor('the widgets resource to be served', () => env.rest.find(`/apis/${GROUP}/v1/namespaces/${ns}/widgets`), { timeoutMs: 30000, intervalMs: 100 });
  });

  after(async function () {
    if (env === undefined) return;
    await env.rest.delete(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`).catch(() => undefined);
    if (ns !== undefined) await deleteNamespace(env, ns);
  });

  it('rejects a value outside the schema with the schema message (kubectl)', async () => {
    const err = await env.kubectl(['apply', '-f', '-'], widget(ns, 'too-many', { shards: 65 })).then(() => undefined, (e: Error) => e);
    expect(err, 'kubectl apply must fail').to.be.instanceOf(Error);
    expect(err!.message).to.match(/spec\.shards: Invalid value: 65: spec\.shards in body should be less than or equal to 64/);
  });

  const rejection = async (name: string, spec: Record<string, unknown>): Promise<KubeApiError> => {
    const err = await env.rest.create(`/apis/${GROUP}/v1/namespaces/${ns}/widgets`, JSON.parse(widget(ns, name, spec)))
      .then(() => undefined, (e: unknown) => e);
    expect(err, `${name} must be rejected`).to.be.instanceOf(KubeApiError);
    const apiErr = err as KubeApiError;
    expect(apiErr.statusCode).to.equal(422);
    expect(apiErr.reason).to.equal('Invalid');
    return apiErr;
  };

  it('rejects a CEL rule violation with the rule message (REST, 422)', async () => {
    // The wording around the rule's message varies between releases; the message itself does not.
    expect((await rejection('even', { shards: 2 })).message).to.match(/spec: Invalid value: .*shards must be odd in this test CRD/);
  });

  it('rejects a value outside an enum and a missing required field (REST, 422)', async () => {
    expect((await rejection('bad-enum', { shards: 3, fsync: 'sometimes' })).message)
      .to.match(/spec\.fsync: Unsupported value: "sometimes": supported values: "always", "batch"/);
    expect((await rejection('no-shards', { fsync: 'always' })).message).to.contain('spec.shards: Required value');
  });

  it('stores a valid object and drops status written through the main resource', async () => {
    await env.kubectl(['apply', '-f', '-'], widget(ns, 'good', { shards: 3, fsync: 'batch' }));
    const w = await env.rest.get<KubeObject & { spec: { shards: number }; status?: { phase?: string } }>(`/apis/${GROUP}/v1/namespaces/${ns}/widgets/good`);
    expect(w.spec.shards).to.equal(3);
    expect(w.status?.phase, 'status is only writable through /status').to.equal(undefined);
    const updated = await env.rest.mergePatch<KubeObject & { status?: { phase?: string } }>(
      `/apis/${GROUP}/v1/namespaces/${ns}/widgets/good/status`, { status: { phase: 'Ready' } });
    expect(updated.status?.phase).to.equal('Ready');
  });
});
