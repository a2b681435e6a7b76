/**
 * Slot-migration bus messages and the durable records: every parser returns
 * a typed value or throws its own error type (fuzzed), and what is written
 * reads back the same.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ClusterMap } from '../../common/cluster-map.js';
import {
  decodeMigrateAck, encodeMigrateAck, parseAbort, parseBegin, parseError, parseFlip, parseFlipped, parseOutcome, parseReady, parseSlotRanges,
} from '../../node/migration/messages.js';
import { newRecord } from '../../node/migration/plan.js';
import { MigrationStoreError, parseImportRecord, parseMigrationRecord } from '../../node/migration/store.js';
import { FrameError, FrameReader, FrameType } from '../../node/replication/frames.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const MAP: ClusterMap = {
  epoch: 2,
  nodes: [{ name: 'a', host: 'h', port: 1, busPort: 2 }, { name: 'b', host: 'h', port: 3, busPort: 4 }],
  shards: [{ id: 's0', slots: [[0, 100]], primary: 'a', replicas: [] }, { id: 's1', slots: [[101, 16383]], primary: 'b', replicas: [] }],
};

describe('migration: bus messages', () => {
  const begin = { v: 1, id: 'm-1', attempt: 2, slots: [[5, 9], [0, 4]], source: 'a', sourceShard: 's0', targetShard: 's1', mapEpoch: 2 };

  it('parses every message and normalizes slot ranges', () => {
    expect(parseBegin(json(begin))).to.deep.equal({ ...begin, slots: [[0, 9]] });
    expect(parseReady(json({ id: 'm-1', attempt: 2, cleared: 0 }))).to.deep.equal({ id: 'm-1', attempt: 2, cleared: 0 });
    expect(parseFlip(json({ id: 'm-1', attempt: 2, lastSeq: 9, frames: 3, mapEpoch: 2 })).frames).to.equal(3);
    expect(parseFlipped(json({ id: 'm-1', attempt: 2, map: MAP })).map).to.deep.equal(MAP);
    expect(parseAbort(json({ id: 'm-1', attempt: 0, source: 'a' })).attempt).to.equal(0);
    // The secret is proven in the bus handshake, never carried: a token field is not read.
    expect(parseBegin(json({ ...begin, token: 't' }))).to.deep.equal({ ...begin, slots: [[0, 9]] });
    expect(parseOutcome(json({ id: 'm-1', state: 'aborted', map: null }))).to.deep.equal({ id: 'm-1', state: 'aborted', map: null });
    expect(parseOutcome(json({ id: 'm-1', state: 'flipped', map: MAP })).map).to.deep.equal(MAP);
    expect(parseError(json({ code: 'stale_map', message: 'x' }))).to.deep.equal({ code: 'stale_map', message: 'x' });
  });

  it('names the bad field', () => {
    expect(() => parseBegin(json({ ...begin, v: 2 }))).to.throw(FrameError, /'v'/);
    expect(() => parseBegin(json({ ...begin, slots: [] }))).to.throw(FrameError, /'slots'/);
    expect(() => parseBegin(json({ ...begin, slots: [[9, 5]] }))).to.throw(FrameError, /'slots'/);
    expect(() => parseBegin(json({ ...begin, id: 'has space' }))).to.throw(FrameError, /'id'/);
    expect(() => parseOutcome(json({ id: 'x', state: 'flipped', map: { epoch: 1 } }))).to.throw(FrameError, /'map'/);
    expect(() => parseError(json({ code: 'nope', message: '' }))).to.throw(FrameError, /'code'/);
    expect(() => parseReady(Buffer.from('{'))).to.throw(FrameError, /not valid JSON/);
  });

  it('property: any JSON body either parses or throws FrameError', () => {
    const parsers = [parseBegin, parseReady, parseFlip, parseFlipped, parseAbort, parseOutcome, parseError];
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      for (const p of parsers) {
        try {
          p(json(v));
        } catch (err) {
          expect(err).to.be.instanceOf(FrameError);
        }
      }
    }));
  });

  it('slot ranges: within 0..16383, first <= last, merged', () => {
    expect(parseSlotRanges([[0, 1], [2, 3], [10, 10]])).to.deep.equal([[0, 3], [10, 10]]);
    for (const bad of [null, [], [[0]], [[0, 16384]], [[-1, 2]], [[1.5, 2]], [['0', 1]], 'x']) expect(parseSlotRanges(bad)).to.equal(null);
  });

  it('acks round-trip through the frame reader; the new frame types are accepted', () => {
    const r = new FrameReader();
    r.push(encodeMigrateAck(42));
    const f = r.next()!;
    expect(f.type).to.equal(FrameType.MigrateAck);
    expect(decodeMigrateAck(f.body)).to.equal(42);
    expect(() => decodeMigrateAck(Buffer.alloc(4))).to.throw(FrameError);
    const bad = Buffer.alloc(8);
    bad.writeDoubleBE(-1);
    expect(() => decodeMigrateAck(bad)).to.throw(FrameError);
    // Types nobody defines: a gap in the numbering and the first after the highest (frame types keep being added).
    const firstUnused = Math.max(...Object.values(FrameType).filter((v): v is number => typeof v === 'number')) + 1;
    for (const t of [19, firstUnused]) {
      const h = Buffer.from([0, 0, 0, 1, t]);
      const rr = new FrameReader();
      rr.push(h);
      expect(() => rr.next(), `type ${t}`).to.throw(FrameError, /unknown frame type/);
    }
  });
});

describe('migration: durable records', () => {
  it('a migration record and an import record read back as written', () => {
    const rec = { ...newRecord({ id: 'm', slots: [[1, 2]], source: 'a', sourceShard: 's0', target: 'b', targetShard: 's1', mapEpoch: 2 }, 5), newMap: MAP, stage: 'flipped' as const };
    expect(parseMigrationRecord(JSON.parse(JSON.stringify(rec)))).to.deep.equal(rec);
    const imp = {
      id: 'm', slots: [[1, 2]], source: 'a', sourceShard: 's0', targetShard: 's1', attempt: 1, mapEpoch: 2, state: 'importing',
      keysImported: 3, bytesImported: 4, entriesApplied: 5, startedAt: 6, updatedAt: 7,
    };
    expect(parseImportRecord(JSON.parse(JSON.stringify(imp)))).to.deep.equal(imp);
  });

  it('a damaged record is refused with the field named', () => {
    const rec = newRecord({ id: 'm', slots: [[1, 2]], source: 'a', sourceShard: 's0', target: 'b', targetShard: 's1', mapEpoch: 2 }, 5);
    expect(() => parseMigrationRecord({ ...rec, stage: 'flying' })).to.throw(MigrationStoreError, /stage/);
    expect(() => parseMigrationRecord({ ...rec, attempt: -1 })).to.throw(MigrationStoreError, /attempt/);
    expect(() => parseImportRecord({ state: 'importing' })).to.throw(MigrationStoreError);
  });
});
