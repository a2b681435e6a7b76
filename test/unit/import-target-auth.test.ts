/**
 * The target of `irisctl import` / `export` (issue #19): which credentials
 * (flags, IRISDB_USER / IRISDB_PASSWORD, an IrisCluster's spec.auth Secret)
 * and, with --kube, which CA (--cacert, the pods' TLS Secret, the
 * operator's <cluster>-ca) and addresses. Pure: Secrets and files are
 * plain data here.
 */
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import { CliError, UsageError } from '../../operator/cli/errors.js';
import { parseKubeCommandLine } from '../../operator/cli/kube-args.js';
import { caSourceOf, kubeDefaultCredentials, kubeTargetNodes, resolveKubeCa } from '../../operator/cli/kube-import-target.js';
import { parseCommandLine } from '../../operator/cli/args.js';
import { authorizationHeader, redisAuthOptions, resolveTargetCredentials } from '../../operator/import/target-credentials.js';
import { initialState } from '../../operator/core/initial-state.js';
import { bootstrapMap } from '../../operator/core/slot-plan.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';

const noFile = (f: string): string => {
  throw new Error(`ENOENT: ${f}`);
};

function resource(spec: Partial<IrisClusterSpec>): IrisCluster {
  const base = initialState('iris', { ...DEFAULT_SPEC, shards: 1, replicasPerShard: 1 });
  const nodes = base.shards.flatMap((s) => s.members.map((m, j) => ({ name: m, host: `10.0.${s.index}.${j}`, port: 6379, busPort: 16379, httpPort: 8080 })));
  const map = bootstrapMap(base.shards.map((s) => ({ id: s.id, primary: s.currentPrimary, replicas: s.members.slice(1) })), nodes, 3);
  return {
    metadata: { name: 'iris', namespace: 'db' },
    spec: { shards: 1, replicasPerShard: 1, ...spec },
    status: JSON.parse(JSON.stringify({ controllerState: { ...base, map } })) as IrisCluster['status'],
  };
}

function secret(data: Record<string, string>): V1Secret {
  return { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
}

function secrets(all: Record<string, V1Secret>): { read: (name: string) => Promise<V1Secret | null>; asked: string[] } {
  const asked: string[] = [];
  return { asked, read: async (name) => { asked.push(name); return all[name] ?? null; } };
}

describe('import/export target credentials', () => {
  it('flags first, then IRISDB_USER / IRISDB_PASSWORD, else user default without a password', () => {
    const files: Record<string, string> = { '/p': 'secret\n', '/empty': '\n' };
    const read = (f: string): string => files[f] ?? noFile(f);
    expect(resolveTargetCredentials({}, {}, read)).to.deep.equal({ user: 'default', password: null });
    expect(resolveTargetCredentials({}, { IRISDB_USER: 'u', IRISDB_PASSWORD: 'e' }, read)).to.deep.equal({ user: 'u', password: 'e' });
    expect(resolveTargetCredentials({ user: 'f', passwordFile: '/p' }, { IRISDB_USER: 'u', IRISDB_PASSWORD: 'e' }, read)).to.deep.equal({ user: 'f', password: 'secret' });
    expect(() => resolveTargetCredentials({ passwordFile: '/missing' }, {}, read)).to.throw(CliError, /cannot read \/missing/);
    expect(() => resolveTargetCredentials({ passwordFile: '/empty' }, {}, read)).to.throw(CliError, /is empty/);
    expect(() => resolveTargetCredentials({ user: 'a b' }, {}, read)).to.throw(CliError, /not valid/);
  });

  it('become RESP options and an HTTP Basic header; nothing is sent without a password', () => {
    expect(redisAuthOptions({ user: 'default', password: 'p' })).to.deep.equal({ password: 'p' });
    expect(redisAuthOptions({ user: 'imp', password: 'p' })).to.deep.equal({ username: 'imp', password: 'p' });
    expect(redisAuthOptions({ user: 'imp', password: null })).to.deep.equal({});
    expect(authorizationHeader({ user: 'imp', password: 'p:w' })).to.equal(`Basic ${Buffer.from('imp:p:w').toString('base64')}`);
    expect(authorizationHeader(null)).to.equal(null);
  });

  it('the command line takes --target-user and --target-password-file, never a password; --cacert goes to the command', () => {
    const c = parseCommandLine(['import', '--from', 'redis://h:1', '--target-user', 'imp', '--target-password-file', '/p']);
    expect(c.kind === 'import' && c.credentials).to.deep.equal({ user: 'imp', passwordFile: '/p' });
    expect(() => parseCommandLine(['import', '--from', 'redis://h:1', '--target-password', 'x'])).to.throw(UsageError);
    const k = parseKubeCommandLine(['-n', 'db', 'iris', 'export', '--to', '/tmp/x.rdb', '--cacert', '/ca.crt']);
    expect(k.kind).to.equal('export');
    if (k.kind === 'export') expect([k.command.to, k.command.cacert]).to.deep.equal(['/tmp/x.rdb', '/ca.crt']);
  });
});

describe('irisctl --kube import/export: CA, credentials and addresses of an IrisCluster', () => {
  it('no spec.tls: no CA (and --cacert is refused); plain http addresses', async () => {
    const cr = resource({});
    expect(caSourceOf(cr, null)).to.deep.equal({ kind: 'none' });
    expect(() => caSourceOf(cr, '/ca')).to.throw(CliError, /has no spec.tls/);
    expect(await resolveKubeCa(cr, null, secrets({}).read, noFile)).to.equal(null);
    const t = kubeTargetNodes(cr, 'x', null);
    expect([t.tlsCa, t.tlsServerName, [...t.httpByAddress.values()][0]]).to.deep.equal([null, undefined, 'http://10.0.0.0:8080']);
  });

  it('operator-issued TLS: ca.crt of <cluster>-tls, else <cluster>-ca; --cacert wins without reading Secrets', async () => {
    const cr = resource({ tls: { enabled: true } });
    expect(caSourceOf(cr, null)).to.deep.equal({ kind: 'secrets', names: ['iris-tls', 'iris-ca'] });
    const s1 = secrets({ 'iris-tls': secret({ 'ca.crt': 'PEM-1' }), 'iris-ca': secret({ 'ca.crt': 'PEM-2' }) });
    expect(await resolveKubeCa(cr, null, s1.read, noFile)).to.equal('PEM-1');
    const s2 = secrets({ 'iris-ca': secret({ 'ca.crt': 'PEM-2', 'ca.key': 'k' }) });
    expect(await resolveKubeCa(cr, null, s2.read, noFile)).to.equal('PEM-2');
    expect(s2.asked).to.deep.equal(['iris-tls', 'iris-ca']);
    const s3 = secrets({});
    expect(await resolveKubeCa(cr, '/mine.crt', s3.read, (f) => `file ${f}`)).to.equal('file /mine.crt');
    expect(s3.asked).to.deep.equal([]);
    await resolveKubeCa(cr, '/gone', s3.read, noFile).then(() => expect.fail('read a missing file'), (e: unknown) => expect(String(e)).to.match(/--cacert: cannot read \/gone/));
  });

  it("the user's TLS Secret: its ca.crt, else a clear error pointing at --cacert", async () => {
    const cr = resource({ tls: { enabled: true, secretRef: { name: 'mine' } } });
    expect(caSourceOf(cr, null)).to.deep.equal({ kind: 'secrets', names: ['mine'] });
    expect(await resolveKubeCa(cr, null, secrets({ mine: secret({ 'ca.crt': 'P' }) }).read, noFile)).to.equal('P');
    await resolveKubeCa(cr, null, secrets({ mine: secret({ 'tls.crt': 'c' }) }).read, noFile)
      .then(() => expect.fail('no ca.crt'), (e: unknown) => expect(String(e)).to.match(/no ca.crt in Secret mine of namespace db: .*--cacert FILE/));
  });

  it('with a CA: https addresses, RESP TLS with the CA, verified for the client Service name', () => {
    const t = kubeTargetNodes(resource({ tls: { enabled: true } }), 'x', 'PEM');
    expect(t.tlsCa?.toString()).to.equal('PEM');
    expect(t.tlsServerName).to.equal('iris.db.svc');
    expect([...t.httpByAddress.values()].every((u) => u.startsWith('https://'))).to.equal(true);
  });

  it("spec.auth.secretRef gives the default user's password; without spec.auth none", async () => {
    expect(await kubeDefaultCredentials(resource({}), secrets({}).read)).to.equal(null);
    const cr = resource({ auth: { secretRef: { name: 'pw' } } });
    expect(await kubeDefaultCredentials(cr, secrets({ pw: secret({ password: 's3' }) }).read)).to.deep.equal({ user: 'default', password: 's3' });
    const keyed = resource({ auth: { secretRef: { name: 'pw', key: 'k' } } });
    await kubeDefaultCredentials(keyed, secrets({ pw: secret({ password: 's3' }) }).read)
      .then(() => expect.fail('no key k'), (e: unknown) => expect(String(e)).to.match(/Secret pw has no key "k"/));
  });
});
