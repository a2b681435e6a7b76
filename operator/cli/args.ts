/**
 * irisctl's command line → what to do. Pure: node:util parseArgs with the
 * flags of usage.ts, values checked here (integers, limits, URLs, names),
 * so that everything after parsing can trust its input. Throws UsageError.
 */
import { parseNetnsPlacement, type NodePlacement } from '../local/netns-placement.js';
import { type WatchCommand, watchCommand } from './watch-args.js';
import { type ReencryptCommand, reencryptCommand } from './run-reencrypt-args.js';
import { parseArgs } from 'node:util';
import { type BackupAction, type BackupCommand, backupCommand } from './run-backup-args.js';
import { MAX_BACKUP_KEEP, parseCron } from '../core/backup-schedule.js';
import { type ExportCommand, type ImportCommand, exportCommand, importCommand } from '../import/import-args.js';

/** Scheduled backups kept by default (`--backup-keep`). */
const DEFAULT_BACKUP_KEEP = 7;
import { NODE_NAME } from '../../common/cluster-map.js';
import type { ScaleRequest } from '../control-api/types.js';
import { type ClusterSpec, DEFAULT_SPEC, SPEC_LIMITS, SpecError, validateSpec } from '../core/spec.js';
import type { FailoverStage } from '../core/state.js';
import { parseDuration } from './duration.js';
import { UsageError } from './errors.js';
import { type AuditCommand, auditCommand } from './run-audit.js';
import { DEFAULT_BASE_PORT, DEFAULT_DIR, DEFAULT_TIMEOUT, type VerbDef, mainUsage, verbDef, verbUsage } from './usage.js';

/** Where the controller is: an explicit URL, or the one a local cluster's directory records. */
export type ControlSource =
  /** tokenFile: the control API's token (a cluster directory's token file). */
  | { readonly kind: 'url'; readonly url: string; readonly tokenFile: string }
  /** The URL from DIR/local.json, the token from DIR/token. */
  | { readonly kind: 'dir'; readonly dir: string };

export type ControlRequest =
  | { readonly verb: 'failover'; readonly shard: string }
  | { readonly verb: 'switchover'; readonly shard: string; readonly to?: string }
  | { readonly verb: 'scale'; readonly scale: ScaleRequest }
  | { readonly verb: 'rebalance' }
  | { readonly verb: 'restart'; readonly node: string };

export type WaitMode = { readonly wait: false } | { readonly wait: true; readonly timeoutMs: number };

export type Command =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'local-up'; readonly dir: string; readonly spec: ClusterSpec; readonly basePort: number;
      /** Tests only (--test-hold-failover-stage): the controller stops every change of primary before this stage. */
      readonly holdFailoverStage?: FailoverStage;
      /** Tests only (--test-netns-placement): nodes run inside these network namespaces. */
      readonly netnsPlacement?: readonly NodePlacement[];
      /** --restore-from URL [--backup ID]: create the cluster from a backup. */
      readonly restore?: { readonly from: string; readonly backupId?: string; readonly s3?: { readonly endpoint?: string; readonly region?: string; readonly forcePathStyle?: boolean }; readonly pointInTime?: number };
      /** --archive-destination URL: continuous log archiving (recorded with the cluster). */
      readonly archiveDestination?: string;
      /** --backup-schedule CRON --backup-destination URL [--backup-keep N]. */
      readonly backupSchedule?: { readonly cron: string; readonly destination: string; readonly keep: number };
      /** --tls: RESP over TLS only, CA and certificate under DIR/tls. */
      readonly tls?: boolean;
      /** --tls-keep-plain (with --tls): plain RESP ports beside the TLS ones. */
      readonly tlsKeepPlain?: boolean;
      /** --aclfile FILE: ACL users for every node (copied to DIR/users.acl). */
      readonly aclfile?: string;
      /** --encryption-key-file FILE: encryption at rest on every node (path recorded in DIR/encryption.json). */
      readonly encryptionKeyFile?: string;
    }
  | { readonly kind: 'local-down'; readonly dir: string }
  | { readonly kind: 'status'; readonly source: ControlSource; readonly json: boolean; readonly watch: boolean }
  | { readonly kind: 'slots'; readonly source: ControlSource; readonly json: boolean }
  | BackupCommand
  | WatchCommand
  | ImportCommand
  | ExportCommand
  | ReencryptCommand
  | AuditCommand
  | { readonly kind: 'request'; readonly source: ControlSource; readonly request: ControlRequest; readonly wait: WaitMode };

type Values = Record<string, string | boolean | undefined>;

export function parseCommandLine(argv: readonly string[]): Command {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && argv.length > 1) return helpFor(argv.slice(1).join(' '));
    return { kind: 'help', text: mainUsage() };
  }
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first.startsWith('-')) throw new UsageError(`unknown flag ${first}: flags go after the verb`);
  let name = first;
  let rest = argv.slice(1);
  if (first === 'local' || first === 'backup' || first === 'audit') {
    if (second === undefined || second.startsWith('-')) {
      if (second === '--help' || second === '-h') return { kind: 'help', text: mainUsage() };
      throw new UsageError(first === 'local' ? '`irisctl local` needs a verb: up, down or status' : first === 'audit' ? '`irisctl audit` needs a verb: verify' : '`irisctl backup` needs a verb: create, list, describe or delete');
    }
    name = `${first} ${second}`;
    rest = argv.slice(2);
  }
  const def = verbDef(name);
  if (def === undefined) throw new UsageError(`unknown verb "${name}"`);
  const { values, positionals } = parseFlags(def, rest);
  if (values.help === true) return { kind: 'help', text: verbUsage(def) };
  return build(def, values, positionals);
}

function helpFor(name: string): Command {
  const def = verbDef(name);
  if (def === undefined) throw new UsageError(`unknown verb "${name}"`);
  return { kind: 'help', text: verbUsage(def) };
}

function parseFlags(def: VerbDef, args: readonly string[]): { values: Values; positionals: string[] } {
  const options = Object.fromEntries(def.flags.map((f) => [f.name, { type: f.type, ...(f.name === 'help' ? { short: 'h' } : {}) }]));
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (err) {
    // parseArgs's messages name the flag ("Unknown option '--x'", "Option '--dir <value>' argument missing").
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err), def.name);
  }
}

function build(def: VerbDef, v: Values, positionals: readonly string[]): Command {
  const expected = def.args === '' ? 0 : def.args.split(' ').length;
  if (positionals.length > expected) throw new UsageError(`unexpected argument "${positionals[expected]}"`, def.name);
  if (positionals.length < expected) throw new UsageError(`missing ${def.args}`, def.name);
  switch (def.name) {
    case 'local up':
      return localUp(v);
    case 'local down':
      return { kind: 'local-down', dir: dirOf(v) };
    case 'local status':
    case 'status':
      return { kind: 'status', source: sourceOf(v, def.name), json: v.json === true, watch: v.watch === true };
    case 'slots':
      return { kind: 'slots', source: sourceOf(v, def.name), json: v.json === true };
    case 'failover':
      return request(v, def.name, { verb: 'failover', shard: shardName(positionals[0]!, def.name) });
    case 'switchover': {
      const shard = shardName(positionals[0]!, def.name);
      const to = str(v, 'to');
      if (to !== undefined && !NODE_NAME.test(to)) throw new UsageError(`--to must be a node name (got "${to}")`, def.name);
      return request(v, def.name, to === undefined ? { verb: 'switchover', shard } : { verb: 'switchover', shard, to });
    }
    case 'scale': {
      const shards = int(v, 'shards', SPEC_LIMITS.shards, def.name);
      const replicas = int(v, 'replicas', SPEC_LIMITS.replicasPerShard, def.name);
      if (shards === undefined && replicas === undefined) throw new UsageError('scale needs --shards N, --replicas N or both', def.name);
      const scale: ScaleRequest = { ...(shards !== undefined ? { shards } : {}), ...(replicas !== undefined ? { replicasPerShard: replicas } : {}) };
      return request(v, def.name, { verb: 'scale', scale });
    }
    case 'rebalance':
      return request(v, def.name, { verb: 'rebalance' });
    case 'backup create':
    case 'backup list':
    case 'backup describe':
    case 'backup delete':
    case 'backup window':
      return backupCommand(def.name.slice('backup '.length) as BackupAction, v, positionals, sourceOf(v, def.name), process.env);
    case 'watch':
      return watchCommand(v, sourceOf(v, def.name));
    case 'import':
      return importCommand(v, sourceOf(v, def.name));
    case 'export':
      return exportCommand(v, sourceOf(v, def.name));
    case 're-encrypt':
      return reencryptCommand(v, sourceOf(v, def.name));
    case 'audit verify':
      return auditCommand(v, positionals);
    case 'restart': {
      const node = positionals[0]!;
      if (!NODE_NAME.test(node)) throw new UsageError(`NODE must be a node name (got "${node}")`, def.name);
      return request(v, def.name, { verb: 'restart', node });
    }
    default:
      throw new UsageError(`unknown verb "${def.name}"`);
  }
}

const SPEC_FLAGS: Record<keyof ClusterSpec, string> = {
  shards: 'shards', replicasPerShard: 'replicas', minSyncReplicas: 'min-sync-replicas', heartbeatMs: 'heartbeat-ms', failureThreshold: 'failure-threshold',
  dataDurability: 'data-durability',
};

function localUp(v: Values): Command {
  const verb = 'local up';
  const spec: ClusterSpec = {
    shards: int(v, 'shards', SPEC_LIMITS.shards, verb) ?? DEFAULT_SPEC.shards,
    replicasPerShard: int(v, 'replicas', SPEC_LIMITS.replicasPerShard, verb) ?? DEFAULT_SPEC.replicasPerShard,
    minSyncReplicas: int(v, 'min-sync-replicas', SPEC_LIMITS.minSyncReplicas, verb) ?? DEFAULT_SPEC.minSyncReplicas,
    heartbeatMs: int(v, 'heartbeat-ms', SPEC_LIMITS.heartbeatMs, verb) ?? DEFAULT_SPEC.heartbeatMs,
    failureThreshold: int(v, 'failure-threshold', SPEC_LIMITS.failureThreshold, verb) ?? DEFAULT_SPEC.failureThreshold,
    dataDurability: (str(v, 'data-durability') ?? DEFAULT_SPEC.dataDurability) as ClusterSpec['dataDurability'],
  };
  try {
    validateSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(`--${SPEC_FLAGS[err.field]}: ${err.message}`, verb);
    throw err;
  }
  const basePort = int(v, 'base-port', { min: 1, max: 65_535 }, verb) ?? DEFAULT_BASE_PORT;
  const hold = str(v, 'test-hold-failover-stage');
  if (hold !== undefined && !FAILOVER_STAGES.includes(hold as FailoverStage)) {
    throw new UsageError(`--test-hold-failover-stage must be one of ${FAILOVER_STAGES.join(', ')} (got "${hold}")`, verb);
  }
  const placementText = str(v, 'test-netns-placement');
  let netnsPlacement: NodePlacement[] | undefined;
  try {
    netnsPlacement = placementText === undefined ? undefined : parseNetnsPlacement(placementText);
  } catch (err) {
    throw new UsageError((err as Error).message, verb);
  }
  if (v['tls-keep-plain'] === true && v.tls !== true) throw new UsageError('--tls-keep-plain goes with --tls', verb);
  const from = str(v, 'restore-from');
  const backupId = str(v, 'backup');
  if (backupId !== undefined && from === undefined) throw new UsageError('--backup goes with --restore-from', verb);
  const endpoint = str(v, 's3-endpoint');
  const region = str(v, 's3-region');
  const s3 = { ...(endpoint !== undefined ? { endpoint } : {}), ...(region !== undefined ? { region } : {}), ...(v['s3-path-style'] === true ? { forcePathStyle: true } : {}) };
  const pit = str(v, 'point-in-time');
  if (pit !== undefined && from === undefined) throw new UsageError('--point-in-time goes with --restore-from', verb);
  const pointInTime = pit === undefined ? undefined : parsePointInTime(pit, verb);
  const restore = from === undefined ? undefined : { from, ...(backupId !== undefined ? { backupId } : {}), ...(Object.keys(s3).length > 0 ? { s3 } : {}), ...(pointInTime !== undefined ? { pointInTime } : {}) };
  const archiveDestination = str(v, 'archive-destination');
  const aclfile = str(v, 'aclfile');
  const encryptionKeyFile = str(v, 'encryption-key-file');
  const cron = str(v, 'backup-schedule');
  const scheduleDest = str(v, 'backup-destination');
  if ((cron === undefined) !== (scheduleDest === undefined)) throw new UsageError('--backup-schedule and --backup-destination go together', verb);
  const keep = int(v, 'backup-keep', { min: 1, max: MAX_BACKUP_KEEP }, verb);
  if (keep !== undefined && cron === undefined) throw new UsageError('--backup-keep goes with --backup-schedule', verb);
  if (cron !== undefined) {
    try {
      parseCron(cron);
    } catch (err) {
      throw new UsageError(`--backup-schedule: ${(err as Error).message}`, verb);
    }
  }
  return {
    kind: 'local-up', dir: dirOf(v), spec, basePort, ...(hold !== undefined ? { holdFailoverStage: hold as FailoverStage } : {}),
    ...(restore !== undefined ? { restore } : {}),
    ...(netnsPlacement !== undefined ? { netnsPlacement } : {}),
    ...(archiveDestination !== undefined ? { archiveDestination } : {}),
    ...(cron !== undefined ? { backupSchedule: { cron, destination: scheduleDest!, keep: keep ?? DEFAULT_BACKUP_KEEP } } : {}),
    ...(v.tls === true ? { tls: true } : {}),
    ...(v['tls-keep-plain'] === true ? { tlsKeepPlain: true } : {}),
    ...(aclfile !== undefined ? { aclfile } : {}),
    ...(encryptionKeyFile !== undefined ? { encryptionKeyFile } : {}),
  };
}

/** RFC 3339 with a zone (2026-12-06T10:30:00Z, …+01:00), to milliseconds since the epoch. */
export function parsePointInTime(text: string, verb: string): number {
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.test(text);
  const ms = ok ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`--point-in-time must be an RFC 3339 time with a zone, e.g. 2026-12-06T10:30:00Z (got "${text}")`, verb);
  return ms;
}

const FAILOVER_STAGES: readonly FailoverStage[] = ['fence', 'restrict', 'catchup', 'promote', 'publish'];

function request(v: Values, verb: string, req: ControlRequest): Command {
  let wait: WaitMode;
  if (v['no-wait'] === true) {
    if (v.timeout !== undefined) throw new UsageError('--timeout has no effect with --no-wait', verb);
    wait = { wait: false };
  } else {
    const text = str(v, 'timeout') ?? DEFAULT_TIMEOUT;
    const ms = parseDuration(text);
    if (ms === null) throw new UsageError(`--timeout must be a duration such as 90s, 30m or 1h (got "${text}")`, verb);
    wait = { wait: true, timeoutMs: ms };
  }
  return { kind: 'request', source: sourceOf(v, verb), request: req, wait };
}

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

function int(v: Values, name: string, limits: { min: number; max: number }, verb: string): number | undefined {
  const text = str(v, name);
  if (text === undefined) return undefined;
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= limits.min && n <= limits.max)) throw new UsageError(`--${name} must be an integer from ${limits.min} to ${limits.max} (got "${text}")`, verb);
  return n;
}

function dirOf(v: Values): string {
  const dir = str(v, 'dir') ?? DEFAULT_DIR;
  if (dir === '') throw new UsageError('--dir must not be empty');
  return dir;
}

function sourceOf(v: Values, verb: string): ControlSource {
  const url = str(v, 'url');
  const tokenFile = str(v, 'token-file');
  if (url === undefined) {
    if (tokenFile !== undefined) throw new UsageError('--token-file goes with --url (with --dir the token is DIR/token)', verb);
    return { kind: 'dir', dir: dirOf(v) };
  }
  if (v.dir !== undefined) throw new UsageError('give --url or --dir, not both', verb);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be a URL such as http://127.0.0.1:7999 (got "${url}")`, verb);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url must be an http:// URL (got "${url}")`, verb);
  // The control API refuses requests without the cluster token, and a URL does not say which directory holds it.
  if (tokenFile === undefined || tokenFile === '') throw new UsageError('--url needs --token-file FILE: the token file of the cluster directory (DIR/token)', verb);
  return { kind: 'url', url: url.replace(/\/+$/, ''), tokenFile };
}

/** "shard-1" as is; "1" → "shard-1". */
function shardName(arg: string, verb: string): string {
  if (/^\d{1,3}$/.test(arg)) return `shard-${Number(arg)}`;
  if (!NODE_NAME.test(arg)) throw new UsageError(`SHARD must be a shard id such as shard-1, or its index (got "${arg}")`, verb);
  return arg;
}
