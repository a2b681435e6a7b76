/**
 * Every verb and flag irisctl knows, in one table: the parser builds its
 * node:util parseArgs options from it and --help prints it, so the two
 * cannot disagree. Pure.
 */
import { DEFAULT_SPEC } from '../core/spec.js';
import { TARGET_CREDENTIAL_FLAGS } from '../import/target-credentials.js';

export interface FlagDef {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** Placeholder in usage ("N", "DIR"); string flags only. */
  readonly value?: string;
  readonly help: string;
}

export interface VerbDef {
  /** "status", "local up". */
  readonly name: string;
  /** Positional synopsis ("SHARD"). */
  readonly args: string;
  readonly summary: string;
  readonly flags: readonly FlagDef[];
  /** Extra lines for `irisctl VERB --help`. */
  readonly notes?: readonly string[];
}

export const DEFAULT_DIR = '.irisdb';
export const DEFAULT_BASE_PORT = 7000;
export const DEFAULT_TIMEOUT = '30m';

const HELP: FlagDef = { name: 'help', type: 'boolean', help: 'show this help' };
const DIR: FlagDef = { name: 'dir', type: 'string', value: 'DIR', help: `the local cluster's directory (default ./${DEFAULT_DIR})` };
const URL_FLAG: FlagDef = { name: 'url', type: 'string', value: 'URL', help: "the controller's control API (default: read from DIR/local.json)" };
const TOKEN_FILE: FlagDef = { name: 'token-file', type: 'string', value: 'FILE', help: "the control API's token, needed with --url (default: DIR/token)" };
const TARGET = [DIR, URL_FLAG, TOKEN_FILE];
const WAIT: FlagDef[] = [
  { name: 'no-wait', type: 'boolean', help: 'return once the controller accepted the request instead of following it' },
  { name: 'timeout', type: 'string', value: 'DURATION', help: `give up following after this long (90s, 30m, 1h; default ${DEFAULT_TIMEOUT}); the operation itself goes on` },
];
const JSON_FLAG: FlagDef = { name: 'json', type: 'boolean', help: 'print JSON instead of text' };
const STATUS_FLAGS: FlagDef[] = [...TARGET, JSON_FLAG, { name: 'watch', type: 'boolean', help: 'redraw every second until Ctrl-C' }];
const S3_FLAGS: FlagDef[] = [
  { name: 's3-endpoint', type: 'string', value: 'URL', help: 'S3-compatible endpoint (default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS)' },
  { name: 's3-region', type: 'string', value: 'REGION', help: 'S3 region (default AWS_REGION, else us-east-1)' },
  { name: 's3-path-style', type: 'boolean', help: 'path-style S3 addressing (the default with a custom endpoint)' },
];
const BACKUP_NOTE = 'S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (never flags: they would show in ps); see docs/backup.md.';
const SHARD_NOTE = 'SHARD is a shard id as `irisctl status` shows it (shard-1) or its index (1).';

export const VERBS: readonly VerbDef[] = [
  {
    name: 'local up', args: '', summary: 'run a local cluster of processes in the foreground (Ctrl-C stops it)',
    flags: [
      { name: 'shards', type: 'string', value: 'N', help: `number of shards (default ${DEFAULT_SPEC.shards})` },
      { name: 'replicas', type: 'string', value: 'N', help: `replicas per shard (default ${DEFAULT_SPEC.replicasPerShard})` },
      { name: 'min-sync-replicas', type: 'string', value: 'K', help: `replica acknowledgements each write waits for (default ${DEFAULT_SPEC.minSyncReplicas})` },
      { name: 'base-port', type: 'string', value: 'P', help: `first port of the range the nodes and the controller use (default ${DEFAULT_BASE_PORT})` },
      DIR,
      { name: 'heartbeat-ms', type: 'string', value: 'MS', help: `how often the controller checks every node (default ${DEFAULT_SPEC.heartbeatMs})` },
      { name: 'failure-threshold', type: 'string', value: 'N', help: `missed heartbeats before a primary is failed over (default ${DEFAULT_SPEC.failureThreshold})` },
      { name: 'data-durability', type: 'string', value: 'MODE', help: `required: writes wait for minSyncReplicas replicas even while replicas are down; preferred: a failed replica stops being waited for (default ${DEFAULT_SPEC.dataDurability})` },
      { name: 'restore-from', type: 'string', value: 'URL', help: 'create a NEW cluster from the backups at URL (file:///path or s3://bucket/prefix); refused over an existing cluster' },
      { name: 'backup', type: 'string', value: 'ID', help: 'with --restore-from: the backup to restore (default: the newest complete one)' },
      { name: 'point-in-time', type: 'string', value: 'RFC3339', help: 'with --restore-from: restore the state at this time (newest backup finished by then + the archived log up to it; default: the newest backup + the whole archive)' },
      { name: 'archive-destination', type: 'string', value: 'URL', help: 'archive every shard\'s replication log continuously to URL (file:///path or s3://bucket/prefix), for point-in-time restore; recorded with the cluster' },
      ...S3_FLAGS,
      { name: 'backup-schedule', type: 'string', value: 'CRON', help: 'take a backup on this cron schedule, UTC ("0 3 * * *"; a 6th leading field is seconds); recorded with the cluster' },
      { name: 'backup-destination', type: 'string', value: 'URL', help: 'where scheduled backups go (file:///path or s3://bucket/prefix; credentials from AWS_*)' },
      { name: 'backup-keep', type: 'string', value: 'N', help: 'scheduled backups kept; older ones are deleted with their objects (default 7)' },
      { name: 'aclfile', type: 'string', value: 'FILE', help: 'ACL users (Redis aclfile format) for every node: copied to DIR/users.acl (0600), which every node reads and reloads when it changes; a cluster started so keeps it' },
      { name: 'encryption-key-file', type: 'string', value: 'FILE', help: 'encryption at rest: the keyring (lines "<key-id> <base64 32-byte key>", the last one active) every node reads and reloads when it changes; its path is recorded so a resumed cluster keeps it (docs/security.md)' },
      { name: 'tls', type: 'boolean', help: 'serve RESP over TLS only: a CA and node certificate are made under DIR/tls (clients use --tls --cacert DIR/tls/ca.crt); a cluster started so stays on TLS' },
      { name: 'tls-keep-plain', type: 'boolean', help: 'with --tls: also serve plain-text RESP, node k on base+3000+k beside TLS on base+k; MOVED and CLUSTER SLOTS name TLS ports to TLS clients and plain ports to plain ones (kept on restart)' },
      { name: 'test-netns-placement', type: 'string', value: 'JSON', help: 'tests only: run node k inside Linux network namespace netns binding host, from a JSON array [{"netns","host"},…] (partition tests); never use it otherwise' },
      { name: 'test-hold-failover-stage', type: 'string', value: 'STAGE', help: 'tests only: stop every change of primary before STAGE (fence, restrict, catchup, promote, publish), to kill the controller there; never use it otherwise' },
      HELP,
    ],
    notes: ['The data stays in DIR; running `irisctl local up` again resumes the same cluster.'],
  },
  { name: 'local down', args: '', summary: 'stop the local cluster running in DIR (from another terminal)', flags: [DIR, HELP] },
  { name: 'local status', args: '', summary: 'the status of the local cluster in DIR (same as `irisctl status`)', flags: [...STATUS_FLAGS, HELP] },
  { name: 'status', args: '', summary: 'shards, slots, primaries and replicas, epochs, lag, operation progress', flags: [...STATUS_FLAGS, HELP] },
  { name: 'slots', args: '', summary: "slot ranges per shard with the primary's address", flags: [...TARGET, JSON_FLAG, HELP] },
  {
    name: 'failover', args: 'SHARD', summary: "fail over the shard's primary to its most caught-up replica",
    flags: [...TARGET, ...WAIT, HELP], notes: [SHARD_NOTE],
  },
  {
    name: 'switchover', args: 'SHARD', summary: "hand the shard's primary role to a replica without losing a write",
    flags: [{ name: 'to', type: 'string', value: 'NODE', help: 'the replica to promote (default: the most caught-up)' }, ...TARGET, ...WAIT, HELP],
    notes: [SHARD_NOTE],
  },
  {
    name: 'scale', args: '', summary: 'change the number of shards (moving slots live) or of replicas per shard',
    flags: [
      { name: 'shards', type: 'string', value: 'N', help: 'the number of shards wanted' },
      { name: 'replicas', type: 'string', value: 'N', help: 'the number of replicas per shard wanted' },
      ...TARGET, ...WAIT, HELP,
    ],
    notes: ['Give --shards, --replicas or both (replicas change first).'],
  },
  { name: 'rebalance', args: '', summary: 'move slots so every shard owns the same number, within one', flags: [...TARGET, ...WAIT, HELP] },
  {
    name: 'backup create', args: '', summary: 'back up every shard (a consistent snapshot per shard) to a destination; prints the backup id',
    flags: [
      { name: 'destination', type: 'string', value: 'URL', help: 'file:///path or s3://bucket/prefix (default IRIS_BACKUP_DESTINATION)' },
      { name: 'compression', type: 'string', value: 'ALG', help: 'gzip (default) or brotli' },
      { name: 'chunk-size', type: 'string', value: 'SIZE', help: 'uncompressed bytes per chunk object, 4KiB..64MiB (default 4MiB)' },
      { name: 'max-rate', type: 'string', value: 'SIZE', help: 'each node reads at most SIZE of rows per second (e.g. 20MiB), to leave CPU and disk to clients (default: no limit)' },
      ...S3_FLAGS,
      { name: 'wait', type: 'boolean', help: 'follow the backup (a progress bar on a terminal) until it completes or fails' },
      { name: 'timeout', type: 'string', value: 'DURATION', help: 'with --wait: give up following after this long (default 1h); the backup goes on' },
      ...TARGET, HELP,
    ],
    notes: [BACKUP_NOTE],
  },
  { name: 'backup list', args: '', summary: 'the backups the controller has recorded, newest last', flags: [...TARGET, JSON_FLAG, HELP] },
  { name: 'backup describe', args: 'ID', summary: "one backup: phase, destination, each shard's node, sequence, keys and size", flags: [...TARGET, JSON_FLAG, HELP] },
  {
    name: 'backup window', args: '', summary: 'the recoverability window at a destination: the oldest backup, and how far each shard\'s log is archived',
    flags: [{ name: 'destination', type: 'string', value: 'URL', help: 'file:///path or s3://bucket/prefix' }, ...S3_FLAGS, JSON_FLAG, HELP],
  },
  { name: 'backup delete', args: 'ID', summary: "delete a backup's objects from its destination, then its record", flags: [...TARGET, HELP] },
  {
    name: 'watch', args: '', summary: 'print every change of every shard as it happens (the change feed; Ctrl-C stops it)',
    flags: [
      { name: 'prefix', type: 'string', value: 'P', help: 'only keys starting with P' },
      { name: 'from', type: 'string', value: 'POSITIONS', help: 'resume after these positions (shard:epoch:seq,...; printed when watch stops); shards not listed start at their oldest retained change' },
      JSON_FLAG, ...TARGET, HELP,
    ],
    notes: ['Each line: position, op (set, del, expire, clear), key, value. A failover reconnects to the new primary and goes on from the last position.'],
  },
  {
    name: 'import', args: '', summary: "copy a Redis's string keys with their TTLs into the cluster (resumable; --follow keeps following it as a replica)",
    flags: [
      { name: 'from', type: 'string', value: 'URL', help: 'the source: redis://[user:pass@]host:port[/db], rediss:// for TLS; a Redis Cluster is detected' },
      { name: 'batch', type: 'string', value: 'N', help: 'keys per SCAN batch and pipeline (default 3000 per IrisDB primary, within 1000..30000)' },
      { name: 'verify', type: 'string', value: 'N', help: 'keys compared with the source at the end, sampled over the whole copy (default 1000; 0: none)' },
      { name: 'restart', type: 'boolean', help: 'start over, discarding the checkpoint of an interrupted import (DIR/import-checkpoint.json; with --follow DIR/import-follow-checkpoint.json)' },
      { name: 'follow', type: 'boolean', help: 'act as a replica of the source: copy its RDB, then apply its writes until --until-lag or Ctrl-C' },
      { name: 'until-lag', type: 'string', value: 'BYTES', help: 'with --follow: finish once at most this many bytes behind the source (0: fully caught up)' },
      ...TARGET_CREDENTIAL_FLAGS, JSON_FLAG, DIR, HELP,
    ],
    notes: [
      'An interrupted import resumes where it stopped when run again with the same --from. Keys of other types are counted by type, not copied.',
      'With --follow, Ctrl-C is the cut-over: irisctl applies what the source still has, then exits (Ctrl-C again leaves at once). An interrupted --follow resumes the stream where IrisDB acknowledged it (PSYNC), or starts a full sync when the source cannot. See docs/migrating-from-redis.md.',
    ],
  },
  {
    name: 're-encrypt', args: '', summary: 'every node re-encrypts its stored values and replication log with the active encryption key, in the background',
    flags: [
      { name: 'wait', type: 'boolean', help: 'follow every node until it is done (progress on stderr)' },
      { name: 'timeout', type: 'string', value: 'DURATION', help: 'with --wait: give up following after this long (default 1h); the nodes go on' },
      JSON_FLAG, ...TARGET, HELP,
    ],
    notes: ['Run it after adding a new last line (the new active key) to the keyring file; once every node is done, the older keys can be removed (docs/security.md "Key rotation").'],
  },
  {
    name: 'export', args: '', summary: 'write every key with its expiry to an RDB file (loadable by redis-server) or JSON lines',
    flags: [
      { name: 'to', type: 'string', value: 'FILE', help: 'the file to write (written as FILE.tmp, renamed when complete)' },
      { name: 'format', type: 'string', value: 'FORMAT', help: 'rdb (default) or jsonl (the default for a FILE ending in .jsonl)' },
      ...TARGET_CREDENTIAL_FLAGS, ...TARGET, HELP,
    ],
  },
  {
    name: 'audit verify', args: 'FILE', summary: "check an audit log's hash chain; names the first edited, removed or reordered record (exit 1)",
    flags: [
      { name: 'previous', type: 'string', value: 'FILE', help: 'the file FILE continues (the log before a rotation), checked first' },
      { name: 'continues', type: 'boolean', help: "accept a FILE whose first record continues a chain not given (a rotated file on its own)" },
      JSON_FLAG, HELP,
    ],
    notes: ['A local cluster keeps DIR/audit/<node>.log and DIR/audit/controller.log. See docs/security.md "Audit log".'],
  },
  {
    name: 'restart', args: 'NODE', summary: 'restart one node gracefully (a primary first hands over to a replica)',
    flags: [...TARGET, ...WAIT, HELP], notes: ['NODE is a node name as `irisctl status` shows it (iris-shard-0-1).'],
  },
];

export function verbDef(name: string): VerbDef | undefined {
  return VERBS.find((v) => v.name === name);
}

function flagLines(flags: readonly FlagDef[]): string[] {
  const left = flags.map((f) => `--${f.name}${f.value !== undefined ? ` ${f.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  return flags.map((f, i) => `  ${left[i]!.padEnd(width)}  ${f.help}`);
}

/** `irisctl VERB --help`. */
export function verbUsage(v: VerbDef): string {
  const synopsis = [`irisctl ${v.name}`, v.args, '[flags]'].filter((s) => s !== '').join(' ');
  return [`Usage: ${synopsis}`, '', v.summary, ...(v.notes !== undefined ? ['', ...v.notes] : []), '', 'Flags:', ...flagLines(v.flags), ''].join('\n');
}

/** `irisctl --help`. */
export function mainUsage(): string {
  const left = VERBS.map((v) => [v.name, v.args].filter((s) => s !== '').join(' '));
  const width = Math.max(...left.map((l) => l.length));
  return [
    'Usage: irisctl VERB [flags]',
    '',
    'Runs and manages an IrisDB cluster: a local one on this machine (`irisctl local up`),',
    'through the control API of its controller.',
    '',
    'Verbs:',
    ...VERBS.map((v, i) => `  ${left[i]!.padEnd(width)}  ${v.summary}`),
    '',
    'On Kubernetes: `irisctl --kube [-n NS] CLUSTER status|slots|failover|switchover|scale`',
    '(also `kubectl irisdb ...`), through the IrisCluster resource; `irisctl --kube --help`.',
    '',
    'Run `irisctl VERB --help` for the flags of a verb. `irisctl --version` prints the version.',
    'Exit codes: 0 done, 1 the request failed or did not finish in time, 2 bad command line.',
    '',
  ].join('\n');
}
