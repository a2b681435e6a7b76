/**
 * The verbs of `irisctl --kube CLUSTER ...`, all through the IrisCluster
 * resource: status and slots from its status (kube-view.ts, the local
 * renderers); scale by a merge patch of its spec; failover and switchover
 * by the irisdb.io/request annotation the operator acknowledges in
 * status.request (operator/kube/request.ts). Requests are followed with the
 * local progress line (follow-loop.ts) until done, --no-wait, the timeout
 * or Ctrl-C.
 */
import crypto from 'node:crypto';
import type { IrisCluster } from '../kube/iris-cluster.js';
import { type ClusterRequest, formatRequest, REQUEST_ANNOTATION } from '../kube/request.js';
import type { WaitMode } from './args.js';
import { formatDuration } from './duration.js';
import { ControlApiError } from '../control-api/client.js';
import { CliError, UsageError } from './errors.js';
import { followRequest } from './follow-loop.js';
import { type KubeCommand, type KubeRequest, parseKubeCommandLine } from './kube-args.js';
import { KubeClusterRef } from './kube-target.js';
import { runKubeExport, runKubeImport } from './kube-import.js';
import { runKubeReencrypt } from './kube-reencrypt.js';
import { runKubeBackup } from './kube-backup.js';
import { runKubeRotateCa } from './kube-rotate-ca.js';
import { clusterStatusOf, recordOf } from './kube-view.js';
import { type CliIo, sleep } from './output.js';
import { showStatus } from './run-cluster.js';
import { renderSlots, slotRows } from './render-slots.js';
import { oneLine } from './text.js';

type RequestCommand = Extract<KubeCommand, { kind: 'request' }>;

/** How long --no-wait still waits for the operator to acknowledge a request. */
const ACK_TIMEOUT_MS = 60_000;
const POLL_MS = 500;

/** `irisctl --kube ARGS` (argv after --kube) → exit code, with irisctl's messages and codes (2: bad command line). */
export async function runKubeCommandLine(argv: readonly string[], io: CliIo): Promise<number> {
  let cmd: KubeCommand;
  try {
    cmd = parseKubeCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`irisctl: ${err.message}\nRun \`irisctl ${err.verb === '' ? '--kube ' : `${err.verb} `}--help\` for usage.\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.stderr.write(`irisctl: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (cmd.kind === 'help') {
    io.stdout.write(cmd.text);
    return 0;
  }
  try {
    return await runKube(cmd, io);
  } catch (err) {
    if (err instanceof CliError || err instanceof ControlApiError) {
      io.stderr.write(`irisctl: ${err.message}\n`);
      return err instanceof CliError ? err.exitCode : 1;
    }
    throw err;
  }
}

export async function runKube(cmd: Exclude<KubeCommand, { kind: 'help' }>, io: CliIo): Promise<number> {
  const ref = await KubeClusterRef.open(cmd.target);
  try {
    switch (cmd.kind) {
      case 'status': {
        const first = clusterStatusOf(await ref.get(), Date.now());
        if (!cmd.watch) return showStatus({ status: async () => first }, cmd, io);
        return showStatus(ref.statusSource(), cmd, io);
      }
      case 'slots': {
        const status = clusterStatusOf(await ref.get(), Date.now());
        io.stdout.write(cmd.json ? JSON.stringify(slotRows(status), null, 2) + '\n' : renderSlots(status));
        return 0;
      }
      case 'import':
        return await runKubeImport(ref, cmd.command, io);
      case 'export':
        return await runKubeExport(ref, cmd.command, io);
      case 're-encrypt':
        return await runKubeReencrypt(ref, cmd, io);
      case 'backup':
        return await runKubeBackup(ref, cmd.command, io);
      case 'rotate-ca':
        return await runKubeRotateCa(ref, cmd, io);
      case 'request':
        return cmd.request.verb === 'scale' ? await runScale(ref, cmd, cmd.request, io) : await runChangeOfPrimary(ref, cmd, cmd.request, io);
    }
  } finally {
    ref.close();
  }
}

type PrimaryRequest = Extract<KubeRequest, { verb: 'failover' | 'switchover' }>;

async function runChangeOfPrimary(ref: KubeClusterRef, cmd: RequestCommand, r: PrimaryRequest, io: CliIo): Promise<number> {
  const started = Date.now();
  const cr = await ref.get();
  const shards = cr.status?.shards ?? [];
  if (shards.length > 0 && !shards.some((s) => s.id === r.shard)) throw new CliError(`${ref.label} has no ${r.shard} (its shards: ${shards.map((s) => s.id).join(', ')})`);
  const id = crypto.randomBytes(4).toString('hex');
  const request: ClusterRequest = r.verb === 'failover' ? { id, verb: 'failover', shard: r.shard } : { id, verb: 'switchover', shard: r.shard, ...(r.to !== undefined ? { to: r.to } : {}) };
  const annotation = formatRequest(request);
  const before = cr.status?.shards?.find((s) => s.id === r.shard)?.primary;
  const epochBefore = recordOf(cr)?.shards.find((s) => s.id === r.shard)?.epoch ?? 0;
  await ref.patch(cr.metadata.uid, { metadata: { annotations: { [REQUEST_ANNOTATION]: annotation } } });
  io.stdout.write(`asked ${ref.label}: ${REQUEST_ANNOTATION}="${annotation}"\n`);

  const deadline = started + (cmd.wait.wait ? cmd.wait.timeoutMs : ACK_TIMEOUT_MS);
  const ack = await waitFor(ref, io, deadline, 'waiting for the operator to take the request', (c) => {
    const current = c.metadata.annotations?.[REQUEST_ANNOTATION];
    if (current !== annotation) throw new CliError(`another request replaced this one before the operator took it: ${REQUEST_ANNOTATION}="${current ?? ''}"`);
    const s = c.status?.request;
    return s !== undefined && s.annotation === annotation && s.phase !== 'Handling' ? s : null;
  });
  if (ack === null) return stopped(io, cmd.wait, ref);
  if (ack.phase !== 'Started') {
    io.stderr.write(`irisctl: ${ack.phase.toLowerCase()}: ${oneLine(ack.message)}\n`);
    return 1;
  }
  io.stdout.write(`${oneLine(ack.message)} (${oneLine(ack.operation)})\n`);
  if (!cmd.wait.wait) return 0;
  // The status view is written apart from the acknowledgement: wait until it shows the change under way, or done (a later epoch).
  const seen = await waitFor(ref, io, deadline, 'waiting for the status to show it', (c) => {
    const rec = recordOf(c)?.shards.find((s) => s.id === r.shard);
    return rec !== undefined && (rec.failover?.id === ack.operation || rec.epoch > epochBefore) ? true : null;
  });
  if (seen === null) return stopped(io, cmd.wait, ref);
  const code = await follow(ref, ack.operation, deadline, started, io, cmd.wait);
  if (code === 0) {
    const after = (await ref.get()).status?.shards?.find((s) => s.id === r.shard)?.primary;
    io.stdout.write(`${r.shard}: primary ${before ?? '?'} → ${after ?? '?'}\n`);
  }
  return code;
}

async function runScale(ref: KubeClusterRef, cmd: RequestCommand, r: Extract<KubeRequest, { verb: 'scale' }>, io: CliIo): Promise<number> {
  const started = Date.now();
  const cr = await ref.get();
  const spec = { ...(r.scale.shards !== undefined ? { shards: r.scale.shards } : {}), ...(r.scale.replicasPerShard !== undefined ? { replicasPerShard: r.scale.replicasPerShard } : {}) };
  const patched = await ref.patch(cr.metadata.uid, { spec });
  const generation = patched.metadata.generation ?? 0;
  const want = { shards: patched.spec?.shards, replicasPerShard: patched.spec?.replicasPerShard };
  io.stdout.write(`${ref.label}: spec ${Object.entries(spec).map(([k, v]) => `${k} ${v}`).join(', ')} (generation ${generation})\n`);
  if (!cmd.wait.wait) return 0;
  const deadline = started + cmd.wait.timeoutMs;
  // Taken once the controller runs with the new spec; a refusal shows as the Degraded condition's OperatorBlocked.
  const taken = await waitFor(ref, io, deadline, `waiting for the operator to act on generation ${generation}`, (c) => {
    if ((c.status?.observedGeneration ?? 0) < generation) return null;
    const blocked = (c.status?.conditions ?? []).find((x) => x.type === 'Degraded' && x.status === 'True' && x.reason === 'OperatorBlocked' && /refused/.test(x.message));
    if (blocked !== undefined) throw new CliError(`the operator refused the new spec: ${oneLine(blocked.message)}`);
    const s = recordOf(c)?.spec;
    return s !== undefined && s.shards === want.shards && s.replicasPerShard === want.replicasPerShard ? c : null;
  });
  if (taken === null) return stopped(io, cmd.wait, ref);
  return follow(ref, recordOf(taken)?.operation?.id ?? '', deadline, started, io, cmd.wait);
}

/** Polls the resource until `check` answers non-null; null on timeout or Ctrl-C. One plain progress line. */
async function waitFor<T>(ref: KubeClusterRef, io: CliIo, deadline: number, what: string, check: (c: IrisCluster) => T | null): Promise<T | null> {
  let said = false;
  for (;;) {
    const got = check(await ref.get());
    if (got !== null) return got;
    if (io.signal.aborted || Date.now() >= deadline) return null;
    if (!said) io.stdout.write(`${what}…\n`);
    said = true;
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), io.signal);
  }
}

async function follow(ref: KubeClusterRef, id: string, deadline: number, started: number, io: CliIo, wait: WaitMode): Promise<number> {
  const result = await followRequest(ref.statusSource(), id, { timeoutMs: Math.max(0, deadline - Date.now()), out: io.stdout, signal: io.signal });
  switch (result.kind) {
    case 'done':
      io.stdout.write(`done in ${formatDuration(Date.now() - started)}: phase ${result.status.phase}\n`);
      return 0;
    case 'lost':
      io.stderr.write(`irisctl: ${result.error.message}\n`);
      return 1;
    default:
      return stopped(io, wait, ref);
  }
}

function stopped(io: CliIo, wait: WaitMode, ref: KubeClusterRef): number {
  const see = `see \`irisctl --kube -n ${ref.namespace} ${ref.name} status\``;
  if (io.signal.aborted) {
    io.stderr.write(`irisctl: stopped following; the operator carries on (${see})\n`);
    return 130;
  }
  const ms = wait.wait ? wait.timeoutMs : ACK_TIMEOUT_MS;
  io.stderr.write(`irisctl: gave up following after ${formatDuration(ms)}; the operator carries on (${see})\n`);
  return 1;
}
