/**
 * Point-in-time replay across slot migrations (issue #15, docs/backup.md):
 * the migration marker survives the batch codec (and batches without it
 * decode as before), a ReplicationLog marks what runs inside asMigration
 * only, and the merge of the shards' archived logs takes the earliest
 * commit time first.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { decodeBatch, encodeBatch, type LoggedMutation } from '../../node/replication/batch-codec.js';
import { ReplicationLog } from '../../node/replication/log.js';
import { earliestHead } from '../../node/backup/archive-streams.js';
import type { Mutation } from '../../node/engine/types.js';
import type { Db } from '../../node/engine/database.js';

const bytes = (max = 32): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: bytes(), value: bytes(64), expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: null }) }),
  fc.record({ op: fc.constant('del' as const), key: bytes() }),
  fc.record({ op: fc.constant('expire' as const), key: bytes(), expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: null }) }),
  fc.constant<Mutation>({ op: 'clear' }),
);

describe('PITR across slot migrations: the migration marker and the merge order', () => {
  it('round-trips the migration marker per entry through the batch codec', () => {
    fc.assert(fc.property(fc.array(fc.tuple(mutation, fc.boolean()), { minLength: 1, maxLength: 20 }), (items) => {
      const entries: LoggedMutation[] = items.map(([m, mig], i) => (mig ? { seq: i + 1, m, migration: true } : { seq: i + 1, m }));
      const back = decodeBatch(encodeBatch(entries));
      expect(back.map((e) => e.migration === true)).to.deep.equal(items.map(([, mig]) => mig));
      expect(back.map((e) => e.m.op)).to.deep.equal(items.map(([m]) => m.op));
    }));
  });

  it('decodes a batch written before the marker existed as client writes, byte for byte the same encoding', () => {
    // [u32 count][f64 seq][u8 op=1 set][u32 keyLen][key][u32 valueLen][value][f64 -1: no expiry]
    const old = Buffer.alloc(4 + 8 + 1 + 4 + 1 + 4 + 1 + 8);
    let pos = old.writeUInt32BE(1, 0);
    pos = old.writeDoubleBE(7, pos);
    pos = old.writeUInt8(1, pos);
    pos = old.writeUInt32BE(1, pos);
    pos += Buffer.from('k').copy(old, pos);
    pos = old.writeUInt32BE(1, pos);
    pos += Buffer.from('v').copy(old, pos);
    old.writeDoubleBE(-1, pos);
    const [e] = decodeBatch(old);
    expect(e!.migration).to.equal(undefined);
    expect(e!.m).to.deep.include({ op: 'set', expiresAt: null });
    expect(encodeBatch([{ seq: 7, m: e!.m }]).equals(old)).to.equal(true);
  });

  it('rejects an op that is unknown even without the marker bit', () => {
    const b = encodeBatch([{ seq: 1, m: { op: 'del', key: Buffer.from('k') }, migration: true }]);
    b[4 + 8] = 0x80 | 9;
    expect(() => decodeBatch(b)).to.throw(/unknown op 9/);
  });

  it('marks only the mutations recorded inside asMigration, nested or not, and not after a throw', () => {
    const db = new Database(':memory:') as unknown as Db;
    const log = new ReplicationLog(db, () => undefined);
    const del = (k: string): Mutation => ({ op: 'del', key: Buffer.from(k) });
    log.record(del('client-1'), 1);
    log.asMigration(() => {
      log.record(del('import'), 2);
      log.asMigration(() => log.record(del('nested'), 3));
      log.record(del('import-2'), 4);
    });
    expect(() => log.asMigration(() => {
      log.record(del('cleanup'), 5);
      throw new Error('boom');
    })).to.throw('boom');
    log.record(del('client-2'), 6);
    log.beforeCommit();
    log.committed(6);
    const rows = db.prepare('SELECT body FROM repl_log ORDER BY first_seq').pluck().all() as Buffer[];
    const marked = rows.flatMap((b) => decodeBatch(b)).map((e) => [e.m.op === 'del' ? e.m.key.toString() : '', e.migration === true]);
    expect(marked).to.deep.equal([['client-1', false], ['import', true], ['nested', true], ['import-2', true], ['cleanup', true], ['client-2', false]]);
    (db as unknown as Database.Database).close();
  });

  it('merges by the earliest commit time, the lower stream first on a tie, skipping exhausted streams', () => {
    expect(earliestHead([])).to.equal(-1);
    expect(earliestHead([null, null])).to.equal(-1);
    expect(earliestHead([5, 3, 4])).to.equal(1);
    expect(earliestHead([3, 3])).to.equal(0);
    expect(earliestHead([null, 9, 2])).to.equal(2);
    fc.assert(fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 100 }), { nil: null })), (heads) => {
      const i = earliestHead(heads);
      const live = heads.filter((h): h is number => h !== null);
      if (live.length === 0) return i === -1;
      return heads[i] === Math.min(...live) && heads.findIndex((h) => h === heads[i]) === i;
    }));
  });
});
