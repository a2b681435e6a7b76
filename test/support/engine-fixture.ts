/**
 * A real storage engine on a fresh temp dir, for the engine unit tests.
 *
 * engineFixture() registers mocha hooks in the calling describe(): a new temp
 * dir before each test (or once for the suite, with scope 'all'), and after it
 * every engine the fixture opened is closed (close() is idempotent) and the dir
 * removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import type { EngineHooks, EngineOptions } from '../../node/engine/types.js';

/** What the engine tests start from: batch fsync, no compression, no read cache. */
export function engineOptions(dataDir: string, over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    dataDir,
    fsync: 'batch',
    compression: { algorithm: 'none', thresholdBytes: 1024 },
    readCache: { maxEntries: 0, maxBytes: 0 },
    activeExpiry: { intervalMs: 100, maxKeysPerCycle: 500, maxCycleMs: 5 },
    // IRIS_WRITE_JOURNAL=yes runs the engine tests on the write journal path too (as it does for spawned nodes).
    journal: process.env.IRIS_WRITE_JOURNAL === 'yes' ? { commitMs: 100 } : null,
    ...over,
  };
}

export interface EngineFixture {
  /** The current temp dir. */
  readonly dir: string;
  /** engineOptions() on dir, with the fixture's defaults and then `over` applied. */
  options(over?: Partial<EngineOptions>): EngineOptions;
  /** Opens an engine with options(over); the fixture closes it at teardown. */
  open(over?: Partial<EngineOptions>, hooks?: EngineHooks): SqliteEngine;
  /**
   * A crash of `engine`: copies the data dir as the files are now (the open batch and the journal as they stand),
   * closes the engine, and runs `fn` on the copy (its lock file removed); the copy is deleted after.
   */
  afterCrash<T>(engine: SqliteEngine, fn: (copy: string) => T | Promise<T>): Promise<T>;
}

export function engineFixture(defaults: Partial<EngineOptions> = {}, scope: 'each' | 'all' = 'each'): EngineFixture {
  let dir = '';
  let opened: SqliteEngine[] = [];
  const fixture: EngineFixture = {
    get dir() {
      return dir;
    },
    options: (over = {}) => engineOptions(dir, { ...defaults, ...over }),
    open(over = {}, hooks = {}) {
      const engine = openEngine(fixture.options(over), hooks);
      opened.push(engine);
      return engine;
    },
    async afterCrash(engine, fn) {
      const copy = `${dir}-crash`;
      fs.cpSync(dir, copy, { recursive: true });
      engine.close();
      fs.rmSync(path.join(copy, 'irisdb.lock'), { force: true });
      try {
        return await fn(copy);
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
    },
  };
  const setup = (): void => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-engine-'));
  };
  const teardown = async (): Promise<void> => {
    const engines = opened;
    opened = [];
    try {
      for (const engine of engines) engine.close();
      // A checkpoint worker still starting opens the database after close(): remove the dir only once it is gone.
      await Promise.all(engines.map((e) => e.whenClosed()));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  if (scope === 'all') {
    before(setup);
    after(teardown);
  } else {
    beforeEach(setup);
    afterEach(teardown);
  }
  return fixture;
}
