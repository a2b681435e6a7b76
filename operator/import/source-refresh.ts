/**
 * How --follow applies its stream: every key a batch of commands wrote is
 * read back from the source (GET + PTTL in one pipeline, after the whole
 * batch ran there) and written to IrisDB as the source holds it then — its
 * value and the time its expiry has left, or deleted when the source no
 * longer holds it as a string (gone, expired, or another type, which
 * IrisDB does not store). Writing a value read later than the command is
 * harmless: the commands in between are in the stream and applied after
 * it, so each key ends as the source's last write left it, and replaying a
 * stretch of the stream (a resumed follow) changes nothing.
 */
import { RespErrorReply } from './resp-reply.js';
import type { SourcePipeline } from './resp-source.js';

const GET = Buffer.from('GET');
const PTTL = Buffer.from('PTTL');

/** A key as the source holds it: value null when it holds no string; pttl -1 without an expiry. */
export interface ReadBack {
  readonly key: Buffer;
  readonly value: Buffer | null;
  readonly pttl: number;
}

/** Rejects on any error but WRONGTYPE (a lost connection or NOPERM must not turn into deletes). */
export async function readBack(source: SourcePipeline, keys: readonly Buffer[]): Promise<ReadBack[]> {
  if (keys.length === 0) return [];
  const cmds: Buffer[][] = [];
  for (const k of keys) cmds.push([GET, k], [PTTL, k]);
  const replies = await source.pipeline(cmds);
  return keys.map((key, i) => {
    const value = replies[2 * i];
    const pttl = replies[2 * i + 1];
    if (value instanceof RespErrorReply && !/^WRONGTYPE/.test(value.message)) throw new Error(`reading ${key.toString('latin1')} back from the source: ${value.message}`);
    if (pttl instanceof RespErrorReply) throw new Error(`reading ${key.toString('latin1')} back from the source: ${pttl.message}`);
    if (typeof pttl !== 'number' || (value !== null && !(value instanceof RespErrorReply) && !Buffer.isBuffer(value))) throw new Error('reading back from the source: an unexpected reply');
    if (value === null || value instanceof RespErrorReply || pttl === -2) return { key, value: null, pttl: -2 };
    return { key, value, pttl: pttl > 0 ? pttl : -1 };
  });
}
