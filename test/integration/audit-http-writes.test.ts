/**
 * `--audit-writes` covers the HTTP API (issue #14): on a real node with an
 * audit log and ACL users, PUT and DELETE /v1/kv/{key}, POST /v1/kv:batch and
 * PUT /v1/kv:import each leave one 'write' record with the user, the key
 * names and the outcome — never a value; reads leave none, nor does a write
 * the ACL refuses (it never ran); the chain still verifies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { IRISCTL } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { encodeRows } from '../../node/replication/row-codec.js';

interface Rec { event: string; user: string | null; outcome: string; detail: Record<string, unknown> }

const records = (file: string): Rec[] => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec);
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('audit log: --audit-writes records HTTP API writes (key names, never values)', function () {
  this.timeout(120_000);
  let node: RunningNode;
  let file: string;
  const alice = { authorization: basic('alice', 'alice-pw') };

  before(async () => {
    const dir = await makeTempDir('irisdb-audit-http-');
    file = path.join(dir, 'audit.log');
    const aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, 'user default on nopass ~* &* +@all\nuser alice on >alice-pw ~alice:* +@all\n');
    node = await startNode({ args: ['--aclfile', aclfile, '--audit-log-file', file, '--audit-writes', 'yes', '--node-name', 'http-writes'] });
  });
  after(async () => {
    await node?.stop();
  });

  it('records PUT, DELETE, batch and import with their keys and user, and nothing for reads or values', async () => {
    const put = await fetch(`${node.url}/v1/kv/alice:one`, { method: 'PUT', headers: alice, body: 'value-one-secret' });
    expect(put.status).to.equal(200);
    expect((await fetch(`${node.url}/v1/kv/alice:one`, { headers: alice })).status).to.equal(200);
    const batch = await fetch(`${node.url}/v1/kv:batch`, {
      method: 'POST', headers: { ...alice, 'content-type': 'application/json' },
      body: JSON.stringify({ ops: [{ op: 'put', key: 'alice:b1', value: 'value-b1-secret' }, { op: 'get', key: 'alice:one' }, { op: 'delete', key: 'alice:b2' }] }),
    });
    expect(batch.status).to.equal(200);
    const rows = encodeRows([0, 1, 2].map((i) => ({ key: Buffer.from(`imp:${i}`), value: Buffer.from(`value-imp-secret-${i}`), flags: 0, version: 0, expiresAt: null })));
    const imp = await fetch(`${node.url}/v1/kv:import`, { method: 'PUT', body: rows });
    expect(imp.status).to.equal(200);
    const refused = await fetch(`${node.url}/v1/kv/bob:x`, { method: 'PUT', headers: alice, body: 'value-refused-secret' });
    expect(refused.status).to.equal(403);
    const del = await fetch(`${node.url}/v1/kv/alice:one`, { method: 'DELETE', headers: alice });
    expect(del.status).to.equal(200);

    const writes = await waitFor('four HTTP write records', () => {
      const w = fs.existsSync(file) ? records(file).filter((r) => r.event === 'write') : [];
      return w.length >= 4 ? w : null;
    });
    expect(writes.map((r) => [r.detail.command, r.user, r.outcome, r.detail.key ?? r.detail.keys])).to.deep.equal([
      ['SET', 'alice', 'success', 'alice:one'],
      ['BATCH', 'alice', 'success', ['alice:b1', 'alice:b2']],
      ['IMPORT', 'default', 'success', ['imp:0', 'imp:1', 'imp:2']],
      ['DEL', 'alice', 'success', 'alice:one'],
    ]);
    expect(writes[0]!.detail).to.deep.include({ via: 'http', method: 'PUT', path: '/v1/kv/{key}', status: 200 });
    expect(writes[2]!.detail).to.deep.include({ keyCount: 3, path: '/v1/kv:import' });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).to.not.match(/value-[a-z0-9-]*secret/);
    expect(text).to.not.contain('bob:x');
    const verified = await run(process.execPath, [IRISCTL, 'audit', 'verify', file]);
    expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
  });
});
