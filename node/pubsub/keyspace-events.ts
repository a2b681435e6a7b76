/**
 * Which keyspace events a write command raises, with Redis 7.0's event
 * names and classes (the notifyKeyspaceEvent calls of t_string.c, db.c,
 * expire.c, bitops.c), computed from what the command actually changed:
 * the keys the apply path touched, and whether each exists afterwards.
 * A command that changed nothing raises nothing (SET NX on an existing
 * key, DEL of a missing key), as in Redis. Pure.
 */
import { NOTIFY } from './keyspace-flags.js';

export interface KeyChange {
  readonly key: Buffer;
  /** The key exists after the command. */
  readonly existsAfter: boolean;
  /** The key did not exist before the command (only known when the 'n' class is on). */
  readonly created: boolean;
}

export interface KeyEvent {
  /** The NOTIFY class bit that must be enabled for the event to be sent. */
  readonly cls: number;
  readonly event: string;
  readonly key: Buffer;
}

const EXPIRY_OPTIONS = new Set(['ex', 'px', 'exat', 'pxat']);

function hasOption(argv: readonly Buffer[], from: number, names: ReadonlySet<string>): boolean {
  for (let i = from; i < argv.length; i++) {
    if (argv[i]!.length <= 7 && names.has(argv[i]!.toString('latin1').toLowerCase())) return true;
  }
  return false;
}

const STRING_EVENT: Readonly<Record<string, string>> = {
  set: 'set', setnx: 'set', setex: 'set', psetex: 'set', getset: 'set', mset: 'set', msetnx: 'set',
  incr: 'incrby', decr: 'incrby', incrby: 'incrby', decrby: 'incrby', incrbyfloat: 'incrbyfloat',
  append: 'append', setrange: 'setrange', setbit: 'setbit', bitfield: 'setbit',
};

const EXPIRE_COMMANDS = new Set(['expire', 'pexpire', 'expireat', 'pexpireat']);
/** Commands that raise no per-key events (Redis emits none for a flush). */
const SILENT = new Set(['flushall', 'flushdb']);

/** False for commands that never raise per-key events: the notifier does not even record their changes (FLUSHALL touches every key). */
export function raisesKeyspaceEvents(command: string): boolean {
  return !SILENT.has(command);
}

/** The events of one command, in the order Redis sends them. */
export function keyspaceEventsFor(command: string, argv: readonly Buffer[], changes: readonly KeyChange[]): KeyEvent[] {
  if (changes.length === 0 || SILENT.has(command)) return [];
  const out: KeyEvent[] = [];
  const created = (c: KeyChange): boolean => c.created && c.existsAfter;
  const generic = (event: string, key: Buffer): void => {
    out.push({ cls: NOTIFY.GENERIC, event, key });
  };
  if (command === 'rename' || command === 'renamenx' || command === 'copy') {
    // Redis deletes an existing destination and dbAdd()s it again: "new" comes first, even when it existed.
    out.push({ cls: NOTIFY.NEW, event: 'new', key: argv[2]! });
  }
  if (command === 'restore') {
    // The same delete-and-add as RENAME's destination: "new", then "restore".
    out.push({ cls: NOTIFY.NEW, event: 'new', key: argv[1]! });
    generic('restore', argv[1]!);
    return out;
  }
  if (command === 'rename' || command === 'renamenx') {
    generic('rename_from', argv[1]!);
    generic('rename_to', argv[2]!);
    return out;
  }
  if (command === 'copy') {
    generic('copy_to', argv[2]!);
    return out;
  }
  const stringEvent = STRING_EVENT[command];
  for (const c of changes) {
    // Per key, as Redis's loops do (MSET: new a, set a, new b, set b).
    if (created(c)) out.push({ cls: NOTIFY.NEW, event: 'new', key: c.key });
    if (!c.existsAfter) {
      generic('del', c.key);
    } else if (stringEvent !== undefined) {
      out.push({ cls: NOTIFY.STRING, event: stringEvent, key: c.key });
      const expires = command === 'setex' || command === 'psetex' || (command === 'set' && hasOption(argv, 3, EXPIRY_OPTIONS));
      if (expires) generic('expire', c.key);
    } else if (EXPIRE_COMMANDS.has(command)) {
      generic('expire', c.key);
    } else if (command === 'persist') {
      generic('persist', c.key);
    } else if (command === 'getex') {
      generic(hasOption(argv, 2, new Set(['persist'])) ? 'persist' : 'expire', c.key);
    } else if (command === 'bitop') {
      out.push({ cls: NOTIFY.STRING, event: 'set', key: c.key });
    } else {
      // A write command without a known event (RESTORE: "restore"): its own name, as Redis names most of them.
      generic(command, c.key);
    }
  }
  return out;
}

/** The two channel/message pairs of one event (only those whose K/E class is on). */
export function notificationsOf(flags: number, e: KeyEvent): Array<[channel: Buffer, message: Buffer]> {
  if ((flags & e.cls) === 0) return [];
  const out: Array<[Buffer, Buffer]> = [];
  if ((flags & NOTIFY.KEYSPACE) !== 0) out.push([Buffer.concat([KEYSPACE_PREFIX, e.key]), Buffer.from(e.event, 'latin1')]);
  if ((flags & NOTIFY.KEYEVENT) !== 0) out.push([Buffer.from(`__keyevent@0__:${e.event}`, 'latin1'), e.key]);
  return out;
}

const KEYSPACE_PREFIX = Buffer.from('__keyspace@0__:', 'latin1');
