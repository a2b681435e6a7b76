/**
 * Scheduled backups' pure parts (operator/core/backup-schedule.ts): cron
 * parsing with clear errors, the next run against a brute-force model
 * (fast-check), missed runs firing once, and retention.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { CronError, type CronSchedule, nextRun, parseCron, retentionVictims, scheduleDue } from '../../operator/core/backup-schedule.js';
import type { BackupRecord } from '../../operator/core/backup-state.js';

/** Does `t` (ms, whole second) match, by the definition. */
function matches(c: CronSchedule, t: number): boolean {
  const d = new Date(t);
  const dom = c.days.has(d.getUTCDate());
  const dow = c.weekdays.has(d.getUTCDay());
  const day = c.daysRestricted && c.weekdaysRestricted ? dom || dow : dom && dow;
  return c.seconds.has(d.getUTCSeconds()) && c.minutes.has(d.getUTCMinutes()) && c.hours.has(d.getUTCHours()) && c.months.has(d.getUTCMonth() + 1) && day;
}

describe('backup schedule (operator/core/backup-schedule.ts)', () => {
  it('parses 5- and 6-field cron and refuses bad ones naming the field', () => {
    expect([...parseCron('0 3 * * *').hours]).to.deep.equal([3]);
    expect([...parseCron('*/20 * * * * *').seconds]).to.deep.equal([0, 20, 40]);
    expect([...parseCron('0 0 * * 7').weekdays]).to.deep.equal([0]);
    expect([...parseCron('0 1-3,5 * * *').hours]).to.deep.equal([1, 2, 3, 5]);
    for (const [bad, msg] of [['* * *', 'has 3 fields'], ['60 * * * *', 'minute 60'], ['* 5-2 * * *', 'backwards'], ['* * * * mon', 'not a number'], ['*/0 * * * *', 'step']] as const) {
      expect(() => parseCron(bad), bad).to.throw(CronError, msg);
    }
  });

  it('nextRun is the first matching second after the given time (model check)', () => {
    const field = (max: number, min = 0) => fc.oneof(
      fc.constant('*'),
      fc.integer({ min, max }).map(String),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min: 1, max: 3 })).map(([a, s]) => `${a}-${Math.min(max, a + s)}`),
      fc.integer({ min: 1, max: 7 }).map((s) => `*/${s}`),
    );
    const cron = fc.tuple(field(59), field(59), field(23), fc.constant('*'), fc.constant('*'), fc.constant('*')).map((f) => f.join(' '));
    fc.assert(fc.property(cron, fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }), (text, after) => {
      const c = parseCron(text);
      const next = nextRun(c, after);
      expect(next).to.not.equal(null);
      expect(next! > after).to.equal(true);
      expect(matches(c, next!), `${text} at ${new Date(next!).toISOString()}`).to.equal(true);
      // Nothing matches in between (checked second by second over at most a day).
      for (let t = Math.floor(after / 1000) * 1000 + 1000; t < next! && t < after + 86_400_000; t += 1000) {
        if (matches(c, t)) return false;
      }
      return true;
    }), { numRuns: 40 });
  });

  it('handles day-of-month OR day-of-week like cron, and months', () => {
    const c = parseCron('0 0 13 * 5'); // the 13th, or any Friday
    const fri = nextRun(c, Date.UTC(2026, 0, 1)); // 2026-01-02 is a Friday
    expect(new Date(fri!).toISOString()).to.equal('2026-01-02T00:00:00.000Z');
    expect(new Date(nextRun(parseCron('0 0 1 3 *'), Date.UTC(2026, 5, 1))!).toISOString()).to.equal('2027-03-01T00:00:00.000Z');
  });

  it('fires once for any number of missed runs', () => {
    const s = { cron: '0 * * * *', destination: 'file:///b', keep: 3, lastRunAt: Date.UTC(2026, 0, 1, 0, 30) };
    expect(scheduleDue(s, Date.UTC(2026, 0, 1, 0, 59))).to.equal(false);
    expect(scheduleDue(s, Date.UTC(2026, 0, 1, 5, 10))).to.equal(true);
    // Once fired (lastRunAt = now), the next is the following hour.
    expect(scheduleDue({ ...s, lastRunAt: Date.UTC(2026, 0, 1, 5, 10) }, Date.UTC(2026, 0, 1, 5, 59))).to.equal(false);
  });

  it('retention keeps the newest N completed scheduled backups and drops failures older than the newest success', () => {
    const b = (id: string, at: number, phase: BackupRecord['phase'], scheduled = true): BackupRecord =>
      ({ id, startedAt: at, phase, scheduled } as unknown as BackupRecord);
    const list = [b('a', 1, 'Completed'), b('f1', 2, 'Failed'), b('b', 3, 'Completed'), b('m', 4, 'Completed', false), b('c', 5, 'Completed'), b('f2', 6, 'Failed'), b('r', 7, 'Running')];
    expect(retentionVictims(list, 2)).to.deep.equal(['a', 'f1']);
    expect(retentionVictims(list, 5)).to.deep.equal(['f1']);
  });
});
