/**
 * ROLE in Redis 7's reply shape, built from the replication INFO fields (the
 * one place that already says what Redis would):
 *   primary: ["master", offset, [[ip, port, offset], ...]] (online replicas; ip, port, offset as bulk strings)
 *   replica: ["slave", primary ip, primary port, state, offset] (offset -1 while the link is down)
 * A node without replication (unit tests) is a primary without replicas.
 */
import { array, bulk, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';

type Fields = ReadonlyArray<readonly [string, string | number]>;

/** The ROLE reply for INFO replication fields. Pure. */
export function roleFromInfo(fields: Fields, fallbackOffset: number): Reply {
  const f = new Map(fields.map(([k, v]) => [k, String(v)]));
  const num = (k: string, dflt: number) => {
    const n = Number(f.get(k));
    return Number.isFinite(n) ? n : dflt;
  };
  if (f.get('role') === 'slave') {
    const up = f.get('master_link_status') === 'up';
    const syncing = f.get('master_sync_in_progress') === '1';
    // Redis's replica states: connect (waiting to reconnect), sync (loading a full copy), connected.
    const state = syncing ? 'sync' : up ? 'connected' : 'connect';
    return array([
      bulk('slave'), bulk(f.get('master_host') ?? ''), integer(num('master_port', 0)), bulk(state),
      integer(up || syncing ? num('slave_repl_offset', -1) : -1),
    ]);
  }
  const replicas: Reply[] = [];
  for (const [k, v] of fields) {
    if (!/^slave\d+$/.test(k)) continue;
    const kv = new Map(String(v).split(',').map((p) => p.split('=') as [string, string]));
    if (kv.get('state') !== 'online') continue; // Redis lists only online replicas
    replicas.push(array([bulk(kv.get('ip') ?? ''), bulk(kv.get('port') ?? '0'), bulk(kv.get('offset') ?? '0')]));
  }
  return array([bulk('master'), integer(num('master_repl_offset', fallbackOffset)), array(replicas)]);
}

function role(ctx: CommandContext): Reply {
  const offset = ctx.server.engineStats().lastSeq;
  return roleFromInfo(ctx.server.replication?.infoFields() ?? [['role', 'master'], ['master_repl_offset', offset]], offset);
}

export const roleCommands: readonly CommandSpec[] = [defineCommand('role', role)];
