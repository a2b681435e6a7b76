/**
 * The re-encrypt job when the keyring's active key changes while it runs
 * (a keyring file reloaded mid-job): it does not report done until one whole
 * pass ran under the key that is active at the end, so on 'done' every kv
 * row and every replication log body is under that key and the counts say
 * so. A key that keeps changing fails the job (it resumes on restart).
 * Real engine on a temp dir with a replication log; the keyring switches at
 * the Nth commit barrier (one per batch): deterministic, no timing.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { silentLogger } from '../../common/logger.js';
import { FLAG_ENCRYPTED } from '../../node/engine/codec.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { EncryptionKey } from '../../node/crypto/keyring-file.js';
import { Keyring, sealedKeyId } from '../../node/crypto/keyring.js';
import { logBodyKeyId } from '../../node/crypto/log-envelope.js';
import { createEncryptionMetrics } from '../../node/crypto/metrics.js';
import { REENCRYPT_META, ReencryptJob } from '../../node/crypto/reencrypt-job.js';
import { ReplicationLog } from '../../node/replication/log.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);
const KEYS = 3000;

/** A keyring source the test switches; with `reloads`, it tells listeners as KeyringStore.reload does. */
class TestKeys {
  private readonly listeners: Array<(next: Keyring) => void> = [];
  constructor(public current: Keyring) {}
  switchTo(next: Keyring): void {
    this.current = next;
    for (const l of this.listeners) l(next);
  }
  onReload(listener: (next: Keyring) => void): void {
    this.listeners.push(listener);
  }
}

/** k1..kn (made once each: the same id always has the same key). */
const made: EncryptionKey[] = [];
function ring(n: number): Keyring {
  while (made.length < n) made.push({ id: `k${made.length + 1}`, key: randomBytes(32) });
  return new Keyring(made.slice(0, n));
}

/** Key id of every kv row ('' = in clear), as the job reads them. */
function kvKeyIds(engine: SqliteEngine): string[] {
  const rows = engine.db.prepare('SELECT id, flags, value FROM kv ORDER BY id').raw().all() as Array<[number, number, Buffer]>;
  return rows.map(([id, flags, value]) => ((flags & FLAG_ENCRYPTED) !== 0 ? sealedKeyId(value, `row ${id}`) : ''));
}

function logKeyIds(engine: SqliteEngine): Array<string | null> {
  const rows = engine.db.prepare('SELECT first_seq, body FROM repl_log ORDER BY first_seq').raw().all() as Array<[number, Buffer]>;
  return rows.map(([firstSeq, body]) => logBodyKeyId(body, firstSeq));
}

function tally(ids: ReadonlyArray<string | null>): Record<string, number> {
  const t: Record<string, number> = {};
  for (const id of ids) t[String(id)] = (t[String(id)] ?? 0) + 1;
  return t;
}

async function untilNotRunning(job: ReencryptJob): Promise<void> {
  while (job.status().reencrypt.state === 'running') await new Promise((r) => setImmediate(r));
}

describe('re-encrypt job: the active key changes while it runs', () => {
  const fx = engineFixture();

  /** An engine with a replication log and KEYS values (30 turns of 100) under k1; `source` is then switched to k2. */
  async function setup(source: { current: Keyring }): Promise<SqliteEngine> {
    const engine = fx.open({ encryption: source });
    engine.setMutationLog(new ReplicationLog(engine.db, () => {}, source));
    for (let t = 0; t < KEYS / 100; t++) {
      for (let i = t * 100; i < (t + 1) * 100; i++) engine.keyspace.set(b(`key${i}`), b(`value ${i}`), null);
      await engine.commits.barrier();
    }
    expect(tally(kvKeyIds(engine))).to.deep.equal({ k1: KEYS });
    expect(tally(logKeyIds(engine))).to.deep.equal({ k1: KEYS / 100 });
    source.current = ring(2);
    return engine;
  }

  /** The job as wiring.ts builds it, its barrier (one call per batch) wrapped by `onBarrier`. */
  function jobOn(engine: SqliteEngine, source: { current: Keyring }, onBarrier: (call: number) => void): ReencryptJob {
    let calls = 0;
    return new ReencryptJob({
      db: engine.db, keyspace: engine.keyspace, meta: engine.meta, keys: source,
      commits: { barrier: () => { onBarrier(++calls); return engine.commits.barrier(); } },
      batchRows: 100, vacuumMaxBytes: 1 << 30, commitNow: () => engine.commitNow(), logger: silentLogger(),
      metrics: createEncryptionMetrics(new Registry(), () => source.current.active.id),
    });
  }

  it('a new active key mid-job: another pass under it; done only with every row and log body under the new key', async () => {
    const source = { current: ring(1) };
    const engine = await setup(source);
    const job = jobOn(engine, source, (call) => {
      // Client writes between batches, under whatever key is active then (rows early in the walk).
      engine.keyspace.set(b(`key${call % 50}`), b(`rewritten at barrier ${call}`), null);
      if (call === 5) source.current = ring(3);
    });
    expect(job.start().reencrypt.targetKeyId).to.equal('k2');
    await untilNotRunning(job);

    const s = job.status();
    expect(s.reencrypt.error).to.equal(null);
    expect(s.reencrypt.state).to.equal('done');
    expect(tally(kvKeyIds(engine)), 'kv rows by key id').to.deep.equal({ k3: KEYS });
    const logIds = logKeyIds(engine);
    expect(logIds.length).to.be.greaterThan(KEYS / 100);
    expect(tally(logIds), 'repl_log bodies by key id').to.deep.equal({ k3: logIds.length });
    expect(s.activeKeyId).to.equal('k3');
    expect(s.reencrypt.targetKeyId).to.equal('k3');
    expect(s.valuesByKeyId).to.deep.equal({ k3: KEYS });
    expect(s.reencrypt.doneKeys).to.be.at.most(s.reencrypt.totalKeys);
    expect(engine.meta.get(REENCRYPT_META) ?? null).to.equal(null);
    expect(engine.keyspace.get(b('key2999'), Date.now())!.value.toString()).to.equal('value 2999');
  });

  it('a key changed and changed back between two batches (a client wrote under it meanwhile): another pass', async () => {
    const source = new TestKeys(ring(1));
    const engine = await setup(source);
    const job = jobOn(engine, source, (call) => {
      if (call !== 5) return;
      // k3 for a moment (two reloads the job's batches never see), a client write under it, then k2 again.
      source.switchTo(ring(3));
      engine.keyspace.set(b('key0'), b('written under k3'), null);
      source.switchTo(new Keyring([...ring(3).keys, ring(2).active]));
    });
    job.start();
    await untilNotRunning(job);

    const s = job.status();
    expect(s.reencrypt.state).to.equal('done');
    expect(s.reencrypt.targetKeyId).to.equal('k2');
    expect(tally(kvKeyIds(engine)), 'kv rows by key id').to.deep.equal({ k2: KEYS });
    const logIds = logKeyIds(engine);
    expect(tally(logIds), 'repl_log bodies by key id').to.deep.equal({ k2: logIds.length });
    expect(s.valuesByKeyId).to.deep.equal({ k2: KEYS });
  });

  it('a new active key during the last commit (after the walks and the scrub): another pass', async () => {
    const source = { current: ring(1) };
    const engine = await setup(source);
    let switched = false;
    const job = jobOn(engine, source, () => {
      // The job cleared the pending mark: this is the commit right before it would say done.
      if (!switched && engine.meta.get(REENCRYPT_META) == null) {
        switched = true;
        source.current = ring(3);
        engine.keyspace.set(b('key1'), b('written under k3'), null);
        source.current = ring(4);
      }
    });
    job.start();
    await untilNotRunning(job);

    const s = job.status();
    expect(switched).to.equal(true);
    expect(s.reencrypt.state).to.equal('done');
    expect(s.reencrypt.targetKeyId).to.equal('k4');
    expect(tally(kvKeyIds(engine)), 'kv rows by key id').to.deep.equal({ k4: KEYS });
    expect(tally(logKeyIds(engine)).k4).to.equal(logKeyIds(engine).length);
    expect(s.valuesByKeyId).to.deep.equal({ k4: KEYS });
    expect(engine.meta.get(REENCRYPT_META) ?? null).to.equal(null);
  });

  it('rows loaded as given behind the walk (a full resync of a replica mid-job, under the old key): another pass', async () => {
    const source = { current: ring(1) };
    const engine = await setup(source);
    // The rows as the primary would send them in a full resync: still sealed with k1.
    const sent = engine.db.prepare('SELECT key, flags, expires_at, version, value FROM kv ORDER BY id').raw().all() as Array<[Buffer, number, number | null, number, Buffer]>;
    let loaded = false;
    const job = jobOn(engine, source, (call) => {
      if (call !== 10) return;
      // The table is emptied and reloaded: row ids start again at 1, behind the job's cursor.
      engine.keyspace.resetForLoad();
      engine.keyspace.loadRows(sent.map(([key, flags, expiresAt, version, value]) => ({ key, flags, expiresAt, version, value })));
      loaded = true;
    });
    job.start();
    await untilNotRunning(job);

    const s = job.status();
    expect(loaded).to.equal(true);
    expect(s.reencrypt.state).to.equal('done');
    expect(tally(kvKeyIds(engine)), 'kv rows by key id').to.deep.equal({ k2: KEYS });
    expect(s.valuesByKeyId).to.deep.equal({ k2: KEYS });
  });

  it('an active key that keeps changing fails the job, naming the cause; the pending mark stays so a restart resumes', async () => {
    const source = { current: ring(1) };
    const engine = await setup(source);
    const job = jobOn(engine, source, (call) => {
      source.current = ring(2 + call);
    });
    job.start();
    await untilNotRunning(job);

    const s = job.status();
    expect(s.reencrypt.state).to.equal('failed');
    expect(s.reencrypt.error).to.match(/active encryption key kept changing/);
    expect(s.reencrypt.error).to.match(/irisctl re-encrypt again once the keyring is stable/);
    expect(s.reencrypt.finishedAt).to.not.equal(null);
    const pending = engine.meta.get(REENCRYPT_META);
    expect(pending).to.be.a('string').and.not.equal('');
    expect(s.valuesByKeyId, 'no counts from an incomplete pass').to.equal(null);
  });
});
