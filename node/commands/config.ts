/**
 * CONFIG GET over the Redis parameters that have an IrisDB meaning, mapped
 * from NodeConfig. CONFIG SET changes only the run-time settings of the slow
 * log and latency monitor (RUNTIME_PARAMETERS, until restart); any other
 * parameter is refused: settings come from flags, IRIS_* variables or the
 * config file (see docs/compatibility.md).
 */
import { OK, bulk, error, map, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec, ServerContext } from './types.js';
import { defineCommand } from './meta.js';
import { globMatch } from './glob.js';
import { helpReply } from './client.js';
import { parseInt64 } from './args.js';
import { SETTINGS } from '../config/schema.js';
import { PUBSUB_CONFIG_PARAMETERS } from '../pubsub/config.js';

type Getter = (server: ServerContext) => string;

/** Redis parameter name -> value, in the order CONFIG GET * lists them. */
export const CONFIG_PARAMETERS: ReadonlyArray<readonly [string, Getter]> = [
  ['bind', (s) => s.config.bind],
  ['port', (s) => String(s.respPort)],
  ['cluster-enabled', () => 'yes'],
  ['cluster-port', (s) => String(s.config.busPort)],
  ['cluster-announce-ip', (s) => s.config.announceHost],
  ['cluster-announce-port', (s) => String(s.config.announcePort)],
  ['databases', () => '1'],
  ['maxclients', (s) => String(s.config.maxClients)],
  ['timeout', () => '0'],
  ['appendonly', () => 'yes'],
  ['appendfsync', (s) => (s.config.fsync === 'always' ? 'always' : 'everysec')],
  ['save', () => ''],
  ['dir', (s) => s.config.dataDir],
  ['proto-max-bulk-len', (s) => String(s.config.maxBulkBytes)],
  ['client-query-buffer-limit', (s) => String(s.config.maxQueryBufferBytes)],
  ['maxmemory', () => '0'],
  ['maxmemory-policy', () => 'noeviction'],
  ['slowlog-log-slower-than', (s) => String(s.slowlog.slowerThanUs)],
  ['slowlog-max-len', (s) => String(s.slowlog.maxLen)],
  ['latency-monitor-threshold', (s) => String(s.latency.thresholdMs)],
  ...[...PUBSUB_CONFIG_PARAMETERS].map(([name, p]): [string, Getter] => [name, p.get]),
];

interface RuntimeParameter {
  /** The NodeConfig setting it starts from (its bounds apply to CONFIG SET too). */
  readonly setting: 'slowlogLogSlowerThan' | 'slowlogMaxLen' | 'latencyMonitorThreshold';
  readonly set: (server: ServerContext, value: number) => void;
}

/** Parameters CONFIG SET changes at run time (lost on restart: the node's settings apply again). */
const RUNTIME_PARAMETERS: ReadonlyMap<string, RuntimeParameter> = new Map<string, RuntimeParameter>([
  ['slowlog-log-slower-than', { setting: 'slowlogLogSlowerThan', set: (s, v) => { s.slowlog.slowerThanUs = v; } }],
  ['slowlog-max-len', { setting: 'slowlogMaxLen', set: (s, v) => { s.slowlog.maxLen = v; } }],
  ['latency-monitor-threshold', { setting: 'latencyMonitorThreshold', set: (s, v) => { s.latency.thresholdMs = v; } }],
]);

function bounds(setting: RuntimeParameter['setting']): { min: number; max: number } {
  const def = SETTINGS.find((d) => d.key === setting);
  return { min: def?.min ?? 0, max: def?.max ?? Number.MAX_SAFE_INTEGER };
}

/** CONFIG SET name value [name value ...]: all pairs are checked before any is applied, as Redis does. */
function configSet(ctx: CommandContext, argv: Buffer[]): Reply {
  if (argv.length % 2 !== 0) return error('ERR syntax error');
  const changes: Array<[RuntimeParameter, number]> = [];
  const seen = new Set<string>();
  const deferred: Array<() => void> = [];
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i]!.toString('latin1').toLowerCase();
    const special = PUBSUB_CONFIG_PARAMETERS.get(name);
    if (special !== undefined) {
      const why = seen.has(name) ? 'duplicate parameter' : special.prepare(ctx.server, argv[i + 1]!);
      if (typeof why === 'string') return error(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
      seen.add(name);
      deferred.push(why);
      continue;
    }
    const param = RUNTIME_PARAMETERS.get(name);
    if (param === undefined) {
      if (CONFIG_PARAMETERS.some(([n]) => n === name)) return NOT_SUPPORTED('SET');
      return error(`ERR Unknown option or number of arguments for CONFIG SET - '${argv[i]!.toString('latin1')}'`);
    }
    const failed = (why: string): Reply => error(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
    if (seen.has(name)) return failed('duplicate parameter');
    seen.add(name);
    const v = parseInt64(argv[i + 1]!);
    if (v === null) return failed("argument couldn't be parsed into an integer");
    const { min, max } = bounds(param.setting);
    if (typeof v === 'bigint' || v < min || v > max) return failed(`argument must be between ${min} and ${max} inclusive`);
    changes.push([param, v]);
  }
  for (const [param, v] of changes) param.set(ctx.server, v);
  for (const apply of deferred) apply();
  return OK;
}

function configGet(ctx: CommandContext, argv: Buffer[]): Reply {
  const matches = new Map<string, string>();
  for (let i = 2; i < argv.length; i++) {
    const pattern = argv[i]!;
    const text = pattern.toString('latin1');
    if (!/[[*?]/.test(text)) {
      // An exact name is answered under the name as given (as Redis does).
      const lower = text.toLowerCase();
      const found = CONFIG_PARAMETERS.find(([name]) => name === lower);
      if (found !== undefined && ![...matches.keys()].some((k) => k.toLowerCase() === lower)) {
        matches.set(text, found[1](ctx.server));
      }
      continue;
    }
    for (const [name, get] of CONFIG_PARAMETERS) {
      if (matches.has(name)) continue;
      if (globMatch(pattern, Buffer.from(name, 'latin1'), true)) matches.set(name, get(ctx.server));
    }
  }
  return map([...matches].map(([k, v]): [Reply, Reply] => [bulk(k), bulk(v)]));
}

const HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set slowlog-log-slower-than, slowlog-max-len or latency-monitor-threshold until restart;',
  '    anything else is configured by flags, IRIS_* variables or the config file.',
  'RESETSTAT',
  '    Reset the commandstats and latencystats reported by the INFO command.',
  'HELP',
  '    Prints this help.',
];

const NOT_SUPPORTED = (what: string): Reply => error(
  `ERR CONFIG ${what} is not supported: IrisDB settings are changed through its flags, `
  + 'IRIS_* environment variables or config file, and take effect on restart');

export const configCommand: CommandSpec = defineCommand('config', undefined, [
  defineCommand('config|get', configGet),
  defineCommand('config|set', configSet),
  defineCommand('config|rewrite', () => NOT_SUPPORTED('REWRITE')),
  defineCommand('config|resetstat', (ctx) => {
    ctx.server.commandStats.reset();
    ctx.server.infoCounters.reset();
    return OK;
  }),
  defineCommand('config|help', () => helpReply(HELP)),
]);
