/**
 * Confirms, for strong reads, that this primary is still the shard's primary
 * (read-consistency.ts has the rule). One round asks the declared replicas
 * over the authenticated bus (the fencing probe, replication/probe.ts) which
 * epoch they know and whom they follow. Rounds are shared: every read that
 * arrives while a round is in flight waits for the NEXT round, which starts
 * after its value was read — a round started earlier could have been
 * answered before a failover the read must not miss.
 */
import type { PeerAddress } from '../../common/replication.js';
import { type ConfirmFacts, type Confirmation, type PeerView, judgeConfirmation } from './read-consistency.js';

export interface ReadConfirmerDeps {
  /** This node's role facts and the quorum a confirmation needs. */
  facts(): ConfirmFacts;
  /** Bus addresses of the declared replicas this node knows. */
  replicas(): readonly PeerAddress[];
  /** One probe: the peer's view, or a rejection when it does not answer (in time). */
  probe(peer: PeerAddress, facts: ConfirmFacts): Promise<PeerView>;
}

/** A strong read could not be confirmed: the client should retry (another node may be primary now). */
export class ReadNotConfirmedError extends Error {
  constructor(readonly confirmation: Extract<Confirmation, { confirmed: false }>) {
    super(`strong read not confirmed: ${confirmation.reason}`);
    this.name = 'ReadNotConfirmedError';
  }
}

export class ReadConfirmer {
  private inFlight: Promise<Confirmation> | null = null;
  private next: Promise<Confirmation> | null = null;
  /** Rounds run (for docs/consistency.md's cost: one round serves many reads). */
  rounds = 0;

  constructor(private readonly deps: ReadConfirmerDeps) {}

  /** Resolves once a round that started after this call confirmed this primary; rejects with ReadNotConfirmedError otherwise. */
  async confirm(): Promise<void> {
    const c = await this.roundAfterNow();
    if (!c.confirmed) throw new ReadNotConfirmedError(c);
  }

  private roundAfterNow(): Promise<Confirmation> {
    if (this.inFlight === null) {
      this.inFlight = this.runRound().finally(() => { this.inFlight = null; });
      return this.inFlight;
    }
    // A round is running: it may have asked before this read; join the one after it.
    this.next ??= this.inFlight.catch(() => undefined).then(() => {
      this.next = null;
      return this.roundAfterNow();
    });
    return this.next;
  }

  private async runRound(): Promise<Confirmation> {
    this.rounds++;
    const facts = this.deps.facts();
    if (facts.role === 'primary' && !facts.fenced && facts.quorum === 0) return { confirmed: true, confirmedBy: [] };
    const peers = this.deps.replicas();
    const replies = await Promise.all(peers.map((p) => this.deps.probe(p, facts).catch(() => null)));
    // Judged with the facts as they are now: a role change during the round must not confirm.
    const after = this.deps.facts();
    if (after.epoch !== facts.epoch || after.role !== facts.role) {
      return { confirmed: false, reason: `this node's role changed during the confirmation (epoch ${facts.epoch} → ${after.epoch})`, newerEpoch: null };
    }
    return judgeConfirmation(after, replies);
  }
}
