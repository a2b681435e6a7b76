/** The audit log file (common/audit/file-log.ts) on a real temporary directory: mode, restart, torn line, rotation. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { AuditFileLog, AuditLogError } from '../../common/audit/file-log.js';
import { auditLogCounters } from '../../common/audit/metrics.js';
import { GENESIS, verifyChain, headOf } from '../../common/audit/chain.js';
import { waitFor } from '../support/wait.js';

const lines = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n');
const ev = (n: number) => ({ event: 'auth', user: `u${n}`, remote: '127.0.0.1:1', outcome: 'success' as const });

describe('audit log file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-audit-file-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the file 0600 in a 0700 directory, counts records, and a reopened log continues the chain', async () => {
    const file = path.join(dir, 'audit', 'n.log');
    const registry = new Registry();
    const a = new AuditFileLog({ path: file, source: 'n', counters: auditLogCounters(registry) });
    a.record(ev(1));
    a.record(ev(2));
    await waitFor('two lines', () => lines(file).length === 3);
    a.close();
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700);
    expect(await registry.getSingleMetricAsString('irisdb_audit_records_total')).to.match(/irisdb_audit_records_total 2/);
    fs.chmodSync(file, 0o644);
    const b = new AuditFileLog({ path: file, source: 'n' });
    expect(b.last.seq).to.equal(2);
    b.record(ev(3));
    await waitFor('three lines', () => lines(file).length === 4);
    b.close();
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(verifyChain(lines(file))).to.deep.include({ ok: true, records: 3 });
  });

  it('after a torn last line, goes on from the last whole record on a new line (verify names the torn one)', async () => {
    const file = path.join(dir, 'n.log');
    const a = new AuditFileLog({ path: file, source: 'n' });
    a.record(ev(1));
    await waitFor('a line', () => lines(file).length === 2);
    a.close();
    fs.appendFileSync(file, '{"seq":2,"time":"20');
    const b = new AuditFileLog({ path: file, source: 'n' });
    b.record(ev(2));
    await waitFor('the next record', () => lines(file).length === 4);
    b.close();
    const v = verifyChain(lines(file));
    expect(v).to.deep.include({ ok: false, line: 2, seq: 2 });
    expect(headOf(lines(file)[2]!)!.seq).to.equal(2);
  });

  it('refuses to start on a file that does not end with an audit record', () => {
    const file = path.join(dir, 'n.log');
    fs.writeFileSync(file, 'not an audit log\n');
    expect(() => new AuditFileLog({ path: file, source: 'n' })).to.throw(AuditLogError, /does not end with an audit record/);
  });

  it('after the file is renamed (rotation), writes a new file whose chain continues the old one', async () => {
    const file = path.join(dir, 'n.log');
    const a = new AuditFileLog({ path: file, source: 'n' });
    a.record(ev(1));
    a.record(ev(2));
    await waitFor('two lines', () => lines(file).length === 3);
    fs.renameSync(file, `${file}.1`);
    // The rename is noticed by a write at most a second later: keep writing until a new file appears.
    let n = 3;
    await waitFor('a new file at the path', () => {
      a.record(ev(n++));
      return fs.existsSync(file);
    }, { intervalMs: 100, timeoutMs: 10_000 });
    a.close();
    const old = verifyChain(lines(`${file}.1`));
    expect(old.ok).to.equal(true);
    if (!old.ok) return;
    expect(verifyChain(lines(file)).ok).to.equal(false);
    expect(verifyChain(lines(file), { after: old.head })).to.deep.include({ ok: true });
    expect(old.records + (verifyChain(lines(file), { after: old.head }) as { records: number }).records).to.equal(n - 1);
    expect(verifyChain(lines(file), { after: GENESIS }).ok).to.equal(false);
  });
});
