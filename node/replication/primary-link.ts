/**
 * A replica's link to its primary: connect to the primary's bus port,
 * handshake with our position, then apply what arrives — a snapshot (full
 * resync) or log batches — in order, acknowledging each turn's highest
 * sequence once it is durable. Reconnects with backoff until stopped.
 */
import { dialBus } from '../tls/bus-transport.js';
import type { PeerAddress, PrimaryLinkState, PrimaryLinkStatus, SyncProgress, Term } from '../../common/replication.js';
import { BusAuthError } from './bus-auth.js';
import { BusClientAuth } from './bus-auth-client.js';
import { BusSocket } from './bus-socket.js';
import type { ReplicaSide } from './context.js';
import { FrameType, HANDSHAKE_FRAME_BYTES, encodeFrame, encodeJsonFrame, type Frame } from './frames.js';
import { encodeDigestReply, replyFormat } from './digest-codec.js';
import { decodeEntriesBody, encodeAck, type LoggedMutation } from './batch-codec.js';
import { decodeRows, decodeSlotReset } from './row-codec.js';
import type { StoredRow } from '../engine/types.js';
import {
  parseDigestRequest, parsePing, parseRefuse, parseSnapshotBegin, parseSnapshotEnd, parseWelcome, type HelloMsg,
  parseTraceContext,
} from './messages.js';
import { positionTermId } from './history.js';
import type { ApplySpan } from '../tracing/replication-tracing.js';

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2000;
/** Handshake must complete within this time or the attempt is abandoned. */
const HANDSHAKE_TIMEOUT_MS = 5000;
/** The primary pings every second: this long without a frame means it is gone or stopped (link down, reconnect). */
const LINK_TIMEOUT_MS = 5000;

export class PrimaryLink {
  state: PrimaryLinkState = 'connecting';
  lastError: string | null = null;
  fullSyncs = 0;
  partialSyncs = 0;
  loading: SyncProgress | null = null;
  respHost: string | null = null;
  respPort: number | null = null;
  private bus: BusSocket | null = null;
  private stopped = false;
  private backoff = BACKOFF_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private lastFrameAt = 0;
  /** Highest sequence acknowledged on the current connection. */
  private ackedSent = 0;
  private welcomed = false;
  /** A TraceContext frame's span, ended once the entries up to its seq are durably applied. */
  private tracedApply: { span: ApplySpan; seq: number } | null = null;
  /** The history the snapshot being loaded belongs to (adopted with its last row). */
  private snapshotHistory: readonly Term[] | null = null;
  /** The primary's committed sequence in its last ping, and when this replica last held all of it (eventual reads' lag). */
  private announcedSeq = 0;
  private syncedAt: number | null = null;
  /** Until when the current event-loop turn may go on applying streamed entries (0: no turn budget running). */
  private turnEndsAt = 0;

  constructor(readonly target: PeerAddress, private readonly side: ReplicaSide) {}

  start(): void {
    this.connect();
  }

  /** Closes the link for good (role change, shutdown). */
  stop(reason: string): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    if (this.silenceTimer !== null) clearInterval(this.silenceTimer);
    this.bus?.close(reason);
    this.bus = null;
    this.state = 'down';
  }

  /** What a replica's lag is computed from (node/cluster/read-consistency.ts replicaLag). */
  lagFacts(): { streaming: boolean; announcedSeq: number; appliedSeq: number; syncedAt: number | null } {
    return { streaming: this.state === 'streaming', announcedSeq: this.announcedSeq, appliedSeq: this.side.keyspace.lastSeq, syncedAt: this.syncedAt };
  }

  status(): PrimaryLinkStatus {
    return {
      name: this.target.name, host: this.target.host, busPort: this.target.busPort,
      respHost: this.respHost, respPort: this.respPort, state: this.state, lastError: this.lastError,
      fullSyncs: this.fullSyncs, partialSyncs: this.partialSyncs, loading: this.loading,
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.state = 'connecting';
    this.welcomed = false;
    this.ackedSent = 0;
    const socket = dialBus(this.target.host, this.target.busPort, this.side.busTls);
    // Small frames only until the primary has proven itself.
    const bus = new BusSocket(socket, HANDSHAKE_FRAME_BYTES);
    this.bus = bus;
    const side = this.side;
    // Both ends prove they know the cluster secret (bus-auth.ts) before the Hello.
    const auth = new BusClientAuth(bus, { secret: side.token, name: side.name, tls: side.busTls }, this.target.name);
    const sendHello = (): void => {
      const me = side.announce();
      const seq = side.keyspace.lastSeq;
      const hello: HelloMsg = {
        v: 1, name: side.name, epoch: side.epoch(), expectPrimary: this.target.name,
        seq, termId: positionTermId(side.history(), seq),
        respHost: me.respHost, respPort: me.respPort, busHost: me.busHost, busPort: me.busPort,
        ...(side.tracing !== null ? { trace: true } : {}),
      };
      bus.send(encodeJsonFrame(FrameType.Hello, hello));
    };
    socket.once('connect', () => {
      if (this.bus !== bus) return;
      this.state = 'handshake';
      auth.begin();
    });
    this.handshakeTimer = setTimeout(() => {
      if (this.bus === bus && !this.welcomed) bus.close(`no handshake answer from ${this.target.name} within ${HANDSHAKE_TIMEOUT_MS} ms`);
    }, HANDSHAKE_TIMEOUT_MS);
    this.lastFrameAt = performance.now();
    if (this.silenceTimer !== null) clearInterval(this.silenceTimer);
    this.silenceTimer = setInterval(() => {
      if (this.bus === bus && this.welcomed && performance.now() - this.lastFrameAt > LINK_TIMEOUT_MS) {
        bus.close(`nothing from primary ${this.target.name} for ${LINK_TIMEOUT_MS} ms`);
      }
    }, 1000);
    this.silenceTimer.unref();
    bus.attach({
      onFrame: (f) => {
        this.lastFrameAt = performance.now();
        if (!auth.done) {
          try {
            if (auth.onFrame(f)) {
              bus.trust();
              sendHello();
            }
          } catch (err) {
            // The node at the primary's address does not know the secret: counted like a refused peer (the close logs why).
            if (err instanceof BusAuthError && err.kind === 'unproven') side.metrics.authRefusals.inc();
            throw err;
          }
          return;
        }
        this.onFrame(bus, f);
      },
      onClose: (reason) => this.onClose(bus, reason),
      onBytesIn: (n) => side.metrics.bytesReceived.inc(n),
      onBytesOut: (n) => side.metrics.bytesSent.inc(n),
    });
  }

  private onClose(bus: BusSocket, reason: string): void {
    if (this.bus !== bus) return;
    this.bus = null;
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    if (this.silenceTimer !== null) clearInterval(this.silenceTimer);
    if (this.stopped) return;
    this.state = 'down';
    this.lastError = reason;
    this.side.logger.warn('link to primary down; reconnecting', { primary: this.target.name, reason, retryMs: this.backoff });
    this.retryTimer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
  }

  private onFrame(bus: BusSocket, f: Frame): void {
    const side = this.side;
    const ks = side.keyspace;
    switch (f.type) {
      case FrameType.Welcome: {
        const w = parseWelcome(f.body);
        if (w.name !== this.target.name) throw new Error(`expected primary ${this.target.name}, reached ${w.name}`);
        if (w.epoch < side.epoch()) throw new Error(`primary ${w.name} is at epoch ${w.epoch}, older than ours (${side.epoch()})`);
        this.welcomed = true;
        if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
        this.respHost = w.respHost;
        this.respPort = w.respPort;
        if (w.mode === 'partial') {
          // Our log agrees with the primary's up to our position: adopt its history (and epoch) now.
          side.adopt(w.epoch, w.history);
          this.partialSyncs++;
          side.metrics.resyncs.inc({ type: 'partial', side: 'replica' });
          this.state = 'streaming';
          this.lastError = null;
          this.backoff = BACKOFF_MIN_MS;
          side.logger.info('partial resync from primary', { primary: w.name, fromSeq: w.fromSeq, epoch: w.epoch });
        } else {
          side.adopt(w.epoch, null);
          this.fullSyncs++;
          side.metrics.resyncs.inc({ type: 'full', side: 'replica' });
          this.state = 'full_sync';
          side.logger.warn('full resync from primary: discarding local data', { primary: w.name, ourSeq: ks.lastSeq, epoch: w.epoch });
        }
        return;
      }
      case FrameType.Refuse: {
        const r = parseRefuse(f.body);
        this.lastError = `${r.code}: ${r.message}`;
        throw new Error(`primary ${this.target.name} refused: ${r.code}: ${r.message}`);
      }
      case FrameType.Entries: {
        if (this.state !== 'streaming') throw new Error(`log entries before the resync finished (state ${this.state})`);
        const { epoch, entries } = decodeEntriesBody(f.body);
        if (epoch < side.epoch()) throw new Error(`entries stamped with epoch ${epoch}, older than ours (${side.epoch()})`);
        if (epoch > side.epoch()) side.adopt(epoch, null);
        this.applyEntries(bus, entries, 0);
        return;
      }
      case FrameType.TraceContext: {
        const t = parseTraceContext(f.body);
        const span = side.tracing?.startApply(t.traceparent, this.target.name, t.seq) ?? null;
        this.tracedApply?.span.end(new Error('no entries followed the trace context'), ks.headSeq);
        this.tracedApply = span === null ? null : { span, seq: t.seq };
        return;
      }
      case FrameType.Ping: {
        const p = parsePing(f.body);
        if (p.epoch > side.epoch()) side.adopt(p.epoch, null);
        this.announcedSeq = p.seq;
        if (ks.lastSeq >= p.seq) this.syncedAt = performance.now();
        if (this.state === 'streaming') this.scheduleAck(bus);
        return;
      }
      case FrameType.SnapshotBegin: {
        if (this.state !== 'full_sync') throw new Error('snapshot without a full resync handshake');
        const b = parseSnapshotBegin(f.body);
        side.setLoading(true);
        ks.resetForLoad();
        side.log.clear();
        this.loading = { keys: 0, bytes: 0, totalKeys: b.keys };
        this.snapshotHistory = b.history;
        side.logger.info('loading snapshot from primary', { primary: this.target.name, seq: b.seq, keys: b.keys });
        return;
      }
      case FrameType.SnapshotRows: {
        if (this.loading === null) throw new Error('snapshot rows outside a snapshot');
        const rows = decodeRows(f.body);
        this.loading = { ...this.loading, bytes: this.loading.bytes + f.body.length };
        this.loadRowsInTurns(bus, rows, 0);
        return;
      }
      case FrameType.SnapshotEnd: {
        if (this.loading === null) throw new Error('snapshot end outside a snapshot');
        const e = parseSnapshotEnd(f.body);
        ks.finishLoad(e.seq);
        side.adopt(side.epoch(), this.snapshotHistory);
        side.setLoading(false);
        side.logger.info('snapshot loaded; streaming', { primary: this.target.name, seq: e.seq, keys: this.loading.keys, bytes: this.loading.bytes });
        this.loading = null;
        this.state = 'streaming';
        this.lastError = null;
        this.backoff = BACKOFF_MIN_MS;
        this.scheduleAck(bus);
        return;
      }
      case FrameType.DigestRequest: {
        const req = parseDigestRequest(f.body);
        // Answer at exactly this stream position: stop taking frames until what came before is committed.
        bus.pause();
        side.keyspace.commits.afterCommit((err) => {
          if (err !== null) {
            bus.close(`apply failed: ${err.message}`);
            return;
          }
          // The snapshot is taken now; frames flow again while its rows are hashed in slices.
          let job;
          try {
            job = side.startDigests();
          } catch (e) {
            bus.close(`digest failed: ${(e as Error).message}`);
            return;
          }
          bus.resume();
          job.result.then(
            (table) => bus.send(encodeFrame(FrameType.DigestReply, encodeDigestReply(replyFormat(req.format), req.id, job.seq, table))),
            (e: Error) => bus.close(`digest failed: ${e.message}`),
          );
        });
        return;
      }
      case FrameType.SlotReset: {
        const { slot, rows } = decodeSlotReset(f.body);
        ks.replaceSlot(slot, rows);
        side.logger.warn('slot repaired from the primary', { slot, keys: rows.length });
        return;
      }
      default:
        throw new Error(`unexpected frame type ${f.type} from primary`);
    }
  }

  /**
   * Acknowledges everything applied so far once it is durable: the sequence
   * is taken now (it covers exactly the writes this turn's commit makes
   * durable) and sent from the turn's afterCommit. Every frame schedules its
   * own: a later turn never waits for an earlier turn's acknowledgement.
   */
  /**
   * Applies entries[from..] in order, at most applySliceMs per event-loop
   * turn (counted across frames): past the budget the bus is paused and the
   * rest continues on the next turn, after this turn's commit and after
   * clients had their turn. A burst that arrived in one socket read thus
   * never becomes one long turn and one huge commit.
   */
  private applyEntries(bus: BusSocket, entries: readonly LoggedMutation[], from: number): boolean {
    const side = this.side;
    const ks = side.keyspace;
    if (this.turnEndsAt === 0) {
      this.turnEndsAt = performance.now() + side.applySliceMs;
      setImmediate(() => { this.turnEndsAt = 0; });
    }
    for (let i = from; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.seq > ks.headSeq) {
        // A migration's entries stay marked in this replica's log: it may be the primary whose log is archived next.
        if (e.migration === true) side.log.asMigration(() => ks.applyReplicated(e.m, e.seq));
        else ks.applyReplicated(e.m, e.seq);
      }
      if ((i & 31) === 31 && i + 1 < entries.length && performance.now() >= this.turnEndsAt) {
        this.scheduleAck(bus);
        this.yieldTurn(bus, () => this.applyEntries(bus, entries, i + 1));
        return true;
      }
    }
    const traced = this.tracedApply;
    if (traced !== null && entries.length > 0 && entries[entries.length - 1]!.seq >= traced.seq) {
      this.tracedApply = null;
      const seq = ks.headSeq;
      ks.commits.afterCommit((err) => traced.span.end(err, seq));
    }
    this.scheduleAck(bus);
    // The budget is spent: frames still buffered wait for the next turn.
    if (performance.now() < this.turnEndsAt) return false;
    this.yieldTurn(bus, null);
    return true;
  }

  /**
   * Loads rows[from..] of a snapshot frame, at most loadSliceRows per
   * event-loop turn: each turn's rows are one commit, and frames that
   * arrived together wait for the next turn. A frame's rows are thus never
   * one long turn, and the commit that writes them to the WAL (which can
   * block in the kernel when the disk is busy) is bounded too.
   */
  private loadRowsInTurns(bus: BusSocket, rows: readonly StoredRow[], from: number): boolean {
    const loading = this.loading;
    if (loading === null) throw new Error('snapshot rows outside a snapshot');
    const end = Math.min(rows.length, from + this.side.loadSliceRows);
    this.side.keyspace.loadRows(from === 0 && end === rows.length ? rows : rows.slice(from, end));
    this.loading = { ...loading, keys: loading.keys + end - from };
    this.side.metrics.fullSyncKeys.inc({ side: 'replica' }, end - from);
    this.side.metrics.fullSyncLoadSlices.inc();
    const next = end < rows.length ? (): boolean => this.loadRowsInTurns(bus, rows, end) : null;
    const backlog = this.side.walBacklog();
    if (backlog === null) this.nextTurn(bus, next);
    else this.afterWal(bus, backlog, next);
    return true;
  }

  /**
   * Like nextTurn, once the checkpoint worker has copied the WAL (`backlog`):
   * the bus stays paused, so the next slice's transaction finds every frame
   * copied and starts the log over, instead of SQLite checkpointing inside a
   * load commit on the event loop.
   */
  private afterWal(bus: BusSocket, backlog: Promise<void>, next: (() => boolean) | null): void {
    this.side.metrics.fullSyncLoadWalWaits.inc();
    bus.pause();
    void backlog.then(() => this.nextTurn(bus, next));
  }

  /**
   * Pauses frame delivery until the next turn, runs `next` then (unless the
   * link changed), and resumes — unless `next` yielded again (returned true).
   */
  private yieldTurn(bus: BusSocket, next: (() => boolean) | null): void {
    this.side.metrics.applyYields.inc();
    this.nextTurn(bus, next);
  }

  private nextTurn(bus: BusSocket, next: (() => boolean) | null): void {
    bus.pause();
    setImmediate(() => {
      if (this.bus !== bus || bus.isClosed) return; // the reconnect resumes from our applied position
      let again = false;
      try {
        again = next?.() ?? false;
      } catch (err) {
        bus.close(err instanceof Error ? err.message : String(err));
        return;
      }
      if (!again) bus.resume();
    });
  }

  private scheduleAck(bus: BusSocket): void {
    const seq = this.side.keyspace.headSeq;
    this.side.keyspace.commits.afterCommit((err) => {
      if (err !== null) {
        bus.close(`applying replicated writes failed: ${err.message}`);
        return;
      }
      if (this.bus !== bus || this.state !== 'streaming' || seq <= this.ackedSent) return;
      this.ackedSent = seq;
      bus.send(encodeAck(seq));
    });
  }
}
