/**
 * Redis 7.0's published metadata for every command IrisDB implements:
 * arity, flags, key positions, ACL categories, tips, key specs and the
 * COMMAND DOCS summary — as redis-server 7.0.15 reports them, so that
 * COMMAND INFO/DOCS answer like Redis and cluster-aware clients (which read
 * flags and key positions from COMMAND) route correctly. Keyed by full name
 * ("client|list"). Data only; defineCommand() turns an entry into a CommandSpec.
 */
import type { CommandFlag, CommandSpec, CommandContext, CommandResult } from './types.js';

export interface KeySpecMeta {
  readonly notes?: string;
  readonly flags: readonly string[];
  /** begin_search index (the first key's position). */
  readonly index: number;
  /** find_keys range: last key relative to the first (-1 = to the end), step and limit. */
  readonly lastkey: number;
  readonly keystep: number;
  readonly limit: number;
}

export interface CommandMeta {
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** firstKey, lastKey, step. */
  readonly keys: readonly [number, number, number];
  readonly acl: readonly string[];
  readonly tips: readonly string[];
  readonly keySpec: KeySpecMeta | null;
  readonly summary: string;
  readonly since: string;
  readonly group: string;
  readonly complexity: string | null;
}

export const COMMAND_META: Readonly<Record<string, CommandMeta>> = {
  "get": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["read","string","fast"],tips: [],keySpec: {flags: ["RO","access"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the value of a key",since: "1.0.0",group: "string",complexity: "O(1)"},
  "set": {arity: -3,flags: ["write","denyoom"],keys: [1,1,1],acl: ["write","string","slow"],tips: [],keySpec: {notes: "RW and ACCESS due to the optional `GET` argument",flags: ["RW","access","update","variable_flags"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the string value of a key",since: "1.0.0",group: "string",complexity: "O(1)"},
  "setnx": {arity: 3,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["OW","insert"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the value of a key, only if the key does not exist",since: "1.0.0",group: "string",complexity: "O(1)"},
  "setex": {arity: 4,flags: ["write","denyoom"],keys: [1,1,1],acl: ["write","string","slow"],tips: [],keySpec: {flags: ["OW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the value and expiration of a key",since: "2.0.0",group: "string",complexity: "O(1)"},
  "psetex": {arity: 4,flags: ["write","denyoom"],keys: [1,1,1],acl: ["write","string","slow"],tips: [],keySpec: {flags: ["OW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the value and expiration in milliseconds of a key",since: "2.6.0",group: "string",complexity: "O(1)"},
  "getset": {arity: 3,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the string value of a key and return its old value",since: "1.0.0",group: "string",complexity: "O(1)"},
  "getdel": {arity: 2,flags: ["write","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","delete"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the value of a key and delete the key",since: "6.2.0",group: "string",complexity: "O(1)"},
  "getex": {arity: -2,flags: ["write","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {notes: "RW and UPDATE because it changes the TTL",flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the value of a key and optionally set its expiration",since: "6.2.0",group: "string",complexity: "O(1)"},
  "append": {arity: 3,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","insert"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Append a value to a key",since: "2.0.0",group: "string",complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation."},
  "strlen": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["read","string","fast"],tips: [],keySpec: {flags: ["RO"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the length of the value stored in a key",since: "2.2.0",group: "string",complexity: "O(1)"},
  "incr": {arity: 2,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Increment the integer value of a key by one",since: "1.0.0",group: "string",complexity: "O(1)"},
  "decr": {arity: 2,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Decrement the integer value of a key by one",since: "1.0.0",group: "string",complexity: "O(1)"},
  "incrby": {arity: 3,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Increment the integer value of a key by the given amount",since: "1.0.0",group: "string",complexity: "O(1)"},
  "decrby": {arity: 3,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Decrement the integer value of a key by the given number",since: "1.0.0",group: "string",complexity: "O(1)"},
  "incrbyfloat": {arity: 3,flags: ["write","denyoom","fast"],keys: [1,1,1],acl: ["write","string","fast"],tips: [],keySpec: {flags: ["RW","access","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Increment the float value of a key by the given amount",since: "2.6.0",group: "string",complexity: "O(1)"},
  "mget": {arity: -2,flags: ["readonly","fast"],keys: [1,-1,1],acl: ["read","string","fast"],tips: ["request_policy:multi_shard"],keySpec: {flags: ["RO","access"],index: 1,lastkey: -1,keystep: 1,limit: 0},summary: "Get the values of all the given keys",since: "1.0.0",group: "string",complexity: "O(N) where N is the number of keys to retrieve."},
  "mset": {arity: -3,flags: ["write","denyoom"],keys: [1,-1,2],acl: ["write","string","slow"],tips: ["request_policy:multi_shard","response_policy:all_succeeded"],keySpec: {flags: ["OW","update"],index: 1,lastkey: -1,keystep: 2,limit: 0},summary: "Set multiple keys to multiple values",since: "1.0.1",group: "string",complexity: "O(N) where N is the number of keys to set."},
  "msetnx": {arity: -3,flags: ["write","denyoom"],keys: [1,-1,2],acl: ["write","string","slow"],tips: ["request_policy:multi_shard","response_policy:agg_min"],keySpec: {flags: ["OW","insert"],index: 1,lastkey: -1,keystep: 2,limit: 0},summary: "Set multiple keys to multiple values, only if none of the keys exist",since: "1.0.1",group: "string",complexity: "O(N) where N is the number of keys to set."},
  "del": {arity: -2,flags: ["write"],keys: [1,-1,1],acl: ["keyspace","write","slow"],tips: ["request_policy:multi_shard","response_policy:agg_sum"],keySpec: {flags: ["RM","delete"],index: 1,lastkey: -1,keystep: 1,limit: 0},summary: "Delete a key",since: "1.0.0",group: "generic",complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1)."},
  "unlink": {arity: -2,flags: ["write","fast"],keys: [1,-1,1],acl: ["keyspace","write","fast"],tips: ["request_policy:multi_shard","response_policy:agg_sum"],keySpec: {flags: ["RM","delete"],index: 1,lastkey: -1,keystep: 1,limit: 0},summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",since: "4.0.0",group: "generic",complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."},
  "exists": {arity: -2,flags: ["readonly","fast"],keys: [1,-1,1],acl: ["keyspace","read","fast"],tips: ["request_policy:multi_shard","response_policy:agg_sum"],keySpec: {flags: ["RO"],index: 1,lastkey: -1,keystep: 1,limit: 0},summary: "Determine if a key exists",since: "1.0.0",group: "generic",complexity: "O(N) where N is the number of keys to check."},
  "type": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["keyspace","read","fast"],tips: [],keySpec: {flags: ["RO"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Determine the type stored at key",since: "1.0.0",group: "generic",complexity: "O(1)"},
  "expire": {arity: -3,flags: ["write","fast"],keys: [1,1,1],acl: ["keyspace","write","fast"],tips: [],keySpec: {flags: ["RW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set a key's time to live in seconds",since: "1.0.0",group: "generic",complexity: "O(1)"},
  "pexpire": {arity: -3,flags: ["write","fast"],keys: [1,1,1],acl: ["keyspace","write","fast"],tips: [],keySpec: {flags: ["RW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set a key's time to live in milliseconds",since: "2.6.0",group: "generic",complexity: "O(1)"},
  "expireat": {arity: -3,flags: ["write","fast"],keys: [1,1,1],acl: ["keyspace","write","fast"],tips: [],keySpec: {flags: ["RW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the expiration for a key as a UNIX timestamp",since: "1.2.0",group: "generic",complexity: "O(1)"},
  "pexpireat": {arity: -3,flags: ["write","fast"],keys: [1,1,1],acl: ["keyspace","write","fast"],tips: [],keySpec: {flags: ["RW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",since: "2.6.0",group: "generic",complexity: "O(1)"},
  "expiretime": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["keyspace","read","fast"],tips: [],keySpec: {flags: ["RO","access"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the expiration Unix timestamp for a key",since: "7.0.0",group: "generic",complexity: "O(1)"},
  "pexpiretime": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["keyspace","read","fast"],tips: [],keySpec: {flags: ["RO","access"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the expiration Unix timestamp for a key in milliseconds",since: "7.0.0",group: "generic",complexity: "O(1)"},
  "ttl": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["keyspace","read","fast"],tips: ["nondeterministic_output"],keySpec: {flags: ["RO","access"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the time to live for a key in seconds",since: "1.0.0",group: "generic",complexity: "O(1)"},
  "pttl": {arity: 2,flags: ["readonly","fast"],keys: [1,1,1],acl: ["keyspace","read","fast"],tips: ["nondeterministic_output"],keySpec: {flags: ["RO","access"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Get the time to live for a key in milliseconds",since: "2.6.0",group: "generic",complexity: "O(1)"},
  "persist": {arity: 2,flags: ["write","fast"],keys: [1,1,1],acl: ["keyspace","write","fast"],tips: [],keySpec: {flags: ["RW","update"],index: 1,lastkey: 0,keystep: 1,limit: 0},summary: "Remove the expiration from a key",since: "2.2.0",group: "generic",complexity: "O(1)"},
  "scan": {arity: -2,flags: ["readonly"],keys: [0,0,0],acl: ["keyspace","read","slow"],tips: ["nondeterministic_output","request_policy:special"],keySpec: null,summary: "Incrementally iterate the keys space",since: "2.8.0",group: "generic",complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."},
  "keys": {arity: 2,flags: ["readonly"],keys: [0,0,0],acl: ["keyspace","read","slow","dangerous"],tips: ["request_policy:all_shards","nondeterministic_output_order"],keySpec: null,summary: "Find all keys matching the given pattern",since: "1.0.0",group: "generic",complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length."},
  "dbsize": {arity: 1,flags: ["readonly","fast"],keys: [0,0,0],acl: ["keyspace","read","fast"],tips: ["request_policy:all_shards","response_policy:agg_sum"],keySpec: null,summary: "Return the number of keys in the selected database",since: "1.0.0",group: "server",complexity: "O(1)"},
  "randomkey": {arity: 1,flags: ["readonly"],keys: [0,0,0],acl: ["keyspace","read","slow"],tips: ["request_policy:all_shards","nondeterministic_output"],keySpec: null,summary: "Return a random key from the keyspace",since: "1.0.0",group: "generic",complexity: "O(1)"},
  "flushdb": {arity: -1,flags: ["write"],keys: [0,0,0],acl: ["keyspace","write","slow","dangerous"],tips: ["request_policy:all_shards","response_policy:all_succeeded"],keySpec: null,summary: "Remove all keys from the current database",since: "1.0.0",group: "server",complexity: "O(N) where N is the number of keys in the selected database"},
  "flushall": {arity: -1,flags: ["write"],keys: [0,0,0],acl: ["keyspace","write","slow","dangerous"],tips: ["request_policy:all_shards","response_policy:all_succeeded"],keySpec: null,summary: "Remove all keys from all databases",since: "1.0.0",group: "server",complexity: "O(N) where N is the total number of keys in all databases"},
  "ping": {arity: -1,flags: ["fast"],keys: [0,0,0],acl: ["fast","connection"],tips: ["request_policy:all_shards","response_policy:all_succeeded"],keySpec: null,summary: "Ping the server",since: "1.0.0",group: "connection",complexity: "O(1)"},
  "echo": {arity: 2,flags: ["loading","stale","fast"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Echo the given string",since: "1.0.0",group: "connection",complexity: "O(1)"},
  "auth": {arity: -2,flags: ["noscript","loading","stale","fast","no_auth","allow_busy"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Authenticate to the server",since: "1.0.0",group: "connection",complexity: "O(N) where N is the number of passwords defined for the user"},
  "hello": {arity: -1,flags: ["noscript","loading","stale","fast","no_auth","allow_busy"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Handshake with Redis",since: "6.0.0",group: "connection",complexity: "O(1)"},
  "select": {arity: 2,flags: ["loading","stale","fast"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Change the selected database for the current connection",since: "1.0.0",group: "connection",complexity: "O(1)"},
  "client": {arity: -2,flags: [],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "A container for client connection commands",since: "2.4.0",group: "connection",complexity: "Depends on subcommand."},
  "client|setname": {arity: 3,flags: ["noscript","loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Set the current connection name",since: "2.6.9",group: "connection",complexity: "O(1)"},
  "client|getname": {arity: 2,flags: ["noscript","loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Get the current connection name",since: "2.6.9",group: "connection",complexity: "O(1)"},
  "client|id": {arity: 2,flags: ["noscript","loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Returns the client ID for the current connection",since: "5.0.0",group: "connection",complexity: "O(1)"},
  "client|list": {arity: -2,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous","connection"],tips: ["nondeterministic_output"],keySpec: null,summary: "Get the list of client connections",since: "2.4.0",group: "connection",complexity: "O(N) where N is the number of client connections"},
  "client|info": {arity: 2,flags: ["noscript","loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: ["nondeterministic_output"],keySpec: null,summary: "Returns information about the current client connection.",since: "6.2.0",group: "connection",complexity: "O(1)"},
  "client|kill": {arity: -3,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous","connection"],tips: [],keySpec: null,summary: "Kill the connection of a client",since: "2.4.0",group: "connection",complexity: "O(N) where N is the number of client connections"},
  "client|help": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Show helpful text about the different subcommands",since: "5.0.0",group: "connection",complexity: "O(1)"},
  "quit": {arity: -1,flags: ["noscript","loading","stale","fast","no_auth","allow_busy"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Close the connection",since: "1.0.0",group: "connection",complexity: "O(1)"},
  "reset": {arity: 1,flags: ["noscript","loading","stale","fast","no_auth","allow_busy"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Reset the connection",since: "6.2.0",group: "connection",complexity: "O(1)"},
  "info": {arity: -1,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","dangerous"],tips: ["nondeterministic_output","request_policy:all_shards","response_policy:special"],keySpec: null,summary: "Get information and statistics about the server",since: "1.0.0",group: "server",complexity: "O(1)"},
  "command": {arity: -1,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: ["nondeterministic_output_order"],keySpec: null,summary: "Get array of Redis command details",since: "2.8.13",group: "server",complexity: "O(N) where N is the total number of Redis commands"},
  "command|count": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Get total number of Redis commands",since: "2.8.13",group: "server",complexity: "O(1)"},
  "command|docs": {arity: -2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: ["nondeterministic_output_order"],keySpec: null,summary: "Get array of specific Redis command documentation",since: "7.0.0",group: "server",complexity: "O(N) where N is the number of commands to look up"},
  "command|info": {arity: -2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: ["nondeterministic_output_order"],keySpec: null,summary: "Get array of specific Redis command details, or all when no argument is given.",since: "2.8.13",group: "server",complexity: "O(N) where N is the number of commands to look up"},
  "command|list": {arity: -2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: ["nondeterministic_output_order"],keySpec: null,summary: "Get an array of Redis command names",since: "7.0.0",group: "server",complexity: "O(N) where N is the total number of Redis commands"},
  "command|getkeys": {arity: -4,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Extract keys given a full Redis command",since: "2.8.13",group: "server",complexity: "O(N) where N is the number of arguments to the command"},
  "command|help": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow","connection"],tips: [],keySpec: null,summary: "Show helpful text about the different subcommands",since: "5.0.0",group: "server",complexity: "O(1)"},
  "config": {arity: -2,flags: [],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "A container for server configuration commands",since: "2.0.0",group: "server",complexity: "Depends on subcommand."},
  "config|get": {arity: -3,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: [],keySpec: null,summary: "Get the values of configuration parameters",since: "2.0.0",group: "server",complexity: "O(N) when N is the number of configuration parameters provided"},
  "config|set": {arity: -4,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["request_policy:all_nodes","response_policy:all_succeeded"],keySpec: null,summary: "Set configuration parameters to the given values",since: "2.0.0",group: "server",complexity: "O(N) when N is the number of configuration parameters provided"},
  "config|resetstat": {arity: 2,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: [],keySpec: null,summary: "Reset the stats returned by INFO",since: "2.0.0",group: "server",complexity: "O(1)"},
  "config|rewrite": {arity: 2,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: [],keySpec: null,summary: "Rewrite the configuration file with the in memory configuration",since: "2.8.0",group: "server",complexity: "O(1)"},
  "config|help": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Show helpful text about the different subcommands",since: "5.0.0",group: "server",complexity: "O(1)"},
  "slowlog": {arity: -2,flags: [],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "A container for slow log commands",since: "2.2.12",group: "server",complexity: "Depends on subcommand."},
  "slowlog|get": {arity: -2,flags: ["admin","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["request_policy:all_nodes","nondeterministic_output"],keySpec: null,summary: "Get the slow log's entries",since: "2.2.12",group: "server",complexity: "O(N) where N is the number of entries returned"},
  "slowlog|len": {arity: 2,flags: ["admin","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["request_policy:all_nodes","response_policy:agg_sum","nondeterministic_output"],keySpec: null,summary: "Get the slow log's length",since: "2.2.12",group: "server",complexity: "O(1)"},
  "slowlog|reset": {arity: 2,flags: ["admin","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["request_policy:all_nodes","response_policy:all_succeeded"],keySpec: null,summary: "Clear all entries from the slow log",since: "2.2.12",group: "server",complexity: "O(N) where N is the number of entries in the slowlog"},
  "slowlog|help": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Show helpful text about the different subcommands",since: "6.2.0",group: "server",complexity: "O(1)"},
  "latency": {arity: -2,flags: [],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "A container for latency diagnostics commands",since: "2.8.13",group: "server",complexity: "Depends on subcommand."},
  "latency|latest": {arity: 2,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["nondeterministic_output","request_policy:all_nodes","response_policy:special"],keySpec: null,summary: "Return the latest latency samples for all events.",since: "2.8.13",group: "server",complexity: "O(1)"},
  "latency|history": {arity: 3,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["nondeterministic_output","request_policy:all_nodes","response_policy:special"],keySpec: null,summary: "Return timestamp-latency samples for the event.",since: "2.8.13",group: "server",complexity: "O(1)"},
  "latency|reset": {arity: -2,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["request_policy:all_nodes","response_policy:all_succeeded"],keySpec: null,summary: "Reset latency data for one or more events.",since: "2.8.13",group: "server",complexity: "O(1)"},
  "latency|doctor": {arity: 2,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["nondeterministic_output","request_policy:all_nodes","response_policy:special"],keySpec: null,summary: "Return a human readable latency analysis report.",since: "2.8.13",group: "server",complexity: "O(1)"},
  "latency|graph": {arity: 3,flags: ["admin","noscript","loading","stale"],keys: [0,0,0],acl: ["admin","slow","dangerous"],tips: ["nondeterministic_output","request_policy:all_nodes","response_policy:special"],keySpec: null,summary: "Return a latency graph for the event.",since: "2.8.13",group: "server",complexity: "O(1)"},
  "latency|help": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Show helpful text about the different subcommands.",since: "2.8.13",group: "server",complexity: "O(1)"},
  "time": {arity: 1,flags: ["loading","stale","fast"],keys: [0,0,0],acl: ["fast"],tips: ["nondeterministic_output"],keySpec: null,summary: "Return the current server time",since: "2.6.0",group: "server",complexity: "O(1)"},
  "wait": {arity: 3,flags: ["noscript"],keys: [0,0,0],acl: ["slow","connection"],tips: ["request_policy:all_shards","response_policy:agg_min"],keySpec: null,summary: "Wait for the synchronous replication of all the write commands sent in the context of the current connection",since: "3.0.0",group: "generic",complexity: "O(1)"},
  "cluster": {arity: -2,flags: [],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "A container for cluster commands",since: "3.0.0",group: "cluster",complexity: "Depends on subcommand."},
  "cluster|info": {arity: 2,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: ["nondeterministic_output"],keySpec: null,summary: "Provides info about Redis Cluster node state",since: "3.0.0",group: "cluster",complexity: "O(1)"},
  "cluster|slots": {arity: 2,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: ["nondeterministic_output"],keySpec: null,summary: "Get array of Cluster slot to node mappings",since: "3.0.0",group: "cluster",complexity: "O(N) where N is the total number of Cluster nodes"},
  "cluster|shards": {arity: 2,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: ["nondeterministic_output"],keySpec: null,summary: "Get array of cluster slots to node mappings",since: "7.0.0",group: "cluster",complexity: "O(N) where N is the total number of cluster nodes"},
  "cluster|nodes": {arity: 2,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: ["nondeterministic_output"],keySpec: null,summary: "Get Cluster config for the node",since: "3.0.0",group: "cluster",complexity: "O(N) where N is the total number of Cluster nodes"},
  "cluster|myid": {arity: 2,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Return the node id",since: "3.0.0",group: "cluster",complexity: "O(1)"},
  "cluster|keyslot": {arity: 3,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Returns the hash slot of the specified key",since: "3.0.0",group: "cluster",complexity: "O(N) where N is the number of bytes in the key"},
  "cluster|countkeysinslot": {arity: 3,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Return the number of local keys in the specified hash slot",since: "3.0.0",group: "cluster",complexity: "O(1)"},
  "cluster|getkeysinslot": {arity: 4,flags: ["stale"],keys: [0,0,0],acl: ["slow"],tips: ["nondeterministic_output"],keySpec: null,summary: "Return local key names in the specified hash slot",since: "3.0.0",group: "cluster",complexity: "O(log(N)) where N is the number of requested keys"},
  "cluster|help": {arity: 2,flags: ["loading","stale"],keys: [0,0,0],acl: ["slow"],tips: [],keySpec: null,summary: "Show helpful text about the different subcommands",since: "5.0.0",group: "cluster",complexity: "O(1)"},
  "role": {arity: 1,flags: ["noscript","loading","stale","fast"],keys: [0,0,0],acl: ["admin","fast","dangerous"],tips: [],keySpec: null,summary: "Return the role of the instance in the context of replication",since: "2.8.12",group: "server",complexity: "O(1)"},
  "readonly": {arity: 1,flags: ["loading","stale","fast"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Enables read queries for a connection to a cluster replica node",since: "3.0.0",group: "cluster",complexity: "O(1)"},
  "readwrite": {arity: 1,flags: ["loading","stale","fast"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Disables read queries for a connection to a cluster replica node",since: "3.0.0",group: "cluster",complexity: "O(1)"},
  "asking": {arity: 1,flags: ["fast"],keys: [0,0,0],acl: ["fast","connection"],tips: [],keySpec: null,summary: "Sent by cluster clients after an -ASK redirect",since: "3.0.0",group: "cluster",complexity: "O(1)"},
  "multi": {arity: 1,flags: ["noscript","loading","stale","fast","allow_busy"],keys: [0,0,0],acl: ["fast","transaction"],tips: [],keySpec: null,summary: "Mark the start of a transaction block",since: "1.2.0",group: "transactions",complexity: "O(1)"},
  "exec": {arity: 1,flags: ["noscript","loading","stale","skip_slowlog"],keys: [0,0,0],acl: ["slow","transaction"],tips: [],keySpec: null,summary: "Execute all commands issued after MULTI",since: "1.2.0",group: "transactions",complexity: "Depends on commands in the transaction"},
  "discard": {arity: 1,flags: ["noscript","loading","stale","fast","allow_busy"],keys: [0,0,0],acl: ["fast","transaction"],tips: [],keySpec: null,summary: "Discard all commands issued after MULTI",since: "2.0.0",group: "transactions",complexity: "O(N), when N is the number of queued commands"},
  "watch": {arity: -2,flags: ["noscript","loading","stale","fast","allow_busy"],keys: [1,-1,1],acl: ["fast","transaction"],tips: [],keySpec: {flags: ["RO"],index: 1,lastkey: -1,keystep: 1,limit: 0},summary: "Watch the given keys to determine execution of the MULTI/EXEC block",since: "2.2.0",group: "transactions",complexity: "O(1) for every key."},
  "unwatch": {arity: 1,flags: ["noscript","loading","stale","fast","allow_busy"],keys: [0,0,0],acl: ["fast","transaction"],tips: [],keySpec: null,summary: "Forget about all watched keys",since: "2.2.0",group: "transactions",complexity: "O(1)"},
};

export type Handler = (ctx: CommandContext, argv: Buffer[]) => CommandResult;

/** A CommandSpec for `fullname` ("get", "client|list") with Redis's metadata and the given handler. */
export function defineCommand(fullname: string, handler?: Handler, subcommands?: readonly CommandSpec[]): CommandSpec {
  const meta = COMMAND_META[fullname];
  if (meta === undefined) throw new Error(`no metadata for command '${fullname}'`);
  const bar = fullname.indexOf('|');
  return {
    name: bar === -1 ? fullname : fullname.slice(bar + 1),
    arity: meta.arity,
    flags: meta.flags,
    firstKey: meta.keys[0],
    lastKey: meta.keys[1],
    step: meta.keys[2],
    summary: meta.summary,
    group: meta.group,
    since: meta.since,
    ...(meta.complexity !== null ? { complexity: meta.complexity } : {}),
    ...(subcommands !== undefined ? { subcommands } : {}),
    ...(handler !== undefined ? { handler } : {}),
  };
}
