/**
 * `irisctl --kube CLUSTER rotate-ca [--wait] [--timeout D]` (issue #14):
 * asks the operator, through the irisdb.io/request annotation
 * (`rotate-ca id=ID`), to rotate the cluster's own CA; the operator moves
 * the pods through three phases (operator/kube/reconcile/tls-ca-rotation.ts)
 * and records each in status.tls.caRotation, which --wait prints as it
 * changes until Done, the timeout or Ctrl-C. Only the resource is read and
 * patched, as the other --kube verbs.
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatRequest, REQUEST_ANNOTATION } from '../kube/request.js';
import { rotateCaRefusal } from '../kube/reconcile/tls-ca-rotation.js';
import { parseDuration } from './duration.js';
import { CliError, UsageError } from './errors.js';
import type { KubeTarget } from './kube-args.js';
import type { KubeClusterRef } from './kube-target.js';
import { type CliIo, sleep } from './output.js';
import { oneLine } from './text.js';
import type { VerbDef } from './usage.js';

export interface KubeRotateCaCommand {
  readonly kind: 'rotate-ca';
  readonly target: KubeTarget;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** How long, without --wait, irisctl waits for the operator to take the request. */
const ACK_TIMEOUT_MS = 60_000;
const POLL_MS = 500;

export const ROTATE_CA_VERB: VerbDef = {
  name: 'rotate-ca', args: '', summary: "rotate the operator's own CA of the cluster (spec.tls without secretRef or certManager), with no restart and no broken connection",
  flags: [
    { name: 'wait', type: 'boolean', help: 'follow status.tls.caRotation until Done (TrustBoth → ServeNew → DropOld → Done)' },
    { name: 'timeout', type: 'string', value: 'DURATION', help: 'with --wait: give up following after this long (default 30m); the operator goes on' },
    { name: 'help', type: 'boolean', help: 'show this help' },
  ],
  notes: [
    'Clients must trust every CA in ca.crt of the <cluster>-tls Secret: it holds the old and the new CA during the rotation, the new one alone once Done (docs/security.md "CA rotation").',
  ],
};

/** The flags after `rotate-ca`; `help` when --help was given. Pure. */
export function parseKubeRotateCa(target: KubeTarget, args: readonly string[]): { readonly help: VerbDef } | { readonly command: KubeRotateCaCommand } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...args], options: { wait: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message, `--kube ${target.cluster} rotate-ca`);
  }
  if (values.help === true) return { help: ROTATE_CA_VERB };
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (typeof values.timeout === 'string') {
    const ms = parseDuration(values.timeout);
    if (ms === null || ms <= 0) throw new UsageError(`--timeout must be a duration such as 90s, 30m or 1h (got "${values.timeout}")`, `--kube ${target.cluster} rotate-ca`);
    timeoutMs = ms;
  }
  return { command: { kind: 'rotate-ca', target, wait: values.wait === true, timeoutMs } };
}

export async function runKubeRotateCa(ref: KubeClusterRef, cmd: KubeRotateCaCommand, io: CliIo): Promise<number> {
  const cr = await ref.get();
  const refused = rotateCaRefusal(cr);
  if (refused !== null) throw new CliError(`${ref.label}: ${refused}`);
  const annotation = formatRequest({ id: crypto.randomBytes(4).toString('hex'), verb: 'rotate-ca' });
  await ref.patch(cr.metadata.uid, { metadata: { annotations: { [REQUEST_ANNOTATION]: annotation } } });
  io.stdout.write(`asked ${ref.label}: ${REQUEST_ANNOTATION}="${annotation}"\n`);
  const deadline = Date.now() + (cmd.wait ? cmd.timeoutMs : ACK_TIMEOUT_MS);
  let acknowledged = false;
  let last = '';
  for (;;) {
    const c = await ref.get();
    const s = c.status?.request;
    if (!acknowledged && c.metadata.annotations?.[REQUEST_ANNOTATION] !== annotation) {
      throw new CliError(`another request replaced this one before the operator took it: ${REQUEST_ANNOTATION}="${c.metadata.annotations?.[REQUEST_ANNOTATION] ?? ''}"`);
    }
    if (!acknowledged && s?.annotation === annotation && s.phase !== 'Handling') {
      if (s.phase !== 'Started') {
        io.stderr.write(`irisctl: ${s.phase.toLowerCase()}: ${oneLine(s.message)}\n`);
        return 1;
      }
      acknowledged = true;
      io.stdout.write(`${oneLine(s.message)}\n`);
      if (!cmd.wait) return 0;
    }
    const rotation = c.status?.tls?.caRotation;
    if (acknowledged && rotation !== undefined && rotation.reason === annotation) {
      const line = `${rotation.phase}: ${oneLine(rotation.message)}`;
      if (line !== last) io.stdout.write(`${line}\n`);
      last = line;
      if (rotation.phase === 'Done') return 0;
    }
    if (io.signal.aborted) {
      io.stderr.write(`irisctl: stopped following; the operator goes on (status.tls.caRotation of ${ref.label})\n`);
      return 130;
    }
    if (Date.now() >= deadline) {
      io.stderr.write(acknowledged ? `irisctl: gave up following; the operator goes on (status.tls.caRotation of ${ref.label} says how far)\n` : 'irisctl: the operator did not take the request in time (is it running?)\n');
      return 1;
    }
    await sleep(POLL_MS, io.signal);
  }
}
