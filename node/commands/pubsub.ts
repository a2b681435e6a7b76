/**
 * SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH,
 * SPUBLISH and PUBSUB, with Redis 7.0's replies: one confirmation push per
 * channel ([kind, name, count]), a nil name when there was nothing to
 * unsubscribe from. The subscriptions live in the server context's hub
 * (node/pubsub/hub.ts); SSUBSCRIBE/SPUBLISH are routed by the channel's
 * slot like keys (their key positions come from the metadata).
 */
import { array, bulk, error, integer, sequence, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { helpReply } from './client.js';
import { confirmation, type PubSubHub } from '../pubsub/hub.js';
import type { ClientState } from './types.js';
import type { SubscriptionKind } from '../pubsub/registry.js';

const NO_PUBSUB = error('ERR Pub/Sub is not available on this connection');

function hubOf(ctx: CommandContext): PubSubHub<ClientState> | null {
  const hub = ctx.server.pubsub;
  return hub === undefined || ctx.client.deliverPush === undefined ? null : hub;
}

function countFor(hub: PubSubHub<ClientState>, kind: SubscriptionKind, client: ClientState): number {
  return kind === 'shard' ? hub.registry.shardSubscriptionCount(client) : hub.registry.subscriptionCount(client);
}

function subscribeCommand(kind: SubscriptionKind, replyName: string) {
  return (ctx: CommandContext, argv: Buffer[]): Reply => {
    const hub = hubOf(ctx);
    if (hub === null) return NO_PUBSUB;
    const replies: Reply[] = [];
    for (let i = 1; i < argv.length; i++) {
      hub.registry.subscribe(kind, ctx.client, argv[i]!);
      replies.push(confirmation(replyName, argv[i]!, countFor(hub, kind, ctx.client)));
    }
    return sequence(replies);
  };
}

function unsubscribeCommand(kind: SubscriptionKind, replyName: string) {
  return (ctx: CommandContext, argv: Buffer[]): Reply => {
    const hub = hubOf(ctx);
    if (hub === null) return NO_PUBSUB;
    const names = argv.length > 1 ? argv.slice(1) : hub.registry.namesOf(kind, ctx.client);
    if (names.length === 0) return confirmation(replyName, null, countFor(hub, kind, ctx.client));
    const replies: Reply[] = [];
    for (const name of names) {
      hub.registry.unsubscribe(kind, ctx.client, name);
      replies.push(confirmation(replyName, name, countFor(hub, kind, ctx.client)));
    }
    return sequence(replies);
  };
}

function publish(ctx: CommandContext, argv: Buffer[]): Reply {
  return integer(ctx.server.pubsub?.publish(argv[1]!, argv[2]!) ?? 0);
}

function spublish(ctx: CommandContext, argv: Buffer[]): Reply {
  return integer(ctx.server.pubsub?.spublish(argv[1]!, argv[2]!) ?? 0);
}

const wrongArgs = (sub: string): Reply =>
  error(`ERR unknown subcommand or wrong number of arguments for '${sub}'. Try PUBSUB HELP.`);

function channelsOf(kind: 'channel' | 'shard') {
  return (ctx: CommandContext, argv: Buffer[]): Reply => {
    // Redis names the subcommand as the client spelled it.
    if (argv.length > 3) return wrongArgs(argv[1]!.toString('latin1'));
    const names = ctx.server.pubsub?.registry.activeNames(kind, argv.length === 3 ? argv[2]! : null) ?? [];
    return array(names.map((n) => bulk(n)));
  };
}

function numsubOf(kind: 'channel' | 'shard') {
  return (ctx: CommandContext, argv: Buffer[]): Reply => {
    const items: Reply[] = [];
    for (let i = 2; i < argv.length; i++) {
      items.push(bulk(argv[i]!), integer(ctx.server.pubsub?.registry.subscriberCount(kind, argv[i]!) ?? 0));
    }
    return array(items);
  };
}

const HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

export const pubsubCommands: readonly CommandSpec[] = [
  defineCommand('subscribe', subscribeCommand('channel', 'subscribe')),
  defineCommand('unsubscribe', unsubscribeCommand('channel', 'unsubscribe')),
  defineCommand('psubscribe', subscribeCommand('pattern', 'psubscribe')),
  defineCommand('punsubscribe', unsubscribeCommand('pattern', 'punsubscribe')),
  defineCommand('ssubscribe', subscribeCommand('shard', 'ssubscribe')),
  defineCommand('sunsubscribe', unsubscribeCommand('shard', 'sunsubscribe')),
  defineCommand('publish', publish),
  defineCommand('spublish', spublish),
  defineCommand('pubsub', undefined, [
    defineCommand('pubsub|channels', channelsOf('channel')),
    defineCommand('pubsub|numsub', numsubOf('channel')),
    defineCommand('pubsub|numpat', (ctx) => integer(ctx.server.pubsub?.kindCount('pattern') ?? 0)),
    defineCommand('pubsub|shardchannels', channelsOf('shard')),
    defineCommand('pubsub|shardnumsub', numsubOf('shard')),
    defineCommand('pubsub|help', () => helpReply(HELP)),
  ]),
];

/** Commands a RESP2 client in subscribed mode may run (Redis's processCommand list). */
export const SUBSCRIBED_MODE_COMMANDS: ReadonlySet<string> = new Set([
  'ping', 'subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'quit', 'reset',
]);

/** Redis's refusal of any other command in RESP2 subscribed mode. */
export function subscribedModeError(fullname: string): string {
  return `ERR Can't execute '${fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
}
