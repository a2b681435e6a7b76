/**
 * The node's audit log (docs/security.md "Audit log"): opened from
 * --audit-log-file (none: every hook is a no-op), with its counters on the
 * node's registry. The runtime hands it every finished RESP command; the
 * HTTP and admin authentication and the bus handshake get `sink`.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { AuditFileLog } from '../../common/audit/file-log.js';
import { auditLogCounters } from '../../common/audit/metrics.js';
import { NO_AUDIT, type AuditSink } from '../../common/audit/sink.js';
import type { NodeConfig } from '../config/schema.js';
import type { ClientState, CommandSpec } from '../commands/types.js';
import type { Reply } from '../resp/reply.js';
import { commandAuditEvent } from './command-audit.js';

export interface NodeAudit {
  readonly sink: AuditSink;
  /** A RESP command finished with `reply` (the RESP server's onCommandDone). */
  commandDone(client: ClientState, argv: readonly Buffer[], name: string, reply: Reply): void;
  /** A cluster-bus peer failed the challenge-response. */
  busRefused(remote: string | null, claimedName: string | null, reason: string): void;
  /** The aclfile watcher reloaded the file (or found it does not parse). */
  aclfileReloaded(result: { readonly error: string } | { readonly changed: readonly string[] }): void;
  close(): void;
}

const NONE: NodeAudit = { sink: NO_AUDIT, commandDone() {}, busRefused() {}, aclfileReloaded() {}, close() {} };

/**
 * `lookup` is read only once commands run (the table may be built after this opens).
 * `cleanup` runs before an error opening the file is thrown on.
 */
export function openNodeAudit(
  config: Pick<NodeConfig, 'auditLogFile' | 'auditWrites' | 'nodeName' | 'aclfile'>, lookup: (name: string) => CommandSpec | undefined,
  registry: Registry, logger: Logger, cleanup: () => void,
): NodeAudit {
  if (config.auditLogFile === '') return NONE;
  let log: AuditFileLog;
  try {
    log = new AuditFileLog({
      path: config.auditLogFile,
      source: config.nodeName,
      counters: auditLogCounters(registry),
      onWriteError: (err) => logger.error('audit record not written; the audit chain will show a gap here', { file: config.auditLogFile, err: err.message }),
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  logger.info('audit log open', { file: config.auditLogFile, continuesAfterSeq: log.last.seq, auditWrites: config.auditWrites });
  const specs = new Map<string, { write: boolean; firstKey: number }>();
  const facts = (name: string): { write: boolean; firstKey: number } => {
    let f = specs.get(name);
    if (f === undefined) {
      const spec = lookup(name.split('|')[0]!);
      f = { write: spec?.flags.includes('write') === true, firstKey: spec?.firstKey ?? 0 };
      specs.set(name, f);
    }
    return f;
  };
  return {
    sink: log,
    commandDone(client, argv, name, reply) {
      if (name === '') return;
      const f = facts(name);
      const e = commandAuditEvent({
        name, argv, error: reply.kind === 'error' ? reply.value : null,
        queued: client.multi !== null && reply.kind === 'simple' && reply.value === 'QUEUED',
        user: client.aclUser ?? 'default', remote: client.addr, write: f.write, firstKey: f.firstKey,
      }, config.auditWrites);
      if (e !== null) log.record(e);
    },
    busRefused(remote, claimedName, reason) {
      log.record({ event: 'auth', user: claimedName, remote, outcome: 'failure', detail: { via: 'cluster bus', reason } });
    },
    aclfileReloaded(result) {
      const outcome = 'error' in result ? 'failure' : 'success';
      log.record({ event: 'acl', user: null, remote: null, outcome, detail: { command: 'aclfile reload', aclfile: config.aclfile, ...result } });
    },
    close: () => log.close(),
  };
}
