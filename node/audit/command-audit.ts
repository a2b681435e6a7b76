/**
 * Which RESP commands the audit log records, and what it says about them.
 * Pure: the node's wiring (node-audit.ts) hands each finished command here.
 * Secrets never reach a record: AUTH/HELLO passwords are dropped, ACL
 * SETUSER password rules and CONFIG SET values of secret settings are
 * replaced by "(redacted)".
 */
import type { AuditEvent } from '../../common/audit/sink.js';

/** Security-relevant commands, always recorded: the event kind and the name shown. */
const AUDITED: ReadonlyMap<string, { event: string; shown: string }> = new Map([
  ['auth', { event: 'auth', shown: 'AUTH' }],
  ['hello', { event: 'auth', shown: 'HELLO' }],
  ['acl|setuser', { event: 'acl', shown: 'ACL SETUSER' }],
  ['acl|deluser', { event: 'acl', shown: 'ACL DELUSER' }],
  ['acl|load', { event: 'acl', shown: 'ACL LOAD' }],
  ['acl|save', { event: 'acl', shown: 'ACL SAVE' }],
  ['flushall', { event: 'command', shown: 'FLUSHALL' }],
  ['flushdb', { event: 'command', shown: 'FLUSHDB' }],
  ['config|set', { event: 'config', shown: 'CONFIG SET' }],
  ['config|resetstat', { event: 'config', shown: 'CONFIG RESETSTAT' }],
  ['config|rewrite', { event: 'config', shown: 'CONFIG REWRITE' }],
  ['cluster|failover', { event: 'command', shown: 'CLUSTER FAILOVER' }],
  ['cluster|reset', { event: 'command', shown: 'CLUSTER RESET' }],
  ['shutdown', { event: 'command', shown: 'SHUTDOWN' }],
]);

/** Redirections and retries: the write did not run here and the client will send it elsewhere. */
const NOT_RUN_HERE = ['MOVED ', 'ASK ', 'TRYAGAIN ', 'CLUSTERDOWN '];

const REDACTED = '(redacted)';
const MAX_SHOWN_BYTES = 200;

export interface FinishedCommand {
  /** Full name as the dispatcher set it ('acl|setuser'; '' for an unknown command). */
  readonly name: string;
  readonly argv: readonly Buffer[];
  /** The error line of an error reply, null for any other reply. */
  readonly error: string | null;
  /** The reply was +QUEUED inside MULTI: the command has not run yet. */
  readonly queued: boolean;
  readonly user: string;
  readonly remote: string;
  /** The command writes (the table's "write" flag). */
  readonly write: boolean;
  /** argv index of its first key (0: none). */
  readonly firstKey: number;
}

const text = (b: Buffer | undefined): string => {
  if (b === undefined) return '';
  const s = b.subarray(0, MAX_SHOWN_BYTES).toString('utf8');
  return b.length > MAX_SHOWN_BYTES ? `${s}…` : s;
};

const secretSetting = (name: string): boolean => /pass|token|secret|key/i.test(name);

/** ACL SETUSER rules with passwords and their digests hidden. */
function redactRules(rules: readonly Buffer[]): string[] {
  return rules.map((r) => {
    const s = text(r);
    return /^[><#!]/.test(s) ? `${s[0]}${REDACTED}` : s;
  });
}

function detailOf(c: FinishedCommand, shown: string): Record<string, unknown> {
  const args = c.argv.slice(c.name.includes('|') ? 2 : 1);
  switch (c.name) {
    case 'auth':
    case 'hello':
      return { command: shown };
    case 'acl|setuser':
      return { command: shown, target: text(args[0]), rules: redactRules(args.slice(1)) };
    case 'acl|deluser':
      return { command: shown, targets: args.map(text) };
    case 'config|set': {
      const parameters: Record<string, string> = {};
      for (let i = 0; i + 1 < args.length; i += 2) {
        const name = text(args[i]).toLowerCase();
        parameters[name] = secretSetting(name) ? REDACTED : text(args[i + 1]);
      }
      return { command: shown, parameters };
    }
    default:
      return { command: shown, args: args.map(text) };
  }
}

/** The user AUTH / HELLO AUTH tried (null: HELLO without AUTH, not an authentication). */
function authUser(c: FinishedCommand): string | null {
  if (c.name === 'auth') return c.argv.length >= 3 ? text(c.argv[1]) : 'default';
  for (let i = 2; i + 1 < c.argv.length; i++) {
    if (c.argv[i]!.toString('latin1').toLowerCase() === 'auth') return text(c.argv[i + 1]);
  }
  return null;
}

/**
 * The record for a finished command, or null when it is not audited:
 * security-relevant commands always; any other write only when
 * `auditWrites` (its name and first key, not its values).
 */
export function commandAuditEvent(c: FinishedCommand, auditWrites: boolean): AuditEvent | null {
  const outcome = c.error === null ? 'success' : 'failure';
  const extra = (d: Record<string, unknown>): Record<string, unknown> => ({
    ...d, ...(c.error !== null ? { error: c.error.slice(0, MAX_SHOWN_BYTES) } : {}), ...(c.queued ? { queued: true } : {}),
  });
  const known = AUDITED.get(c.name);
  if (known !== undefined) {
    if (known.event === 'auth') {
      const user = authUser(c);
      if (user === null) return null;
      return { event: 'auth', user, remote: c.remote, outcome, detail: extra({ command: known.shown }) };
    }
    return { event: known.event, user: c.user, remote: c.remote, outcome, detail: extra(detailOf(c, known.shown)) };
  }
  if (!auditWrites || !c.write || c.name === '') return null;
  if (c.error !== null && NOT_RUN_HERE.some((p) => c.error!.startsWith(p))) return null;
  const command = c.name.replace('|', ' ').toUpperCase();
  const key = c.firstKey > 0 && c.firstKey < c.argv.length ? { key: text(c.argv[c.firstKey]) } : {};
  return { event: 'write', user: c.user, remote: c.remote, outcome, detail: extra({ command, ...key }) };
}
