/** The per-key encodings of `irisctl export`: RDB (rdb-writer.ts) or JSON lines. Pure. */
import { RdbWriter } from './rdb-writer.js';

export interface ExportedKey {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Absolute Unix milliseconds, or null. */
  readonly expiresAt: number | null;
}

export interface ExportEncoder {
  start(): Buffer;
  key(k: ExportedKey): Buffer;
  end(): Buffer;
}

/** Text when the bytes are valid UTF-8 that round-trips, else base64 (flagged by keyEncoding/valueEncoding, as the change feed does). */
function textOrBase64(b: Buffer): { text: string; base64: boolean } {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? { text: s, base64: false } : { text: b.toString('base64'), base64: true };
}

/** One JSON object per line: {"key","value","expiresAt"} (+ keyEncoding/valueEncoding "base64" for binary). */
export function jsonLine(k: ExportedKey): string {
  const key = textOrBase64(k.key);
  const value = textOrBase64(k.value);
  return JSON.stringify({
    key: key.text, ...(key.base64 ? { keyEncoding: 'base64' } : {}),
    value: value.text, ...(value.base64 ? { valueEncoding: 'base64' } : {}),
    expiresAt: k.expiresAt,
  }) + '\n';
}

/** The inverse of jsonLine (for tests and for anyone loading the file back). */
export function parseJsonLine(line: string): ExportedKey {
  const o = JSON.parse(line) as { key: string; value: string; expiresAt: number | null; keyEncoding?: string; valueEncoding?: string };
  return {
    key: Buffer.from(o.key, o.keyEncoding === 'base64' ? 'base64' : 'utf8'),
    value: Buffer.from(o.value, o.valueEncoding === 'base64' ? 'base64' : 'utf8'),
    expiresAt: o.expiresAt,
  };
}

export function exportEncoder(format: 'rdb' | 'jsonl', writer: string): ExportEncoder {
  if (format === 'jsonl') return { start: () => Buffer.alloc(0), key: (k) => Buffer.from(jsonLine(k)), end: () => Buffer.alloc(0) };
  const w = new RdbWriter();
  return { start: () => w.start(writer), key: (k) => w.key(k.key, k.value, k.expiresAt), end: () => w.end() };
}
