/**
 * SQLite knobs of the engine (issue #16): page size for new files only (an
 * existing database keeps its own and its data), mmap and page cache on the
 * connection, bad values refused before a file is created.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE_NAME, DEFAULT_SQLITE_TUNING } from '../../node/engine/database.js';
import { ConfigError, parseCli } from '../../node/config/load.js';
import type { NodeConfig } from '../../node/config/schema.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

function loadConfig(argv: string[], env: Record<string, string>): NodeConfig {
  const action = parseCli({ argv, env, readFile: () => { throw new Error('no config file in this test'); } });
  if (action.kind !== 'run') throw new Error(`expected run, got ${action.kind}`);
  return action.loaded.config;
}

describe('engine: SQLite tuning (page size, mmap, cache)', () => {
  const fx = engineFixture();

  it('creates a new database with the configured page size, mmap and cache', () => {
    const engine = fx.open({ sqlite: { pageSize: 1024, mmapBytes: 64 * 1024 * 1024, cacheBytes: 8 * 1024 * 1024 } });
    expect(engine.db.pragma('page_size', { simple: true })).to.equal(1024);
    expect(engine.db.pragma('mmap_size', { simple: true })).to.equal(64 * 1024 * 1024);
    expect(engine.db.pragma('cache_size', { simple: true })).to.equal(-8192);
    for (let i = 0; i < 2000; i++) engine.keyspace.set(b(`k${i}`), Buffer.alloc(100, i % 256), null);
    engine.commits.flushNow();
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
  });

  it('keeps the page size of an existing database, and its data, whatever is configured', () => {
    const old = fx.open({ sqlite: DEFAULT_SQLITE_TUNING });
    for (let i = 0; i < 500; i++) old.keyspace.set(b(`k${i}`), b(`v${i}`), i % 2 === 0 ? 9e12 : null);
    old.close();
    const reopened = fx.open({ sqlite: { ...DEFAULT_SQLITE_TUNING, pageSize: 1024 } });
    expect(reopened.db.pragma('page_size', { simple: true })).to.equal(DEFAULT_SQLITE_TUNING.pageSize);
    expect(reopened.keyspace.size()).to.equal(500);
    expect(reopened.keyspace.keysWithExpiry).to.equal(250);
    expect(reopened.keyspace.get(b('k499'), 0)?.value).to.deep.equal(b('v499'));
    reopened.keyspace.set(b('new'), b('x'), null);
    reopened.commits.flushNow();
    expect(reopened.integrityCheck()).to.deep.equal(['ok']);
  });

  it('refuses a page size that is not a power of two from 512 to 65536 before creating any file', () => {
    for (const pageSize of [0, 256, 1000, 131072, 4096.5]) {
      expect(() => fx.open({ sqlite: { ...DEFAULT_SQLITE_TUNING, pageSize } })).to.throw(RangeError, /page size/);
    }
    expect(() => fx.open({ sqlite: { ...DEFAULT_SQLITE_TUNING, mmapBytes: -1 } })).to.throw(RangeError, /mmap/);
    expect(fs.existsSync(path.join(fx.dir, DB_FILE_NAME))).to.equal(false);
  });

  it('is configured by --sqlite-page-size, --sqlite-mmap-bytes and --sqlite-cache-bytes, with clear errors', () => {
    const c = loadConfig(['--sqlite-page-size', '2048', '--sqlite-mmap-bytes', '256mb', '--sqlite-cache-bytes', '64mb'], {});
    expect([c.sqlitePageSize, c.sqliteMmapBytes, c.sqliteCacheBytes]).to.deep.equal(['2048', 256 * 1024 * 1024, 64 * 1024 * 1024]);
    expect(() => loadConfig(['--sqlite-page-size', '1000'], {})).to.throw(ConfigError, /sqlite-page-size/);
    expect(() => loadConfig([], { IRIS_SQLITE_CACHE_BYTES: '1k' })).to.throw(ConfigError, /IRIS_SQLITE_CACHE_BYTES/);
    expect(() => loadConfig(['--sqlite-cache-bytes', '1048575'], {})).to.throw(ConfigError, /0 \(sized from the memory limit\) or at least 1 MiB/);
    expect(loadConfig(['--sqlite-cache-bytes', '1mib'], {}).sqliteCacheBytes).to.equal(1024 * 1024);
    // 0, the default: sized from the memory limit when the node starts (node/engine/page-cache-size.ts).
    expect(loadConfig([], {}).sqliteCacheBytes).to.equal(0);
    expect(loadConfig([], { IRIS_SQLITE_CACHE_BYTES: '0' }).sqliteCacheBytes).to.equal(0);
  });
});
