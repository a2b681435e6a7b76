/**
 * `irisctl --kube CLUSTER re-encrypt` (the request `re-encrypt id=ID`,
 * ../request.ts): the operator asks every node of the cluster (from the
 * controller's view, with the cluster's admin token) to re-seal its stored
 * values and replication log with the active key of spec.encryption's
 * keyring (POST /admin/encryption/reencrypt), then, each pass while the
 * request is the latest, writes the nodes' progress into
 * status.request.message until every node is done or one failed. The
 * progress line is the local CLI's (operator/cli/run-reencrypt.ts). Nodes
 * are reached as the controller reaches them: over HTTPS with spec.tls,
 * verified against the cluster's CA (node-https.ts, given by the runner).
 */
import { EncryptionAdminClient } from '../../../common/encryption-client.js';
import type { FetchLike } from '../../../common/node-fetch.js';
import { type NodeReencrypt, renderReencryptProgress } from '../../cli/run-reencrypt.js';
import { errorText } from '../errors.js';
import { ensureToken } from './resources.js';
import type { StepContext } from './context.js';

/** Final messages start with these (the CLI stops following on them). */
export const REENCRYPT_DONE = 're-encrypt done:';
export const REENCRYPT_FAILED = 're-encrypt failed:';
const TIMEOUT_MS = 10_000;

export function reencryptFinished(message: string): boolean {
  return message.startsWith(REENCRYPT_DONE) || message.startsWith(REENCRYPT_FAILED);
}

/** The status message for the nodes' states. Pure. */
export function reencryptMessage(nodes: readonly NodeReencrypt[]): string {
  const failed = nodes.filter((n) => n.status.reencrypt.state === 'failed');
  if (failed.length > 0) return `${REENCRYPT_FAILED} ${failed.map((f) => `${f.node} (${f.status.reencrypt.error ?? 'unknown reason'})`).join(', ')}`;
  const line = renderReencryptProgress(nodes, false, 0);
  if (nodes.length > 0 && nodes.every((n) => n.status.reencrypt.state === 'done')) {
    const values = nodes.reduce((a, n) => a + n.status.reencrypt.rewrittenKeys, 0);
    // A node whose database was over reencryptVacuumMaxBytes (or whose WAL readers held on) may keep old plaintext in free space.
    const unclean = nodes.filter((n) => n.status.reencrypt.plaintextScrub?.clean === false).map((n) => n.node);
    const note = unclean.length === 0 ? '' : `; old plaintext may remain in free space on ${unclean.join(', ')} (docs/security.md "Turning encryption on for existing data")`;
    return `${REENCRYPT_DONE} ${nodes.length} nodes on key ${nodes[0]!.status.activeKeyId ?? '?'}, ${values} values re-encrypted${note}`;
  }
  return line;
}

/** A fetch made on first use (the runner's HTTPS node fetch needs the runner constructed). */
export function lazyNodeFetch(make: () => FetchLike): FetchLike {
  let made: FetchLike | null = null;
  return (url, init) => (made ??= make())(url, init);
}

export class ReencryptRequests {
  constructor(private readonly fetchImpl: FetchLike = (url, init) => fetch(url, init)) {}

  private async clients(ctx: StepContext): Promise<Array<{ node: string; client: EncryptionAdminClient }>> {
    const token = await ensureToken(ctx.client, ctx.resource());
    const nodes = ctx.controller.status().shards.flatMap((s) => s.nodes).filter((n) => n.httpUrl !== null);
    if (nodes.length === 0) throw new Error('no node has an HTTP address yet');
    return nodes.map((n) => ({ node: n.name, client: new EncryptionAdminClient(n.httpUrl!, token, TIMEOUT_MS, this.fetchImpl) }));
  }

  /** Starts the job on every node; the first message. Throws (the request is Refused) if a node refuses, e.g. encryption off. */
  async start(ctx: StepContext): Promise<string> {
    const started: NodeReencrypt[] = [];
    for (const n of await this.clients(ctx)) {
      try {
        started.push({ node: n.node, status: await n.client.reencrypt() });
      } catch (err) {
        throw new Error(`node ${n.node}: ${errorText(err)}`);
      }
    }
    return reencryptMessage(started);
  }

  /** The nodes' progress now, as the status message. */
  async progress(ctx: StepContext): Promise<string> {
    const now: NodeReencrypt[] = [];
    for (const n of await this.clients(ctx)) now.push({ node: n.node, status: await n.client.encryption() });
    return reencryptMessage(now);
  }
}
