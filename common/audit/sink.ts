/**
 * What audited code calls: one record per action, passed in (never a
 * module global). NO_AUDIT when no audit log is configured.
 */
import type { AuditOutcome } from './chain.js';

export interface AuditEvent {
  readonly event: string;
  readonly user?: string | null;
  readonly remote?: string | null;
  readonly outcome: AuditOutcome;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuditSink {
  record(e: AuditEvent): void;
}

export const NO_AUDIT: AuditSink = { record() {} };
