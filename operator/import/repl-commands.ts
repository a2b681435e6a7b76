/**
 * What a command of the replication stream means for the import: forwarded
 * as it is (single-key string commands, whose replies and semantics IrisDB
 * shares with Redis), split per key (MSET, DEL k1 k2: IrisDB refuses keys
 * of different slots in one command), a RENAME (moved with DUMP/RESTORE,
 * the two keys may live on different shards), a SELECT, protocol noise
 * (PING, MULTI/EXEC: the commands inside are applied one by one), or not
 * applied and counted by name (commands on other types, FLUSHALL...).
 * Pure.
 */

export type ReplAction =
  | { readonly kind: 'apply'; readonly commands: readonly (readonly Buffer[])[] }
  | { readonly kind: 'rename'; readonly from: Buffer; readonly to: Buffer }
  | { readonly kind: 'select'; readonly db: number }
  | { readonly kind: 'ignore' }
  /** Another database than the one imported. */
  | { readonly kind: 'other-db' }
  | { readonly kind: 'skip'; readonly command: string };

/** Single-key string commands forwarded verbatim: the key is argv[1]. */
const FORWARD = new Set([
  'set', 'setex', 'psetex', 'setnx', 'getset', 'getdel', 'getex', 'expire', 'pexpire', 'expireat', 'pexpireat', 'persist',
  'incr', 'decr', 'incrby', 'decrby', 'incrbyfloat', 'append', 'setrange',
]);
const NOISE = new Set(['ping', 'multi', 'exec', 'replconf', 'publish', 'spublish']);

export function planReplicated(argv: readonly Buffer[], selectedDb: number, importedDb: number): ReplAction {
  const name = argv[0]!.toString('latin1').toLowerCase();
  if (name === 'select') {
    const db = Number(argv[1]?.toString('latin1'));
    return Number.isInteger(db) && db >= 0 ? { kind: 'select', db } : { kind: 'skip', command: 'select' };
  }
  if (NOISE.has(name)) return { kind: 'ignore' };
  if (selectedDb !== importedDb) return { kind: 'other-db' };
  if (FORWARD.has(name)) return argv.length >= 2 ? { kind: 'apply', commands: [argv] } : { kind: 'skip', command: name };
  if (name === 'del' || name === 'unlink') {
    return argv.length >= 2 ? { kind: 'apply', commands: argv.slice(1).map((k) => [argv[0]!, k]) } : { kind: 'skip', command: name };
  }
  if (name === 'mset' || name === 'msetnx') {
    // MSETNX is only propagated when it set every key.
    if (argv.length < 3 || argv.length % 2 === 0) return { kind: 'skip', command: name };
    const cmds: Buffer[][] = [];
    for (let i = 1; i < argv.length; i += 2) cmds.push([Buffer.from('SET'), argv[i]!, argv[i + 1]!]);
    return { kind: 'apply', commands: cmds };
  }
  if (name === 'rename' || name === 'renamenx') {
    // RENAMENX is only propagated when it renamed.
    return argv.length === 3 ? { kind: 'rename', from: argv[1]!, to: argv[2]! } : { kind: 'skip', command: name };
  }
  return { kind: 'skip', command: name };
}
