/**
 * Tracing on the node (docs/tracing.md), built by the runtime only when an
 * OTLP endpoint is configured — with tracing off nothing here exists and the
 * command path pays one null check. RESP commands become spans (db.system
 * redis), joined to their group-commit turn (CommandTurnTrace), so a traced
 * write shows its commit, fsync and replication ack wait as children.
 */
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Logger } from '../../common/logger.js';
import { keySlot } from '../../common/slot.js';
import type { Tracing } from '../../common/tracing/provider.js';
import type { CommandTable } from '../commands/types.js';
import type { CommitScheduler } from '../engine/types.js';
import type { Reply } from '../resp/reply.js';
import { CommandTurnTrace } from './turn-trace.js';

export interface NodeTracingDeps {
  readonly tracing: Tracing;
  readonly commits: CommitScheduler;
  readonly commands: CommandTable;
  readonly logger: Logger;
  minSyncReplicas(): number;
}

export class NodeTracing {
  readonly tracing: Tracing;
  private current: CommandTurnTrace | null = null;
  private errorsLogged = 0;

  constructor(private readonly deps: NodeTracingDeps) {
    this.tracing = deps.tracing;
  }

  /** A span for a RESP command if this one is sampled (null: not traced). */
  startCommand(argv: readonly Buffer[]): Span | null {
    if (!this.tracing.sampleRoot()) return null;
    const name = argv[0]!.toString('latin1').toUpperCase();
    const spec = this.deps.commands.lookup(name.toLowerCase());
    const attributes: Record<string, string | number> = {
      'db.system.name': 'redis',
      'db.system': 'redis',
      'db.operation.name': name,
      'db.namespace': '0',
    };
    if (spec !== undefined && spec.firstKey > 0 && argv.length > spec.firstKey) attributes['irisdb.slot'] = keySlot(argv[spec.firstKey]!);
    return this.tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes });
  }

  /**
   * The command ran: its reply waits for the current turn, so the span ends
   * when the turn releases it (a Promise reply: when that settles).
   */
  commandRan(span: Span, result: Reply | Promise<Reply>): void {
    if (result instanceof Promise) {
      this.joinTurn(span, false);
      result.then((r) => this.endCommand(span, r), (e: unknown) => this.endCommand(span, null, e));
      return;
    }
    if (result.kind === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(result) });
    this.joinTurn(span, true);
  }

  /** Joins a span to the open group-commit turn (its commit and ack wait become its children). */
  joinTurn(span: Span, endWithTurn: boolean): void {
    const commits = this.deps.commits;
    let t = this.current;
    if (t === null || commits.turnTrace !== t) {
      t = new CommandTurnTrace({
        tracer: this.tracing.tracer,
        minSyncReplicas: () => this.deps.minSyncReplicas(),
        onError: (err) => this.reportError(err),
      });
      this.current = t;
      commits.turnTrace = t;
    }
    t.join(span, endWithTurn);
  }

  private endCommand(span: Span, reply: Reply | null, err?: unknown): void {
    if (reply !== null && reply.kind === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(reply) });
    else if (reply === null) span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
    span.end();
  }

  private reportError(err: unknown): void {
    // At most a few lines: a broken tracer must not flood the log from the hot path.
    if (this.errorsLogged++ < 5) this.deps.logger.warn('tracing failed (the command is unaffected)', { err: err instanceof Error ? err.message : String(err) });
  }
}

function errorText(reply: Reply): string {
  const r = reply as { message?: unknown };
  return typeof r.message === 'string' ? r.message : 'error reply';
}
