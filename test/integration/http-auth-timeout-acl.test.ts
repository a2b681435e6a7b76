/**
 * The HTTP port's unauthenticated-connection timeout (--auth-timeout-ms)
 * when only an aclfile gives "default" a password (Kubernetes spec.auth:
 * no --require-pass): before the fix it keyed on requirePass alone and
 * never applied. A keep-alive connection that authenticated — with a
 * client's password or with the admin token, as the operator's does — is
 * kept; over HTTPS (--tls-http) too, where the timer must watch the TLS
 * socket requests arrive on. Ordering without sleeps: a connection opened
 * after the timeout closed an idle one started later than the kept ones.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { expect } from 'chai';
import { freePort } from '../support/ports.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { httpsRequest, makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';
import { waitFor } from '../support/wait.js';

const ADMIN_TOKEN = 'admin-token-for-timeout-test';
const PASSWORD = 'pw-one';
const aclLine = `user default on #${crypto.createHash('sha256').update(PASSWORD).digest('hex')} ~* &* +@all\n`;

/** One raw keep-alive connection: requests written by hand, answers read by Content-Length. */
class RawConnection {
  closed = false;
  private buffered = '';
  private waiter: (() => void) | null = null;

  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { this.buffered += d; this.waiter?.(); });
    socket.on('close', () => { this.closed = true; this.waiter?.(); });
    socket.on('error', () => {});
  }

  /** The status of a GET on this connection, or null if the connection closed first. */
  async get(urlPath: string, authorization?: string): Promise<number | null> {
    this.buffered = '';
    this.socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n${authorization === undefined ? '' : `Authorization: ${authorization}\r\n`}\r\n`);
    for (;;) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end >= 0) {
        const length = Number(/content-length: *(\d+)/i.exec(this.buffered.slice(0, end))?.[1] ?? '0');
        if (Buffer.byteLength(this.buffered.slice(end + 4)) >= length) return Number(this.buffered.split(' ')[1]);
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
      this.waiter = null;
    }
  }
}

function open(port: number, fixture: TlsFixture | null): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = fixture === null
      ? net.connect({ host: '127.0.0.1', port }, () => resolve(new RawConnection(socket)))
      : tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(fixture.ca.certFile), servername: 'localhost' }, () => resolve(new RawConnection(socket)));
    socket.once('error', reject);
  });
}

for (const mode of ['http', 'https'] as const) {
  describe(`HTTP auth timeout with an aclfile password on "default" (${mode})`, function () {
    this.timeout(60000);
    let node: RunningNode;
    let fixture: TlsFixture | null = null;
    const conns: RawConnection[] = [];

    before(async () => {
      const dir = await makeTempDir();
      const aclfile = path.join(dir, 'users.acl');
      fs.writeFileSync(aclfile, aclLine);
      const args = ['--aclfile', aclfile, '--auth-timeout-ms', '400', '--admin-token', ADMIN_TOKEN];
      if (mode === 'https') {
        fixture = await makeTlsFixture(path.join(dir, 'tls'));
        const f = fixture;
        args.push('--tls-port', String(await freePort()), '--tls-cert-file', f.server.certFile, '--tls-key-file', f.server.keyFile, '--tls-ca-cert-file', f.ca.certFile, '--tls-http', 'yes');
        node = await startNode({ args, ready: (p) => httpsRequest(p, f.ca.certFile, 'GET', '/readyz').then((r) => r.status === 200, () => false) });
      } else {
        node = await startNode({ args });
      }
    });

    after(async () => {
      for (const c of conns) c.socket.destroy();
      await node?.stop();
    });

    const connect = async (): Promise<RawConnection> => {
      const c = await open(node.httpPort, fixture);
      conns.push(c);
      return c;
    };

    it('closes an idle unauthenticated connection, keeps ones that authenticated with the password or the admin token', async () => {
      const admin = await connect();
      const client = await connect();
      expect(await admin.get('/admin/replication', `Bearer ${ADMIN_TOKEN}`)).to.equal(200);
      expect(await client.get('/v1/kv/absent', `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}`)).to.equal(404);
      // Opened after the kept ones: once the timeout closed it, theirs has passed too.
      const idle = await connect();
      await waitFor('the idle unauthenticated connection to be closed', () => idle.closed, { timeoutMs: 15000, intervalMs: 50 });
      expect(admin.closed, 'admin-token connection').to.equal(false);
      expect(client.closed, 'password connection').to.equal(false);
      expect(await admin.get('/admin/replication', `Bearer ${ADMIN_TOKEN}`)).to.equal(200);
      expect(await client.get('/v1/kv/absent', `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}`)).to.equal(404);
    });

    it('closes a connection whose requests carried no credentials (probes stay answered)', async () => {
      const probe = await connect();
      expect(await probe.get('/healthz')).to.equal(200);
      await waitFor('the unauthenticated keep-alive connection to be closed', () => probe.closed, { timeoutMs: 15000, intervalMs: 50 });
    });
  });
}
