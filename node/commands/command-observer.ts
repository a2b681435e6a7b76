/**
 * What happens after every command the RESP server timed: INFO
 * commandstats/latencystats, the slow log and the latency monitor. The
 * RESP server measures each command once (performance.now() around
 * execute) and hands the duration here.
 *
 * As in Redis: unknown commands and subcommands are not recorded; a command
 * refused before it ran (arity, NOAUTH, CROSSSLOT, routing redirects) counts
 * as rejected_calls only; a command queued by MULTI is not recorded when
 * queued (EXEC is recorded, and EXEC is skip_slowlog).
 */
import type { Reply } from '../resp/reply.js';
import type { ClientState, CommandSpec, CommandTable } from './types.js';
import type { SlowLog } from './slowlog.js';
import type { LatencyMonitor } from './latency.js';
import type { CommandStats } from './command-stats.js';
import { RUN_IN_MULTI } from './transaction-state.js';

interface Facts {
  readonly arity: number;
  readonly skipSlowlog: boolean;
  readonly fast: boolean;
}

/** Errors answered before the command ran (Redis's rejectCommand cases IrisDB has). */
const REJECTION_PREFIXES = ['MOVED ', 'ASK ', 'CLUSTERDOWN ', 'CROSSSLOT ', 'NOAUTH ', 'TRYAGAIN ', 'EXECABORT ', 'READONLY '];

/**
 * Whether an error reply means the command was refused before it ran. An
 * arity error counts only when argc breaks the table's arity (the dispatcher's
 * check); a handler's own arity error (MSET with an odd count) is a failed call.
 */
export function isRejection(message: string, arity: number, argc: number): boolean {
  if (message.startsWith('ERR wrong number of arguments')) return (arity > 0 && argc !== arity) || argc < -arity;
  return REJECTION_PREFIXES.some((p) => message.startsWith(p));
}

/** Commands that are not queued inside MULTI (their reply is their own). */

export class CommandObserver {
  private readonly facts = new Map<string, Facts>();

  constructor(table: CommandTable, private readonly parts: {
    readonly slowlog: SlowLog; readonly latency: LatencyMonitor; readonly stats: CommandStats; now(): number;
  }) {
    const add = (spec: CommandSpec, fullname: string): void => {
      this.facts.set(fullname, { arity: spec.arity, skipSlowlog: spec.flags.includes('skip_slowlog'), fast: spec.flags.includes('fast') });
      for (const sub of spec.subcommands ?? []) add(sub, `${fullname}|${sub.name}`);
    };
    for (const spec of table.all()) add(spec, spec.name);
  }

  /** A command finished after durationUs; `name` is its full name as the dispatcher set client.lastCommand ('' if unknown). */
  commandDone(client: ClientState, argv: readonly Buffer[], name: string, durationUs: number, reply: Reply): void {
    const facts = this.facts.get(name);
    if (facts === undefined) return;
    const failed = reply.kind === 'error';
    if (failed && isRejection(reply.value, facts.arity, argv.length)) {
      this.parts.stats.recordRejected(name);
      return;
    }
    if (client.multi !== null && !RUN_IN_MULTI.has(name)) return;
    this.parts.stats.recordCall(name, durationUs, failed);
    const { slowlog, latency } = this.parts;
    const logSlow = !facts.skipSlowlog && slowlog.wants(durationUs);
    // The wall clock only for a command the slow log or latency monitor keeps: most commands are neither.
    if (!logSlow && !latency.wants(durationUs)) return;
    const now = this.parts.now();
    if (logSlow) slowlog.record(argv, durationUs, now, client.addr, client.name);
    latency.recordCommand(durationUs, facts.fast, now);
  }
}
