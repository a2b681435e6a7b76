/** The JSON form of a key and its entry, shared by GET ?format=json, batch gets and scan. */
import type { Entry } from '../engine/types.js';
import { type BytesEncoding, encodeBytes } from './codec.js';

export interface EntryJson {
  key: string;
  keyEncoding: BytesEncoding;
  value?: string;
  valueEncoding?: BytesEncoding;
  version: number;
  expiresAt: number | null;
}

export function entryJson(key: Buffer, entry: Entry, encoding: BytesEncoding, withValue = true): EntryJson {
  const k = encodeBytes(key, encoding);
  if (!withValue) return { key: k.text, keyEncoding: k.encoding, version: entry.version, expiresAt: entry.expiresAt };
  const v = encodeBytes(entry.value, encoding);
  return { key: k.text, keyEncoding: k.encoding, value: v.text, valueEncoding: v.encoding, version: entry.version, expiresAt: entry.expiresAt };
}
