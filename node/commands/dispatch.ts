/**
 * The command dispatcher: Redis's processCommand order for every request —
 * lookup (unknown command / subcommand), arity, NOAUTH, CROSSSLOT, MULTI
 * queueing — then the handler. Errors found before a command runs abort a
 * pending MULTI (EXECABORT), as in Redis. Synchronous on the hot path.
 */
import { QUEUED, error, type Reply } from '../resp/reply.js';
import { keySlot } from '../../common/slot.js';
import type { Keyspace } from '../engine/types.js';
import type { ClientState, CommandContext, CommandResult, CommandSpec, CommandTable, ServerContext } from './types.js';
import { cString, lowerName } from './args.js';
import { runHandler } from './invoke.js';
import { watchRegistry, type WatchRegistry } from './watch.js';
import { discardTransaction } from './transaction-state.js';
import { commandStats, type CommandStats } from './stats.js';

/** Per-command facts computed once from the table. */
interface Entry {
  readonly spec: CommandSpec;
  /** "get", "client|list": CLIENT LIST cmd= and error texts. */
  readonly fullname: string;
  readonly write: boolean;
  readonly noAuth: boolean;
  /** Keys can span slots (more than one key position): needs the CROSSSLOT check. */
  readonly multiKey: boolean;
  /** Commands that run immediately even inside MULTI. */
  readonly notQueued: boolean;
  readonly isExec: boolean;
  readonly isAsking: boolean;
  /** Subcommands by lower-case name, for container commands. */
  readonly subs: Map<string, Entry> | null;
}

const CROSSSLOT = error("CROSSSLOT Keys in request don't hash to the same slot");
const NOAUTH = 'NOAUTH Authentication required.';
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

function makeEntry(spec: CommandSpec, fullname: string): Entry {
  const subs = spec.subcommands === undefined ? null
    : new Map(spec.subcommands.map((s) => [s.name, makeEntry(s, `${fullname}|${s.name}`)]));
  return {
    spec, fullname, subs,
    write: spec.flags.includes('write'),
    noAuth: spec.flags.includes('no_auth'),
    multiKey: spec.firstKey > 0 && spec.lastKey !== spec.firstKey,
    notQueued: NOT_QUEUED.has(fullname),
    isExec: fullname === 'exec',
    isAsking: fullname === 'asking',
  };
}

/** Slot shared by the keys of argv, -1 if it has none, -2 if they span slots. */
function commandSlot(spec: CommandSpec, argv: readonly Buffer[], slot = -1): number {
  if (spec.firstKey <= 0) return slot;
  const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
  for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) {
    const s = keySlot(argv[i]!);
    if (slot === -1) slot = s;
    else if (s !== slot) return -2;
  }
  return slot;
}

/** The quoted argument list of Redis's unknown-command error (at most ~128 characters). */
function argsPreview(argv: readonly Buffer[]): string {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    args += `'${cString(argv[i]!, 128 - args.length)}' `;
  }
  return args;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

export class CommandDispatcher {
  private readonly entries = new Map<string, Entry>();
  private readonly watches: WatchRegistry;
  private readonly stats: CommandStats;

  constructor(table: CommandTable, keyspace: Keyspace) {
    for (const spec of table.all()) {
      const entry = makeEntry(spec, spec.name);
      // Upper-case too, so the common spellings skip the lower-casing.
      this.entries.set(spec.name, entry);
      this.entries.set(spec.name.toUpperCase(), entry);
    }
    this.watches = watchRegistry(keyspace);
    this.stats = commandStats(keyspace);
  }

  execute(server: ServerContext, client: ClientState, argv: Buffer[]): CommandResult {
    this.stats.commandsProcessed++;
    const reply = this.process(server, client, argv);
    // ASKING holds for the next command only (kept while a MULTI is open, as Redis does).
    if (client.asking && client.multi === null && client.lastCommand !== 'asking') client.asking = false;
    if (!(reply instanceof Promise) && reply.kind === 'error') this.stats.recordError(reply.value);
    return reply;
  }

  /** Forgets everything the dispatcher holds for a closed connection. */
  clientClosed(client: ClientState): void {
    discardTransaction(client, this.watches);
  }

  private process(server: ServerContext, client: ClientState, argv: Buffer[]): CommandResult {
    if (argv.length === 0) return this.reject(client, null, "ERR unknown command '', with args beginning with: ");
    const name = argv[0]!;
    let entry = this.entries.get(name.toString('latin1')) ?? this.entries.get(lowerName(name));
    if (entry === undefined) {
      client.lastCommand = '';
      return this.reject(client, null, oneLine(
        `ERR unknown command '${cString(name, 128)}', with args beginning with: ${argsPreview(argv)}`));
    }
    if (entry.subs !== null && argv.length >= 2) {
      const sub = entry.subs.get(lowerName(argv[1]!));
      if (sub === undefined) {
        client.lastCommand = '';
        return this.reject(client, null, oneLine(
          `ERR unknown subcommand '${cString(argv[1]!, 128)}'. Try ${cString(name).toUpperCase()} HELP.`));
      }
      entry = sub;
    }
    client.lastCommand = entry.fullname;
    const spec = entry.spec;
    if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity || spec.handler === undefined) {
      return this.reject(client, entry, `ERR wrong number of arguments for '${entry.fullname}' command`);
    }
    if (!entry.noAuth && !client.authenticated && server.config.requirePass !== '') {
      return this.reject(client, entry, NOAUTH);
    }
    if (entry.multiKey && commandSlot(spec, argv) === -2) {
      if (client.multi !== null) client.multi.aborted = true;
      return CROSSSLOT;
    }
    if (entry.isExec && client.multi !== null && this.transactionCrossesSlots(client)) {
      discardTransaction(client, this.watches);
      return CROSSSLOT;
    }
    if (client.multi !== null && !entry.notQueued) {
      // A transaction already doomed (error or touched WATCH) keeps answering
      // QUEUED but stores nothing, as Redis does; EXEC's slot check sees only what was stored.
      if (!client.multi.aborted && !client.watchDirty) client.multi.queue.push({ spec, argv });
      return QUEUED;
    }
    const ctx: CommandContext = { server, client, now: server.now() };
    return runHandler(ctx, spec, argv, entry.write);
  }

  /** In cluster mode all keys of a transaction must hash to one slot (checked at EXEC). */
  private transactionCrossesSlots(client: ClientState): boolean {
    let slot = -1;
    for (const q of client.multi!.queue) {
      slot = commandSlot(q.spec, q.argv, slot);
      if (slot === -2) return true;
    }
    return false;
  }

  /**
   * rejectCommand: the error aborts an open MULTI; a rejected EXEC discards
   * the transaction and says why.
   */
  private reject(client: ClientState, entry: Entry | null, message: string): Reply {
    if (client.multi !== null) client.multi.aborted = true;
    if (entry !== null && entry.isExec) {
      discardTransaction(client, this.watches);
      const reason = message.startsWith('ERR ') ? message.slice(4) : message;
      return error(`EXECABORT Transaction discarded because of: ${reason}`);
    }
    return error(message);
  }
}
