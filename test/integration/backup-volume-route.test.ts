/**
 * A node's /admin/backup-volume (issue #15, pvc destinations on
 * Kubernetes): the operator's VolumeDestination writes, reads, lists and
 * deletes objects in a real node's --backup-volume directory; the files are
 * the ones a FileDestination on that directory sees (what the nodes write
 * backups with and restore from). Keys that would leave the volume, a
 * missing token, an object over the size limit and a node without a volume
 * are refused; a dead node in the list is skipped.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { FileDestination } from '../../common/backup/file-destination.js';
import { VolumeDestination, VolumeUnreachable, type VolumeNodes } from '../../common/backup/volume-client.js';
import { BackupObjectMissing } from '../../common/backup/destination.js';
import { freePorts } from '../support/ports.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';

const TOKEN = 'volume-test-token';

describe('integration: /admin/backup-volume (a pvc backup destination through a node)', function () {
  this.timeout(60000);
  let volume: string;
  let node: RunningNode;
  let bare: RunningNode;
  let deadUrl: string;
  const nodes = (urls: string[], token = TOKEN): VolumeNodes => ({ urls: () => urls, token, fetch: (u, i) => fetch(u, i), timeoutMs: 5000 });

  before(async () => {
    volume = await makeTempDir('iris-backup-volume-');
    node = await startNode({ args: ['--admin-token', TOKEN, '--backup-volume', volume, '--backup-volume-max-object-bytes', '65536'] });
    bare = await startNode({ args: ['--admin-token', TOKEN] });
    deadUrl = `http://127.0.0.1:${(await freePorts(1))[0]!}`;
  });

  after(async () => {
    await node?.stop();
    await bare?.stop();
    await fs.promises.rm(volume, { recursive: true, force: true });
  });

  it('puts, reads, lists and deletes objects below the destination\'s directory, the same files a FileDestination sees', async () => {
    const dest = new VolumeDestination('file:///var/lib/irisdb-backups/claim/p', 'claim/p', nodes([deadUrl, node.url]));
    await dest.put('backup-1/manifest.json', Buffer.from('{"a":1}'));
    await dest.put('backup-1/shard-0/chunk-000001.irbk', Buffer.alloc(3000, 7));
    await dest.put('archive/shard-0/empty', Buffer.alloc(0));
    expect((await dest.get('backup-1/manifest.json')).toString()).to.equal('{"a":1}');
    expect(await dest.head('backup-1/shard-0/chunk-000001.irbk')).to.deep.equal({ key: 'backup-1/shard-0/chunk-000001.irbk', size: 3000 });
    expect(await dest.head('backup-1/none')).to.equal(null);
    expect(await dest.list('backup-1/')).to.deep.equal([
      { key: 'backup-1/manifest.json', size: 7 },
      { key: 'backup-1/shard-0/chunk-000001.irbk', size: 3000 },
    ]);
    expect((await dest.list('archive/')).map((o) => o.key)).to.deep.equal(['archive/shard-0/empty']);
    try {
      await dest.get('backup-1/none');
      expect.fail('a missing object must be BackupObjectMissing');
    } catch (err) {
      expect(err).to.be.instanceOf(BackupObjectMissing);
    }
    const onDisk = new FileDestination(path.join(volume, 'claim', 'p'));
    expect((await onDisk.get('backup-1/shard-0/chunk-000001.irbk')).equals(Buffer.alloc(3000, 7))).to.equal(true);
    await dest.delete('backup-1/manifest.json');
    await dest.delete('backup-1/manifest.json');
    expect((await onDisk.list('')).map((o) => o.key)).to.deep.equal(['archive/shard-0/empty', 'backup-1/shard-0/chunk-000001.irbk']);
  });

  it('refuses keys that leave the volume, a wrong token, an object over the limit, and answers clearly without a volume', async () => {
    for (const key of ['../escape', '/abs', 'a/../../b', 'a//b']) {
      const res = await fetch(`${node.url}/admin/backup-volume/object?key=${encodeURIComponent(key)}`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: 'x' });
      expect(res.status, key).to.equal(400);
    }
    expect(fs.existsSync(path.join(path.dirname(volume), 'escape'))).to.equal(false);
    const noAuth = await fetch(`${node.url}/admin/backup-volume/objects`);
    expect(noAuth.status).to.equal(401);
    const big = await fetch(`${node.url}/admin/backup-volume/object?key=big`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: Buffer.alloc(70000) });
    expect(big.status).to.equal(413);
    expect(fs.existsSync(path.join(volume, 'big'))).to.equal(false);
    const none = await fetch(`${bare.url}/admin/backup-volume/objects`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(none.status).to.equal(404);
    expect(((await none.json()) as { error: { message: string } }).error.message).to.match(/no backup volume \(--backup-volume\)/);
    // No node with the volume (and a wrong token on the one that has it): one error naming every attempt.
    const lost = new VolumeDestination('file:///var/lib/irisdb-backups/claim', 'claim', nodes([bare.url, deadUrl, node.url], 'wrong'));
    try {
      await lost.list('');
      expect.fail('must fail');
    } catch (err) {
      expect(err).to.be.instanceOf(VolumeUnreachable);
      expect((err as Error).message).to.include(bare.url).and.include(deadUrl).and.include('HTTP 401');
    }
  });
});
