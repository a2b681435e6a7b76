/**
 * Typed errors of the Kubernetes adapter: an API server's error answer
 * (with its HTTP status and Status reason, so callers can tell a conflict
 * to requeue from a real failure), and the adapter's own failures with the
 * object they concern.
 */

export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    /** The Status object's reason (Conflict, NotFound, AlreadyExists, Expired, Forbidden...), or ''. */
    readonly reason: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Something the operator could not do to one object (the cluster, a node, a StatefulSet). */
export class OperatorError extends Error {
  constructor(message: string, readonly object?: string) {
    super(object === undefined ? message : `${object}: ${message}`);
    this.name = 'OperatorError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}

/** 409 from an update carrying an old resourceVersion: re-read and try again. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409 && err.reason !== 'AlreadyExists';
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
}

/** 410 Gone: the watch's resourceVersion was compacted away; list again. */
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusCode === 410 || err.reason === 'Expired' || err.reason === 'Gone');
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
