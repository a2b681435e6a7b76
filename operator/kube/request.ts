/**
 * Requests made through the IrisCluster resource (`irisctl --kube`,
 * `kubectl irisdb`, or `kubectl annotate`): a change of primary is asked
 * with the annotation `irisdb.io/request` and acknowledged by the operator
 * in `status.request` (docs/kubernetes.md). The annotation's text is the
 * request's identity: it carries a nonce (`id=`), so asking the same thing
 * twice is two requests, and the operator acts on a given text at most once.
 * Pure: parsing, formatting and the decision of what to do with what the
 * resource holds.
 */

export const REQUEST_ANNOTATION = 'irisdb.io/request';

export type ClusterRequest =
  | { readonly id: string; readonly verb: 'failover'; readonly shard: string }
  | { readonly id: string; readonly verb: 'switchover'; readonly shard: string; readonly to?: string }
  /** Every node re-encrypts its stored values with the active key (spec.encryption); progress in status.request.message. */
  | { readonly id: string; readonly verb: 're-encrypt' }
  /** The operator rotates its own CA of the cluster (spec.tls without secretRef or certManager); progress in status.tls.caRotation. */
  | { readonly id: string; readonly verb: 'rotate-ca' };

/**
 * Handling: the operator took it and is asking the controller (written
 * before, so a new leader never runs it twice); Started: the controller
 * started it (`operation` is its id); Refused: it did not (`message` says
 * why); Interrupted: the operator stopped while Handling it, so whether it
 * started is unknown (the shard's status tells).
 */
export type RequestPhase = 'Handling' | 'Started' | 'Refused' | 'Interrupted';

/** status.request */
export interface RequestStatus {
  /** The annotation's text the status is about. */
  readonly annotation: string;
  readonly phase: RequestPhase;
  readonly message: string;
  /** The failover or switchover id the controller gave it ('' unless Started). */
  readonly operation: string;
  /** RFC 3339. */
  readonly time: string;
}

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Shard ids (shard-1) and node names (iris-shard-1-0): DNS labels. */
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_ANNOTATION = 256;

export class RequestParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestParseError';
  }
}

/** "switchover shard-1 to=iris-shard-1-0 id=k3x9". */
export function formatRequest(r: ClusterRequest): string {
  if (r.verb === 're-encrypt' || r.verb === 'rotate-ca') return `${r.verb} id=${r.id}`;
  const to = r.verb === 'switchover' && r.to !== undefined ? ` to=${r.to}` : '';
  return `${r.verb} ${r.shard}${to} id=${r.id}`;
}

/** The inverse of formatRequest; throws RequestParseError naming what is wrong. */
export function parseRequest(text: string): ClusterRequest {
  if (text.length > MAX_ANNOTATION) throw new RequestParseError(`longer than ${MAX_ANNOTATION} characters`);
  const [verb, shard, ...rest] = text.trim().split(/\s+/);
  if (verb === 're-encrypt' || verb === 'rotate-ca') return parseClusterWide(verb, shard, rest);
  if (verb !== 'failover' && verb !== 'switchover') throw new RequestParseError(`unknown verb "${verb ?? ''}": expected failover, switchover, re-encrypt or rotate-ca`);
  if (shard === undefined || !NAME.test(shard)) throw new RequestParseError(`${verb} needs a shard id such as shard-1`);
  const opts = new Map<string, string>();
  for (const token of rest) {
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    if (eq < 0 || (key !== 'id' && key !== 'to')) throw new RequestParseError(`unexpected "${token}": expected id=ID${verb === 'switchover' ? ' or to=NODE' : ''}`);
    if (opts.has(key)) throw new RequestParseError(`${key}= given twice`);
    opts.set(key, token.slice(eq + 1));
  }
  const id = opts.get('id');
  if (id === undefined || !ID.test(id)) throw new RequestParseError('needs id=ID (1-63 lowercase letters, digits or dashes) so that each request is distinct');
  const to = opts.get('to');
  if (to !== undefined && (verb !== 'switchover' || !NAME.test(to))) {
    throw new RequestParseError(verb === 'switchover' ? `to= must be a node (pod) name (got "${to}")` : 'to= goes with switchover only');
  }
  if (verb === 'failover') return { id, verb, shard };
  return to === undefined ? { id, verb, shard } : { id, verb, shard, to };
}

/** `re-encrypt id=ID`, `rotate-ca id=ID`: the whole cluster, no shard. */
function parseClusterWide(verb: 're-encrypt' | 'rotate-ca', first: string | undefined, rest: readonly string[]): ClusterRequest {
  if (first === undefined || rest.length > 0 || !first.startsWith('id=')) throw new RequestParseError(`${verb} takes only id=ID`);
  const id = first.slice(3);
  if (!ID.test(id)) throw new RequestParseError('needs id=ID (1-63 lowercase letters, digits or dashes) so that each request is distinct');
  return { id, verb };
}

export type RequestDecision =
  | { readonly do: 'none' }
  /** Record Handling, ask the controller, record the outcome. */
  | { readonly do: 'handle'; readonly annotation: string; readonly request: ClusterRequest }
  /** Record Refused at once (a malformed annotation). */
  | { readonly do: 'refuse'; readonly annotation: string; readonly message: string }
  /** Status says Handling but this operator did not handle it: it stopped mid-way. */
  | { readonly do: 'interrupted'; readonly annotation: string };

/**
 * What to do with the resource's request annotation, given the status the
 * operator last wrote and what this operator instance handled itself (the
 * cache may not show its own status write yet).
 */
export function decideRequest(annotation: string | undefined, status: RequestStatus | undefined, handledHere: ReadonlySet<string>): RequestDecision {
  if (annotation === undefined || annotation === '' || handledHere.has(annotation)) return { do: 'none' };
  if (status !== undefined && status.annotation === annotation) {
    return status.phase === 'Handling' ? { do: 'interrupted', annotation } : { do: 'none' };
  }
  try {
    return { do: 'handle', annotation, request: parseRequest(annotation) };
  } catch (err) {
    if (!(err instanceof RequestParseError)) throw err;
    return { do: 'refuse', annotation, message: `${REQUEST_ANNOTATION} "${clip(annotation)}" is not a request: ${err.message}` };
  }
}

function clip(s: string): string {
  return s.length <= 80 ? s : `${s.slice(0, 79)}…`;
}
