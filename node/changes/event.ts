/**
 * A logged mutation as a change event (docs/change-feed.md "Events") and
 * its Server-Sent Events frame. Keys and values use the HTTP API's encoding
 * rule (codec.ts encodeBytes: UTF-8 when asked for and valid, else base64).
 * Pure: no I/O.
 */
import type { Mutation } from '../engine/types.js';
import { type BytesEncoding, encodeBytes } from '../http/codec.js';
import { formatPosition } from '../../common/change-position.js';

export interface ChangeEventJson {
  readonly position: string;
  readonly shard: string;
  readonly epoch: number;
  readonly seq: number;
  /** set | del | expire | clear (every key of the shard deleted: FLUSHALL). */
  readonly op: Mutation['op'];
  readonly key?: string;
  readonly keyEncoding?: BytesEncoding;
  readonly value?: string;
  readonly valueEncoding?: BytesEncoding;
  /** Absolute Unix ms, null for none; on set and expire only. */
  readonly expiresAt?: number | null;
  /** True for del and clear: the key (or every key) is gone. */
  readonly tombstone: boolean;
}

export function changeEvent(shard: string, epoch: number, seq: number, m: Mutation, encoding: BytesEncoding): ChangeEventJson {
  const base = { position: formatPosition({ shard, epoch, seq }), shard, epoch, seq, op: m.op };
  if (m.op === 'clear') return { ...base, tombstone: true };
  const k = encodeBytes(m.key, encoding);
  const keyed = { ...base, key: k.text, keyEncoding: k.encoding };
  if (m.op === 'del') return { ...keyed, tombstone: true };
  if (m.op === 'expire') return { ...keyed, expiresAt: m.expiresAt, tombstone: false };
  const v = encodeBytes(m.value, encoding);
  return { ...keyed, value: v.text, valueEncoding: v.encoding, expiresAt: m.expiresAt, tombstone: false };
}

/** One SSE message. `data` must be a single line (JSON.stringify output is). */
export function sseMessage(event: string, data: string, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;
}

/** An SSE comment: keeps proxies from closing an idle stream. */
export const SSE_KEEPALIVE = ': keepalive\n\n';
