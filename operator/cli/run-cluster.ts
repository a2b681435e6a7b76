/** The verbs that talk to a running controller: status, slots, and the requests that change the cluster. */
import type { ControlClient } from '../control-api/client.js';
import type { RequestAccepted } from '../control-api/types.js';
import type { ClusterStatus } from '../core/observation.js';
import type { Command, ControlRequest } from './args.js';
import { formatDuration } from './duration.js';
import { controlClient } from './endpoint.js';
import { followRequest } from './follow-loop.js';
import { type CliIo, sleep, useColor } from './output.js';
import { renderSlots, slotRows } from './render-slots.js';
import { renderStatus } from './render-status.js';
import { oneLine } from './text.js';

type StatusCommand = Extract<Command, { kind: 'status' }>;
type SlotsCommand = Extract<Command, { kind: 'slots' }>;
type RequestCommand = Extract<Command, { kind: 'request' }>;

const WATCH_MS = 1000;
const CLEAR_SCREEN = '\u001b[H\u001b[2J';

export async function runStatus(cmd: StatusCommand, io: CliIo): Promise<number> {
  return showStatus(await controlClient(cmd.source), cmd, io);
}

/** Prints the status once, or redraws it every second with --watch; shared by `irisctl status` and `irisctl --kube CLUSTER status`. */
export async function showStatus(client: { status(): Promise<ClusterStatus> }, cmd: { readonly json: boolean; readonly watch: boolean }, io: CliIo): Promise<number> {
  const render = (s: ClusterStatus): string => (cmd.json ? JSON.stringify(s, null, cmd.watch ? undefined : 2) + '\n' : renderStatus(s, { color: useColor(io.stdout, process.env) }));
  if (!cmd.watch) {
    io.stdout.write(render(await client.status()));
    return 0;
  }
  // Until Ctrl-C; a controller that stops answering for a while (restarting) is shown, not fatal.
  const tty = io.stdout.isTTY === true && !cmd.json;
  let previous = '';
  while (!io.signal.aborted) {
    let text: string;
    let key: string;
    try {
      const s = await client.status();
      text = render(s);
      key = render({ ...s, updatedAt: 0 });
    } catch (err) {
      text = `irisctl: ${oneLine((err as Error).message)} (retrying)\n`;
      key = text;
    }
    if (tty) io.stdout.write(CLEAR_SCREEN + text + `\n(every ${WATCH_MS / 1000}s; Ctrl-C to stop)\n`);
    else if (key !== previous) io.stdout.write(cmd.json ? text : text + '\n');
    previous = key;
    await sleep(WATCH_MS, io.signal);
  }
  return 0;
}

export async function runSlots(cmd: SlotsCommand, io: CliIo): Promise<number> {
  const client = await controlClient(cmd.source);
  const status = await client.status();
  io.stdout.write(cmd.json ? JSON.stringify(slotRows(status), null, 2) + '\n' : renderSlots(status));
  return 0;
}

export async function runRequest(cmd: RequestCommand, io: CliIo): Promise<number> {
  const client = await controlClient(cmd.source);
  const started = Date.now();
  const accepted = await send(client, cmd.request);
  io.stdout.write(`${oneLine(accepted.message)}${accepted.id !== '' ? ` (${oneLine(accepted.id)})` : ''}\n`);
  // '' means nothing needed doing, except for scale: adding replicas starts nothing status lists by id (only the phase says when they are in).
  if (!cmd.wait.wait || (accepted.id === '' && cmd.request.verb !== 'scale' && cmd.request.verb !== 'restart')) return 0;

  const result = await followRequest(client, accepted.id, { timeoutMs: cmd.wait.timeoutMs, out: io.stdout, signal: io.signal });
  switch (result.kind) {
    case 'done':
      io.stdout.write(`done in ${formatDuration(Date.now() - started)}: phase ${result.status.phase}\n`);
      return 0;
    case 'timeout':
      io.stderr.write(`irisctl: gave up following after ${formatDuration(cmd.wait.timeoutMs)}; the controller carries on (see \`irisctl status\`)\n`);
      return 1;
    case 'interrupted':
      io.stderr.write('irisctl: stopped following; the controller carries on (see `irisctl status`)\n');
      return 130;
    case 'lost':
      io.stderr.write(`irisctl: ${result.error.message}\n`);
      return 1;
  }
}

function send(client: ControlClient, req: ControlRequest): Promise<RequestAccepted> {
  switch (req.verb) {
    case 'failover':
      return client.failover(req.shard);
    case 'switchover':
      return client.switchover(req.shard, req.to);
    case 'scale':
      return client.scale(req.scale);
    case 'rebalance':
      return client.rebalance();
    case 'restart':
      return client.restartNode(req.node);
  }
}
