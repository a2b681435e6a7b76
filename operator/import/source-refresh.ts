/**
 * The 'refresh' of repl-commands.ts: a key written by a command that builds
 * on its old value (INCR, APPEND, RENAME...) is read back from the source
 * (GET + PTTL, pipelined for a whole batch, after the commands ran there)
 * and becomes an absolute write: SET key value [PX ttl], or DEL when the
 * source no longer holds it as a string (gone, expired, or another type,
 * which IrisDB does not store).
 */
import type { Redis } from 'ioredis';

const SET = Buffer.from('SET');
const DEL = Buffer.from('DEL');
const PX = Buffer.from('PX');

/** The absolute write for each key, in order. Rejects on any error but WRONGTYPE (a lost connection must not turn into deletes). */
export async function refreshWrites(source: Redis, keys: readonly Buffer[]): Promise<Buffer[][]> {
  if (keys.length === 0) return [];
  const p = source.pipeline();
  for (const k of keys) {
    p.getBuffer(k);
    p.pttl(k);
  }
  const replies = (await p.exec()) ?? [];
  if (replies.length !== keys.length * 2) throw new Error(`reading ${keys.length} keys back from the source: ${replies.length} replies`);
  return keys.map((k, i) => {
    const [getErr, value] = replies[2 * i]!;
    const [ttlErr, pttl] = replies[2 * i + 1]!;
    if (getErr !== null && !/^WRONGTYPE/.test(getErr.message)) throw getErr;
    if (ttlErr !== null) throw ttlErr;
    return absoluteWrite(k, getErr !== null ? null : (value as Buffer | null), Number(pttl));
  });
}

/** The write that makes IrisDB hold what the source holds: its value (null: none, or not a string) and PTTL (-1 none, -2 gone). Pure. */
export function absoluteWrite(key: Buffer, value: Buffer | null, pttl: number): Buffer[] {
  if (value === null || pttl === -2) return [DEL, key];
  return pttl > 0 ? [SET, key, value, PX, Buffer.from(String(pttl))] : [SET, key, value];
}
