/**
 * The Pub/Sub settings: the hub's options from NodeConfig, and the CONFIG
 * GET/SET parameters notify-keyspace-events and client-output-buffer-limit
 * (its pubsub class), with Redis's value syntax and error texts. CONFIG SET
 * changes last until restart, as for the slow log.
 */
import { performance } from 'node:perf_hooks';
import type { NodeConfig } from '../config/schema.js';
import type { ClientState, ServerContext } from '../commands/types.js';
import type { PubSubHubOptions } from './hub.js';
import { parseBytes } from '../config/load.js';
import { INVALID_EVENT_CLASS, formatKeyspaceEventFlags, parseKeyspaceEventFlags } from './keyspace-flags.js';

export function pubsubHubOptions(config: NodeConfig, onLimitDisconnect: (c: ClientState, bytes: number) => void): PubSubHubOptions & { notifyFlags: number } {
  return {
    limit: {
      hardBytes: config.pubsubOutputBufferHardBytes,
      softBytes: config.pubsubOutputBufferSoftBytes,
      softSeconds: config.pubsubOutputBufferSoftSeconds,
    },
    notifyFlags: parseKeyspaceEventFlags(config.notifyKeyspaceEvents) ?? 0,
    onLimitDisconnect: (s, bytes) => onLimitDisconnect(s as ClientState, bytes),
    now: () => performance.now(),
  };
}

/** A CONFIG SET parameter: prepare() validates and returns the change to apply, or Redis's complaint. */
export interface PubSubConfigParameter {
  get(server: ServerContext): string;
  prepare(server: ServerContext, value: Buffer): (() => void) | string;
}

function outputBufferLimit(server: ServerContext): string {
  const l = server.pubsub?.limit;
  const pubsub = l === undefined ? '0 0 0' : `${l.hardBytes} ${l.softBytes} ${l.softSeconds}`;
  return `normal ${server.config.maxOutputBufferBytes} 0 0 slave 0 0 0 pubsub ${pubsub}`;
}

function prepareOutputBufferLimit(server: ServerContext, value: Buffer): (() => void) | string {
  const words = value.toString('latin1').split(' ').filter((w) => w !== '');
  if (words.length % 4 !== 0) return 'Wrong number of arguments in buffer limit configuration.';
  const changes: Array<[number, number, number]> = [];
  for (let i = 0; i < words.length; i += 4) {
    const cls = words[i]!.toLowerCase();
    if (cls !== 'pubsub' && cls !== 'normal' && cls !== 'slave' && cls !== 'replica') {
      return 'Invalid client class specified in buffer limit configuration.';
    }
    // The settings' byte syntax: Redis's k/kb/m/mb/g/gb units and more.
    const hard = parseBytes(words[i + 1]!);
    const soft = parseBytes(words[i + 2]!);
    const secs = /^\d+$/.test(words[i + 3]!) ? Number(words[i + 3]) : null;
    if (hard === null || soft === null || secs === null) return 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';
    if (cls !== 'pubsub') return `IrisDB sets only the pubsub class here; normal clients are bounded by maxOutputBufferBytes and replicas use the cluster bus`;
    changes.push([hard, soft, secs]);
  }
  return () => {
    const limit = server.pubsub?.limit;
    if (limit === undefined) return;
    for (const [hard, soft, secs] of changes) {
      limit.hardBytes = hard;
      limit.softBytes = soft;
      limit.softSeconds = secs;
    }
  };
}

export const PUBSUB_CONFIG_PARAMETERS: ReadonlyMap<string, PubSubConfigParameter> = new Map<string, PubSubConfigParameter>([
  ['notify-keyspace-events', {
    get: (s) => formatKeyspaceEventFlags(s.pubsub?.notifyFlags ?? 0),
    prepare: (s, value) => {
      const flags = parseKeyspaceEventFlags(value.toString('latin1'));
      if (flags === null) return INVALID_EVENT_CLASS;
      return () => {
        if (s.pubsub !== undefined) s.pubsub.notifyFlags = flags;
      };
    },
  }],
  ['client-output-buffer-limit', { get: outputBufferLimit, prepare: prepareOutputBufferLimit }],
]);
