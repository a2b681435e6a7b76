/**
 * The linearizability checker (tools/linearizability on Porcupine) judges
 * known histories correctly — in particular it CAN fail: a stale read, a
 * read of a failed write and a lost CAS are "not linearizable", with the key
 * named and an HTML visualization saved.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { checkHistory } from '../support/history-check.js';
import type { HistoryOp } from '../support/history.js';

function op(o: Partial<HistoryOp> & Pick<HistoryOp, 'f' | 'call' | 'return'>): HistoryOp {
  return { client: 0, key: 'k', result: 'ok', ...o };
}

describe('linearizability checker (Porcupine)', function () {
  this.timeout(300_000);

  it('accepts a sequential history and concurrent overlapping operations', async () => {
    const r = await checkHistory({ ops: [
      op({ f: 'write', value: 'a', call: 0, return: 10 }),
      op({ f: 'read', value: 'a', call: 20, return: 30 }),
      op({ client: 1, f: 'write', value: 'b', call: 40, return: 60 }),
      // Overlaps the write of b: either value is fine.
      op({ client: 2, f: 'read', value: 'a', call: 45, return: 50 }),
      op({ client: 0, f: 'cas', from: 'b', to: 'c', applied: true, call: 70, return: 80 }),
      op({ client: 1, f: 'cas', from: 'b', to: 'd', applied: false, call: 90, return: 100 }),
      op({ client: 2, f: 'read', value: 'c', call: 110, return: 120 }),
    ] }, 'unit-ok');
    expect(r.result).to.equal('ok');
    expect(r.linearizable).to.equal(true);
    expect(r.checked).to.equal(7);
  });

  it('rejects a stale read after an acknowledged write, naming the key and saving a visualization', async () => {
    const r = await checkHistory({ ops: [
      op({ key: 'x', f: 'write', value: 'a', call: 0, return: 10 }),
      op({ key: 'x', f: 'write', value: 'b', call: 20, return: 30 }),
      op({ key: 'x', client: 1, f: 'read', value: 'a', call: 40, return: 50 }),
      op({ key: 'y', f: 'write', value: 'a', call: 0, return: 10 }),
    ] }, 'unit-stale');
    expect(r.linearizable).to.equal(false);
    expect(r.result).to.equal('illegal');
    expect(r.failingKey).to.equal('x');
    expect(r.visualization).to.be.a('string');
    expect(fs.existsSync(r.visualization!)).to.equal(true);
  });

  it('treats unknown (info) writes as possibly applied at any later time, failed ones as never', async () => {
    const unknown = await checkHistory({ ops: [
      op({ f: 'write', value: 'a', result: 'info', call: 0, return: 5 }),
      op({ client: 1, f: 'read', value: null, call: 10, return: 20 }),
      op({ client: 1, f: 'read', value: 'a', call: 1000, return: 1010 }),
    ] }, 'unit-info');
    expect(unknown.result).to.equal('ok');
    const failed = await checkHistory({ ops: [
      op({ f: 'write', value: 'a', result: 'fail', call: 0, return: 5 }),
      op({ client: 1, f: 'read', value: 'a', call: 10, return: 20 }),
    ] }, 'unit-fail');
    expect(failed.result).to.equal('illegal');
  });

  it('rejects two CAS from the same value that both succeed', async () => {
    const r = await checkHistory({ ops: [
      op({ f: 'write', value: 'a', call: 0, return: 10 }),
      op({ client: 1, f: 'cas', from: 'a', to: 'b', applied: true, call: 20, return: 30 }),
      op({ client: 2, f: 'cas', from: 'a', to: 'c', applied: true, call: 21, return: 31 }),
    ] }, 'unit-cas');
    expect(r.result).to.equal('illegal');
  });

  it('lets eventual reads be stale but reports a value never written', async () => {
    const stale = await checkHistory({ ops: [
      op({ f: 'write', value: 'a', call: 0, return: 10 }),
      op({ f: 'write', value: 'b', call: 20, return: 30 }),
      op({ client: 1, f: 'read', level: 'eventual', value: 'a', call: 40, return: 50 }),
    ] }, 'unit-eventual-stale');
    expect(stale.result).to.equal('ok');
    expect(stale.eventualReads).to.equal(1);
    expect(stale.eventualStale).to.equal(1);
    expect(stale.neverWritten ?? []).to.deep.equal([]);
    const invented = await checkHistory({ ops: [
      op({ f: 'write', value: 'a', call: 0, return: 10 }),
      op({ client: 1, f: 'read', level: 'eventual', value: 'zzz', call: 40, return: 50 }),
    ] }, 'unit-eventual-invented');
    expect(invented.neverWritten).to.deep.equal(['k="zzz"']);
  });
});
