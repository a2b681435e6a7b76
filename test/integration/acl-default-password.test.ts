/**
 * An aclfile that gives the "default" user a password, with no
 * --require-pass (how Kubernetes spec.auth configures the nodes): a new
 * connection is not authenticated, as in Redis, where a connection starts
 * authenticated only when "default" is nopass. Before the fix it started
 * authenticated whenever requirePass was empty, so the password guarded
 * nothing. A rotated password (the file replaced) takes over without a
 * restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const line = (pw: string): string => `user default on #${crypto.createHash('sha256').update(pw).digest('hex')} ~* &* +@all\n`;

describe('aclfile: a password on "default" without requirePass', function () {
  this.timeout(60000);
  let node: RunningNode;
  let aclfile: string;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const c = new Redis({ port: node.port, host: '127.0.0.1', lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const attempt = async (pw: string | undefined): Promise<string> => {
    const c = client();
    try {
      await c.connect();
      if (pw !== undefined) await c.auth(pw);
      return await c.ping();
    } catch (err) {
      return (err as Error).message;
    }
  };

  before(async () => {
    const dir = await makeTempDir();
    aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, line('one'));
    node = await startNode({ args: ['--aclfile', aclfile, '--aclfile-check-ms', '100'] });
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await node?.stop();
  });

  it('refuses commands before AUTH, accepts the password, refuses a wrong one', async () => {
    expect(await attempt(undefined)).to.match(/^NOAUTH/);
    expect(await attempt('one')).to.equal('PONG');
    expect(await attempt('two')).to.match(/^WRONGPASS/);
  });

  it('guards the HTTP API with the same password', async () => {
    const get = (auth?: string): Promise<number> => fetch(`http://127.0.0.1:${node.httpPort}/v1/kv/k`, { headers: auth === undefined ? {} : { authorization: auth } }).then((r) => r.status);
    expect(await get()).to.equal(401);
    expect(await get(`Basic ${Buffer.from('default:wrong').toString('base64')}`)).to.equal(401);
    expect(await get(`Basic ${Buffer.from('default:one').toString('base64')}`)).to.equal(404);
  });

  it('takes a replaced file\'s password without a restart', async () => {
    const tmp = `${aclfile}.new`;
    fs.writeFileSync(tmp, line('two'));
    fs.renameSync(tmp, aclfile);
    await waitFor('the new password to work', async () => (await attempt('two')) === 'PONG', { timeoutMs: 10000, intervalMs: 100 });
    expect(await attempt('one')).to.match(/^WRONGPASS/);
    expect(await attempt(undefined)).to.match(/^NOAUTH/);
  });
});
