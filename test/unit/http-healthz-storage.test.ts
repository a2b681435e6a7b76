/**
 * Liveness follows the storage: once the write journal's SQLite batch is
 * lost (disk full inside SQLite rolls the whole batch back), the node can
 * acknowledge nothing until it restarts and the journal replays. /healthz
 * then answers 503 so a supervisor (the pod's liveness probe) restarts it,
 * instead of a node that answers every command with an error forever.
 */
import { expect } from 'chai';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../common/logger.js';
import { createHttpApp } from '../../node/http/app.js';
import { createHttpServer } from '../../node/http/server.js';
import { createNodeMetrics } from '../../node/observability/metrics.js';
import { engineFixture } from '../support/engine-fixture.js';
import { defaultNodeConfig } from '../support/http-app-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('HTTP /healthz: a storage that failed for good fails liveness', () => {
  const fx = engineFixture({ journal: { commitMs: 60_000 } });

  it('answers 200 while the store acknowledges writes, 503 storage_failed once the journal batch is lost', async () => {
    const engine = fx.open();
    const metrics = createNodeMetrics();
    const config = defaultNodeConfig({ dataDir: fx.dir, fsync: 'batch' });
    const app = createHttpApp({
      keyspace: engine.keyspace, commits: engine.commits, config, logger: silentLogger(), metrics,
      isReady: () => true, now: () => Date.now(),
    });
    const server: http.Server = createHttpServer(app, config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    try {
      engine.keyspace.set(b('a'), b('1'), null);
      await engine.commits.barrier();
      expect(engine.commits.fatal ?? null).to.equal(null);
      expect((await fetch(url)).status).to.equal(200);

      // SQLite rolls the whole open batch back on SQLITE_FULL.
      engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
      expect(() => engine.keyspace.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
      await engine.commits.barrier().then(() => expect.fail('the failed turn was acknowledged'), () => undefined);
      engine.db.pragma('max_page_count = 1073741823');

      expect(engine.commits.fatal?.message).to.match(/batch transaction was lost/);
      const r = await fetch(url);
      expect(r.status).to.equal(503);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).to.equal('storage_failed');
      expect(body.error.message).to.match(/batch transaction was lost.*restart the node/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      metrics.close();
    }
  });
});
