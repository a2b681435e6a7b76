/**
 * A resumable `irisctl import --follow` (issue #19): irisctl is killed with
 * kill -9 twice while a writer keeps doing SET, INCR, APPEND, SETRANGE,
 * DEL and RENAME on a real redis-server, each time after IrisDB
 * acknowledged commands past the last checkpoint (the source's INFO shows
 * the replica's offset beyond the file's), so the resumed run replays
 * them. The same command run again continues the stream (PSYNC replid
 * offset+1, "+CONTINUE", no second full sync); after the writer stops,
 * Ctrl-C cuts over and every key equals the source (counters and appended
 * strings included: replaying INCR or APPEND as such would be caught).
 * A follow of database 3 resumes in it (the SELECT before the checkpoint is
 * remembered). A checkpoint the source cannot continue from falls back to
 * a full sync.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Redis, type Cluster } from 'ioredis';
import { FOLLOW_CHECKPOINT_FILE, parseFollowCheckpoint, type FollowCheckpoint } from '../../operator/import/follow-checkpoint.js';
import { compareAll, loadStrings, startBoth } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { type RunningRedis, startRedis } from '../support/redis-server.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { clusterClient } from './migration-support.js';

const TTL_TOLERANCE_MS = 15_000;
const KEYS = 200;

/** Writer loops over a small key space until stopped (bounded in ops and time). */
function startWriter(r: Redis, loops: number, maxOps: number, deadlineMs: number): { stop: () => Promise<number> } {
  let stopped = false;
  const deadline = Date.now() + deadlineMs;
  let ops = 0;
  const done = Promise.all(Array.from({ length: loops }, async (_, l) => {
    for (let i = 0; !stopped && ops < maxOps && Date.now() < deadline; i++) {
      const n = (i * 31 + l * 7) % KEYS;
      switch (i % 8) {
        case 0: await r.set(`s:${n}`, `v${l}-${i}`); break;
        case 1: await r.incr(`c:${n % 40}`); break;
        case 2: await r.append(`a:${n % 40}`, `${l}.`); break;
        case 3: await r.incrby(`c:${(n + 1) % 40}`, 3); break;
        case 4: await r.set(`s:${n}`, `t${i}`, 'PX', 400_000); break;
        case 5: await r.setrange(`a:${(n + 3) % 40}`, 1, 'Z'); break;
        case 6: await r.del(`s:${(n + 5) % KEYS}`); break;
        default: await r.rename(`s:${n}`, `s:${(n + 11) % KEYS}`).catch(() => undefined); break; // no such key
      }
      ops++;
    }
  }));
  return { stop: async () => { stopped = true; await done; return ops; } };
}

function readCheckpoint(dir: string): FollowCheckpoint | null {
  try {
    return parseFollowCheckpoint(fs.readFileSync(path.join(dir, FOLLOW_CHECKPOINT_FILE), 'utf8'));
  } catch {
    return null;
  }
}

/** The offset the source last heard from its (only) replica, irisctl. */
async function replicaAck(src: Redis): Promise<number | null> {
  const m = /slave0:[^\r\n]*offset=(\d+)/.exec(await src.info('replication'));
  return m === null ? null : Number(m[1]);
}

describe('irisctl import --follow: resumed after kill -9 with PSYNC (issue #19)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;
  let redis: RunningRedis;
  let src: Redis;
  let dst: Cluster;
  let url: string;
  const children: ChildProcess[] = [];

  before(async () => {
    await startBoth(
      LocalCluster.start({ shards: 3, replicas: 1 }),
      // A backlog large enough for the seconds irisctl is away.
      startRedis(['--repl-backlog-size', '64mb']),
      (c, r) => { cluster = c!; redis = r!; },
    );
    src = new Redis({ port: redis.port, host: '127.0.0.1' });
    dst = clusterClient(await cluster.seedPort(), { autoPipeline: true });
    await loadStrings(src, 'f:', 5000);
    url = `redis://127.0.0.1:${redis.port}`;
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    src?.disconnect();
    dst?.disconnect();
    await Promise.all([cluster?.destroy(), redis?.stop()]);
  });

  // A test that fails mid-way must not leave a follow running: it would keep rewriting the checkpoint the next test starts from.
  afterEach(async () => {
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill('SIGKILL');
    await Promise.all(running.map((c) => new Promise((resolve) => c.once('exit', resolve))));
  });

  function follow(from = url): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', from, '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, out: () => stdout, err: () => stderr, exited };
  }

  it('kill -9 twice mid-stream under a live writer, resumed with PSYNC: every key equals the source after the cut-over', async () => {
    const writer = startWriter(src, 2, 120_000, 240_000);
    let ops = 0;
    try {
      let f = follow();
      await waitFor('the RDB to be loaded', () => /RDB loaded/.test(f.err()) || f.child.exitCode !== null, { timeoutMs: 120_000 });
      expect(f.child.exitCode, f.err()).to.equal(null);
      for (let round = 0; round < 2; round++) {
        // IrisDB acknowledging commands past the checkpoint on disk, then at once kill -9: those commands are replayed after it.
        const me = `127.0.0.1:${redis.port}`;
        let acked = 0;
        await waitFor('irisctl to acknowledge past its checkpoint', async () => {
          // One more write per poll: on a fast machine the writer may have run out of operations already.
          await src.incr('c:0');
          const ack = (await replicaAck(src)) ?? 0;
          const on = readCheckpoint(cluster.dir)?.links[me]; // read after the ACK: a later checkpoint only makes the check stricter
          if (on === undefined || ack <= on.offset + 200) return false;
          f.child.kill('SIGKILL');
          acked = ack;
          return true;
        }, { timeoutMs: 60_000, intervalMs: 50 });
        await f.exited;
        const kept = readCheckpoint(cluster.dir)!.links[me]!;
        expect(acked, 'IrisDB had applied commands after the checkpoint it resumes from').to.be.greaterThan(kept.offset);

        f = follow();
        await waitFor('the resumed follow to continue', () => /continuing from offset/.test(f.err()) || f.child.exitCode !== null, { timeoutMs: 60_000 });
        expect(f.err()).to.include('resuming the follow');
        expect(f.err()).to.include(`continuing from offset ${kept.offset}`);
        expect(f.err(), 'no second full sync').to.not.match(/full sync|RDB/);
      }
      // Let the last run apply some of the stream before the cut-over.
      await waitFor('the stream to be applied', async () => {
        await src.incr('c:0');
        return ((await replicaAck(src)) ?? 0) > readCheckpoint(cluster.dir)!.links[`127.0.0.1:${redis.port}`]!.offset;
      }, { timeoutMs: 60_000 });
      ops = await writer.stop();
      f.child.kill('SIGINT');
      const code = await f.exited;
      expect(code, f.err()).to.equal(0);
      const report = JSON.parse(f.out()) as { stream: { applied: number; errors: number }; lagBytes: number; verify: { mismatches: string[] } };
      expect(report.stream.errors).to.equal(0);
      expect(report.lagBytes).to.equal(0);
      expect(report.verify.mismatches).to.deep.equal([]);
    } finally {
      ops = Math.max(ops, await writer.stop());
    }
    expect(ops).to.be.greaterThan(1000);
    expect(fs.existsSync(path.join(cluster.dir, FOLLOW_CHECKPOINT_FILE)), 'checkpoint removed after the cut-over').to.equal(false);

    for (const prefix of ['f:', 's:', 'c:', 'a:']) {
      const all = await compareAll(src, dst, prefix, TTL_TOLERANCE_MS);
      expect(all.checked, prefix).to.be.greaterThan(0);
      expect(all.differences.slice(0, 5), prefix).to.deep.equal([]);
    }
    for (let i = 0; i < KEYS; i++) expect(await dst.exists(`s:${i}`), `s:${i}`).to.equal(await src.exists(`s:${i}`));
  });

  it('a follow of database 3 resumed: the database SELECTed before the checkpoint is remembered (a partial resync does not repeat SELECT)', async () => {
    // Independent of the test before: a follow it left unfinished would be refused as another source's.
    fs.rmSync(path.join(cluster.dir, FOLLOW_CHECKPOINT_FILE), { force: true });
    const url3 = `redis://127.0.0.1:${redis.port}/3`;
    const src3 = new Redis({ port: redis.port, host: '127.0.0.1', db: 3 });
    try {
      await src3.set('d3:seed', 'rdb');
      const f = follow(url3);
      await waitFor('the RDB to be loaded', () => /RDB loaded/.test(f.err()) || f.child.exitCode !== null, { timeoutMs: 120_000 });
      const me = `127.0.0.1:${redis.port}`;
      const start = await waitFor('a checkpoint', () => readCheckpoint(cluster.dir)?.links[me], { timeoutMs: 30_000 });
      // Writes to database 3 (the stream says SELECT 3 once), one to database 0 between them (SELECT 0, then SELECT 3 again).
      for (let i = 0; i < 20; i++) await src3.incr('d3:c');
      await src.set('d0:x', 'other-db');
      await src3.append('d3:a', 'x');
      const cp = await waitFor('a checkpoint past those writes', () => {
        const c = readCheckpoint(cluster.dir)?.links[me];
        return c !== undefined && c.offset > start.offset && c.db === 3 && c;
      }, { timeoutMs: 60_000 });
      f.child.kill('SIGKILL');
      await f.exited;
      for (let i = 0; i < 5; i++) await src3.incr('d3:c');
      await src3.set('d3:late', 'after-the-kill');
      const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', url3, '--follow', '--until-lag', '0', '--json'], { timeoutMs: 180_000 });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.include(`continuing from offset ${cp.offset}`);
      expect(await dst.get('d3:c')).to.equal('25');
      expect(await dst.get('d3:a')).to.equal(await src3.get('d3:a'));
      expect(await dst.get('d3:late')).to.equal('after-the-kill');
      expect(await dst.get('d3:seed')).to.equal('rdb');
      expect(await dst.exists('d0:x'), 'a key of database 0 is not imported').to.equal(0);
    } finally {
      src3.disconnect();
    }
  });

  it('a checkpoint the source cannot continue from: a full sync instead, and the keys still end equal', async () => {
    await src.incrby('c:0', 1000);
    await src.append('a:0', '-late');
    const cp: FollowCheckpoint = {
      version: 1, kind: 'follow', source: url + '/0', counts: { scanned: 0, copied: 0, withTtl: 0, vanished: 0, skippedByType: {} },
      stream: { applied: 0, skipped: {}, otherDb: 0, errors: 0, firstError: null },
      links: { [`127.0.0.1:${redis.port}`]: { replid: '0'.repeat(40), offset: 1, db: 0 } },
    };
    fs.writeFileSync(path.join(cluster.dir, FOLLOW_CHECKPOINT_FILE), JSON.stringify(cp));
    const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', url, '--follow', '--until-lag', '0', '--verify', '0'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/full sync from offset \d+ \(the source could not continue from offset 1/);
    expect(await dst.get('c:0')).to.equal(await src.get('c:0'));
    expect(await dst.get('a:0')).to.equal(await src.get('a:0'));
  });
});
