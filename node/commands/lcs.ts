/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] (Redis 7 t_string.c).
 * The dynamic-programming table has (len1+1)·(len2+1) 32-bit cells; it is
 * refused when its size exceeds maxBulkBytes (IrisDB's proto-max-bulk-len),
 * so one command cannot allocate without bound or stall the event loop long.
 */
import { Errors, bulk, error, integer, array, map, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName, parseInt64Big } from './args.js';
import { lookupRead } from './lookup.js';

export interface LcsMatch {
  readonly a: readonly [number, number];
  readonly b: readonly [number, number];
  readonly len: number;
}

/** The LCS string and its matching ranges, walked back from the end exactly as Redis does. */
export function lcs(a: Buffer, b: Buffer): { text: Buffer; matches: LcsMatch[] } {
  const alen = a.length;
  const blen = b.length;
  const w = blen + 1;
  const dp = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      dp[i * w + j] = a[i - 1] === b[j - 1] ? dp[(i - 1) * w + j - 1]! + 1 : Math.max(dp[(i - 1) * w + j]!, dp[i * w + j - 1]!);
    }
  }
  let idx = dp[alen * w + blen]!;
  const text = Buffer.alloc(idx);
  const matches: LcsMatch[] = [];
  let i = alen;
  let j = blen;
  let as = alen; // alen: no range open
  let ae = 0;
  let bs = 0;
  let be = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      text[idx - 1] = a[i - 1]!;
      if (as === alen) {
        as = ae = i - 1;
        bs = be = j - 1;
      } else if (as === i && bs === j) {
        as--;
        bs--;
      } else {
        emit = true;
      }
      if (as === 0 || bs === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (dp[(i - 1) * w + j]! > dp[i * w + j - 1]!) i--;
      else j--;
      if (as !== alen) emit = true;
    }
    if (emit) {
      matches.push({ a: [as, ae], b: [bs, be], len: ae - as + 1 });
      as = alen;
    }
  }
  return { text, matches };
}

function lcsCommand(ctx: CommandContext, argv: Buffer[]): Reply {
  const a = lookupRead(ctx, argv[1]!)?.value ?? Buffer.alloc(0);
  const b = lookupRead(ctx, argv[2]!)?.value ?? Buffer.alloc(0);
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0n;
  for (let j = 3; j < argv.length; j++) {
    const opt = optionName(argv[j]!);
    if (opt === 'idx') getIdx = true;
    else if (opt === 'len') getLen = true;
    else if (opt === 'withmatchlen') withMatchLen = true;
    else if (opt === 'minmatchlen' && j < argv.length - 1) {
      const n = parseInt64Big(argv[j + 1]!);
      if (n === null) return Errors.notInteger();
      minMatchLen = n < 0n ? 0n : n;
      j++;
    } else {
      return Errors.syntax();
    }
  }
  if (getIdx && getLen) return error('ERR If you want both the length and indexes, please just use IDX.');
  if ((a.length + 1) * (b.length + 1) * 4 > ctx.server.config.maxBulkBytes) {
    return error('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  const r = lcs(a, b);
  if (getLen) return integer(r.text.length);
  if (!getIdx) return bulk(r.text);
  const items = r.matches
    .filter((m) => minMatchLen === 0n || BigInt(m.len) >= minMatchLen)
    .map((m) => array([
      array([integer(m.a[0]), integer(m.a[1])]),
      array([integer(m.b[0]), integer(m.b[1])]),
      ...(withMatchLen ? [integer(m.len)] : []),
    ]));
  return map([[bulk('matches'), array(items)], [bulk('len'), integer(r.text.length)]]);
}

export const lcsCommands: readonly CommandSpec[] = [defineCommand('lcs', lcsCommand)];
