/**
 * The archive lag gauges (irisdb_archive_lag_sequences / _seconds) are
 * computed when scraped: a write the archive does not hold yet shows at
 * once, not only after the archiver's next run (issue #15; before, the
 * gauge read 0 right after a write until the archiver ran again).
 * A real prom-client registry and a real file destination; the log is
 * plain data behind the archiver's small log interface.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { silentLogger } from '../../common/logger.js';
import { FileDestination } from '../../common/backup/file-destination.js';
import { createArchiveMetrics } from '../../node/backup/archive-metrics.js';
import { LogArchiver } from '../../node/backup/archiver.js';
import type { TimedBatch } from '../../node/replication/log.js';

class PlainLog {
  readonly batches: TimedBatch[] = [];
  append(firstSeq: number, lastSeq: number, committedAt: number): void {
    this.batches.push({ firstSeq, lastSeq, committedAt, body: Buffer.from(`batch ${firstSeq}-${lastSeq}`) });
  }
  head(): number {
    return this.batches.at(-1)?.lastSeq ?? 0;
  }
  readTimedFrom(fromSeq: number, limit: number): TimedBatch[] {
    return this.batches.filter((b) => b.lastSeq >= fromSeq).slice(0, limit);
  }
  firstSeq(): number | null {
    return this.batches[0]?.firstSeq ?? null;
  }
  setRetentionFloor(): void {}
}

describe('archive lag gauges (computed at scrape)', () => {
  const T0 = 1_800_000_000_000;
  let dir: string;
  let clock: number;
  let primary: boolean;
  let log: PlainLog;
  let registry: Registry;
  let archiver: LogArchiver;

  async function gauge(name: string): Promise<number> {
    const text = await registry.metrics();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  }

  beforeEach(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-archive-lag-'));
    clock = T0;
    primary = true;
    log = new PlainLog();
    registry = new Registry();
    let self: LogArchiver | null = null;
    const metrics = createArchiveMetrics(registry, () => self?.lag() ?? { sequences: 0, seconds: 0 });
    archiver = new LogArchiver({
      log, destination: new FileDestination(dir), shardId: () => 'shard-0', isPrimary: () => primary, epoch: () => 1, headSeq: () => log.head(),
      // Segments close after 60 s of (fake) time: the archiver's own ticks never upload unless the test moves the clock.
      segmentMs: 60_000, segmentBytes: 1 << 20, maxBehindOps: 1_000_000, logger: silentLogger(), metrics, now: () => clock,
    });
    self = archiver;
    archiver.start();
  });

  afterEach(async () => {
    await archiver.close();
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('shows a write the archive does not hold at the next scrape, without the archiver running', async () => {
    log.append(1, 2, T0);
    log.append(3, 3, T0 + 100);
    clock = T0 + 500;
    await archiver.tick();
    expect(await gauge('irisdb_archive_lag_sequences')).to.equal(3);
    expect(await gauge('irisdb_archive_lag_seconds')).to.equal(0.5);

    clock = T0 + 60_500;
    await archiver.tick();
    expect(await fs.promises.readdir(path.join(dir, 'archive', 'shard-0'))).to.have.length(1);
    expect(await gauge('irisdb_archive_lag_sequences')).to.equal(0);
    expect(await gauge('irisdb_archive_lag_seconds')).to.equal(0);
    expect(await gauge('irisdb_archive_last_archived_timestamp_seconds')).to.equal((T0 + 100) / 1000);

    // A write right after the upload, scraped before any archiver run: it shows.
    log.append(4, 5, T0 + 60_600);
    clock = T0 + 60_800;
    expect(await gauge('irisdb_archive_lag_sequences')).to.equal(2);
    expect(await gauge('irisdb_archive_lag_seconds')).to.be.closeTo(0.2, 1e-9);
  });

  it('a primary that has not listed the archive yet counts its whole log; a replica reports 0', async () => {
    log.append(5, 9, T0 - 2000);
    expect(await gauge('irisdb_archive_lag_sequences')).to.equal(5);
    expect(await gauge('irisdb_archive_lag_seconds')).to.equal(2);
    primary = false;
    expect(await gauge('irisdb_archive_lag_sequences')).to.equal(0);
    expect(await gauge('irisdb_archive_lag_seconds')).to.equal(0);
  });
});
