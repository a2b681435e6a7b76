/**
 * Option parsing for SET, GETEX and the EXPIRE family, mirroring Redis 7.0's
 * parseExtendedStringArgumentsOrReply / parseExtendedExpireArgumentsOrReply
 * / getExpireMillisecondsOrReply, including which combinations are refused
 * and the order errors are reported in. Pure: time is a parameter.
 */
import { INT64_MAX, INT64_MIN, optionName, parseInt64Big, cString } from './args.js';

export const enum SetFlag {
  NX = 1, XX = 2, GET = 4, KEEPTTL = 8, PERSIST = 16, EX = 32, PX = 64, EXAT = 128, PXAT = 256,
}

const ANY_EXPIRE = SetFlag.EX | SetFlag.PX | SetFlag.EXAT | SetFlag.PXAT;

export interface StringOptions {
  flags: number;
  /** The argument after EX/PX/EXAT/PXAT (the last one given wins, as in Redis). */
  expire: Buffer | null;
}

/** Outcome of a parse: the value, or the error text Redis would reply. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const SYNTAX: Parsed<never> = { ok: false, error: 'ERR syntax error' };

/**
 * SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL] (forGetex=false, options from argv[3])
 * GETEX key [EX|PX|EXAT|PXAT t|PERSIST] (forGetex=true, options from argv[2]).
 */
export function parseStringOptions(argv: readonly Buffer[], forGetex: boolean): Parsed<StringOptions> {
  let flags = 0;
  let expire: Buffer | null = null;
  for (let j = forGetex ? 2 : 3; j < argv.length; j++) {
    const opt = optionName(argv[j]!);
    const next = j === argv.length - 1 ? null : argv[j + 1]!;
    const isSet = !forGetex;
    if (opt === 'nx' && !(flags & SetFlag.XX) && isSet) {
      flags |= SetFlag.NX;
    } else if (opt === 'xx' && !(flags & SetFlag.NX) && isSet) {
      flags |= SetFlag.XX;
    } else if (opt === 'get' && isSet) {
      flags |= SetFlag.GET;
    } else if (opt === 'keepttl' && !(flags & SetFlag.PERSIST) && !(flags & ANY_EXPIRE) && isSet) {
      flags |= SetFlag.KEEPTTL;
    } else if (opt === 'persist' && forGetex && !(flags & ANY_EXPIRE) && !(flags & SetFlag.KEEPTTL)) {
      flags |= SetFlag.PERSIST;
    } else if (opt === 'ex' && noOtherExpiry(flags, SetFlag.EX) && next !== null) {
      flags |= SetFlag.EX;
      expire = next;
      j++;
    } else if (opt === 'px' && noOtherExpiry(flags, SetFlag.PX) && next !== null) {
      flags |= SetFlag.PX;
      expire = next;
      j++;
    } else if (opt === 'exat' && noOtherExpiry(flags, SetFlag.EXAT) && next !== null) {
      flags |= SetFlag.EXAT;
      expire = next;
      j++;
    } else if (opt === 'pxat' && noOtherExpiry(flags, SetFlag.PXAT) && next !== null) {
      flags |= SetFlag.PXAT;
      expire = next;
      j++;
    } else {
      return SYNTAX;
    }
  }
  return { ok: true, value: { flags, expire } };
}

/** EX may repeat (last wins) but may not be mixed with KEEPTTL, PERSIST or another unit. */
function noOtherExpiry(flags: number, self: number): boolean {
  return !(flags & SetFlag.KEEPTTL) && !(flags & SetFlag.PERSIST) && !(flags & (ANY_EXPIRE & ~self));
}

/**
 * getExpireMillisecondsOrReply: the absolute expiry in ms for SET/GETEX/SETEX/PSETEX.
 * The time must be > 0; seconds are scaled by 1000; EX/PX are relative to now;
 * any overflow of int64 is "invalid expire time in '<cmd>' command".
 */
export function absoluteExpiry(arg: Buffer, flags: number, now: number, cmd: string): Parsed<bigint> {
  const v = parseInt64Big(arg);
  if (v === null) return { ok: false, error: 'ERR value is not an integer or out of range' };
  const seconds = (flags & (SetFlag.EX | SetFlag.EXAT)) !== 0;
  const invalid: Parsed<bigint> = { ok: false, error: `ERR invalid expire time in '${cmd}' command` };
  if (v <= 0n || (seconds && v > INT64_MAX / 1000n)) return invalid;
  let ms = seconds ? v * 1000n : v;
  if (flags & (SetFlag.EX | SetFlag.PX)) ms += BigInt(now);
  if (ms > INT64_MAX || ms <= 0n) return invalid; // C would wrap negative here
  return { ok: true, value: ms };
}

export const enum ExpireFlag { NX = 1, XX = 2, GT = 4, LT = 8 }

/** EXPIRE key t [NX|XX|GT|LT]: options from argv[3], each may repeat. */
export function parseExpireFlags(argv: readonly Buffer[]): Parsed<number> {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = optionName(argv[j]!);
    if (opt === 'nx') flags |= ExpireFlag.NX;
    else if (opt === 'xx') flags |= ExpireFlag.XX;
    else if (opt === 'gt') flags |= ExpireFlag.GT;
    else if (opt === 'lt') flags |= ExpireFlag.LT;
    else return { ok: false, error: `ERR Unsupported option ${sanitize(cString(argv[j]!))}` };
  }
  if ((flags & ExpireFlag.NX) && (flags & (ExpireFlag.XX | ExpireFlag.GT | ExpireFlag.LT))) {
    return { ok: false, error: 'ERR NX and XX, GT or LT options at the same time are not compatible' };
  }
  if ((flags & ExpireFlag.GT) && (flags & ExpireFlag.LT)) {
    return { ok: false, error: 'ERR GT and LT options at the same time are not compatible' };
  }
  return { ok: true, value: flags };
}

/**
 * The EXPIRE family's time argument to an absolute ms timestamp:
 * negative values are allowed (they delete the key) but int64 overflow
 * from the unit conversion or from adding the base time is an error.
 */
export function expireAt(arg: Buffer, seconds: boolean, basetime: number, cmd: string): Parsed<bigint> {
  const v = parseInt64Big(arg);
  if (v === null) return { ok: false, error: 'ERR value is not an integer or out of range' };
  const invalid: Parsed<bigint> = { ok: false, error: `ERR invalid expire time in '${cmd}' command` };
  let when = v;
  if (seconds) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return invalid;
    when *= 1000n;
  }
  const base = BigInt(basetime);
  if (when > INT64_MAX - base) return invalid;
  return { ok: true, value: when + base };
}

/**
 * Error texts are one line: Redis replaces CR and LF from user input with
 * spaces so the reply stays valid RESP.
 */
export function sanitize(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}
