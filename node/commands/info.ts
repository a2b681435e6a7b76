/**
 * INFO: Redis's section layout ("# Section" headers, "key:value" lines,
 * CRLF, sections separated by a blank line), with the runtime's sections
 * (server.infoSections()) merged in: a runtime field replaces the command
 * layer's field of the same name, new fields and sections are added.
 */
import os from 'node:os';
import type { InfoSections, ServerContext } from './types.js';
import { REDIS_COMPAT_VERSION, serverMode } from './connection.js';

type Fields = Array<[string, string | number]>;

/** Section order of INFO all/everything in Redis 7.0; "default" leaves out NOT_DEFAULT. */
const ALL_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu',
  'modules', 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace'];
const NOT_DEFAULT = new Set(['commandstats', 'latencystats']);

const SECTION_TITLES: Record<string, string> = {
  server: 'Server', clients: 'Clients', memory: 'Memory', persistence: 'Persistence', stats: 'Stats',
  replication: 'Replication', cpu: 'CPU', modules: 'Modules', commandstats: 'Commandstats', errorstats: 'Errorstats',
  latencystats: 'Latencystats',
  cluster: 'Cluster', keyspace: 'Keyspace',
};

export function bytesToHuman(n: number): string {
  const units: Array<[number, string]> = [[1024 ** 5, 'P'], [1024 ** 4, 'T'], [1024 ** 3, 'G'], [1024 ** 2, 'M'], [1024, 'K']];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(2)}${unit}`;
  return `${n}B`;
}

function baseSections(server: ServerContext, now: number): Map<string, Fields> {
  const stats = server.infoCounters;
  const engine = server.engineStats();
  const clients = server.clients.list();
  let maxIn = 0;
  let maxOut = 0;
  for (const c of clients) {
    maxIn = Math.max(maxIn, c.queryBufferBytes());
    maxOut = Math.max(maxOut, c.outputBytes());
  }
  const uptime = Math.max(0, Math.floor((now - server.startedAt) / 1000));
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const sys = (cpu.system / 1e6).toFixed(6);
  const user = (cpu.user / 1e6).toFixed(6);
  const sections = new Map<string, Fields>([
    ['server', [
      ['redis_version', REDIS_COMPAT_VERSION], ['redis_git_sha1', '00000000'], ['redis_git_dirty', 0],
      ['redis_build_id', '0'], ['redis_mode', serverMode(server)], ['os', `${os.type()} ${os.release()} ${os.arch()}`],
      ['arch_bits', 64], ['multiplexing_api', 'epoll'], ['process_id', process.pid], ['process_supervised', 'no'],
      ['run_id', server.runId], ['tcp_port', server.respPort], ['server_time_usec', now * 1000],
      ['uptime_in_seconds', uptime], ['uptime_in_days', Math.floor(uptime / 86400)], ['hz', 10],
      ['configured_hz', 10], ['executable', process.execPath], ['config_file', server.config.configFile],
      ['io_threads_active', 0],
    ]],
    ['clients', [
      ['connected_clients', server.clients.count], ['cluster_connections', 0],
      ['maxclients', server.config.maxClients], ['client_recent_max_input_buffer', maxIn],
      ['client_recent_max_output_buffer', maxOut], ['blocked_clients', 0], ['tracking_clients', 0],
      ['clients_in_timeout_table', 0],
    ]],
    ['memory', [
      ['used_memory', mem.heapUsed + mem.external], ['used_memory_human', bytesToHuman(mem.heapUsed + mem.external)],
      ['used_memory_rss', mem.rss], ['used_memory_rss_human', bytesToHuman(mem.rss)],
      ['maxmemory', 0], ['maxmemory_human', '0B'], ['maxmemory_policy', 'noeviction'], ['mem_allocator', 'libc'],
    ]],
    ['persistence', [
      ['loading', 0], ['async_loading', 0], ['rdb_changes_since_last_save', 0], ['rdb_bgsave_in_progress', 0],
      ['rdb_last_save_time', Math.floor(server.startedAt / 1000)], ['rdb_last_bgsave_status', 'ok'],
      ['aof_enabled', 1], ['aof_rewrite_in_progress', 0], ['aof_last_write_status', 'ok'],
    ]],
    ['stats', [
      ['total_commands_processed', stats.commandsProcessed], ['instantaneous_ops_per_sec', 0],
      ['expired_keys', engine.expiredKeys], ['evicted_keys', 0],
      // Redis's meaning: keys found / not found by read commands (lookup.ts); the read cache's own are irisdb_read_cache_*.
      ['keyspace_hits', stats.keyspaceHits], ['keyspace_misses', stats.keyspaceMisses],
      ['pubsub_channels', server.pubsub?.kindCount('channel') ?? 0], ['pubsub_patterns', server.pubsub?.kindCount('pattern') ?? 0],
      ['pubsubshard_channels', server.pubsub?.kindCount('shard') ?? 0],
      ['client_output_buffer_limit_disconnections', server.pubsub?.outputLimitDisconnections ?? 0],
      ['total_error_replies', stats.errorReplies],
    ]],
    ['replication', server.replication?.infoFields() ?? [
      ['role', 'master'], ['connected_slaves', 0], ['master_failover_state', 'no-failover'],
      ['master_replid', server.runId], ['master_replid2', '0'.repeat(40)], ['master_repl_offset', engine.lastSeq],
      ['second_repl_offset', -1], ['repl_backlog_active', 0], ['repl_backlog_size', 0],
      ['repl_backlog_first_byte_offset', 0], ['repl_backlog_histlen', 0],
    ]],
    ['cpu', [
      ['used_cpu_sys', sys], ['used_cpu_user', user], ['used_cpu_sys_children', '0.000000'],
      ['used_cpu_user_children', '0.000000'], ['used_cpu_sys_main_thread', sys], ['used_cpu_user_main_thread', user],
    ]],
    ['modules', []],
    ['commandstats', server.commandStats.commandstats()],
    ['latencystats', server.commandStats.latencystats()],
    ['errorstats', [...stats.errorsByPrefix].map(([p, n]): [string, string] => [`errorstat_${p}`, `count=${n}`])],
    ['cluster', [['cluster_enabled', 1]]],
    ['keyspace', server.keyspace.size() > 0
      ? [['db0', `keys=${server.keyspace.size()},expires=${engine.keysWithExpiry},avg_ttl=0`]]
      : []],
  ]);
  return sections;
}

function merge(base: Map<string, Fields>, extra: InfoSections): { sections: Map<string, Fields>; order: string[] } {
  const order = [...ALL_SECTIONS];
  for (const [name, fields] of extra) {
    const key = name.toLowerCase();
    let target = base.get(key);
    if (target === undefined) {
      target = [];
      base.set(key, target);
      order.push(key);
    }
    for (const [k, v] of fields) {
      const at = target.findIndex(([name2]) => name2 === k);
      if (at === -1) target.push([k, v]);
      else target[at] = [k, v];
    }
  }
  return { sections: base, order };
}

/**
 * Which sections INFO [section ...] asks for (Redis: none = default, which
 * leaves out commandstats and latencystats; all/everything; names are case-insensitive).
 */
export function selectSections(args: readonly string[], order: readonly string[]): Set<string> {
  const defaults = order.filter((s) => !NOT_DEFAULT.has(s));
  if (args.length === 0) return new Set(defaults);
  const wanted = new Set<string>();
  for (const a of args.map((s) => s.toLowerCase())) {
    if (a === 'default') defaults.forEach((s) => wanted.add(s));
    else if (a === 'all' || a === 'everything') order.forEach((s) => wanted.add(s));
    else wanted.add(a);
  }
  return wanted;
}

function formatValue(v: string | number): string {
  return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v);
}

export function infoText(server: ServerContext, now: number, args: readonly string[]): string {
  const { sections, order } = merge(baseSections(server, now), server.infoSections());
  const wanted = selectSections(args, order);
  const parts: string[] = [];
  for (const name of order) {
    if (!wanted.has(name)) continue;
    const fields = sections.get(name) ?? [];
    const title = SECTION_TITLES[name] ?? name.charAt(0).toUpperCase() + name.slice(1);
    parts.push(`# ${title}\r\n` + fields.map(([k, v]) => `${k}:${formatValue(v)}\r\n`).join(''));
  }
  return parts.join('\r\n');
}
