/** Typed replication errors: each knows the RESP line and HTTP status a client should get. */

/** A role change the node refuses (stale epoch, promotion of a loading replica, ...). */
export class RoleChangeError extends Error {
  constructor(readonly code: 'stale_epoch' | 'loading' | 'invalid_role' | 'same_epoch', message: string) {
    super(message);
    this.name = 'RoleChangeError';
  }
}

/** Replies held for acknowledgements when the node stopped being primary. */
export class SteppedDownError extends Error {
  readonly respMessage: string;
  readonly code = 'stepped_down';
  constructor(epoch: number, why: string) {
    super(`this node stopped being primary (epoch ${epoch}: ${why}) before enough replicas acknowledged; the write may or may not survive`);
    this.name = 'SteppedDownError';
    this.respMessage = `NOREPLICAS ${this.message}`;
  }
}

/** The node is shutting down with replies still waiting for acknowledgements. */
export class ShuttingDownError extends Error {
  readonly respMessage: string;
  readonly code = 'shutting_down';
  constructor() {
    super('the node is shutting down before enough replicas acknowledged; the write may or may not survive');
    this.name = 'ShuttingDownError';
    this.respMessage = `NOREPLICAS ${this.message}`;
  }
}

/**
 * A primary that fenced itself (an authenticated peer reports a newer epoch):
 * every turn fails until the control plane sets this node's role again.
 */
export class FencedError extends Error {
  readonly respMessage: string;
  readonly code = 'fenced';
  constructor(epoch: number, why: string) {
    super(`this primary (epoch ${epoch}) stopped accepting writes: ${why}; it waits for the control plane to set its role, and a write sent now may or may not survive`);
    this.name = 'FencedError';
    this.respMessage = `NOREPLICAS ${this.message}`;
  }
}
