/**
 * CONFIG GET over the Redis parameters that have an IrisDB meaning, mapped
 * from NodeConfig. CONFIG SET is refused: settings come from flags, IRIS_*
 * variables or the config file (see docs/compatibility.md).
 */
import { OK, bulk, error, map, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec, ServerContext } from './types.js';
import { defineCommand } from './meta.js';
import { globMatch } from './glob.js';
import { helpReply } from './client.js';

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
];

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
  '    Not supported: IrisDB is configured by flags, IRIS_* variables or its config file.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command (accepted, no effect).',
  'HELP',
  '    Prints this help.',
];

const NOT_SUPPORTED = (what: string): Reply => error(
  `ERR CONFIG ${what} is not supported: IrisDB settings are changed through its flags, `
  + 'IRIS_* environment variables or config file, and take effect on restart');

export const configCommand: CommandSpec = defineCommand('config', undefined, [
  defineCommand('config|get', configGet),
  defineCommand('config|set', () => NOT_SUPPORTED('SET')),
  defineCommand('config|rewrite', () => NOT_SUPPORTED('REWRITE')),
  defineCommand('config|resetstat', () => OK),
  defineCommand('config|help', () => helpReply(HELP)),
]);
