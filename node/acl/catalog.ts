/**
 * The command catalogue the ACL engine works on: every command's full name
 * ("get", "client|list") and its ACL categories, as COMMAND INFO reports
 * them. Built once from the command table; the rules engine only sees this
 * plain data, so it is unit-testable without a server.
 */
import type { CommandSpec, CommandTable } from '../commands/types.js';
import { COMMAND_META, type KeySpecMeta } from '../commands/meta.js';
import { derivedAcl } from '../commands/command-docs.js';

/** Redis 7.0's categories in ACL CAT order. */
export const ACL_CATEGORIES: readonly string[] = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string',
  'bitmap', 'hyperloglog', 'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection',
  'transaction', 'scripting'];

/** How a key argument is used: read (ACCESS) and/or written (INSERT/UPDATE/DELETE), Redis's key-spec flags. */
export interface KeyUse { readonly read: boolean; readonly write: boolean }

/** Key positions of a command with how each range is used (absolute argv indexes; last < 0 counts from the end). */
export interface KeyRange { readonly first: number; readonly last: number; readonly step: number; readonly use: KeyUse }

export interface CatalogCommand {
  readonly fullname: string;
  readonly categories: readonly string[];
  /** The container's name for a subcommand ("client" for "client|list"), else null. */
  readonly parent: string | null;
  /** Subcommand full names of a container command. */
  readonly subcommands: readonly string[];
  readonly keys: readonly KeyRange[];
}

export interface CommandCatalog {
  get(fullname: string): CatalogCommand | undefined;
  all(): readonly CatalogCommand[];
}

function useOf(flags: readonly string[]): KeyUse {
  const f = new Set(flags.map((x) => x.toLowerCase()));
  return { read: f.has('access'), write: f.has('insert') || f.has('update') || f.has('delete') };
}

function rangeOf(k: KeySpecMeta): KeyRange {
  // Redis's find_keys range: lastkey is relative to the first key, -1 = to the end.
  const last = k.lastkey < 0 ? k.lastkey : k.index + k.lastkey;
  return { first: k.index, last, step: k.keystep, use: useOf(k.flags) };
}

function keyRanges(spec: CommandSpec, fullname: string): KeyRange[] {
  const meta = COMMAND_META[fullname];
  if (meta !== undefined) {
    if (meta.keySpec === null) return [];
    return [meta.keySpec, ...(meta.moreKeySpecs ?? [])].map(rangeOf);
  }
  if (spec.firstKey <= 0) return [];
  const write = spec.flags.includes('write');
  return [{ first: spec.firstKey, last: spec.lastKey, step: spec.step, use: { read: !write, write } }];
}

function entry(spec: CommandSpec, fullname: string, parent: string | null): CatalogCommand {
  return {
    fullname,
    parent,
    categories: COMMAND_META[fullname]?.acl ?? derivedAcl(spec),
    subcommands: (spec.subcommands ?? []).map((s) => `${fullname}|${s.name}`),
    keys: keyRanges(spec, fullname),
  };
}

export function catalogFromTable(table: CommandTable): CommandCatalog {
  const byName = new Map<string, CatalogCommand>();
  for (const spec of table.all()) {
    byName.set(spec.name, entry(spec, spec.name, null));
    for (const s of spec.subcommands ?? []) byName.set(`${spec.name}|${s.name}`, entry(s, `${spec.name}|${s.name}`, spec.name));
  }
  const list = [...byName.values()];
  return { get: (n) => byName.get(n), all: () => list };
}

/** The keys of argv (argv[0] the command name) with how each is used. */
export function keysOf(cmd: CatalogCommand, argv: readonly Buffer[]): Array<{ key: Buffer; use: KeyUse }> {
  const out: Array<{ key: Buffer; use: KeyUse }> = [];
  const variable = variableUse(cmd.fullname, argv);
  for (const r of cmd.keys) {
    const last = r.last < 0 ? argv.length + r.last : r.last;
    for (let i = r.first; i <= last && i < argv.length; i += r.step) out.push({ key: argv[i]!, use: variable ?? r.use });
  }
  return out;
}

/**
 * The key use of the commands whose key spec says VARIABLE_FLAGS, as Redis's
 * getkeys procs decide it from the arguments: SET reads its key only with
 * GET (else it only writes: a %W~ pattern suffices), BITFIELD writes only
 * with SET or INCRBY. Null: the key spec's own flags.
 */
function variableUse(fullname: string, argv: readonly Buffer[]): KeyUse | null {
  const has = (from: number, words: readonly string[]): boolean =>
    argv.slice(from).some((a) => words.includes(a.toString('latin1').toLowerCase()));
  if (fullname === 'set') return has(3, ['get']) ? { read: true, write: true } : { read: false, write: true };
  if (fullname === 'bitfield') return has(2, ['set', 'incrby']) ? { read: true, write: true } : { read: true, write: false };
  return null;
}

/** Channel arguments Redis checks against &patterns; PSUBSCRIBE's patterns must equal an allowed pattern literally. */
const CHANNEL_ARGS: Readonly<Record<string, { first: number; last: number; literal: boolean }>> = {
  publish: { first: 1, last: 1, literal: false },
  spublish: { first: 1, last: 1, literal: false },
  subscribe: { first: 1, last: -1, literal: false },
  ssubscribe: { first: 1, last: -1, literal: false },
  psubscribe: { first: 1, last: -1, literal: true },
};

export function channelsOf(fullname: string, argv: readonly Buffer[]): { channels: Buffer[]; literal: boolean } | null {
  const c = CHANNEL_ARGS[fullname];
  if (c === undefined) return null;
  const last = c.last < 0 ? argv.length + c.last : c.last;
  return { channels: argv.slice(c.first, last + 1), literal: c.literal };
}
