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

/**
 * An API server's answer to `method path`: the parsed JSON body (the text
 * when it is not JSON, {} when empty) for a 2xx status, else a KubeApiError
 * carrying the Status object's reason and message.
 */
export function kubeAnswer(method: string, path: string, statusCode: number, text: string): { ok: true; body: unknown } | { ok: false; error: KubeApiError } {
  let body: unknown = text;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    /* keep the text */
  }
  if (statusCode >= 200 && statusCode < 300) return { ok: true, body };
  const status = (typeof body === 'object' && body !== null ? body : {}) as { reason?: string; message?: string };
  return { ok: false, error: new KubeApiError(statusCode, status.reason ?? '', `${method} ${path}: ${statusCode} ${status.message ?? text}`, body) };
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
