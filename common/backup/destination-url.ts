/**
 * Parses a backup destination: `file:///absolute/path` or
 * `s3://bucket[/prefix]`, plus the S3 settings that do not fit a URL
 * (endpoint, region, path-style addressing, credentials) from flags or the
 * AWS_* environment. Pure.
 */

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Credentials read again when the SDK asks (s3-credential-files.ts); an expiration makes it ask again. */
export type S3CredentialsProvider = () => Promise<S3Credentials & { readonly expiration?: Date }>;

export interface S3Options {
  /** e.g. http://127.0.0.1:8333 for an S3-compatible server; empty = AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Path-style addressing (http://host/bucket/key), what most S3-compatible servers need. */
  readonly forcePathStyle?: boolean;
  /** Absent: the SDK's default chain (AWS_* env, profiles). */
  readonly credentials?: S3Credentials;
  /** Used when `credentials` is absent: read for each request (a mounted Secret rotated without a restart). */
  readonly credentialsProvider?: S3CredentialsProvider;
}

export type DestinationSpec =
  | { readonly kind: 'file'; readonly url: string; readonly path: string }
  | { readonly kind: 's3'; readonly url: string; readonly bucket: string; readonly prefix: string; readonly s3: S3Options };

export class DestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationError';
  }
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseDestination(url: string, s3: S3Options = {}): DestinationSpec {
  if (url.startsWith('file://')) {
    let p: string;
    try {
      p = decodeURIComponent(new URL(url).pathname);
    } catch {
      throw new DestinationError(`backup destination ${JSON.stringify(url)} is not a valid file:// URL`);
    }
    if (!url.startsWith('file:///') || p === '/' || p === '') throw new DestinationError(`backup destination ${JSON.stringify(url)} must be file:///absolute/path (not the root)`);
    return { kind: 'file', url, path: p.replace(/\/+$/, '') };
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    if (!BUCKET.test(bucket)) throw new DestinationError(`backup destination ${JSON.stringify(url)}: "${bucket}" is not a valid S3 bucket name`);
    if (prefix.split('/').some((s) => s === '.' || s === '..')) throw new DestinationError(`backup destination ${JSON.stringify(url)}: the prefix may not contain . or .. segments`);
    if (s3.endpoint !== undefined && s3.endpoint !== '') {
      try {
        const u = new URL(s3.endpoint);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      } catch {
        throw new DestinationError(`S3 endpoint ${JSON.stringify(s3.endpoint)} must be an http:// or https:// URL`);
      }
    }
    return { kind: 's3', url: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`, bucket, prefix, s3 };
  }
  throw new DestinationError(`backup destination ${JSON.stringify(url)} must be file:///path or s3://bucket/prefix`);
}

/** S3 settings from the AWS_* environment (AWS_ENDPOINT_URL[_S3], AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), overridden by `given`. */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv, given: S3Options = {}): S3Options {
  const endpoint = given.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = given.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  // Files given (--s3-credentials-dir) win over the environment, whose keys are fixed at start.
  const credentials = given.credentials ?? (given.credentialsProvider === undefined && id !== undefined && secret !== undefined && id !== '' && secret !== ''
    ? { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined);
  return {
    ...(endpoint !== undefined && endpoint !== '' ? { endpoint } : {}),
    ...(region !== undefined && region !== '' ? { region } : {}),
    // A custom endpoint is nearly always an S3-compatible server that wants path-style addressing.
    forcePathStyle: given.forcePathStyle ?? (endpoint !== undefined && endpoint !== ''),
    ...(credentials !== undefined ? { credentials } : {}),
    ...(credentials === undefined && given.credentialsProvider !== undefined ? { credentialsProvider: given.credentialsProvider } : {}),
  };
}

/** The spec without credentials: what may be recorded and shown. */
export function publicDestination(spec: DestinationSpec): DestinationSpec {
  if (spec.kind === 'file') return spec;
  const { credentials: _c, credentialsProvider: _p, ...rest } = spec.s3;
  return { ...spec, s3: rest };
}
