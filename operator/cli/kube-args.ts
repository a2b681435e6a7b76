/**
 * `irisctl --kube [--kubeconfig F] [--context C] [-n NS] CLUSTER VERB ...`
 * (and `kubectl irisdb ...`, which is the same with --kube implied) → what
 * to do. The verb and its flags are the local ones, parsed by args.ts, so
 * names, limits and messages are the same; kubectl's flags may stand
 * anywhere, as with kubectl. Pure; throws UsageError (bad command line) or
 * CliError (a verb Kubernetes clusters do not have yet).
 */
import { clusterNameRule, validClusterName } from '../core/naming.js';
import { type Command, type ControlRequest, type WaitMode, parseCommandLine } from './args.js';
import { CliError, UsageError } from './errors.js';
import type { ExportCommand, ImportCommand } from '../import/import-args.js';
import { type KubeBackupCommand, parseKubeBackup } from './kube-backup-args.js';
import { type KubeRotateCaCommand, parseKubeRotateCa } from './kube-rotate-ca.js';
import { type FlagDef, type VerbDef, verbDef, verbUsage } from './usage.js';

/** Which IrisCluster, through which kubeconfig context. */
export interface KubeTarget {
  /** --kubeconfig; default KUBECONFIG, else ~/.kube/config, else in-cluster. */
  readonly kubeconfig?: string;
  /** --context; default the kubeconfig's current context. */
  readonly context?: string;
  /** -n / --namespace; default the context's namespace, else "default". */
  readonly namespace?: string;
  readonly cluster: string;
}

/** The requests Kubernetes clusters take through their resource. */
export type KubeRequest = Extract<ControlRequest, { verb: 'failover' | 'switchover' | 'scale' }>;

export type KubeCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'status'; readonly target: KubeTarget; readonly json: boolean; readonly watch: boolean }
  | { readonly kind: 'slots'; readonly target: KubeTarget; readonly json: boolean }
  | { readonly kind: 'request'; readonly target: KubeTarget; readonly request: KubeRequest; readonly wait: WaitMode }
  | { readonly kind: 'import'; readonly target: KubeTarget; readonly command: ImportCommand }
  | { readonly kind: 'export'; readonly target: KubeTarget; readonly command: ExportCommand }
  | { readonly kind: 're-encrypt'; readonly target: KubeTarget; readonly wait: boolean; readonly timeoutMs: number }
  | { readonly kind: 'backup'; readonly target: KubeTarget; readonly command: KubeBackupCommand }
  | KubeRotateCaCommand;

/** The verbs --kube has; the others answer why not. */
export const KUBE_VERBS = ['status', 'slots', 'failover', 'switchover', 'scale', 'import', 'export', 're-encrypt'] as const;

const KUBE_FLAGS: readonly FlagDef[] = [
  { name: 'kubeconfig', type: 'string', value: 'FILE', help: 'the kubeconfig (default KUBECONFIG, else ~/.kube/config)' },
  { name: 'context', type: 'string', value: 'C', help: "the kubeconfig context (default its current context)" },
  { name: 'namespace', type: 'string', value: 'NS', help: "the IrisCluster's namespace, also -n (default the context's, else default)" },
];
/** Namespaces are DNS labels. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Flags that locate a local controller: meaningless here. */
const LOCAL_ONLY = new Set(['--dir', '--url', '--token-file']);

export function parseKubeCommandLine(argv: readonly string[]): KubeCommand {
  const { flags, rest } = takeKubeFlags(argv);
  const [cluster, ...verbArgs] = rest;
  if (cluster === undefined || cluster === '--help' || cluster === '-h' || cluster === 'help') return { kind: 'help', text: kubeUsage() };
  if (cluster.startsWith('-')) throw new UsageError(`unknown flag ${cluster}: with --kube, the IrisCluster's name comes first (irisctl --kube [-n NS] CLUSTER VERB)`, '--kube');
  if (!validClusterName(cluster)) throw new UsageError(`"${cluster}" is not an IrisCluster name: ${clusterNameRule()}`, '--kube');
  const target: KubeTarget = { cluster, ...flags };
  const [verb, second] = verbArgs;
  if (verb === undefined) throw new UsageError(`which verb? ${KUBE_VERBS.join(', ')} (irisctl --kube ${cluster} VERB)`, '--kube');
  if (verb === 'backup') {
    // IrisBackup objects (kube-backup-args.ts): the local verbs' names and flags, less what an IrisBackup has no field for.
    if (second === '--help' || second === '-h') return { kind: 'help', text: kubeUsage() };
    const b = parseKubeBackup(target, verbArgs.slice(1));
    return 'help' in b ? { kind: 'help', text: kubeVerbUsage(b.help) } : { kind: 'backup', target, command: b.command };
  }
  if (verb === 'rotate-ca') {
    // Kubernetes only (the operator's CA): no local verb to borrow flags from (kube-rotate-ca.ts).
    const r = parseKubeRotateCa(target, verbArgs.slice(1));
    return 'help' in r ? { kind: 'help', text: kubeVerbUsage(r.help) } : r.command;
  }
  if (verb === '--help' || verb === '-h' || verb === 'help') return { kind: 'help', text: kubeUsage() };
  if (!(KUBE_VERBS as readonly string[]).includes(verb)) {
    const local = verbDef(verb) ?? verbDef(`${verb} ${second ?? ''}`);
    if (local === undefined) throw new UsageError(`unknown verb "${verb}"`, '--kube');
    throw new CliError(`irisctl --kube ${local.name}: not available on Kubernetes yet; --kube has ${KUBE_VERBS.join(', ')}`);
  }
  const def = verbDef(verb)!;
  const verbFlags = verbArgs.slice(1);
  if (verbFlags.includes('--help') || verbFlags.includes('-h')) return { kind: 'help', text: kubeVerbUsage(def) };
  const local = verbFlags.find((a) => LOCAL_ONLY.has(a.split('=')[0]!));
  if (local !== undefined) throw new UsageError(`${local.split('=')[0]} locates a local cluster; with --kube the IrisCluster is named by CLUSTER, -n and --context`, `--kube ${cluster} ${verb}`);
  let parsed: Command;
  try {
    parsed = parseCommandLine(verbArgs);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message, `--kube ${cluster} ${verb}`);
    throw err;
  }
  switch (parsed.kind) {
    case 'status':
      return { kind: 'status', target, json: parsed.json, watch: parsed.watch };
    case 'slots':
      return { kind: 'slots', target, json: parsed.json };
    case 'import':
      return { kind: 'import', target, command: parsed };
    case 'export':
      return { kind: 'export', target, command: parsed };
    case 're-encrypt':
      return { kind: 're-encrypt', target, wait: parsed.wait, timeoutMs: parsed.timeoutMs };
    case 'request': {
      const r = parsed.request;
      if (r.verb !== 'failover' && r.verb !== 'switchover' && r.verb !== 'scale') break;
      return { kind: 'request', target, request: r, wait: parsed.wait };
    }
    default:
      break;
  }
  throw new CliError(`irisctl --kube ${verb}: not available on Kubernetes yet`);
}

/** kubectl's flags out of argv, wherever they stand ("-n NS", "--namespace=NS", ...). */
function takeKubeFlags(argv: readonly string[]): { flags: Omit<KubeTarget, 'cluster'>; rest: string[] } {
  const flags: { kubeconfig?: string; context?: string; namespace?: string } = {};
  const rest: string[] = [];
  const names: Record<string, keyof typeof flags> = { '--kubeconfig': 'kubeconfig', '--context': 'context', '--namespace': 'namespace', '-n': 'namespace' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = names[name];
    if (key === undefined) {
      rest.push(arg);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('-'))) throw new UsageError(`${name} needs a value`, '--kube');
    if (flags[key] !== undefined) throw new UsageError(`${name} given twice`, '--kube');
    if (key === 'namespace' && !DNS_LABEL.test(value)) throw new UsageError(`${name}: "${value}" is not a namespace name`, '--kube');
    flags[key] = value;
  }
  return { flags, rest };
}

function kubeVerbDef(v: VerbDef): VerbDef {
  const flags = v.flags.filter((f) => !LOCAL_ONLY.has(`--${f.name}`));
  return { ...v, name: `--kube [-n NS] CLUSTER ${v.name}`, flags: [...flags.filter((f) => f.name !== 'help'), ...KUBE_FLAGS, ...flags.filter((f) => f.name === 'help')] };
}

/** `irisctl --kube CLUSTER VERB --help`. */
export function kubeVerbUsage(v: VerbDef): string {
  return verbUsage(kubeVerbDef(v)) + '\nThrough the IrisCluster resource: see docs/irisctl.md (Kubernetes).\n';
}

/** `irisctl --kube --help`, `kubectl irisdb --help`. */
export function kubeUsage(): string {
  const defs = KUBE_VERBS.map((n) => verbDef(n)!);
  const left = defs.map((v) => [v.name, v.args].filter((s) => s !== '').join(' '));
  const width = Math.max(...left.map((l) => l.length));
  const flagLeft = KUBE_FLAGS.map((f) => `${f.name === 'namespace' ? '-n, ' : ''}--${f.name} ${f.value ?? ''}`);
  const fw = Math.max(...flagLeft.map((l) => l.length));
  return [
    'Usage: irisctl --kube [--kubeconfig FILE] [--context C] [-n NS] CLUSTER VERB [flags]',
    '       kubectl irisdb [--kubeconfig FILE] [--context C] [-n NS] CLUSTER VERB [flags]',
    '',
    'Manages an IrisCluster on Kubernetes through the resource itself: status from its',
    'status, scale by changing its spec, failover and switchover as a request the operator',
    'acknowledges in status (the irisdb.io/request annotation). Only import and export talk to the pods',
    "(at the addresses in the operator's record: run it where they are reachable).",
    '',
    'Verbs:',
    ...defs.map((v, i) => `  ${left[i]!.padEnd(width)}  ${v.summary}`),
    '',
    'Kubernetes flags (anywhere on the line):',
    ...KUBE_FLAGS.map((f, i) => `  ${flagLeft[i]!.padEnd(fw)}  ${f.help}`),
    '',
    'Run `irisctl --kube CLUSTER VERB --help` for the flags of a verb.',
    "rotate-ca [--wait] rotates the operator's own CA of the cluster in three phases, with no restart;",
    '`irisctl --kube CLUSTER rotate-ca --help` for its flags.',
    'Backups: backup create|list|describe|delete NAME act on IrisBackup objects, carried out by the operator',
    '(a schedule is spec.backup); `irisctl --kube CLUSTER backup create --help` for their flags.',
    'Exit codes: 0 done, 1 refused or not finished in time, 2 bad command line.',
    '',
  ].join('\n');
}
