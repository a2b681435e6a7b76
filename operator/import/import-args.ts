/** `irisctl import` and `irisctl export` flags as commands. Pure; throws UsageError. */
import type { ControlSource } from '../cli/args.js';
import { UsageError } from '../cli/errors.js';
import { type SourceUrl, SourceUrlError, parseSourceUrl } from './source-url.js';
import type { TargetCredentialFlags } from './target-credentials.js';

type Values = Readonly<Record<string, string | boolean | undefined>>;

/**
 * Without --batch: keys per SCAN batch for each IrisDB primary (issue #19).
 * A batch's keys are grouped by primary and sent in bulk requests of at most
 * ROWS_PER_REQUEST (1000) rows, so a primary's share of a 3000-key batch is
 * about three requests, sent together; a primary applies and commits each
 * request's rows in one turn. 3000 keys per primary per batch cost about a
 * third less CPU per key in all than 333 (docs/benchmarks.md, import), while
 * a turn stays far below the pause a failover detector would notice.
 */
export const IMPORT_BATCH_PER_PRIMARY = 3000;
/** The automatic batch's bounds: small clusters still read the source in sizeable SCANs; large ones do not block it long per SCAN (about a millisecond per 10,000 keys). */
export const MIN_AUTO_IMPORT_BATCH = 1000;
export const MAX_AUTO_IMPORT_BATCH = 30_000;

/** --batch's default for a cluster of `primaries` shards. Pure. */
export function autoImportBatch(primaries: number): number {
  return Math.min(MAX_AUTO_IMPORT_BATCH, Math.max(MIN_AUTO_IMPORT_BATCH, IMPORT_BATCH_PER_PRIMARY * primaries));
}
export const DEFAULT_VERIFY_SAMPLE = 1000;

export interface ImportCommand {
  readonly kind: 'import';
  readonly target: ControlSource;
  readonly from: SourceUrl;
  /** Keys per SCAN batch (SCAN's COUNT) and per pipeline; null: autoImportBatch of the target's primaries. */
  readonly batch: number | null;
  /** Start over even when DIR holds a checkpoint (with --follow: a full sync instead of continuing the stream). */
  readonly restart: boolean;
  /** Keys compared again at the end (0: no verification). */
  readonly verify: number;
  /** Follow the source as a replica after the copy (which then comes from its RDB). */
  readonly follow: boolean;
  /** With follow: finish once the lag is at most this many bytes (null: until Ctrl-C). */
  readonly untilLag: number | null;
  readonly json: boolean;
  /** --target-user / --target-password-file (resolved with IRISDB_USER / IRISDB_PASSWORD when the command runs). */
  readonly credentials: TargetCredentialFlags;
  /** --cacert: the CA of an IrisCluster's TLS (--kube only; a local cluster's is DIR/tls/ca.crt). */
  readonly cacert: string | null;
}

export interface ExportCommand {
  readonly kind: 'export';
  readonly target: ControlSource;
  readonly to: string;
  readonly format: 'rdb' | 'jsonl';
  readonly credentials: TargetCredentialFlags;
  readonly cacert: string | null;
}

/** The target credential flags; a password is never taken as an argument (see target-credentials.ts). */
export function credentialFlags(v: Values, verb: string): TargetCredentialFlags {
  const user = str(v, 'target-user');
  const passwordFile = str(v, 'target-password-file');
  if (user === '') throw new UsageError('--target-user must not be empty', verb);
  if (passwordFile === '') throw new UsageError('--target-password-file must name a file', verb);
  return { ...(user !== undefined ? { user } : {}), ...(passwordFile !== undefined ? { passwordFile } : {}) };
}

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

function int(v: Values, name: string, min: number, max: number, verb: string): number | undefined {
  const text = str(v, name);
  if (text === undefined) return undefined;
  const n = /^\d{1,12}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${text}")`, verb);
  return n;
}

export function importCommand(v: Values, target: ControlSource): ImportCommand {
  const verb = 'import';
  const fromText = str(v, 'from');
  if (fromText === undefined) throw new UsageError('import needs --from redis://[user:pass@]host:port[/db]', verb);
  let from: SourceUrl;
  try {
    from = parseSourceUrl(fromText);
  } catch (err) {
    if (err instanceof SourceUrlError) throw new UsageError(`--from: ${err.message}`, verb);
    throw err;
  }
  const follow = v.follow === true;
  const untilLag = int(v, 'until-lag', 0, Number.MAX_SAFE_INTEGER, verb) ?? null;
  if (untilLag !== null && !follow) throw new UsageError('--until-lag goes with --follow', verb);
  return {
    kind: 'import', target, from, follow, untilLag,
    batch: int(v, 'batch', 1, 100_000, verb) ?? null,
    restart: v.restart === true,
    verify: int(v, 'verify', 0, 10_000_000, verb) ?? DEFAULT_VERIFY_SAMPLE,
    json: v.json === true,
    credentials: credentialFlags(v, verb),
    cacert: str(v, 'cacert') ?? null,
  };
}

export function exportCommand(v: Values, target: ControlSource): ExportCommand {
  const verb = 'export';
  const to = str(v, 'to');
  if (to === undefined || to === '') throw new UsageError('export needs --to FILE', verb);
  const format = str(v, 'format') ?? (to.endsWith('.jsonl') ? 'jsonl' : 'rdb');
  if (format !== 'rdb' && format !== 'jsonl') throw new UsageError(`--format must be rdb or jsonl (got "${format}")`, verb);
  return { kind: 'export', target, to, format, credentials: credentialFlags(v, verb), cacert: str(v, 'cacert') ?? null };
}
