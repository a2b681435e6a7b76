/**
 * The command dispatcher: Redis's processCommand order for every request —
 * lookup (unknown command / subcommand), arity, NOAUTH, CROSSSLOT, routing
 * (node/cluster/routing.ts: MOVED, CLUSTERDOWN, replica refusals, fenced
 * writes), MULTI queueing — then the handler. Errors found before a command
 * runs abort a pending MULTI (EXECABORT), as in Redis. Synchronous on the hot
 * path; only a write to a fenced slot waits (a Promise reply).
 */
import { error, type Reply } from '../resp/reply.js';
import { keySlot } from '../../common/slot.js';
import type { ClientState, CommandContext, CommandResult, CommandSpec, CommandTable, ServerContext } from './types.js';
import { cString, lowerName } from './args.js';
import { internalError, runHandler } from './invoke.js';
import type { WatchRegistry } from './watch.js';
import { RUN_IN_MULTI, discardTransaction } from './transaction-state.js';
import { queueCommand } from './transactions-queue.js';
import type { InfoCounters } from './info-counters.js';
import { SUBSCRIBED_MODE_COMMANDS, subscribedModeError } from './pubsub.js';
import { enforceAcl } from '../acl/enforce.js';
import { strongReadReply } from './read-consistency-command.js';
import { FENCE_WAIT_MAX_MS, SERVE, TRYAGAIN_MSG, route, routeStateOf, type Route } from '../cluster/routing.js';
import { ByteNameMap } from '../resp/byte-name-map.js';

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
  /** Allowed in RESP2 subscribed mode. */
  readonly subscribedModeOk: boolean;
  /** SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH: a replica of the owning shard serves them without READONLY, as Redis does. */
  readonly shardPubSub: boolean;
  /** Subcommands by lower-case name, for container commands. */
  readonly subs: Map<string, Entry> | null;
}

const CROSSSLOT = error("CROSSSLOT Keys in request don't hash to the same slot");
const NOAUTH = 'NOAUTH Authentication required.';

function makeEntry(spec: CommandSpec, fullname: string): Entry {
  const subs = spec.subcommands === undefined ? null
    : new Map(spec.subcommands.map((s) => [s.name, makeEntry(s, `${fullname}|${s.name}`)]));
  return {
    spec, fullname, subs,
    write: spec.flags.includes('write'),
    noAuth: spec.flags.includes('no_auth'),
    multiKey: spec.firstKey > 0 && spec.lastKey !== spec.firstKey,
    notQueued: RUN_IN_MULTI.has(fullname),
    isExec: fullname === 'exec',
    isAsking: fullname === 'asking',
    subscribedModeOk: SUBSCRIBED_MODE_COMMANDS.has(fullname),
    shardPubSub: spec.flags.includes('pubsub') && spec.firstKey > 0,
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

const CLIENT_GONE = error('ERR the client closed its connection while its command waited');

function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

export class CommandDispatcher {
  private readonly entries = new Map<string, Entry>();
  /** Spellings of known commands seen on the wire, by their bytes (no string per command; byte-name-map.ts). */
  private readonly entriesByBytes = new ByteNameMap<Entry>(1024);
  private readonly watches: WatchRegistry;
  private readonly counters: InfoCounters;
  private readonly closedClients = new WeakSet<ClientState>();

  /** How long a write waits for a fence to lift before it is answered TRYAGAIN. */
  private readonly fenceWaitMs: number;

  /** `watches` and `counters` are the server context's own (its transaction and INFO commands read them). */
  constructor(table: CommandTable, shared: { watches: WatchRegistry; counters: InfoCounters }, opts: { fenceWaitMs?: number } = {}) {
    this.fenceWaitMs = opts.fenceWaitMs ?? FENCE_WAIT_MAX_MS;
    for (const spec of table.all()) {
      const entry = makeEntry(spec, spec.name);
      // Upper-case too, so the common spellings skip the lower-casing.
      this.entries.set(spec.name, entry);
      this.entries.set(spec.name.toUpperCase(), entry);
    }
    this.watches = shared.watches;
    this.counters = shared.counters;
  }

  execute(server: ServerContext, client: ClientState, argv: Buffer[]): CommandResult {
    this.counters.commandsProcessed++;
    const reply = this.process(server, client, argv);
    // ASKING holds for the next command only (kept while a MULTI is open, as Redis does).
    if (client.asking && client.multi === null && client.lastCommand !== 'asking') client.asking = false;
    if (!(reply instanceof Promise) && reply.kind === 'error') this.counters.recordError(reply.value);
    return reply;
  }

  /** Forgets everything the dispatcher holds for a closed connection. */
  clientClosed(client: ClientState): void {
    discardTransaction(client, this.watches);
    // A command of this client waiting for a fence must not run after all.
    this.closedClients.add(client);
  }

  private process(server: ServerContext, client: ClientState, argv: Buffer[]): CommandResult {
    if (argv.length === 0) return this.reject(client, null, "ERR unknown command '', with args beginning with: ");
    const name = argv[0]!;
    let entry = this.entriesByBytes.get(name);
    if (entry === undefined) {
      entry = this.entries.get(name.toString('latin1')) ?? this.entries.get(lowerName(name));
      if (entry !== undefined) this.entriesByBytes.set(name, entry);
    }
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
    const acl = server.acl;
    if (!entry.noAuth && !client.authenticated && (acl !== undefined ? !acl.defaultOpen() : server.config.requirePass !== '')) {
      return this.reject(client, entry, NOAUTH);
    }
    if (acl !== undefined && !entry.noAuth) {
      // Redis checks ACLs after NOAUTH and before any cluster redirection.
      const denied = enforceAcl(server, acl, client, entry.fullname, argv);
      if (denied !== null) return this.reject(client, entry, denied);
    }
    if (entry.multiKey && commandSlot(spec, argv) === -2 && !this.crossSlotAllowed(server, client, entry.write)) {
      if (client.multi !== null) client.multi.aborted = true;
      return CROSSSLOT;
    }
    if (entry.isExec && client.multi !== null && this.transactionCrossesSlots(client)
        && !this.crossSlotAllowed(server, client, this.transactionTarget(client).write)) {
      discardTransaction(client, this.watches);
      return CROSSSLOT;
    }
    if (entry.isExec && client.multi !== null && !client.multi.aborted && !client.watchDirty && this.routes(server)) {
      // The queued commands were routed one by one; ownership or a fence may have changed since.
      const target = this.transactionTarget(client);
      const r = this.route(server, client, target.write, target.slot);
      if (r.kind === 'error') {
        discardTransaction(client, this.watches);
        return error(r.message);
      }
      if (r.kind === 'wait') return this.afterFence(server, client, argv, r.slot, true);
    }
    if ((entry.write || spec.firstKey > 0) && this.routes(server)) {
      const r = this.route(server, client, entry.write, () => commandSlot(spec, argv), client.readonly_ || entry.shardPubSub);
      if (r.kind === 'error') {
        if (client.multi !== null) client.multi.aborted = true;
        return error(r.message);
      }
      // Inside MULTI a fenced write is queued; EXEC waits for the fence instead.
      if (r.kind === 'wait' && client.multi === null) return this.afterFence(server, client, argv, r.slot, false);
    }
    if (client.protocol === 2 && !entry.subscribedModeOk && server.pubsub?.isSubscribed(client) === true) {
      return this.reject(client, entry, subscribedModeError(entry.fullname));
    }
    if (client.multi !== null && !entry.notQueued) {
      return queueCommand(client, spec, argv, server.config);
    }
    const ctx: CommandContext = { server, client, now: server.now() };
    const result = runHandler(ctx, spec, argv, entry.write);
    // IRIS.CONSISTENCY strong: a keyed read is answered only once the primary confirmed it still leads.
    if (client.strongReads === true && !entry.write && spec.firstKey > 0 && server.confirmStrongRead !== undefined) {
      return strongReadReply(server, server.confirmStrongRead, result);
    }
    return result;
  }

  /** In cluster mode all keys of a transaction must hash to one slot (checked at EXEC). */
  private transactionCrossesSlots(client: ClientState): boolean {
    return this.transactionTarget(client).slot === -2;
  }

  /** A standalone node (no membership, no map) is a single Redis server: keys may span slots (route() decides). */
  private crossSlotAllowed(server: ServerContext, client: ClientState, write: boolean): boolean {
    return !this.routes(server) || this.route(server, client, write, -2).kind === 'serve';
  }

  /** The slot of a queued transaction's keys (-1 none, -2 several) and whether it writes. */
  private transactionTarget(client: ClientState): { slot: number; write: boolean } {
    let slot = -1;
    let write = false;
    for (const q of client.multi!.queue) {
      slot = commandSlot(q.spec, q.argv, slot);
      if (slot === -2) break;
      if (!write && q.spec.flags.includes('write')) write = true;
    }
    return { slot, write };
  }

  /** Whether commands are routed at all (a bare ServerContext in unit tests is a standalone primary). */
  private routes(server: ServerContext): boolean {
    return server.replication !== undefined || server.cluster !== undefined;
  }

  /** Gathers what routing needs and asks route(); `slot` may be a thunk, so a standalone primary never hashes keys. */
  private route(server: ServerContext, client: ClientState, write: boolean, slot: number | (() => number), readonly = client.readonly_): Route {
    const cluster = server.cluster;
    const view = server.replication?.role();
    const owners = cluster?.owners ?? null;
    // A standalone primary serves every slot (route()'s first rule): skip hashing the key.
    if (owners === null && cluster?.clusterEnabled !== true && (view === undefined || view.role === 'primary')) return SERVE;
    if (typeof slot === 'function') slot = slot();
    return route({ slot, write, readonly, asking: client.asking, tls: client.tls === true }, routeStateOf(cluster, view, slot));
  }

  /**
   * A write to a fenced slot: runs it through the dispatcher again once the
   * fence lifts (served here, or MOVED if the slot changed owner). A fence
   * that outlasts fenceWaitMs answers TRYAGAIN, which cluster clients retry;
   * the command did not run (an EXEC's transaction is discarded).
   */
  private afterFence(server: ServerContext, client: ClientState, argv: Buffer[], slot: number, isExec: boolean): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        if (isExec) discardTransaction(client, this.watches);
        resolve(error(TRYAGAIN_MSG));
      }, this.fenceWaitMs);
      timer.unref();
      void server.cluster!.whenLifted(slot).then(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.closedClients.has(client)) {
          resolve(CLIENT_GONE);
          return;
        }
        let result: CommandResult;
        try {
          result = this.process(server, client, argv);
        } catch (err) {
          result = internalError(err);
        }
        // A Promise (fenced again, or a replicated write waiting for acks) is adopted.
        resolve(result);
      });
    });
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
