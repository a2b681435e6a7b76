/** CLUSTER INFO/SLOTS/SHARDS/NODES/MYID/KEYSLOT/COUNTKEYSINSLOT/GETKEYSINSLOT/HELP, READONLY, READWRITE, ASKING. */
import { isIP } from 'node:net';
import { OK, Errors, array, bulk, error, integer, map, verbatim, type Reply } from '../resp/reply.js';
import { SLOT_COUNT, keySlot } from '../../common/slot.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { parseInt64 } from './args.js';
import { helpReply } from './client.js';
import { clusterView, myNodeId, type ClusterNodeView, type ClusterView } from './cluster-view.js';
import { readableKeys } from '../acl/enforce.js';
import { clientPort } from '../cluster/routing.js';

export function clusterInfoText(view: ClusterView): string {
  let assigned = 0;
  const nodes = new Set<string>();
  for (const shard of view.shards) {
    for (const [a, b] of shard.slots) assigned += b - a + 1;
    for (const n of shard.nodes) nodes.add(n.id);
  }
  const size = view.shards.filter((s) => s.slots.length > 0).length;
  const fields: Array<[string, string | number]> = [
    ['cluster_state', view.state],
    ['cluster_slots_assigned', assigned],
    ['cluster_slots_ok', assigned],
    ['cluster_slots_pfail', 0],
    ['cluster_slots_fail', 0],
    ['cluster_known_nodes', nodes.size],
    ['cluster_size', size],
    ['cluster_current_epoch', view.currentEpoch],
    ['cluster_my_epoch', view.myEpoch],
    ['cluster_stats_messages_sent', 0],
    ['cluster_stats_messages_received', 0],
    ['total_cluster_links_buffer_limit_exceeded', 0],
  ];
  return fields.map(([k, v]) => `${k}:${v}\r\n`).join('');
}

/** A TLS client is told a node's TLS port, a plain one its plain port (Redis with tls-cluster and both ports). */
function nodeEntry(n: ClusterNodeView, tls: boolean): Reply {
  return array([bulk(n.host), integer(clientPort(n, tls)), bulk(n.id), map([])]);
}

function slots(ctx: CommandContext): Reply {
  const out: Reply[] = [];
  for (const shard of clusterView(ctx.server).shards) {
    for (const [a, b] of shard.slots) out.push(array([integer(a), integer(b), ...shard.nodes.map((n) => nodeEntry(n, ctx.client.tls === true))]));
  }
  return array(out);
}

function shards(ctx: CommandContext): Reply {
  return array(clusterView(ctx.server).shards.map((shard) => map([
    [bulk('slots'), array(shard.slots.flatMap(([a, b]) => [integer(a), integer(b)]))],
    [bulk('nodes'), array(shard.nodes.map((n) => map([
      [bulk('id'), bulk(n.id)],
      // Redis 7 lists both ports of a node that has both, whatever the client's connection, and a TLS-only node's as "tls-port" alone.
      ...(n.tlsOnly === true ? [] : [[bulk('port'), integer(n.port)] as [Reply, Reply]]),
      ...(n.tlsOnly === true ? [[bulk('tls-port'), integer(n.port)] as [Reply, Reply]] : []),
      ...(n.tlsPort === undefined ? [] : [[bulk('tls-port'), integer(n.tlsPort)] as [Reply, Reply]]),
      [bulk('ip'), bulk(n.host)],
      [bulk('endpoint'), bulk(n.host)],
      // Redis 7 adds "hostname" when the node announces one; ours is a name when it is not an IP literal.
      ...(isIP(n.host) === 0 ? [[bulk('hostname'), bulk(n.host)] as [Reply, Reply]] : []),
      [bulk('role'), bulk(n.role)],
      [bulk('replication-offset'), integer(n.replicationOffset)],
      [bulk('health'), bulk(n.health)],
    ])))],
  ])));
}

/** CLUSTER NODES: "<id> <ip:port@cport> <flags> <primary> <ping> <pong> <epoch> <link> <slots...>\n" per node. */
export function clusterNodesText(view: ClusterView, tls = false): string {
  let out = '';
  for (const shard of view.shards) {
    const ranges = shard.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    for (const n of shard.nodes) {
      const flags = (n.myself ? 'myself,' : '') + (n.role === 'master' ? 'master' : 'slave');
      const line = [n.id, `${n.host}:${clientPort(n, tls)}@${n.busPort}`, flags, n.primaryId ?? '-', '0', '0',
        String(n.configEpoch), 'connected', ...(n.role === 'master' ? ranges : [])];
      out += line.join(' ') + '\n';
    }
  }
  return out;
}

function countkeysinslot(ctx: CommandContext, argv: Buffer[]): Reply {
  const slot = parseInt64(argv[2]!);
  if (slot === null) return Errors.notInteger();
  if (slot < 0 || slot >= SLOT_COUNT) return error('ERR Invalid slot');
  const readable = readableKeys(ctx.server, ctx.client);
  if (readable === null) return integer(ctx.server.keyspace.countInSlot(Number(slot), ctx.now));
  // A user limited to key patterns counts only the keys it may read (O(keys in the slot)).
  return integer(ctx.server.keyspace.keysInSlot(Number(slot), Number.MAX_SAFE_INTEGER, ctx.now).filter(readable).length);
}

function getkeysinslot(ctx: CommandContext, argv: Buffer[]): Reply {
  const slot = parseInt64(argv[2]!);
  if (slot === null) return Errors.notInteger();
  const count = parseInt64(argv[3]!);
  if (count === null) return Errors.notInteger();
  if (slot < 0 || slot >= SLOT_COUNT || count < 0) return error('ERR Invalid slot or number of keys');
  const readable = readableKeys(ctx.server, ctx.client);
  // A user limited to key patterns gets only the keys it may read (at most `count` of them).
  const keys = readable === null
    ? ctx.server.keyspace.keysInSlot(Number(slot), Math.min(Number(count), Number.MAX_SAFE_INTEGER), ctx.now)
    : ctx.server.keyspace.keysInSlot(Number(slot), Number.MAX_SAFE_INTEGER, ctx.now).filter(readable).slice(0, Number(count));
  return array(keys.map((k) => bulk(k)));
}

const HELP = [
  'CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'COUNTKEYSINSLOT <slot>',
  '    Return the number of keys in <slot>.',
  'GETKEYSINSLOT <slot> <count>',
  '    Return key names stored by current node in a slot.',
  'INFO',
  '    Return information about the cluster.',
  'KEYSLOT <key>',
  '    Return the hash slot for <key>.',
  'MYID',
  '    Return the node id.',
  'NODES',
  '    Return cluster configuration seen by node. Output format:',
  '    <id> <ip:port@bus-port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...',
  'SHARDS',
  '    Return information about slot range mappings and the nodes associated with them.',
  'SLOTS',
  '    Return information about slots range mappings. Each range is made of:',
  '    start, end, master and replicas IP addresses, ports and ids',
  'HELP',
  '    Prints this help.',
];

export const clusterCommands: readonly CommandSpec[] = [
  defineCommand('cluster', undefined, [
    defineCommand('cluster|info', (ctx) => verbatim(clusterInfoText(clusterView(ctx.server)))),
    defineCommand('cluster|slots', slots),
    defineCommand('cluster|shards', shards),
    defineCommand('cluster|nodes', (ctx) => verbatim(clusterNodesText(clusterView(ctx.server), ctx.client.tls === true))),
    defineCommand('cluster|myid', (ctx) => bulk(myNodeId(ctx.server))),
    defineCommand('cluster|keyslot', (ctx, argv) => integer(keySlot(argv[2]!))),
    defineCommand('cluster|countkeysinslot', countkeysinslot),
    defineCommand('cluster|getkeysinslot', getkeysinslot),
    defineCommand('cluster|help', () => helpReply(HELP)),
  ]),
  defineCommand('readonly', (ctx) => { ctx.client.readonly_ = true; return OK; }),
  defineCommand('readwrite', (ctx) => { ctx.client.readonly_ = false; return OK; }),
  defineCommand('asking', (ctx) => { ctx.client.asking = true; return OK; }),
];
