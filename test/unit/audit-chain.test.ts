/** The audit log's hash chain (common/audit/chain.ts) and which commands are audited (node/audit/command-audit.ts): plain data. */
import { expect } from 'chai';
import fc from 'fast-check';
import { GENESIS, GENESIS_HASH, headOf, openRecord, sealRecord, verifyChain, type AuditFields, type ChainHead } from '../../common/audit/chain.js';
import { commandAuditEvent, type FinishedCommand } from '../../node/audit/command-audit.js';

const fieldsArb: fc.Arbitrary<AuditFields> = fc.record({
  time: fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  source: fc.constantFrom('iris-shard-0-0', 'controller'),
  event: fc.constantFrom('auth', 'acl', 'config', 'command', 'control'),
  user: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
  remote: fc.option(fc.constant('127.0.0.1:5000'), { nil: null }),
  outcome: fc.constantFrom('success' as const, 'failure' as const),
  detail: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()), { maxKeys: 3 }),
});

function chain(records: readonly AuditFields[], start: ChainHead = GENESIS): string[] {
  let head = start;
  return records.map((f) => {
    const s = sealRecord(head, f);
    head = s.head;
    return s.line;
  });
}

const one: AuditFields = { time: '2026-12-06T12:00:00.000Z', source: 'n1', event: 'auth', user: 'alice', remote: '127.0.0.1:1', outcome: 'failure', detail: { command: 'AUTH' } };

describe('audit chain (pure)', () => {
  it('the first record follows the genesis value; each next one the previous hash, with seq + 1', () => {
    const lines = chain([one, one, one]);
    const rs = lines.map((l) => openRecord(l));
    expect(rs.every((r) => typeof r !== 'string')).to.equal(true);
    const [a, b, c] = rs as Exclude<(typeof rs)[number], string>[];
    expect(a!.seq).to.equal(1);
    expect(a!.prev).to.equal(GENESIS_HASH);
    expect(b!.prev).to.equal(a!.hash);
    expect(c!.seq).to.equal(3);
    expect(headOf(lines[2]!)).to.deep.equal({ seq: 3, hash: c!.hash });
    expect(verifyChain([...lines, ''])).to.deep.include({ ok: true, records: 3 });
  });

  it('a line is one JSON object with the fields in order and the hash last', () => {
    const line = chain([one])[0]!;
    expect(Object.keys(JSON.parse(line) as object)).to.deep.equal(['seq', 'time', 'source', 'event', 'user', 'remote', 'outcome', 'detail', 'prev', 'hash']);
  });

  it('any change to one record is found at that record', () => {
    fc.assert(fc.property(fc.array(fieldsArb, { minLength: 1, maxLength: 8 }), fc.nat(), fc.nat(), fc.integer({ min: 32, max: 126 }), (recs, i, pos, ch) => {
      const lines = chain(recs);
      const at = i % lines.length;
      const line = lines[at]!;
      const p = pos % line.length;
      if (line.charCodeAt(p) === ch) return;
      const edited = [...lines];
      edited[at] = line.slice(0, p) + String.fromCharCode(ch) + line.slice(p + 1);
      const v = verifyChain(edited);
      expect(v.ok).to.equal(false);
      if (!v.ok) expect(v.line).to.equal(at + 1);
    }), { numRuns: 300 });
  });

  it('removing any record but the last is found at the record after it (the first: at the new first)', () => {
    fc.assert(fc.property(fc.array(fieldsArb, { minLength: 2, maxLength: 8 }), fc.nat(), (recs, i) => {
      const lines = chain(recs);
      const at = i % (lines.length - 1);
      const v = verifyChain([...lines.slice(0, at), ...lines.slice(at + 1)]);
      expect(v.ok).to.equal(false);
      if (!v.ok) {
        expect(v.line).to.equal(at + 1);
        expect(v.seq).to.equal(at + 2);
      }
    }), { numRuns: 200 });
  });

  it('swapping any two records is found at the first of them', () => {
    fc.assert(fc.property(fc.array(fieldsArb, { minLength: 2, maxLength: 8 }), fc.nat(), fc.nat(), (recs, i, j) => {
      const lines = chain(recs);
      const a = i % lines.length;
      const b = j % lines.length;
      if (a === b) return;
      const swapped = [...lines];
      [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
      const v = verifyChain(swapped);
      expect(v.ok).to.equal(false);
      if (!v.ok) expect(v.line).to.equal(Math.min(a, b) + 1);
    }), { numRuns: 200 });
  });

  it('a rotated file continues the previous one: verified after its head, or on its own with after "any"', () => {
    const first = chain([one, one]);
    const head = headOf(first[1]!)!;
    const second = chain([one, one], head);
    expect(verifyChain(second).ok).to.equal(false);
    expect(verifyChain(second, { after: head })).to.deep.include({ ok: true, records: 2 });
    expect(verifyChain(second, { after: 'any' })).to.deep.include({ ok: true, first: headOf(second[0]!) });
  });

  it('a torn or foreign line is named', () => {
    const lines = chain([one, one]);
    const v = verifyChain([lines[0]!, lines[1]!.slice(0, 40)]);
    expect(v).to.deep.include({ ok: false, line: 2, seq: 2 });
    expect(openRecord('hello')).to.be.a('string');
  });
});

const cmd = (name: string, args: string[], over: Partial<FinishedCommand> = {}): FinishedCommand => ({
  name, argv: args.map((a) => Buffer.from(a)), error: null, queued: false, user: 'default', remote: '127.0.0.1:6000', write: false, firstKey: 0, ...over,
});

describe('audited commands (pure)', () => {
  it('AUTH names the user tried, never the password', () => {
    const e = commandAuditEvent(cmd('auth', ['AUTH', 'alice', 's3cret'], { error: 'WRONGPASS invalid username-password pair or user is disabled.' }), false)!;
    expect(e).to.deep.include({ event: 'auth', user: 'alice', outcome: 'failure' });
    expect(JSON.stringify(e)).not.to.contain('s3cret');
    expect(commandAuditEvent(cmd('auth', ['AUTH', 'pw']), false)).to.deep.include({ user: 'default', outcome: 'success' });
    expect(commandAuditEvent(cmd('hello', ['HELLO', '3', 'AUTH', 'bob', 'pw']), false)).to.deep.include({ user: 'bob' });
    expect(commandAuditEvent(cmd('hello', ['HELLO', '3']), false)).to.equal(null);
  });

  it('ACL SETUSER hides passwords and hashes; CONFIG SET hides secret settings', () => {
    const e = commandAuditEvent(cmd('acl|setuser', ['ACL', 'SETUSER', 'bob', 'on', '>hunter2', '#abcd', '~k:*']), false)!;
    expect(e.detail).to.deep.equal({ command: 'ACL SETUSER', target: 'bob', rules: ['on', '>(redacted)', '#(redacted)', '~k:*'] });
    const c = commandAuditEvent(cmd('config|set', ['CONFIG', 'SET', 'slowlog-max-len', '10', 'requirepass', 'x']), false)!;
    expect(c.detail).to.deep.equal({ command: 'CONFIG SET', parameters: { 'slowlog-max-len': '10', requirepass: '(redacted)' } });
  });

  it('writes only with auditWrites, and not when redirected', () => {
    const set = cmd('set', ['SET', 'k', 'v'], { write: true, firstKey: 1 });
    expect(commandAuditEvent(set, false)).to.equal(null);
    expect(commandAuditEvent(set, true)).to.deep.equal({ event: 'write', user: 'default', remote: '127.0.0.1:6000', outcome: 'success', detail: { command: 'SET', key: 'k' } });
    expect(commandAuditEvent({ ...set, error: 'MOVED 1 127.0.0.1:7001' }, true)).to.equal(null);
    expect(commandAuditEvent(cmd('get', ['GET', 'k'], { firstKey: 1 }), true)).to.equal(null);
  });
});

describe('audit body summary (pure)', () => {
  it('hides secret-looking fields at any depth and cuts long bodies', async () => {
    const { bodySummary } = await import('../../common/audit/body-summary.js');
    expect(bodySummary({ shard: 's0', to: 'n1' })).to.deep.equal({ shard: 's0', to: 'n1' });
    expect(bodySummary({ destination: 's3://b/p', s3: { accessKey: 'AK', secretAccessKey: 'SK', region: 'r' }, password: 'p' }))
      .to.deep.equal({ destination: 's3://b/p', s3: { accessKey: '(redacted)', secretAccessKey: '(redacted)', region: 'r' }, password: '(redacted)' });
    expect(bodySummary({})).to.equal(undefined);
    expect(bodySummary({ slots: 'x'.repeat(1000) })).to.be.a('string').with.length.below(510);
  });
});
