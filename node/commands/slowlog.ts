/**
 * SLOWLOG GET/LEN/RESET/HELP and the slow log itself: Redis 7's ring of
 * commands that took at least slowlog-log-slower-than microseconds (0: all,
 * negative: none), newest first, at most slowlog-max-len entries. Entries
 * keep at most 32 arguments of at most 128 bytes, truncated as Redis does.
 * One SlowLog per node, held by the ServerContext; both settings start from
 * the node config and CONFIG SET changes them at run time.
 */
import { OK, array, bulk, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { helpReply } from './client.js';
import { parseInt64 } from './args.js';

/** Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING. */
export const SLOWLOG_MAX_ARGC = 32;
export const SLOWLOG_MAX_STRING = 128;

export interface SlowLogEntry {
  readonly id: number;
  /** Unix seconds. */
  readonly time: number;
  readonly durationUs: number;
  readonly args: readonly Buffer[];
  readonly addr: string;
  readonly name: string;
}

/** The arguments as a slow log entry keeps them (Redis's slowlogCreateEntry). */
export function slowlogArgs(argv: readonly Buffer[]): Buffer[] {
  const argc = argv.length;
  const kept = Math.min(argc, SLOWLOG_MAX_ARGC);
  const out: Buffer[] = [];
  for (let j = 0; j < kept; j++) {
    if (kept !== argc && j === kept - 1) {
      out.push(Buffer.from(`... (${argc - kept + 1} more arguments)`));
    } else if (argv[j]!.length > SLOWLOG_MAX_STRING) {
      const more = Buffer.from(`... (${argv[j]!.length - SLOWLOG_MAX_STRING} more bytes)`);
      out.push(Buffer.concat([argv[j]!.subarray(0, SLOWLOG_MAX_STRING), more]));
    } else {
      // A copy: argv buffers may be slices of the connection's input buffer.
      out.push(Buffer.from(argv[j]!));
    }
  }
  return out;
}

/** Commands whose arguments are secrets: Redis logs them as "(redacted)". */
function redact(argv: readonly Buffer[]): readonly Buffer[] {
  const name = argv[0]!.toString('latin1').toLowerCase();
  if (name === 'auth') return argv.map((a, i) => (i === 0 ? a : REDACTED));
  if (name === 'hello') {
    const out = [...argv];
    for (let i = 2; i < out.length; i++) {
      if (out[i]!.toString('latin1').toLowerCase() === 'auth') {
        if (i + 1 < out.length) out[i + 1] = REDACTED;
        if (i + 2 < out.length) out[i + 2] = REDACTED;
        i += 2;
      }
    }
    return out;
  }
  return argv;
}
const REDACTED = Buffer.from('(redacted)');

export class SlowLog {
  /** Oldest first; GET reads it backwards. */
  private entries: SlowLogEntry[] = [];
  private nextId = 0;

  constructor(public slowerThanUs: number, private maxLen_: number) {}

  get maxLen(): number {
    return this.maxLen_;
  }

  set maxLen(n: number) {
    this.maxLen_ = n;
    this.trim();
  }

  get length(): number {
    return this.entries.length;
  }

  /** Whether record() would keep a command of this duration (lets the caller skip reading the clock). */
  wants(durationUs: number): boolean {
    return this.slowerThanUs >= 0 && durationUs >= this.slowerThanUs;
  }

  /** Records a finished command if it was slow enough (slowlogPushEntryIfNeeded). */
  record(argv: readonly Buffer[], durationUs: number, nowMs: number, addr: string, name: string): void {
    if (this.slowerThanUs < 0 || durationUs < this.slowerThanUs || argv.length === 0) return;
    this.entries.push({
      id: this.nextId++, time: Math.floor(nowMs / 1000), durationUs: Math.floor(durationUs),
      args: slowlogArgs(redact(argv)), addr, name,
    });
    this.trim();
  }

  /** The newest `count` entries, newest first (-1: all). */
  newest(count: number): SlowLogEntry[] {
    const n = count < 0 ? this.entries.length : Math.min(count, this.entries.length);
    const out: SlowLogEntry[] = [];
    for (let i = this.entries.length - 1; out.length < n; i--) out.push(this.entries[i]!);
    return out;
  }

  reset(): void {
    this.entries = [];
  }

  private trim(): void {
    const excess = this.entries.length - Math.max(0, this.maxLen_);
    if (excess > 0) this.entries.splice(0, excess);
  }
}

const COUNT_ERROR = error('ERR count should be greater than or equal to -1');

function get(ctx: CommandContext, argv: Buffer[]): Reply {
  let count = 10;
  if (argv.length === 3) {
    const n = parseInt64(argv[2]!);
    if (n === null || n < -1) return COUNT_ERROR;
    count = typeof n === 'bigint' ? Number.MAX_SAFE_INTEGER : n;
  } else if (argv.length > 3) {
    return error("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.");
  }
  return array(ctx.server.slowlog.newest(count).map((e) => array([
    integer(e.id), integer(e.time), integer(e.durationUs),
    array(e.args.map((a) => bulk(a))), bulk(e.addr), bulk(e.name),
  ])));
}

const HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

export const slowlogCommand: CommandSpec = defineCommand('slowlog', undefined, [
  defineCommand('slowlog|get', get),
  defineCommand('slowlog|len', (ctx) => integer(ctx.server.slowlog.length)),
  defineCommand('slowlog|reset', (ctx) => {
    ctx.server.slowlog.reset();
    return OK;
  }),
  defineCommand('slowlog|help', () => helpReply(HELP)),
]);
