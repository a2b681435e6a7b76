/**
 * The group commit's trace hooks (node/tracing/turn-trace.ts) on a real
 * engine and a real AckGate, with the OpenTelemetry SDK's in-memory
 * exporter: a traced SET's span gets `group commit` and `replication ack
 * wait` children, ends only when the gate releases its reply, and an ack
 * timeout marks the ack wait and the command as errors. Untraced turns are
 * untouched (no trace, no spans).
 */
import { SpanStatusCode, ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { silentLogger } from '../../common/logger.js';
import type { Tracing } from '../../common/tracing/provider.js';
import { createCommandTable } from '../../node/commands/table.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { AckGate, type Timers } from '../../node/replication/ack-gate.js';
import { OK } from '../../node/resp/reply.js';
import { NodeTracing } from '../../node/tracing/node-tracing.js';
import { engineFixture } from '../support/engine-fixture.js';
import { waitFor } from '../support/wait.js';

const b = (s: string): Buffer => Buffer.from(s);

function inMemoryTracing(exporter: InMemorySpanExporter): Tracing {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  return {
    tracer,
    settings: { tracesUrl: 'http://unused/v1/traces', serviceName: 'test', ratio: 1 },
    sampleRoot: () => true,
    startFromTraceparent: (name, _tp, options) => tracer.startSpan(name, options, ROOT_CONTEXT),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Timers the test moves by hand: the gate's deadline fires when the test says so. */
class ManualTimers implements Timers {
  private t = 0;
  private pending: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): { cancel(): void } {
    const entry = { at: this.t + ms, fn, live: true };
    this.pending.push(entry);
    return { cancel: () => { entry.live = false; } };
  }
  advance(ms: number): void {
    this.t += ms;
    for (const e of this.pending.filter((x) => x.live && x.at <= this.t)) {
      e.live = false;
      e.fn();
    }
  }
}

for (const fsync of ['batch', 'always'] as const) {
  describe(`tracing: a traced command's group-commit turn (fsync=${fsync})`, () => {
    const fx = engineFixture({ fsync });
    let exporter: InMemorySpanExporter;
    let timers: ManualTimers;
    let gate: AckGate;
    let engine: SqliteEngine;
    let tracing: NodeTracing;

    beforeEach(() => {
      exporter = new InMemorySpanExporter();
      timers = new ManualTimers();
      engine = fx.open();
      gate = new AckGate({ minAcks: 1, ackTimeoutMs: 1000, timers });
      gate.setVoters(['r1']);
      engine.setReleaseGate(gate);
      tracing = new NodeTracing({ tracing: inMemoryTracing(exporter), commits: engine.commits, commands: createCommandTable(), logger: silentLogger(), minSyncReplicas: () => 1 });
    });

    const named = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
    const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

    /** Runs SET k v as the RESP server does: span, write, reply, join the turn; resolves with the release error. */
    function tracedSet(key: string): Promise<Error | null> {
      const span = tracing.startCommand([b('SET'), b(key), b('v')])!;
      engine.keyspace.set(b(key), b('v'), null);
      tracing.commandRan(span, OK);
      return new Promise((resolve) => engine.commits.afterCommit(resolve));
    }

    it('ends the command only when the replica acknowledges, with commit and ack-wait children', async () => {
      const released = tracedSet('k1');
      await waitFor('the commit to finish', () => named('group commit').length === 1);
      expect(named('SET')).to.deep.equal([]);
      expect(gate.pending).to.equal(1);
      gate.ack('r1', engine.keyspace.lastSeq);
      expect(await released).to.equal(null);
      const [set] = named('SET');
      const [commit] = named('group commit');
      const [ack] = named('replication ack wait');
      expect(set!.attributes['db.system.name']).to.equal('redis');
      expect(set!.attributes['db.operation.name']).to.equal('SET');
      expect(parentOf(commit!)).to.equal(set!.spanContext().spanId);
      expect(parentOf(ack!)).to.equal(set!.spanContext().spanId);
      expect(commit!.attributes['irisdb.commit.writes']).to.equal(1);
      expect(ack!.attributes['irisdb.replication.min_sync_replicas']).to.equal(1);
      expect(set!.status.code).to.not.equal(SpanStatusCode.ERROR);
    });

    it('marks the ack wait and the command as errors when the acknowledgement times out', async () => {
      const released = tracedSet('k2');
      await waitFor('the turn to be held', () => gate.pending === 1);
      timers.advance(1000);
      const err = await released;
      expect(err?.message).to.match(/Not enough good replicas to write/);
      const [ack] = named('replication ack wait');
      const [set] = named('SET');
      expect(ack!.status.code).to.equal(SpanStatusCode.ERROR);
      expect(set!.status.code).to.equal(SpanStatusCode.ERROR);
    });

    it('leaves untraced turns alone: no trace on the turn, no spans', async () => {
      engine.keyspace.set(b('plain'), b('v'), null);
      expect(engine.commits.turnTrace ?? null).to.equal(null);
      const released = new Promise<Error | null>((resolve) => engine.commits.afterCommit(resolve));
      await waitFor('the turn to be held', () => gate.pending === 1);
      gate.ack('r1', engine.keyspace.lastSeq);
      expect(await released).to.equal(null);
      expect(exporter.getFinishedSpans()).to.deep.equal([]);
    });
  });
}
