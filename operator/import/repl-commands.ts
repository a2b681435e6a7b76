/**
 * What a command of the replication stream means for the import: the keys
 * it writes (writtenKeys; follow.ts reads those back from the source and
 * writes them as the source holds them, so nothing is replayed against
 * IrisDB's state and a resumed follow may apply a stretch twice), a SELECT,
 * protocol noise (PING, MULTI/EXEC: the commands inside count one by one),
 * another database, or not applied and counted by name (commands on other
 * types, FLUSHALL...). The written keys come as 'apply' — the command's
 * absolute equivalent (SET without NX/XX/GET, which Redis propagates only
 * when they wrote; MSET and DEL split per key) — or 'refresh' for commands
 * that build on the old value (INCR, APPEND, SETRANGE, SET KEEPTTL,
 * RENAME's two names...). Pure.
 */

export type ReplAction =
  | { readonly kind: 'apply'; readonly commands: readonly (readonly Buffer[])[] }
  /** Keys to write as the source holds them now (deleted when it does not hold a string). */
  | { readonly kind: 'refresh'; readonly keys: readonly Buffer[] }
  | { readonly kind: 'select'; readonly db: number }
  | { readonly kind: 'ignore' }
  /** Another database than the one imported. */
  | { readonly kind: 'other-db' }
  | { readonly kind: 'skip'; readonly command: string };

/** Single-key writes whose result does not depend on the key's old value (relative expiries are as Redis < 7 propagates them). */
const ABSOLUTE = new Set(['setex', 'psetex', 'persist']);
/** Single-key writes that build on the old value: the key is read from the source instead. */
const REFRESH = new Set(['incr', 'decr', 'incrby', 'decrby', 'incrbyfloat', 'append', 'setrange', 'getex']);
/** Expiry commands: absolute without options (Redis 7 propagates every expiry as PEXPIREAT key ms); NX/XX/GT/LT depend on the old TTL. */
const EXPIRE = new Set(['expire', 'pexpire', 'expireat', 'pexpireat']);
const NOISE = new Set(['ping', 'multi', 'exec', 'replconf', 'publish', 'spublish']);
const SET = Buffer.from('SET');
const DEL = Buffer.from('DEL');

export function planReplicated(argv: readonly Buffer[], selectedDb: number, importedDb: number): ReplAction {
  const name = argv[0]!.toString('latin1').toLowerCase();
  if (name === 'select') {
    const db = Number(argv[1]?.toString('latin1'));
    return Number.isInteger(db) && db >= 0 ? { kind: 'select', db } : { kind: 'skip', command: 'select' };
  }
  if (NOISE.has(name)) return { kind: 'ignore' };
  if (selectedDb !== importedDb) return { kind: 'other-db' };
  if (name === 'set') return argv.length >= 3 ? planSet(argv) : { kind: 'skip', command: name };
  // Propagated only when they wrote: the key then holds exactly this value, without a TTL.
  if (name === 'setnx' || name === 'getset') return argv.length === 3 ? { kind: 'apply', commands: [[SET, argv[1]!, argv[2]!]] } : { kind: 'skip', command: name };
  if (name === 'getdel') return argv.length === 2 ? { kind: 'apply', commands: [[DEL, argv[1]!]] } : { kind: 'skip', command: name };
  if (ABSOLUTE.has(name)) return argv.length >= 2 ? { kind: 'apply', commands: [argv] } : { kind: 'skip', command: name };
  if (EXPIRE.has(name)) {
    if (argv.length < 3) return { kind: 'skip', command: name };
    return argv.length === 3 ? { kind: 'apply', commands: [argv] } : { kind: 'refresh', keys: [argv[1]!] };
  }
  if (REFRESH.has(name)) return argv.length >= 2 ? { kind: 'refresh', keys: [argv[1]!] } : { kind: 'skip', command: name };
  if (name === 'del' || name === 'unlink') {
    return argv.length >= 2 ? { kind: 'apply', commands: argv.slice(1).map((k) => [argv[0]!, k]) } : { kind: 'skip', command: name };
  }
  if (name === 'mset' || name === 'msetnx') {
    // MSETNX is only propagated when it set every key.
    if (argv.length < 3 || argv.length % 2 === 0) return { kind: 'skip', command: name };
    const cmds: Buffer[][] = [];
    for (let i = 1; i < argv.length; i += 2) cmds.push([SET, argv[i]!, argv[i + 1]!]);
    return { kind: 'apply', commands: cmds };
  }
  if (name === 'rename' || name === 'renamenx') {
    // RENAMENX is only propagated when it renamed. Both names are read back: the old one is gone, the new one holds the value (or a non-string, deleted from IrisDB).
    return argv.length === 3 ? { kind: 'refresh', keys: [argv[1]!, argv[2]!] } : { kind: 'skip', command: name };
  }
  return { kind: 'skip', command: name };
}

/** The keys an action writes (follow.ts reads them back from the source and writes them as they are there). Pure. */
export function writtenKeys(action: ReplAction): readonly Buffer[] {
  if (action.kind === 'refresh') return action.keys;
  if (action.kind === 'apply') return action.commands.map((c) => c[1]!);
  return [];
}

/** SET: NX, XX and GET dropped (propagated only when it wrote: the write itself is absolute); KEEPTTL keeps the old TTL, so the key is read back. */
function planSet(argv: readonly Buffer[]): ReplAction {
  const kept: Buffer[] = [SET, argv[1]!, argv[2]!];
  for (let i = 3; i < argv.length; i++) {
    const opt = argv[i]!.toString('latin1').toLowerCase();
    if (opt === 'nx' || opt === 'xx' || opt === 'get') continue;
    if (opt === 'keepttl') return { kind: 'refresh', keys: [argv[1]!] };
    if ((opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat') && i + 1 < argv.length) {
      kept.push(argv[i]!, argv[i + 1]!);
      i++;
      continue;
    }
    return { kind: 'skip', command: 'set' };
  }
  return { kind: 'apply', commands: [kept] };
}
