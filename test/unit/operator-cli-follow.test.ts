/**
 * Following a request (follow-loop.ts) against a scripted fake of the
 * client: when it stops, what it prints on a terminal and in a log. No
 * processes; polls 1 ms apart, bounded by the script's length.
 */
import { expect } from 'chai';
import { followRequest } from '../../operator/cli/follow-loop.js';
import type { Output } from '../../operator/cli/output.js';
import { ControlApiError } from '../../operator/control-api/client.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { ClusterStatus, OperationView } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';

const READY: ClusterStatus = {
  cluster: 'iris', phase: 'Ready', spec: DEFAULT_SPEC, mapEpoch: 4, slotsAssigned: SLOT_COUNT, shards: [], operation: null, messages: [], updatedAt: 0,
};

function op(movesDone: number, stage: 'copying' | 'fence', keysCopied: number): OperationView {
  return {
    id: 'op-1', kind: 'rebalance', reason: 'rebalance', stage: 'migrate', movesDone, movesTotal: 2, slotsDone: movesDone * 100, slotsTotal: 200, keysMoved: movesDone * 10,
    bytesMoved: 0, current: { id: 'm', from: 'shard-0', to: 'shard-1', slotCount: 100, stage, keysCopied, bytesCopied: 0 }, error: null,
  };
}

/** Answers the scripted statuses (or throws the scripted errors) in order, then repeats the last. */
function scripted(steps: Array<ClusterStatus | Error>) {
  let i = 0;
  return {
    polls: () => i,
    client: {
      async status(): Promise<ClusterStatus> {
        const s = steps[Math.min(i, steps.length - 1)]!;
        i++;
        if (s instanceof Error) throw s;
        return s;
      },
    },
  };
}

function sink(tty: boolean): Output & { text: string } {
  const out = { text: '', isTTY: tty, columns: 100, write(s: string) { out.text += s; return true; } };
  return out;
}

const running = (o: OperationView): ClusterStatus => ({ ...READY, phase: 'Degraded', operation: o });
const unreachable = new ControlApiError(0, 'unreachable', 'no controller answers at http://127.0.0.1:1: is `irisctl local up` running?');

describe('following a request', () => {
  it('stops once the operation is gone and the cluster is Ready, printing one plain line per change', async () => {
    const { client, polls } = scripted([running(op(0, 'copying', 1)), running(op(0, 'copying', 500)), running(op(0, 'fence', 900)), running(op(1, 'copying', 5)), READY]);
    const out = sink(false);
    const r = await followRequest(client, 'op-1', { timeoutMs: 60_000, out, signal: new AbortController().signal, pollMs: 1 });
    expect(r.kind).to.equal('done');
    expect(polls()).to.equal(5);
    const lines = out.text.trimEnd().split('\n');
    expect(lines).to.have.length(4); // the two 'copying' polls of move 0 differ only in live counters
    expect(lines[0]).to.contain('moves 0/2');
    expect(lines[1]).to.contain('fence');
    expect(lines[3]).to.equal('phase Ready');
    expect(out.text).to.not.contain('\u001b');
  });

  it('redraws one line in place on a terminal and ends it with a newline', async () => {
    const { client } = scripted([running(op(0, 'copying', 1)), running(op(1, 'copying', 2)), READY]);
    const out = sink(true);
    const r = await followRequest(client, 'op-1', { timeoutMs: 60_000, out, signal: new AbortController().signal, pollMs: 1 });
    expect(r.kind).to.equal('done');
    expect(out.text.split('\r\u001b[2K')).to.have.length(4);
    expect(out.text.match(/\n/g)).to.have.length(1);
    expect(out.text.endsWith('\n')).to.equal(true);
    expect(out.text).to.contain('[#####.....]  50% moves 1/2');
  });

  it('gives up at the deadline, returning the last status', async () => {
    const { client } = scripted([running(op(0, 'copying', 1))]);
    let t = 0;
    const r = await followRequest(client, 'op-1', { timeoutMs: 10, out: sink(false), signal: new AbortController().signal, pollMs: 1, now: () => (t += 4) });
    expect(r.kind).to.equal('timeout');
    expect((r as { status: ClusterStatus }).status.operation?.id).to.equal('op-1');
  });

  it('rides out a controller that is briefly unreachable, and gives up when it stays so', async () => {
    const brief = scripted([running(op(0, 'copying', 1)), unreachable, unreachable, READY]);
    const out = sink(false);
    const ok = await followRequest(brief.client, 'op-1', { timeoutMs: 60_000, out, signal: new AbortController().signal, pollMs: 1, maxUnanswered: 3 });
    expect(ok.kind).to.equal('done');
    expect(out.text).to.contain('(retrying)');

    const gone = scripted([running(op(0, 'copying', 1)), unreachable]);
    const lost = await followRequest(gone.client, 'op-1', { timeoutMs: 60_000, out: sink(false), signal: new AbortController().signal, pollMs: 1, maxUnanswered: 3 });
    expect(lost.kind).to.equal('lost');
    expect(gone.polls()).to.equal(4);
  });

  it('keeps following through refusals (a restarting controller answers 503)', async () => {
    const { client } = scripted([new ControlApiError(503, 'unavailable', 'starting'), new ControlApiError(503, 'unavailable', 'starting'), new ControlApiError(503, 'unavailable', 'starting'), READY]);
    const r = await followRequest(client, '', { timeoutMs: 60_000, out: sink(false), signal: new AbortController().signal, pollMs: 1, maxUnanswered: 2 });
    expect(r.kind).to.equal('done');
  });

  it('stops when interrupted', async () => {
    const ac = new AbortController();
    const { client } = scripted([running(op(0, 'copying', 1))]);
    const out = sink(true);
    const p = followRequest({ status: async () => { const s = await client.status(); ac.abort(); return s; } }, 'op-1', { timeoutMs: 60_000, out, signal: ac.signal, pollMs: 60_000 });
    expect((await p).kind).to.equal('interrupted');
    expect(out.text.endsWith('\n')).to.equal(true);
  });

  it('lets other errors through', async () => {
    let caught: unknown;
    try {
      await followRequest({ status: async () => { throw new TypeError('bug'); } }, 'op-1', { timeoutMs: 60_000, out: sink(false), signal: new AbortController().signal, pollMs: 1 });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(TypeError);
  });
});
