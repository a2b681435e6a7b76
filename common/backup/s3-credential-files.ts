/**
 * S3 credentials from files (a mounted Kubernetes Secret with the keys
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), read again for every
 * request: the kubelet rewrites a Secret volume when the Secret changes, so
 * rotating the keys reaches a running node's next upload without a restart
 * (environment variables are fixed at start). The AWS SDK calls a provider
 * again whenever the identity it returned expires within five minutes, so
 * an expiration a minute ahead makes it ask before each request.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { S3CredentialsProvider } from './destination-url.js';

export const ACCESS_KEY_FILE = 'AWS_ACCESS_KEY_ID';
export const SECRET_KEY_FILE = 'AWS_SECRET_ACCESS_KEY';
const SESSION_TOKEN_FILE = 'AWS_SESSION_TOKEN';

export class S3CredentialFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3CredentialFilesError';
  }
}

export function credentialFilesProvider(dir: string): S3CredentialsProvider {
  return async () => {
    const read = async (name: string, optional: boolean): Promise<string | undefined> => {
      try {
        const v = (await fs.promises.readFile(path.join(dir, name), 'utf8')).trim();
        if (v === '' && !optional) throw new S3CredentialFilesError(`S3 credentials: ${path.join(dir, name)} is empty`);
        return v === '' ? undefined : v;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          if (optional) return undefined;
          throw new S3CredentialFilesError(`S3 credentials: ${path.join(dir, name)} does not exist (--s3-credentials-dir holds ${ACCESS_KEY_FILE} and ${SECRET_KEY_FILE})`);
        }
        throw err;
      }
    };
    const sessionToken = await read(SESSION_TOKEN_FILE, true);
    return {
      accessKeyId: (await read(ACCESS_KEY_FILE, false))!,
      secretAccessKey: (await read(SECRET_KEY_FILE, false))!,
      ...(sessionToken !== undefined ? { sessionToken } : {}),
      expiration: new Date(Date.now() + 60_000),
    };
  };
}

/** The S3 options part for --s3-credentials-dir: none when it is empty. */
export function credentialFilesOption(dir: string): { credentialsProvider?: S3CredentialsProvider } {
  return dir === '' ? {} : { credentialsProvider: credentialFilesProvider(dir) };
}
