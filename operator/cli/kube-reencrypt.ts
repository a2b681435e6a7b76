/**
 * `irisctl --kube CLUSTER re-encrypt [--wait]`: asks the operator, through
 * the irisdb.io/request annotation (`re-encrypt id=ID`), to have every node
 * re-encrypt its stored values with the active key of spec.encryption's
 * keyring; the operator writes the nodes' progress into
 * status.request.message (operator/kube/reconcile/reencrypt-request.ts),
 * which --wait prints as it changes until done, failed, the timeout or
 * Ctrl-C. Only the resource is read and patched, as the other --kube verbs.
 */
import crypto from 'node:crypto';
import type { RequestStatus } from '../kube/request.js';
import { formatRequest, REQUEST_ANNOTATION } from '../kube/request.js';
import { REENCRYPT_FAILED, reencryptFinished } from '../kube/reconcile/reencrypt-request.js';
import { CliError } from './errors.js';
import type { KubeCommand } from './kube-args.js';
import type { KubeClusterRef } from './kube-target.js';
import { type CliIo, sleep } from './output.js';
import { oneLine } from './text.js';

type ReencryptCommand = Extract<KubeCommand, { kind: 're-encrypt' }>;

/** How long, without --wait, irisctl waits for the operator to take the request. */
const ACK_TIMEOUT_MS = 60_000;
const POLL_MS = 500;

export async function runKubeReencrypt(ref: KubeClusterRef, cmd: ReencryptCommand, io: CliIo): Promise<number> {
  const cr = await ref.get();
  if (cr.spec?.encryption === undefined) throw new CliError(`${ref.label} has no spec.encryption: there is no key to re-encrypt with`);
  const annotation = formatRequest({ id: crypto.randomBytes(4).toString('hex'), verb: 're-encrypt' });
  await ref.patch(cr.metadata.uid, { metadata: { annotations: { [REQUEST_ANNOTATION]: annotation } } });
  io.stdout.write(`asked ${ref.label}: ${REQUEST_ANNOTATION}="${annotation}"\n`);
  const deadline = Date.now() + (cmd.wait ? cmd.timeoutMs : ACK_TIMEOUT_MS);
  let last = '';
  for (;;) {
    const c = await ref.get();
    const current = c.metadata.annotations?.[REQUEST_ANNOTATION];
    if (current !== annotation) throw new CliError(`another request replaced this one: ${REQUEST_ANNOTATION}="${current ?? ''}"`);
    const s = c.status?.request;
    const mine: RequestStatus | undefined = s?.annotation === annotation && s.phase !== 'Handling' ? s : undefined;
    if (mine !== undefined && mine.phase !== 'Started') {
      io.stderr.write(`irisctl: ${mine.phase.toLowerCase()}: ${oneLine(mine.message)}\n`);
      return 1;
    }
    if (mine !== undefined && mine.message !== last) {
      last = mine.message;
      io.stdout.write(`${oneLine(last)}\n`);
    }
    if (mine !== undefined && (!cmd.wait || reencryptFinished(mine.message))) return mine.message.startsWith(REENCRYPT_FAILED) ? 1 : 0;
    if (io.signal.aborted) {
      io.stderr.write(`irisctl: stopped following; the nodes go on (status.request of ${ref.label})\n`);
      return 130;
    }
    if (Date.now() >= deadline) {
      io.stderr.write(`irisctl: gave up following; the nodes go on (status.request of ${ref.label} says how far)\n`);
      return 1;
    }
    await sleep(POLL_MS, io.signal);
  }
}
