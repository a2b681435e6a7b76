/**
 * The reply model every command returns. The encoder turns it into RESP2 or
 * RESP3 bytes depending on the connection's protocol (HELLO 2|3), so command
 * code never branches on protocol except where Redis itself does.
 */
export type Reply =
  | { readonly kind: 'simple'; readonly value: string }
  /** Full error line without the leading '-', e.g. "ERR syntax error", "WRONGTYPE ...". */
  | { readonly kind: 'error'; readonly value: string }
  | { readonly kind: 'integer'; readonly value: number | bigint }
  | { readonly kind: 'bulk'; readonly value: Buffer | string }
  /** Nil bulk string: RESP2 "$-1", RESP3 "_". */
  | { readonly kind: 'null' }
  /** Nil array: RESP2 "*-1", RESP3 "_". */
  | { readonly kind: 'nullArray' }
  | { readonly kind: 'array'; readonly items: readonly Reply[] }
  /** RESP3 map; RESP2 flattens it into an array of key, value, ... */
  | { readonly kind: 'map'; readonly entries: ReadonlyArray<readonly [Reply, Reply]> }
  /** RESP3 set; RESP2 array. */
  | { readonly kind: 'set'; readonly items: readonly Reply[] }
  /** RESP3 double; RESP2 bulk string formatted as Redis does. */
  | { readonly kind: 'double'; readonly value: number }
  /** RESP3 boolean; RESP2 integer 1/0. */
  | { readonly kind: 'boolean'; readonly value: boolean }
  /** RESP3 verbatim string ("txt"); RESP2 bulk string. */
  | { readonly kind: 'verbatim'; readonly format: string; readonly value: string }
  /** RESP3 push ('>', Pub/Sub messages and confirmations); RESP2 array. */
  | { readonly kind: 'push'; readonly items: readonly Reply[] }
  /** Several top-level replies for one command (SUBSCRIBE a b: one confirmation per channel), written back to back. */
  | { readonly kind: 'sequence'; readonly replies: readonly Reply[] };

export const OK: Reply = Object.freeze({ kind: 'simple', value: 'OK' });
export const QUEUED: Reply = Object.freeze({ kind: 'simple', value: 'QUEUED' });
export const NULL: Reply = Object.freeze({ kind: 'null' });
export const NULL_ARRAY: Reply = Object.freeze({ kind: 'nullArray' });
export const ZERO: Reply = Object.freeze({ kind: 'integer', value: 0 });
export const ONE: Reply = Object.freeze({ kind: 'integer', value: 1 });
export const EMPTY_ARRAY: Reply = Object.freeze({ kind: 'array', items: [] });

export const simple = (value: string): Reply => ({ kind: 'simple', value });
export const error = (value: string): Reply => ({ kind: 'error', value });
export const integer = (value: number | bigint): Reply => ({ kind: 'integer', value });
export const bulk = (value: Buffer | string): Reply => ({ kind: 'bulk', value });
export const bulkOrNull = (value: Buffer | string | null | undefined): Reply =>
  value === null || value === undefined ? NULL : { kind: 'bulk', value };
export const array = (items: readonly Reply[]): Reply => ({ kind: 'array', items });
export const map = (entries: ReadonlyArray<readonly [Reply, Reply]>): Reply => ({ kind: 'map', entries });
export const set = (items: readonly Reply[]): Reply => ({ kind: 'set', items });
export const double = (value: number): Reply => ({ kind: 'double', value });
export const boolean = (value: boolean): Reply => ({ kind: 'boolean', value });
export const verbatim = (value: string, format = 'txt'): Reply => ({ kind: 'verbatim', format, value });
export const push = (items: readonly Reply[]): Reply => ({ kind: 'push', items });
export const sequence = (replies: readonly Reply[]): Reply => ({ kind: 'sequence', replies });

/** Redis's standard error texts, kept in one place so every command words them identically. */
export const Errors = {
  syntax: () => error('ERR syntax error'),
  notInteger: () => error('ERR value is not an integer or out of range'),
  notFloat: () => error('ERR value is not a valid float'),
  overflow: () => error('ERR increment or decrement would overflow'),
  wrongArity: (name: string) => error(`ERR wrong number of arguments for '${name}' command`),
  invalidExpire: (name: string) => error(`ERR invalid expire time in '${name}' command`),
  wrongType: () => error('WRONGTYPE Operation against a key holding the wrong kind of value'),
  noAuth: () => error('NOAUTH Authentication required.'),
} as const;
