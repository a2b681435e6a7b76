/**
 * `irisctl backup create|list|describe|delete` flags as a command. Pure.
 * S3 settings come from flags, else the AWS_* environment of irisctl (sent
 * to the controller with the request, which keeps credentials in memory
 * only), else the controller's own environment.
 */
import type { ControlSource } from './args.js';
import { parseDuration } from './duration.js';
import { UsageError } from './errors.js';

export type BackupAction = 'create' | 'list' | 'describe' | 'delete' | 'window';

export interface BackupCommand {
  readonly kind: 'backup';
  readonly action: BackupAction;
  readonly source: ControlSource;
  readonly id: string | null;
  readonly destination: string | null;
  /** Flat S3 fields for the control API (endpoint, region, forcePathStyle, accessKeyId, secretAccessKey, sessionToken). */
  readonly s3: Readonly<Record<string, string | boolean>>;
  readonly compression: 'gzip' | 'brotli' | null;
  /** --chunk-size: uncompressed bytes per chunk (null: the nodes' default). */
  readonly chunkBytes: number | null;
  /** --max-rate: bytes of rows each node reads per second at most (null: no limit). */
  readonly maxBytesPerSecond: number | null;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly json: boolean;
}

type Values = Readonly<Record<string, string | boolean | undefined>>;

export const DEFAULT_BACKUP_TIMEOUT = '1h';

export function backupCommand(action: BackupAction, v: Values, positionals: readonly string[], source: ControlSource, env: NodeJS.ProcessEnv): BackupCommand {
  const verb = `backup ${action}`;
  const s = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const destination = s('destination') ?? (action === 'create' ? env.IRIS_BACKUP_DESTINATION ?? null : null);
  if (action === 'window' && (destination === null || destination === '')) throw new UsageError('backup window needs --destination URL', verb);
  if (action === 'create' && (destination === null || destination === '')) {
    throw new UsageError('backup create needs --destination URL (file:///path or s3://bucket/prefix) or IRIS_BACKUP_DESTINATION', verb);
  }
  const compression = s('compression') ?? null;
  if (compression !== null && compression !== 'gzip' && compression !== 'brotli') throw new UsageError(`--compression must be gzip or brotli (got "${compression}")`, verb);
  const chunkText = s('chunk-size');
  const chunkBytes = chunkText === undefined ? null : parseSize(chunkText);
  if (chunkBytes !== null && (Number.isNaN(chunkBytes) || chunkBytes < 4096 || chunkBytes > 64 * 1024 * 1024)) {
    throw new UsageError(`--chunk-size must be a size from 4KiB to 64MiB such as 4MiB or 512KiB (got "${chunkText ?? ''}")`, verb);
  }
  const maxBytesPerSecond = parseMaxRate(s('max-rate'), verb);
  const timeoutMs = parseBackupTimeout(s('timeout'), verb);
  const s3: Record<string, string | boolean> = {};
  const put = (k: string, val: string | undefined): void => {
    if (val !== undefined && val !== '') s3[k] = val;
  };
  put('endpoint', s('s3-endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL);
  put('region', s('s3-region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION);
  put('accessKeyId', env.AWS_ACCESS_KEY_ID);
  put('secretAccessKey', env.AWS_SECRET_ACCESS_KEY);
  put('sessionToken', env.AWS_SESSION_TOKEN);
  if (v['s3-path-style'] === true) s3.forcePathStyle = true;
  if ((s3.accessKeyId === undefined) !== (s3.secretAccessKey === undefined)) {
    throw new UsageError('set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither', verb);
  }
  if (destination !== null && !destination.startsWith('s3://')) for (const k of Object.keys(s3)) delete s3[k];
  return {
    kind: 'backup', action, source, id: positionals[0] ?? null, destination, s3, compression: compression as BackupCommand['compression'], chunkBytes, maxBytesPerSecond,
    wait: v.wait === true, timeoutMs, json: v.json === true,
  };
}

/** "4MiB", "512KiB", "1048576" → bytes; NaN if it is none of those. */
export function parseSize(text: string): number {
  const m = /^(\d{1,9})(B|KiB|MiB)?$/.exec(text);
  if (m === null) return NaN;
  return Number(m[1]) * (m[2] === 'MiB' ? 1024 * 1024 : m[2] === 'KiB' ? 1024 : 1);
}

/** --max-rate: null when not given; a size per second of at least 64 KiB (the local and --kube verbs). */
export function parseMaxRate(text: string | undefined, verb: string): number | null {
  const rate = text === undefined ? null : parseSize(text);
  if (rate !== null && (Number.isNaN(rate) || rate < 64 * 1024)) {
    throw new UsageError(`--max-rate must be a size per second of at least 64KiB such as 20MiB (got "${text ?? ''}")`, verb);
  }
  return rate;
}

/** --timeout of backup create --wait, in ms (DEFAULT_BACKUP_TIMEOUT when not given). */
export function parseBackupTimeout(text: string | undefined, verb: string): number {
  const t = text ?? DEFAULT_BACKUP_TIMEOUT;
  const ms = parseDuration(t);
  if (ms === null) throw new UsageError(`--timeout must be a duration such as 90s, 30m or 1h (got "${t}")`, verb);
  return ms;
}
