/**
 * --s3-credentials-dir (issue #15, rotation without a restart): one
 * long-lived S3 destination (as the node's log archiver holds) whose keys
 * come from files. A real SeaweedFS with signed requests: after the files
 * are rewritten to a second identity and the server stops accepting the
 * first, the same destination object keeps uploading — the AWS SDK asked
 * the provider again instead of keeping the first keys. Missing files fail
 * with the path in the message.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { parseDestination, s3OptionsFromEnv } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { credentialFilesOption } from '../../common/backup/s3-credential-files.js';
import { makeTempDir } from '../support/node-process.js';
import { S3Server } from '../support/s3-server.js';

describe('integration: S3 credentials from files, rotated without reopening the destination', function () {
  this.timeout(180000);
  let s3: S3Server;
  let dir: string;
  const second = { accessKeyId: 'irisdb-rotated', secretAccessKey: `rotated-${Math.random().toString(36).slice(2)}` };
  const writeKeys = async (c: { accessKeyId: string; secretAccessKey: string }): Promise<void> => {
    // As the kubelet swaps a Secret volume: new files, renamed into place.
    for (const [name, v] of [['AWS_ACCESS_KEY_ID', c.accessKeyId], ['AWS_SECRET_ACCESS_KEY', c.secretAccessKey]] as const) {
      await fs.promises.writeFile(path.join(dir, `${name}.tmp`), `${v}\n`);
      await fs.promises.rename(path.join(dir, `${name}.tmp`), path.join(dir, name));
    }
  };

  before(async () => {
    s3 = await S3Server.start();
    await s3.createBucket('rotation');
    dir = await makeTempDir('iris-s3-creds-');
  });

  after(async () => {
    await s3?.destroy();
    if (dir !== undefined) await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('uploads with the first identity, then with the second once the files change and the first is revoked', async () => {
    await writeKeys(s3);
    // The environment's keys are the old ones on purpose: the files must win.
    const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    const dest = openDestination(parseDestination('s3://rotation/p', s3OptionsFromEnv(env, credentialFilesOption(dir))));
    try {
      await dest.put('a', Buffer.from('first'));
      await writeKeys(second);
      await s3.setIdentities([second]);
      await dest.put('b', Buffer.from('second'));
      expect((await dest.get('a')).toString()).to.equal('first');
      expect((await dest.list('')).map((o) => o.key)).to.deep.equal(['a', 'b']);
      // The revoked identity is really refused (so the uploads above used the new one).
      const old = openDestination(parseDestination('s3://rotation/p', s3OptionsFromEnv(env)));
      try {
        let refused: unknown = null;
        await old.put('c', Buffer.from('x')).catch((err: unknown) => { refused = err; });
        expect(String((refused as Error | null)?.name ?? refused)).to.match(/InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch/);
      } finally {
        old.close();
      }
    } finally {
      dest.close();
    }
  });

  it('names the missing file', async () => {
    const empty = await makeTempDir('iris-s3-creds-empty-');
    const dest = openDestination(parseDestination('s3://rotation/p', { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, ...credentialFilesOption(empty) }));
    try {
      let err: unknown = null;
      await dest.put('x', Buffer.from('x')).catch((e: unknown) => { err = e; });
      expect((err as Error | null)?.message).to.include(path.join(empty, 'AWS_ACCESS_KEY_ID')).and.include('does not exist');
    } finally {
      dest.close();
      await fs.promises.rm(empty, { recursive: true, force: true });
    }
  });
});
