/**
 * notify-keyspace-events: Redis's flag letters <-> a bit set, exactly as
 * Redis 7.0 parses and prints them (notify.c keyspaceEventsStringToFlags /
 * keyspaceEventsFlagsToString, including that 'A' hides 'n' when printed).
 * Pure.
 */

export const NOTIFY = {
  KEYSPACE: 1 << 0, // K
  KEYEVENT: 1 << 1, // E
  GENERIC: 1 << 2, // g
  STRING: 1 << 3, // $
  LIST: 1 << 4, // l
  SET: 1 << 5, // s
  HASH: 1 << 6, // h
  ZSET: 1 << 7, // z
  EXPIRED: 1 << 8, // x
  EVICTED: 1 << 9, // e
  STREAM: 1 << 10, // t
  KEY_MISS: 1 << 11, // m
  MODULE: 1 << 12, // d
  NEW: 1 << 13, // n
} as const;

/** 'A': every class except key-miss and new, as in Redis 7.0. */
export const NOTIFY_ALL = NOTIFY.GENERIC | NOTIFY.STRING | NOTIFY.LIST | NOTIFY.SET | NOTIFY.HASH | NOTIFY.ZSET
  | NOTIFY.EXPIRED | NOTIFY.EVICTED | NOTIFY.STREAM | NOTIFY.MODULE;

const LETTERS: ReadonlyMap<string, number> = new Map([
  ['A', NOTIFY_ALL], ['g', NOTIFY.GENERIC], ['$', NOTIFY.STRING], ['l', NOTIFY.LIST], ['s', NOTIFY.SET],
  ['h', NOTIFY.HASH], ['z', NOTIFY.ZSET], ['x', NOTIFY.EXPIRED], ['e', NOTIFY.EVICTED], ['K', NOTIFY.KEYSPACE],
  ['E', NOTIFY.KEYEVENT], ['t', NOTIFY.STREAM], ['m', NOTIFY.KEY_MISS], ['d', NOTIFY.MODULE], ['n', NOTIFY.NEW],
]);

/** Redis's CONFIG SET complaint for an unknown letter. */
export const INVALID_EVENT_CLASS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/** The flag bits of a notify-keyspace-events string, or null if it has a letter Redis does not know. */
export function parseKeyspaceEventFlags(text: string): number | null {
  let flags = 0;
  for (const ch of text) {
    const bit = LETTERS.get(ch);
    if (bit === undefined) return null;
    flags |= bit;
  }
  return flags;
}

/** The string CONFIG GET notify-keyspace-events answers for these bits. */
export function formatKeyspaceEventFlags(flags: number): string {
  let out = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) {
    out += 'A';
  } else {
    const order: Array<[number, string]> = [
      [NOTIFY.GENERIC, 'g'], [NOTIFY.STRING, '$'], [NOTIFY.LIST, 'l'], [NOTIFY.SET, 's'], [NOTIFY.HASH, 'h'],
      [NOTIFY.ZSET, 'z'], [NOTIFY.EXPIRED, 'x'], [NOTIFY.EVICTED, 'e'], [NOTIFY.STREAM, 't'], [NOTIFY.MODULE, 'd'],
      [NOTIFY.NEW, 'n'],
    ];
    for (const [bit, letter] of order) if ((flags & bit) !== 0) out += letter;
  }
  if ((flags & NOTIFY.KEYSPACE) !== 0) out += 'K';
  if ((flags & NOTIFY.KEYEVENT) !== 0) out += 'E';
  if ((flags & NOTIFY.KEY_MISS) !== 0) out += 'm';
  return out;
}
