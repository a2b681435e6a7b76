/**
 * Reads the recoverability window from the archive destination every
 * `intervalMs` (a listing plus the last segment of each shard: cheap, but
 * not for every status request), outside the controller's tick, so a slow
 * or dead destination never holds up heartbeats and failovers. The status
 * combines the last read with the primaries' current log heads
 * (core/recoverability.ts).
 */
import type { Logger } from '../../common/logger.js';
import { parseDestination, s3OptionsFromEnv } from '../../common/backup/destination-url.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { openDestination } from '../../common/backup/open-destination.js';
import type { ArchiveWindow } from '../../common/backup/window.js';
import { archiveWindow } from '../../node/backup/archive-window.js';
import { recoverabilityStatus, type RecoverabilityStatus } from '../core/recoverability.js';
import type { ClusterStatus } from '../core/observation.js';

export const RECOVERABILITY_READ_MS = 30_000;

export interface RecoverabilityWatcherOptions {
  readonly destination: string;
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly intervalMs?: number;
  readonly now?: () => number;
  readonly open?: (url: string, env: NodeJS.ProcessEnv) => BackupDestination;
  /** Run before each read, on the same destination (archive retention, archive-pruner.ts); its failure is logged, the read goes on. */
  readonly beforeRead?: (dest: BackupDestination) => Promise<unknown>;
}

export class RecoverabilityWatcher {
  private last: { window: ArchiveWindow; at: number } | null = null;
  private error: string | null = null;
  private errorAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: RecoverabilityWatcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== null) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.intervalMs ?? RECOVERABILITY_READ_MS);
    // Status housekeeping must never keep the process alive.
    this.timer.unref();
  }

  /** Reads the destination now (one read at a time); resolves when done, never rejects. */
  refresh(): Promise<void> {
    if (this.reading !== null) return this.reading;
    this.reading = this.read().finally(() => (this.reading = null));
    return this.reading;
  }

  private async read(): Promise<void> {
    const env = this.opts.env ?? process.env;
    let dest: BackupDestination | null = null;
    try {
      dest = this.opts.open !== undefined
        ? this.opts.open(this.opts.destination, env)
        : openDestination(parseDestination(this.opts.destination, this.opts.destination.startsWith('s3://') ? s3OptionsFromEnv(env, {}) : {}));
      await this.opts.beforeRead?.(dest).catch((err: unknown) => this.opts.logger.warn('archive retention failed', { destination: this.opts.destination, err: err instanceof Error ? err.message : String(err) }));
      this.last = { window: await archiveWindow(dest), at: this.now() };
      this.error = null;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (this.error !== text) this.opts.logger.warn('reading the recoverability window failed', { destination: this.opts.destination, err: text });
      this.error = text;
      this.errorAt = this.now();
    } finally {
      dest?.close();
    }
  }

  /** The window for status: null until the first read ended. `heads`: each shard's primary's last sequence. */
  status(heads: ReadonlyMap<string, number | null>, shards: readonly string[]): RecoverabilityStatus | null {
    if (this.last === null && this.error === null) return null;
    const window = this.last?.window ?? { destination: this.opts.destination, oldestBackup: null, firstRecoverabilityPoint: null, shards: [] };
    return recoverabilityStatus(window, heads, shards, this.now(), this.last?.at ?? this.errorAt, this.error);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/** `status` with the recoverability window (when the cluster archives), the primaries' last sequences taken from it. */
export function withRecoverability(watcher: RecoverabilityWatcher | null, status: ClusterStatus): ClusterStatus {
  if (watcher === null) return status;
  const heads = new Map<string, number | null>();
  for (const shard of status.shards) heads.set(shard.id, shard.nodes.find((n) => n.name === shard.primary && n.up)?.lastSeq ?? null);
  return { ...status, recoverability: watcher.status(heads, status.shards.map((s) => s.id)) };
}
