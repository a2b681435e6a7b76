/**
 * `irisctl --kube CLUSTER backup create|list|describe|delete` (issue #15):
 * the local verbs' names and flags (usage.ts), parsed into what the
 * IrisBackup objects of the cluster can do. What an IrisBackup has no field
 * for (--compression, --chunk-size, --s3-path-style) is refused rather than
 * ignored; the S3 credentials are the cluster's backup Secret, never
 * irisctl's environment. Pure; throws UsageError or CliError.
 */
import { parseArgs } from 'node:util';
import { CliError, UsageError } from './errors.js';
import type { KubeTarget } from './kube-args.js';
import { parseBackupTimeout, parseMaxRate } from './run-backup-args.js';
import { type FlagDef, type VerbDef, verbDef } from './usage.js';
import type { BackupDestinationSpec, ClusterBackupSpec } from '../kube/backup/iris-backup.js';
import { LABEL_INSTANCE } from '../kube/names.js';

export type KubeBackupAction = 'create' | 'list' | 'describe' | 'delete';

export type KubeBackupCommand =
  | {
    readonly action: 'create';
    /** --destination s3://bucket/prefix (null: the cluster's spec.backup.destination). */
    readonly destination: { readonly bucket: string; readonly prefix: string; readonly endpoint?: string; readonly region?: string } | null;
    readonly maxBytesPerSecond: number | null;
    readonly wait: boolean;
    readonly timeoutMs: number;
    readonly json: boolean;
  }
  | { readonly action: 'list'; readonly json: boolean }
  | { readonly action: 'describe'; readonly name: string; readonly json: boolean }
  | { readonly action: 'delete'; readonly name: string };

const ACTIONS: readonly string[] = ['create', 'list', 'describe', 'delete'];
/** The local verbs' flags an IrisBackup has no field for, with why. */
const NO_FIELD: Readonly<Record<string, string>> = {
  compression: 'the nodes compress with their default (gzip)',
  'chunk-size': 'the nodes use their default chunk size',
  's3-path-style': 'a custom endpoint is always addressed path-style',
};
/** Flags that locate a local controller. */
const LOCAL_ONLY = new Set(['dir', 'url', 'token-file']);
/** Object names are DNS subdomains. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The local verb's definition without what --kube has no use for (the usage shown by `--kube CLUSTER backup VERB --help`). */
export function kubeBackupVerbDef(action: KubeBackupAction): VerbDef {
  const local = verbDef(`backup ${action}`)!;
  const flags: FlagDef[] = local.flags.filter((f) => !LOCAL_ONLY.has(f.name) && NO_FIELD[f.name] === undefined).map((f) =>
    f.name === 'destination' ? { ...f, help: "s3://bucket/prefix (default: the IrisCluster's spec.backup.destination; endpoint, region and Secret from it)" }
    : f.name === 'wait' ? { ...f, help: "follow the IrisBackup's status (a progress bar on a terminal) until Completed or Failed" }
    : f.name === 's3-endpoint' ? { ...f, help: "with --destination: the S3 endpoint (default the one of the cluster's spec.backup)" }
    : f.name === 's3-region' ? { ...f, help: "with --destination: the S3 region (default the one of the cluster's spec.backup)" }
    : f);
  const summary = {
    create: 'create an IrisBackup of the cluster (the operator backs up every shard); prints its name',
    list: "the cluster's IrisBackup objects, scheduled ones included, oldest first",
    describe: "one IrisBackup: phase, backup id, destination, progress, times",
    delete: 'delete an IrisBackup object; the stored backup stays in its destination',
  }[action];
  const wantsJson = action === 'create' && !flags.some((f) => f.name === 'json');
  const { notes: _localNotes, ...rest } = local;
  return { ...rest, summary, args: action === 'describe' || action === 'delete' ? 'NAME' : '', flags: wantsJson ? [...flags.filter((f) => f.name !== 'help'), { name: 'json', type: 'boolean', help: 'print the IrisBackup as JSON (with --wait: once it is finished)' }, ...flags.filter((f) => f.name === 'help')] : flags };
}

/** `backup ACTION [flags]` (argv after the verb "backup"); `help`: --help asked, with the verb to show the usage of. */
export function parseKubeBackup(target: KubeTarget, args: readonly string[]): { command: KubeBackupCommand } | { help: VerbDef } {
  const [action, ...rest] = args;
  const verb = `--kube ${target.cluster} backup${action !== undefined && !action.startsWith('-') ? ` ${action}` : ''}`;
  if (action === 'window') throw new CliError('irisctl --kube backup window: read the destination itself with `irisctl backup window --destination URL` (it needs no cluster)');
  if (action === undefined || !ACTIONS.includes(action)) {
    throw new UsageError(action === undefined || action.startsWith('-') ? '`backup` needs a verb: create, list, describe or delete' : `unknown verb "backup ${action}"`, verb);
  }
  const def = kubeBackupVerbDef(action as KubeBackupAction);
  for (const a of rest) {
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : '';
    if (LOCAL_ONLY.has(name)) throw new UsageError(`--${name} locates a local cluster; with --kube the IrisCluster is named by CLUSTER, -n and --context`, verb);
    if (NO_FIELD[name] !== undefined) throw new UsageError(`--${name}: an IrisBackup has no such setting (${NO_FIELD[name]})`, verb);
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const options = Object.fromEntries(def.flags.map((f) => [f.name, { type: f.type, ...(f.name === 'help' ? { short: 'h' } : {}) }]));
    ({ values, positionals } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err), verb);
  }
  if (values.help === true) return { help: def };
  const expected = def.args === '' ? 0 : 1;
  if (positionals.length > expected) throw new UsageError(`unexpected argument "${positionals[expected]}"`, verb);
  if (positionals.length < expected) throw new UsageError('missing NAME (the IrisBackup, as `backup list` shows it)', verb);
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const json = values.json === true;
  switch (action as KubeBackupAction) {
    case 'list':
      return { command: { action: 'list', json } };
    case 'describe':
    case 'delete': {
      const name = positionals[0]!;
      if (!OBJECT_NAME.test(name)) throw new UsageError(`"${name}" is not an IrisBackup name`, verb);
      return { command: action === 'describe' ? { action: 'describe', name, json } : { action: 'delete', name } };
    }
    case 'create': {
      const maxBytesPerSecond = parseMaxRate(str('max-rate'), verb);
      const timeoutMs = parseBackupTimeout(str('timeout'), verb);
      const destination = s3Destination(str('destination'), str('s3-endpoint'), str('s3-region'), verb);
      return { command: { action: 'create', destination, maxBytesPerSecond, wait: values.wait === true, timeoutMs, json } };
    }
  }
}

function s3Destination(url: string | undefined, endpoint: string | undefined, region: string | undefined, verb: string): Extract<KubeBackupCommand, { action: 'create' }>['destination'] {
  if (url === undefined) {
    if (endpoint !== undefined || region !== undefined) throw new UsageError('--s3-endpoint and --s3-region go with --destination s3://bucket/prefix', verb);
    return null;
  }
  if (url.startsWith('file://')) {
    throw new UsageError("on Kubernetes a filesystem destination is the volume of the IrisCluster's spec.backup.destination.pvc (the claim the node pods mount): leave --destination out", verb);
  }
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (m === null) throw new UsageError(`--destination must be s3://bucket/prefix (got "${url}")`, verb);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix.length > 1024) throw new UsageError('--destination: the prefix is longer than 1024 characters', verb);
  if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint)) throw new UsageError(`--s3-endpoint must be an http(s) URL (got "${endpoint}")`, verb);
  return { bucket: m[1]!, prefix, ...(endpoint !== undefined ? { endpoint } : {}), ...(region !== undefined ? { region } : {}) };
}

/**
 * The IrisBackup object `backup create` asks for: named by the API server
 * (generateName CLUSTER-), destination unset (the cluster's) or the
 * --destination bucket with the cluster's endpoint, region and Secret
 * where the flags give none (the operator refuses another Secret: the nodes
 * upload with the cluster's). CliError when the cluster has nowhere to back up to.
 */
export function backupObjectFor(cmd: Extract<KubeBackupCommand, { action: 'create' }>, namespace: string, cluster: string, spec: ClusterBackupSpec | null): Record<string, unknown> {
  let destination: BackupDestinationSpec | undefined;
  if (cmd.destination === null) {
    if (spec === null) {
      throw new CliError(`IrisCluster ${namespace}/${cluster} has no spec.backup.destination: the nodes get the bucket's Secret or mount the backup volume from it. ` +
        'Set spec.backup (docs/kubernetes.md, Backups), or give --destination s3://bucket/prefix for nodes whose credentials come from elsewhere');
    }
  } else {
    const own = spec?.destination.s3;
    const d = cmd.destination;
    const endpoint = d.endpoint ?? own?.endpoint;
    const region = d.region ?? own?.region;
    destination = {
      s3: {
        bucket: d.bucket, ...(d.prefix !== '' ? { prefix: d.prefix } : {}), ...(endpoint !== undefined ? { endpoint } : {}), ...(region !== undefined ? { region } : {}),
        ...(own?.secretRef !== undefined ? { secretRef: own.secretRef } : {}),
      },
    };
  }
  return {
    apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup',
    metadata: { generateName: `${cluster}-`, namespace, labels: { [LABEL_INSTANCE]: cluster, 'app.kubernetes.io/managed-by': 'irisctl' } },
    spec: { cluster, ...(destination !== undefined ? { destination } : {}), ...(cmd.maxBytesPerSecond !== null ? { maxBytesPerSecond: cmd.maxBytesPerSecond } : {}) },
  };
}
