/**
 * The credentials `irisctl import` / `export` present to the IrisDB
 * cluster (issue #19): an ACL user (or "default" with --require-pass) and
 * its password. The password never comes from a plain argument (it would
 * show in `ps` and shell history): --target-password-file FILE, else the
 * IRISDB_PASSWORD environment variable (as redis-cli takes REDISCLI_AUTH).
 * The user: --target-user, else IRISDB_USER, else "default". Used for RESP
 * AUTH (ioredis username/password) and for HTTP Basic on the bulk route.
 */
import { CliError } from '../cli/errors.js';
import type { FlagDef } from '../cli/usage.js';

export interface TargetCredentials {
  readonly user: string;
  /** null: no password (AUTH is not sent; a cluster that needs one refuses with NOAUTH). */
  readonly password: string | null;
}

/** The flags as given (parsed by import-args.ts), resolved at run time: the file is read then. */
export interface TargetCredentialFlags {
  readonly user?: string;
  readonly passwordFile?: string;
}

export const PASSWORD_ENV = 'IRISDB_PASSWORD';
export const USER_ENV = 'IRISDB_USER';

/** A credential that cannot be used: exit 2 (a usage problem, found when the command runs). */
export class CredentialsError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * Resolves the flags against the environment and the password file. Pure
 * given `env` and `readFile`. A password file's trailing newline is not
 * part of the password (files written by `echo` end with one).
 */
export function resolveTargetCredentials(
  flags: TargetCredentialFlags, env: Readonly<Record<string, string | undefined>>,
  readFile: (file: string) => string,
): TargetCredentials {
  const user = flags.user ?? (env[USER_ENV] !== undefined && env[USER_ENV] !== '' ? env[USER_ENV] : 'default');
  if (user === '' || /[\s:]/.test(user)) throw new CredentialsError(`the user name "${user}" is not valid (no spaces or ':')`);
  let password: string | null = null;
  if (flags.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFile(flags.passwordFile);
    } catch (err) {
      throw new CredentialsError(`--target-password-file: cannot read ${flags.passwordFile}: ${(err as Error).message}`);
    }
    password = text.replace(/\r?\n$/, '');
    if (password === '') throw new CredentialsError(`--target-password-file: ${flags.passwordFile} is empty`);
  } else if (env[PASSWORD_ENV] !== undefined && env[PASSWORD_ENV] !== '') {
    password = env[PASSWORD_ENV];
  }
  return { user, password };
}

/** ioredis options for them ({} when nothing is to be sent). */
export function redisAuthOptions(c: TargetCredentials | null): { username?: string; password?: string } {
  if (c === null || c.password === null) return {};
  return c.user === 'default' ? { password: c.password } : { username: c.user, password: c.password };
}

/** The HTTP Authorization header for them, or null. Basic, so the node's ACL or --require-pass check both accept it. */
export function authorizationHeader(c: TargetCredentials | null): string | null {
  if (c === null || c.password === null) return null;
  return `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;
}

/** The flags of import and export that carry them (and --cacert, the CA of an IrisCluster's TLS, see kube-import.ts). */
export const TARGET_CREDENTIAL_FLAGS: readonly FlagDef[] = [
  { name: 'target-user', type: 'string', value: 'USER', help: 'the IrisDB ACL user to write/read as (default IRISDB_USER, else "default")' },
  { name: 'target-password-file', type: 'string', value: 'FILE', help: "a file holding that user's password (default: the IRISDB_PASSWORD environment variable)" },
  { name: 'cacert', type: 'string', value: 'FILE', help: "with --kube: the CA certificate of the IrisCluster's TLS (default: ca.crt of its TLS Secret)" },
];
