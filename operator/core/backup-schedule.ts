/**
 * Scheduled backups (docs/backup.md): a cron expression, when the next run
 * is due, and which backups retention deletes. Pure.
 *
 * Cron: five fields (minute hour day-of-month month day-of-week) or six with
 * a leading seconds field; each a `*`, a number, a range `a-b`, a list
 * `a,b,c`, any of them with a step `/n`; day-of-week 0-7 (0 and 7 are
 * Sunday). As in cron, when both day fields are restricted a day matching
 * either one matches. Times are UTC.
 *
 * Missed runs (the controller was down): like a Kubernetes CronJob, only
 * one backup is taken for all the runs missed, at once, then the schedule
 * goes on from now.
 */
import type { BackupRecord } from './backup-state.js';

export interface CronSchedule {
  readonly text: string;
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  readonly daysRestricted: boolean;
  readonly weekdaysRestricted: boolean;
}

export class CronError extends Error {
  constructor(readonly text: string, problem: string) {
    super(`backup schedule "${text}": ${problem} (cron: [second] minute hour day-of-month month day-of-week, UTC)`);
    this.name = 'CronError';
  }
}

const FIELDS: ReadonlyArray<{ name: string; min: number; max: number }> = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
];

export function parseCron(text: string): CronSchedule {
  if (text.length > 200) throw new CronError(text.slice(0, 50), 'longer than 200 characters');
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) throw new CronError(text, `has ${parts.length} fields, expected 5 or 6`);
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  const sets = fields.map((f, i) => parseField(text, f, FIELDS[i]!));
  const weekdays = new Set([...sets[5]!].map((d) => (d === 7 ? 0 : d)));
  return {
    text, seconds: sets[0]!, minutes: sets[1]!, hours: sets[2]!, days: sets[3]!, months: sets[4]!, weekdays,
    daysRestricted: fields[3] !== '*' && !fields[3]!.startsWith('*/'), weekdaysRestricted: fields[5] !== '*' && !fields[5]!.startsWith('*/'),
  };
}

function parseField(text: string, field: string, f: { name: string; min: number; max: number }): Set<number> {
  const out = new Set<number>();
  const num = (s: string): number => {
    if (!/^\d{1,2}$/.test(s)) throw new CronError(text, `${f.name} "${field}": "${s}" is not a number`);
    const n = Number(s);
    if (n < f.min || n > f.max) throw new CronError(text, `${f.name} ${n} is not in ${f.min}-${f.max}`);
    return n;
  };
  for (const item of field.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') throw new CronError(text, `${f.name} "${field}" is not valid`);
    const step = stepText === undefined ? 1 : num(stepText);
    if (step === 0) throw new CronError(text, `${f.name} step must be at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [f.min, f.max];
    else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined || a === undefined || b === undefined) throw new CronError(text, `${f.name} range "${range}" is not valid`);
      [lo, hi] = [num(a), num(b)];
      if (lo > hi) throw new CronError(text, `${f.name} range ${lo}-${hi} is backwards`);
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function dayMatches(c: CronSchedule, d: Date): boolean {
  const dom = c.days.has(d.getUTCDate());
  const dow = c.weekdays.has(d.getUTCDay());
  if (c.daysRestricted && c.weekdaysRestricted) return dom || dow;
  return dom && dow;
}

/** The first time strictly after `after` (ms) that the schedule matches, to the second; null if none within about 5 years. */
export function nextRun(c: CronSchedule, after: number): number | null {
  let t = Math.floor(after / 1000) * 1000 + 1000;
  const limit = after + 5 * 366 * 86_400_000;
  while (t <= limit) {
    const d = new Date(t);
    if (!c.months.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    if (!dayMatches(c, d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!c.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (!c.minutes.has(d.getUTCMinutes())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes() + 1);
      continue;
    }
    if (!c.seconds.has(d.getUTCSeconds())) {
      t += 1000;
      continue;
    }
    return t;
  }
  return null;
}

/** The most scheduled backups retention may keep. */
export const MAX_BACKUP_KEEP = 100;

/** What the controller records for a schedule. */
export interface BackupScheduleRecord {
  readonly cron: string;
  readonly destination: string;
  /** Scheduled backups kept (Completed ones); older ones are deleted with their objects. */
  readonly keep: number;
  /** When the schedule was set or last fired: the next run is the first after it. */
  readonly lastRunAt: number;
}

/** Due now? (At most one backup for any number of missed runs.) */
export function scheduleDue(s: BackupScheduleRecord, now: number): boolean {
  const next = nextRun(parseCron(s.cron), s.lastRunAt);
  return next !== null && next <= now;
}

/**
 * Scheduled backups retention deletes: Completed ones beyond the newest
 * `keep`, and Failed ones older than the newest Completed one (a failure
 * after it stays visible until a later backup succeeds).
 */
export function retentionVictims(backups: readonly BackupRecord[], keep: number): string[] {
  const scheduled = backups.filter((b) => b.scheduled === true).sort((a, b) => a.startedAt - b.startedAt);
  const completed = scheduled.filter((b) => b.phase === 'Completed');
  const old = completed.slice(0, Math.max(0, completed.length - keep));
  const newestDone = completed[completed.length - 1]?.startedAt ?? -Infinity;
  const failed = scheduled.filter((b) => b.phase === 'Failed' && b.startedAt < newestDone);
  return [...old, ...failed].map((b) => b.id);
}
